"""The token class of Better Auth's access tokens, as simplejwt keeps its own in `tokens.py`."""

from datetime import timedelta

from rest_framework_simplejwt.tokens import Token

from .backends import token_backend


class BetterAuthToken(Token):
    """A verified Better Auth access token: no type or `jti` claim, the user id in `sub`."""

    token_type = "better_auth"
    # simplejwt insists on a lifetime; it only matters for issuing, which Better Auth does.
    lifetime = timedelta(0)

    def get_token_backend(self):
        return token_backend()
