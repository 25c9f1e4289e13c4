"""Authentication of Better Auth JWTs, built on simplejwt's stateless authentication.

The request's user is simplejwt's `TokenUser`: a principal backed by the verified token,
whose `id` is the token's `sub`. No database query is made to authenticate.
"""

import logging
import re

import jwt
from rest_framework_simplejwt.authentication import JWTStatelessUserAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, ExpiredTokenError, InvalidToken, TokenError

from .exceptions import AuthServiceUnavailable
from .jwks import JWKSUnavailable
from .tokens import BetterAuthToken

logger = logging.getLogger(__name__)

# Under gunicorn's 8190-byte header line limit; Better Auth's tokens are well under 2 KB.
MAX_TOKEN_LENGTH = 8000
COMPACT_JWS = re.compile(rb"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def rejection_reason(error):
    """The most precise reason for a TokenError: PyJWT's own, else the token backend's.

    simplejwt chains TokenError <- TokenBackendError <- PyJWT's error, with generic messages
    at the first two links.
    """
    cause = error.__cause__ or error
    if isinstance(cause.__cause__, jwt.PyJWTError):
        cause = cause.__cause__
    return str(cause)


class BetterAuthJWTAuthentication(JWTStatelessUserAuthentication):
    """`Authorization: Bearer <jwt>` with a token from Better Auth's jwt plugin."""

    def get_raw_token(self, header):
        scheme, _, token = header.partition(b" ")
        if scheme.lower() != b"bearer":
            return None
        if len(token) > MAX_TOKEN_LENGTH or not COMPACT_JWS.fullmatch(token):
            logger.info("token rejected: malformed Authorization header")
            raise AuthenticationFailed("Invalid token.", code="bad_authorization_header")
        return token

    def get_validated_token(self, raw_token):
        """The token, verified (or its verdict reused) by its backend; each rejection with a stable `code`.

        simplejwt's own tries every class in AUTH_TOKEN_CLASSES and answers with a list of
        their messages; there is one class here, and clients need the code, not the messages.
        """
        try:
            return BetterAuthToken(raw_token)
        except JWKSUnavailable as e:
            logger.warning("token not verified: %s", e)
            raise AuthServiceUnavailable() from e
        except ExpiredTokenError as e:
            logger.info("token rejected: %s", rejection_reason(e))
            raise InvalidToken("Invalid token.", code="token_expired") from e
        except TokenError as e:
            logger.info("token rejected: %s", rejection_reason(e))
            raise InvalidToken("Invalid token.", code="token_not_valid") from e
