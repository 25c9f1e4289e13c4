"""Conditional requests (RFC 9110): a task's ETag is its version, `"<version>"`."""

from django.utils.http import parse_etags

from .client_values import OutOfRange, whole_number

# A version is a PositiveIntegerField: an ETag beyond its range can name no task's version.
MAX_VERSION = 2**31 - 1


def etag_of(version):
    return f'"{version}"'


def if_match_versions(request):
    """The versions If-Match accepts; None when there is no If-Match (or it is `*`)."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    # Strong comparison: a weak validator (W/"3") never matches.
    return {version for tag in parse_etags(header) if not tag.startswith("W/") and (version := version_of(tag))}


def version_of(etag):
    """The version an ETag like `"3"` names; None when it cannot be one of ours (never matches)."""
    try:
        return whole_number(etag[1:-1], 1, MAX_VERSION)
    except OutOfRange:
        return None


def if_none_match_hits(request, version):
    """Whether If-None-Match names this version (weak comparison), or is `*`."""
    header = request.headers.get("If-None-Match")
    if header is None:
        return False
    tags = parse_etags(header)
    return "*" in tags or etag_of(version) in {tag.removeprefix("W/") for tag in tags}
