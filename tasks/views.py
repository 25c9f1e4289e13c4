"""The task API: one viewset behind both route shapes, and the health check."""

from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from .exceptions import PreconditionFailed
from .filters import QueryValueRules, TaskFilter, TaskFilterBackend, TaskOrdering
from .idempotency import IdempotentCreateMixin
from .models import Task, VersionMismatch
from .pagination import KeysetPagination
from .permissions import PathUserIsCaller
from .preconditions import etag_of, if_match_versions, if_none_match_hits
from .replica import ReplicaReadsMixin
from .schema import (
    COMMON_HEADERS,
    IDEMPOTENCY_KEY,
    IDEMPOTENT_REPLAYED,
    IF_MATCH,
    IF_NONE_MATCH,
    LINK,
    LOCATION,
    NOT_FOUND,
    TASK_ID,
    TOO_LARGE,
    UNSUPPORTED,
    error,
    etag,
    invalid,
    precondition_failed,
    responses,
)
from .serializers import BULK_REQUEST, BulkResultSerializer, BulkSerializer, StatsSerializer, TaskSerializer
from .timestamps import utc_iso

TASK_WRITE_HEADERS = [*COMMON_HEADERS, IF_MATCH, TASK_ID]
# PUT and PATCH answer alike.
TASK_WRITE_RESPONSES = responses(
    r200=TaskSerializer,
    r400=invalid("The body is invalid."),
    r404=NOT_FOUND,
    r412=precondition_failed(),
    r413=TOO_LARGE,
    r415=UNSUPPORTED,
)


