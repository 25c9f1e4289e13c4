from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from tasks.health import liveness, readiness
from tasks.metrics import metrics_view
from tasks.views import HealthView

urlpatterns = [
    path("admin/", admin.site.urls),
    re_path(r"^health/?$", HealthView.as_view(), name="health"),
    re_path(r"^health/live/?$", liveness, name="health-live"),
    re_path(r"^health/ready/?$", readiness, name="health-ready"),
    re_path(r"^metrics/?$", metrics_view, name="metrics"),
    re_path(r"^api/schema/?$", SpectacularAPIView.as_view(), name="schema"),
    re_path(r"^api/docs/?$", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("api/", include("tasks.urls")),
]

handler400 = "tasks.error_handlers.bad_request"
handler403 = "tasks.error_handlers.permission_denied"
handler404 = "tasks.error_handlers.not_found"
handler500 = "tasks.error_handlers.server_error"
