"""The task API: one viewset behind both route shapes, and the health check."""
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
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
from .schema import TaskAutoSchema
from .serializers import BulkResultSerializer, BulkSerializer, StatsSerializer, TaskSerializer

IF_MATCH = OpenApiParameter(
    "If-Match", str, OpenApiParameter.HEADER,
    description='Only write if the task is still at this ETag (e.g. `"3"`); else 412 with the current task.',
)
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match", str, OpenApiParameter.HEADER, description="304 when the task still has this ETag.",
)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER,
    description="Retries with the same key and body within 24 hours replay the first answer.",
)
LINK = OpenApiParameter(
    "Link", str, OpenApiParameter.HEADER, response=[200],
    description='`<url>; rel="next"` when more tasks remain; absent on the last page.',
)


@extend_schema_view(
    list=extend_schema(parameters=[LINK]),
    create=extend_schema(parameters=[IDEMPOTENCY_KEY]),
    retrieve=extend_schema(parameters=[IF_NONE_MATCH]),
    update=extend_schema(parameters=[IF_MATCH]),
    partial_update=extend_schema(parameters=[IF_MATCH]),
    destroy=extend_schema(parameters=[IF_MATCH]),
)
class TaskViewSet(ReplicaReadsMixin, IdempotentCreateMixin, viewsets.ModelViewSet):
    """The caller's own tasks; anyone else's simply do not exist here (404).

    List, retrieve and stats read from the replica when it has the caller's writes (tasks/replica.py).
    """

    serializer_class = TaskSerializer
    schema = TaskAutoSchema()
    pagination_class = KeysetPagination
    filter_backends = [QueryValueRules, TaskFilterBackend, TaskOrdering]
    filterset_class = TaskFilter
    permission_classes = [IsAuthenticated, PathUserIsCaller]
    lookup_value_regex = "[0-9]{1,19}"  # ASCII digits, at most a bigint's length

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular inspecting, no user
            return Task.objects.none()
        # tag_keys serves filtering only: not decoding its JSON on every row of a page pays.
        return Task.objects.owned_by(self.request.user.id).defer("tag_keys")

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

    def perform_update(self, serializer):
        try:
            serializer.save(versions=if_match_versions(self.request))
        except VersionMismatch:
            self.raise_precondition_failed()

    def perform_destroy(self, instance):
        rows = Task.objects.filter(pk=instance.pk).at_versions(if_match_versions(self.request))
        if not rows.delete_in_one_statement():
            self.raise_precondition_failed()

    def raise_precondition_failed(self):
        """412 with the current task; or 404 if a concurrent request deleted it meanwhile."""
        raise PreconditionFailed(self.get_serializer(self.get_object()).data)

    @extend_schema(request=None, parameters=[IF_MATCH], summary="Flip a task's completed flag")
    @action(detail=True, methods=["patch"])
    def complete(self, request, *args, **kwargs):
        rows = self.get_queryset().filter(pk=kwargs["pk"]).at_versions(if_match_versions(request))
        if not rows.toggle_completed():
            self.raise_precondition_failed()
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(request=BulkSerializer, responses={200: BulkResultSerializer}, summary="Complete, reopen or delete many")
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

    @extend_schema(responses={200: StatsSerializer}, summary="Counts of the caller's tasks")
    @action(detail=False, methods=["get"])
    def stats(self, request, *args, **kwargs):
        return Response(self.get_queryset().stats(timezone.now()))


class HealthView(APIView):
    """Liveness and database reachability, for load balancers and uptime checks; no token."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        responses={
            200: inline_serializer(
                "Health",
                {
                    "status": serializers.ChoiceField(["healthy", "unhealthy"]),
                    "database": serializers.ChoiceField(["ok", "unavailable"]),
                    "timestamp": serializers.DateTimeField(),
                },
            ),
            503: OpenApiResponse(OpenApiTypes.OBJECT, description="The database cannot be reached."),
        }
    )
    def get(self, request):
        database = "ok" if database_is_reachable() else "unavailable"
        healthy = database == "ok"
        body = {"status": "healthy" if healthy else "unhealthy", "database": database, "timestamp": timezone.now()}
        return Response(body, status=status.HTTP_200_OK if healthy else status.HTTP_503_SERVICE_UNAVAILABLE)


def database_is_reachable():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return False
    return True
