"""Exceptions the API raises beyond DRF's own."""
from rest_framework import status
from rest_framework.exceptions import APIException


class AuthServiceUnavailable(APIException):
    """Better Auth's keys are needed and cannot be fetched: the token may well be valid."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "Cannot verify tokens right now; try again shortly."
    default_code = "auth_unavailable"


class DatabaseUnavailable(APIException):
    """The database cannot be reached (or gave up on the query); retrying may succeed."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The database is unavailable; try again shortly."
    default_code = "database_unavailable"
