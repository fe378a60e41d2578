from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import path
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


def metrics(request: HttpRequest) -> HttpResponse:
    """The serving worker's `process_*`/`python_*` metrics (each gunicorn worker has its own
    registry; a scrape sees one of them), so Prometheus knows the admin is up."""
    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)


urlpatterns = [
    path("healthz", healthz),
    path("metrics", metrics),
    path("admin/", admin.site.urls),
]