@extend_schema_view(
    list=extend_schema(
        operation_id="listTasks",
        summary="List the caller's tasks, a page at a time",
        parameters=[*COMMON_HEADERS, LINK],
        responses=responses(
            r200=TaskSerializer(many=True), r400=invalid("A filter, `ordering`, `limit` or `cursor` is invalid.")
        ),
    ),
    create=extend_schema(
        operation_id="createTask",
        summary="Create a task",
        parameters=[*COMMON_HEADERS, IDEMPOTENCY_KEY, etag(201), LOCATION, IDEMPOTENT_REPLAYED],
        responses=responses(
            r201=TaskSerializer,
            r400=invalid("The body or the Idempotency-Key is invalid."),
            r413=TOO_LARGE,
            r409=error("The caller already has API_MAX_TASKS_PER_USER tasks.", ["task_quota_exceeded"]),
            r415=UNSUPPORTED,
            r422=error("This Idempotency-Key was used with a different body.", ["idempotency_key_reused"]),
        ),
    ),
    retrieve=extend_schema(
        operation_id="getTask",
        summary="One task",
        parameters=[*COMMON_HEADERS, IF_NONE_MATCH, TASK_ID, etag(200, 304)],
        responses=responses(
            r200=TaskSerializer,
            r304=OpenApiResponse(description="Not modified: If-None-Match names the current ETag."),
            r404=NOT_FOUND,
        ),
    ),
    update=extend_schema(
        operation_id="replaceTask",
        summary="Replace a task's fields",
        parameters=[*TASK_WRITE_HEADERS, etag(200, 412)],
        responses=TASK_WRITE_RESPONSES,
    ),
    partial_update=extend_schema(
        operation_id="updateTask",
        summary="Change some of a task's fields",
        parameters=[*TASK_WRITE_HEADERS, etag(200, 412)],
        responses=TASK_WRITE_RESPONSES,
    ),
    destroy=extend_schema(
        operation_id="deleteTask",
        summary="Delete a task",
        parameters=[*TASK_WRITE_HEADERS, etag(412)],
        responses=responses(
            r204=OpenApiResponse(description="Deleted."),
            r404=NOT_FOUND,
            r412=precondition_failed(),
        ),
    ),
)
class TaskViewSet(ReplicaReadsMixin, IdempotentCreateMixin, viewsets.ModelViewSet):
    """The caller's own tasks; anyone else's simply do not exist here (404).

    List, retrieve and stats read from the replica when it has the caller's writes (tasks/replica.py).
    """

    serializer_class = TaskSerializer
    replay_field_order = TaskSerializer.Meta.fields
    pagination_class = KeysetPagination
    filter_backends = [QueryValueRules, TaskFilterBackend, TaskOrdering]
    filterset_class = TaskFilter
    permission_classes = [IsAuthenticated, PathUserIsCaller]
    lookup_value_regex = "[0-9]{1,19}"  # ASCII digits, at most a bigint's length

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular inspecting, no user
            return Task.objects.none()
        tasks = Task.objects.owned_by(self.request.user.id)
        if self.action == "list":
            # Rows of the answer's fields, not model instances: a page of 50 instances cost more
            # CPU than the floor's whole request (docs/performance.md, "Where the CPU goes").
            # One instance (retrieve) costs less than the extra work of values().
            return tasks.values(*TaskSerializer.Meta.fields)
        # tag_keys serves filtering only: not decoding its JSON on every row of a page pays.
        return tasks.defer("tag_keys")

    def get_object(self):
        """The caller's task named in the URL, read in one SELECT (Task.objects.owned_task); else 404."""
        task = Task.objects.owned_task(self.request.user.id, self.kwargs[self.lookup_field])
        if task is None:
            raise NotFound(f"No {Task._meta.object_name} matches the given query.")
        self.check_object_permissions(self.request, task)
        return task

    def filter_queryset(self, queryset):
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def finalize_response(self, request, response, *args, **kwargs):
        if response.status_code in (200, 201, 412) and isinstance(response.data, dict) and "version" in response.data:
            response["ETag"] = etag_of(response.data["version"])
        return super().finalize_response(request, response, *args, **kwargs)

    def perform_create(self, serializer):
        serializer.save(user_id=self.request.user.id)

    def get_success_headers(self, data):
        url_kwargs = {**self.kwargs, "pk": data["id"]}
        return {"Location": self.request.build_absolute_uri(reverse(f"{self.basename}-detail", kwargs=url_kwargs))}

    def retrieve(self, request, *args, **kwargs):
        task = self.get_object()
        if if_none_match_hits(request, task.version):
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag_of(task.version)})
        return Response(self.get_serializer(task).data)

    def update(self, request, *args, **kwargs):
        """PUT and PATCH as DRF's UpdateModelMixin runs them, without reading the task first.

        The body is validated, then written in one UPDATE ... RETURNING (Task.write) that answers
        with the task as written; only a write that matched no row looks the task up (404 or 412).
        """
        task = Task(pk=kwargs[self.lookup_field], user_id=request.user.id)
        serializer = self.get_serializer(task, data=request.data, partial=kwargs.pop("partial", False))
        serializer.is_valid(raise_exception=True)
        self.perform_update(serializer)
        return Response(serializer.data)

    def perform_update(self, serializer):
        try:
            serializer.save(versions=if_match_versions(self.request))
        except VersionMismatch:
            self.raise_precondition_failed()

    def destroy(self, request, *args, **kwargs):
        # One DELETE, as the toggle is one UPDATE: the task is looked up only when nothing was deleted.
        rows = self.get_queryset().filter(pk=kwargs["pk"]).at_versions(if_match_versions(request))
        if not rows.delete_in_one_statement():
            self.raise_precondition_failed()
        return Response(status=status.HTTP_204_NO_CONTENT)

    def raise_precondition_failed(self):
        """412 with the current task; or 404 if the caller has no such task (never had, or it was deleted meanwhile)."""
        raise PreconditionFailed(self.get_serializer(self.get_object()).data)

    @extend_schema(
        operation_id="toggleTask",
        summary="Flip a task's completed flag",
        request=None,
        parameters=[*TASK_WRITE_HEADERS, etag(200, 412)],
        responses=responses(r200=TaskSerializer, r404=NOT_FOUND, r412=precondition_failed()),
    )
    @action(detail=True, methods=["patch"])
    def complete(self, request, *args, **kwargs):
        task = Task.objects.toggle_owned(request.user.id, kwargs["pk"], if_match_versions(request))
        if task is None:
            self.raise_precondition_failed()
        return Response(self.get_serializer(task).data)

    @extend_schema(
        operation_id="bulkTasks",
        summary="Complete, reopen or delete many tasks at once",
        request=BULK_REQUEST,
        parameters=COMMON_HEADERS,
        responses=responses(
            r200=BulkResultSerializer,
            r400=invalid("Not exactly one action, or not 1 to 500 ids."),
            r404=error("An id is not among the caller's tasks; nothing was changed.", ["not_found"]),
            r413=TOO_LARGE,
            r415=UNSUPPORTED,
        ),
    )
    @action(detail=False, methods=["post"])
    def bulk(self, request, *args, **kwargs):
        serializer = BulkSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        operation, ids = serializer.validated_data["action"], serializer.validated_data["ids"]
        with transaction.atomic():
            tasks = self.get_queryset().filter(pk__in=ids)
            if set(tasks.select_for_update().values_list("pk", flat=True)) != set(ids):
                raise NotFound("One or more tasks do not exist; nothing was changed.")
            if operation == "delete":
                tasks.delete()
            else:
                tasks.set_completed(operation == "complete")
        return Response({"action": operation, "count": len(ids)})

    @extend_schema(
        operation_id="getTaskStats",
        summary="Counts of the caller's tasks",
        parameters=COMMON_HEADERS,
        responses=responses(r200=StatsSerializer),
    )
    @action(detail=False, methods=["get"])
    def stats(self, request, *args, **kwargs):
        return Response(self.get_queryset().stats(timezone.now()))


HEALTH = inline_serializer(
    "Health",
    {
        "status": serializers.ChoiceField(["healthy", "unhealthy"]),
        "database": serializers.ChoiceField(["ok", "unavailable"]),
        "timestamp": serializers.DateTimeField(),
    },
)


class HealthView(APIView):
    """Liveness and database reachability, for load balancers and uptime checks; no token."""

    authentication_classes = []
    permission_classes = [AllowAny]
    # A load balancer probes from one address, often; a 429 would take the instance out of service.
    throttle_classes = []

    @extend_schema(
        operation_id="getHealth",
        tags=["health"],
        responses={
            200: HEALTH,
            503: OpenApiResponse(HEALTH, description="The database cannot be reached."),
        },
    )
    def get(self, request):
        database = "ok" if database_is_reachable() else "unavailable"
        healthy = database == "ok"
        body = {
            "status": "healthy" if healthy else "unhealthy",
            "database": database,
            "timestamp": utc_iso(timezone.now()),
        }
        return Response(body, status=status.HTTP_200_OK if healthy else status.HTTP_503_SERVICE_UNAVAILABLE)


def database_is_reachable():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return False
    return True
