"""Exceptions the API raises beyond DRF's own; most bodies carry a stable `code`, as 401s do."""

from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework_simplejwt.exceptions import DetailDictMixin


class AuthServiceUnavailable(DetailDictMixin, APIException):
    """Better Auth's keys are needed and cannot be fetched: the token may well be valid."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "Cannot verify tokens right now; try again shortly."
    default_code = "auth_unavailable"


class DatabaseUnavailable(DetailDictMixin, APIException):
    """The database cannot be reached (or gave up on the query); retrying may succeed."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The database is unavailable; try again shortly."
    default_code = "database_unavailable"


class RequestBodyTooLarge(APIException):
    """The body is over DATA_UPLOAD_MAX_MEMORY_SIZE (API_MAX_BODY_BYTES); refused unread."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body is too large."
    default_code = "request_too_large"


class PreconditionFailed(APIException):
    """If-Match named a version that is no longer current; the answer carries the current task."""

    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The task has changed since that version."
    default_code = "precondition_failed"

    def __init__(self, current):
        super().__init__()
        self.current = current


class IdempotencyKeyReused(DetailDictMixin, APIException):
    """An Idempotency-Key already used with a different request body."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was already used with a different request body."
    default_code = "idempotency_key_reused"


class TaskQuotaExceeded(DetailDictMixin, APIException):
    """The caller already has API_MAX_TASKS_PER_USER tasks; deleting some makes room again.

    409: the request is valid and would succeed against another state of the caller's tasks.
    """

    status_code = status.HTTP_409_CONFLICT
    default_detail = "You have reached the maximum number of tasks; delete some to create more."
    default_code = "task_quota_exceeded"
