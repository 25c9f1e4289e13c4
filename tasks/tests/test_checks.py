"""Configuration mistakes surface as system checks with ids, and stop gunicorn from serving."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from tasks.checks import check_better_auth_configuration, check_throttle_rate, raise_on_configuration_errors

from .keys import HS256_SECRET


def ids(settings):
    return {message.id for message in check_better_auth_configuration()}


def test_default_jwks_set_up_is_clean(settings):
    assert ids(settings) == set()


def test_jwks_mode_without_url_is_e001(settings):
    settings.BETTER_AUTH_URL = ""
    assert ids(settings) == {"tasks.E001"}
    with pytest.raises(ImproperlyConfigured, match="JWKS"):
        raise_on_configuration_errors()


def test_jwks_url_alone_warns_that_iss_and_aud_are_unchecked(settings):
    settings.BETTER_AUTH_URL = ""
    settings.BETTER_AUTH_JWKS_URL = "https://auth.example.com/api/auth/jwks"
    assert ids(settings) == {"tasks.W002"}


@pytest.mark.parametrize("secret", ["", "short"])
def test_hs256_without_a_long_secret_is_e002(settings, secret):
    settings.BETTER_AUTH_JWT_ALGORITHMS = ["HS256"]
    settings.BETTER_AUTH_SECRET = secret
    assert ids(settings) == {"tasks.E002"}


def test_hs256_with_a_long_secret_is_clean(settings):
    settings.BETTER_AUTH_JWT_ALGORITHMS = ["HS256"]
    settings.BETTER_AUTH_SECRET = HS256_SECRET
    assert ids(settings) == set()


@pytest.mark.parametrize("algorithms", [["RS512"], ["none"], []])
def test_unknown_or_no_algorithms_are_e003(settings, algorithms):
    settings.BETTER_AUTH_JWT_ALGORITHMS = algorithms
    assert "tasks.E003" in ids(settings)


def test_mixing_hs256_with_public_key_algorithms_is_e004(settings):
    settings.BETTER_AUTH_JWT_ALGORITHMS = ["EdDSA", "HS256"]
    settings.BETTER_AUTH_SECRET = HS256_SECRET
    assert ids(settings) == {"tasks.E004"}
    with pytest.raises(ImproperlyConfigured, match="mixes"):
        raise_on_configuration_errors()


@pytest.mark.parametrize("rate", ["lots", "10/fortnight", "ten/minute", "10"])
def test_malformed_throttle_rate_is_e005(settings, rate):
    settings.API_USER_THROTTLE_RATE = rate
    assert [message.id for message in check_throttle_rate()] == ["tasks.E005"]
    with pytest.raises(ImproperlyConfigured, match="API_USER_THROTTLE_RATE"):
        raise_on_configuration_errors()


@pytest.mark.parametrize("rate", ["1200/minute", "5/s", None])
def test_valid_or_disabled_throttle_rate_is_clean(settings, rate):
    settings.API_USER_THROTTLE_RATE = rate
    assert check_throttle_rate() == []
