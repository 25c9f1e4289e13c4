"""taskapi's settings with token verification swapped out, for the benchmark's auth-cost runs only.

`DJANGO_SETTINGS_MODULE=bench.settings_noauth` is set by `bench/run.py` for the `service-noauth`
app and nowhere else; the product never imports this module.
"""

from taskapi.settings import *  # noqa: F403 - this module is the product's settings plus one swap
from taskapi.settings import REST_FRAMEWORK

REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_AUTHENTICATION_CLASSES": ["bench.trusted_header_auth.TrustedHeaderAuthentication"],
}
