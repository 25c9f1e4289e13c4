"""Conditional requests (RFC 9110): a task's ETag is its version, `"<version>"`."""
from django.utils.http import parse_etags


def etag_of(version):
    return f'"{version}"'


def if_match_versions(request):
    """The versions If-Match accepts; None when there is no If-Match (or it is `*`)."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    # Strong comparison: a weak validator (W/"3") never matches.
    return {int(tag[1:-1]) for tag in parse_etags(header) if tag[1:-1].isdigit() and not tag.startswith("W/")}


def if_none_match_hits(request, version):
    """Whether If-None-Match names this version (weak comparison), or is `*`."""
    header = request.headers.get("If-None-Match")
    if header is None:
        return False
    tags = parse_etags(header)
    return "*" in tags or etag_of(version) in {tag.removeprefix("W/") for tag in tags}
