"""Bench-only authentication that trusts `X-Bench-User`: it prices token verification by its absence.

Loaded only by `bench/settings_noauth.py`; nothing in taskapi's own settings or code refers to it.
"""

from rest_framework.authentication import BaseAuthentication
from rest_framework_simplejwt.models import TokenUser


class TrustedHeaderAuthentication(BaseAuthentication):
    """The caller is whoever `X-Bench-User` names, as if a verified token had said so."""

    def authenticate(self, request):
        user_id = request.META.get("HTTP_X_BENCH_USER")
        if not user_id:
            return None
        return TokenUser({"sub": user_id}), None
