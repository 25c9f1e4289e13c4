"""How taskapi writes an instant, in the API, its export files and its commands' output."""

from datetime import UTC


def utc_iso(moment):
    """ISO 8601 in UTC with `Z`, as DRF's DateTimeField writes it; None stays None.

    PostgreSQL's rows arrive in UTC already (Django sets the connection's time zone): those are
    not converted again, which a page of 50 tasks does 150 times.
    """
    if moment is None:
        return None
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat().replace("+00:00", "Z")
