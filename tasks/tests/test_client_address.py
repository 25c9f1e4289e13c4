"""The client address behind DJANGO_TRUSTED_PROXY_COUNT proxies; never a header the client wrote."""

import pytest
from django.test import RequestFactory

from deploy.web import trusted_proxies
from tasks.client_address import client_address

SPOOFED = "6.6.6.6"


@pytest.mark.parametrize(
    "proxies, forwarded_for, expected",
    [
        pytest.param(0, None, "10.0.0.9", id="direct"),
        pytest.param(0, SPOOFED, "10.0.0.9", id="direct-header-ignored"),
        pytest.param(1, "203.0.113.7", "203.0.113.7", id="one-proxy"),
        pytest.param(1, f"{SPOOFED}, 203.0.113.7", "203.0.113.7", id="one-proxy-client-prefix-ignored"),
        pytest.param(2, f"{SPOOFED}, 203.0.113.7, 10.0.0.2", "203.0.113.7", id="two-proxies"),
        pytest.param(1, None, "10.0.0.9", id="proxy-bypassed"),
        pytest.param(2, "203.0.113.7", "10.0.0.9", id="fewer-hops-than-proxies"),
        pytest.param(1, "not-an-address", "10.0.0.9", id="garbage"),
        pytest.param(1, "2001:db8::1", "2001:db8::1", id="ipv6"),
    ],
)
def test_client_address_is_the_nth_hop_from_the_right(settings, proxies, forwarded_for, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    headers = {} if forwarded_for is None else {"HTTP_X_FORWARDED_FOR": forwarded_for}
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.9", **headers)
    assert client_address(request) == expected


@pytest.mark.parametrize(
    "configured, passed_on",
    [({}, "1"), ({"DJANGO_TRUSTED_PROXY_COUNT": " "}, "1"), ({"DJANGO_TRUSTED_PROXY_COUNT": "2"}, "2")],
)
def test_the_web_process_counts_its_own_nginx_as_a_trusted_proxy(configured, passed_on):
    assert trusted_proxies(configured) == {"DJANGO_TRUSTED_PROXY_COUNT": passed_on}
