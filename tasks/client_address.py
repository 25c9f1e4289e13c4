"""The client's address, as the trusted proxies in front of the service saw it.

`X-Forwarded-For` is a list any client can start: only the entries appended by proxies we run
are true. With DJANGO_TRUSTED_PROXY_COUNT = n, the last proxy is REMOTE_ADDR and the client is
the n-th address from the right of the header; with 0 (no proxy) it is REMOTE_ADDR itself.
"""

import ipaddress

from django.conf import settings


def client_address(request):
    """The address rate limits and login lockouts are keyed on; never a value the client chose."""
    remote = request.META.get("REMOTE_ADDR", "")
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    forwarded = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    # Fewer hops than proxies: the request did not come through them all, so only REMOTE_ADDR is known.
    if len(forwarded) < count or not is_address(forwarded[-count]):
        return remote
    return forwarded[-count]


def is_address(value):
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True
