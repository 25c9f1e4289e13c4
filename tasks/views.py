"""The task API: one viewset behind both route shapes, and the health check."""
from django.db import DatabaseError, connection
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

from .models import Task
from .pagination import KeysetPagination
from .permissions import PathUserIsCaller
from .schema import TaskAutoSchema
from .serializers import TaskSerializer


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter(
                "Link",
                str,
                OpenApiParameter.HEADER,
                response=[200],
                description='`<url>; rel="next"` when more tasks remain; absent on the last page.',
            )
        ]
    )
)
class TaskViewSet(viewsets.ModelViewSet):
    """The caller's own tasks; anyone else's simply do not exist here (404)."""

    serializer_class = TaskSerializer
    schema = TaskAutoSchema()
    pagination_class = KeysetPagination
    permission_classes = [IsAuthenticated, PathUserIsCaller]
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        return Task.objects.owned_by(self.request.user.id)

    def perform_create(self, serializer):
        serializer.save(user_id=self.request.user.id)

    def get_success_headers(self, data):
        url_kwargs = {**self.kwargs, "pk": data["id"]}
        return {"Location": self.request.build_absolute_uri(reverse(f"{self.basename}-detail", kwargs=url_kwargs))}

    @extend_schema(request=None, summary="Flip a task's completed flag")
    @action(detail=True, methods=["patch"])
    def complete(self, request, *args, **kwargs):
        if not self.get_queryset().filter(pk=kwargs["pk"]).toggle_completed():
            raise NotFound(f"No {Task._meta.object_name} matches the given query.")
        return Response(self.get_serializer(self.get_object()).data)


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
