"""Site-wide views: health check, the benchmark's trivial view, and error pages."""

import logging

from django.db import DatabaseError, connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.views.decorators.cache import never_cache

logger = logging.getLogger(__name__)


@never_cache
def healthz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        logger.warning("health check: database unreachable")
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


def ping(request):
    """A fixed, tiny answer through the full middleware stack: `make bench`'s baseline.

    It touches neither the database nor a template, so its throughput is the framework's
    ceiling on the machine; every page in the benchmark is reported as a ratio of it.
    """
    return HttpResponse("ok", content_type="text/plain")


def rate_limited(request, exception=None):
    return render(request, "429.html", status=429)


def server_error(request):
    # Render with the request so the page keeps the site frame; the context processor
    # falls back to defaults when the database is the cause of the error.
    try:
        return render(request, "500.html", status=500)
    except Exception:  # noqa: BLE001 - the error page itself must never fail
        return HttpResponse(
            loader.get_template("500_plain.html").render(), status=500, content_type="text/html"
        )
