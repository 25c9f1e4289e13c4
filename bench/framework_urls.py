"""taskapi's URLconf plus two routes that do no work, to price the framework alone: benchmark only.

`bench/breakdown.py` and `bench/request_cpu.py` switch `ROOT_URLCONF` to this module while
they measure; the product never imports it. Both routes sit under /api/, so every middleware
treats them as it treats the API, and before the product's routes, so those resolve as in
production but for one more pattern tried first.
"""

from django.http import HttpResponse
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from taskapi.urls import urlpatterns as product_urlpatterns

EMPTY_DJANGO_PATH = "/api/bench/empty-django"
EMPTY_DRF_PATH = "/api/bench/empty-drf"


def empty_django_view(request):
    """A plain Django view: the middleware stack and URL resolution, nothing else."""
    return HttpResponse(b'{"id":1}', content_type="application/json")


class EmptyAPIView(APIView):
    """A DRF view with the API's defaults (token authentication, IsAuthenticated, the JSON renderer) and no work."""

    def get(self, request):
        return Response({"id": 1})


urlpatterns = [
    path(EMPTY_DJANGO_PATH.lstrip("/"), empty_django_view),
    path(EMPTY_DRF_PATH.lstrip("/"), EmptyAPIView.as_view()),
    *product_urlpatterns,
]
