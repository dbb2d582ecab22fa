"""Site-wide views: health check, the benchmark's trivial view, and error pages."""

import logging

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from clinic.models import ClinicDetails, Fee
from education.models import Article
from education.rendering import render_markdown

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


@require_safe
def costs(request):
    """The clinic's fee list and offered treatments, with the Good Faith Estimate notice."""
    return render(
        request,
        "clinic/costs.html",
        {
            "fees": Fee.objects.all(),
            "cost_article": Article.objects.published()
            .filter(slug="costs-insurance-and-good-faith-estimate")
            .first(),
        },
    )


@require_safe
def privacy(request):
    """The privacy notice staff keep in the clinic details, with the retention read live."""
    text = ClinicDetails.objects.cached().privacy_notice.replace(
        "{retention_days}", str(settings.CLINIC_RETENTION_DAYS)
    )
    return render(
        request,
        "clinic/privacy.html",
        {
            "notice_html": render_markdown(text).html,
        },
    )
