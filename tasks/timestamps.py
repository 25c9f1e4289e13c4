"""How taskapi writes an instant, in the API, its export files and its commands' output."""

from datetime import timezone


def utc_iso(moment):
    """ISO 8601 in UTC with `Z`, as DRF's DateTimeField writes it; None stays None."""
    return None if moment is None else moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
