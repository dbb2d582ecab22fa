"""Site-wide views: health check, the benchmark's trivial view, and error pages."""

import logging

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Case, F, Min, When
from django.db.models.functions import Greatest
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from django_tasks_db.models import DBTaskResult, get_date_max

from clinic.models import ClinicDetails, Fee, Heartbeat
from education.models import Article
from education.rendering import render_markdown

logger = logging.getLogger(__name__)


def _age_seconds(moment, now) -> int | None:
    return None if moment is None else max(0, int((now - moment).total_seconds()))


@never_cache
def healthz(request):
    """The database answers (else 503), and for monitoring: seconds since the email worker
    and the scheduler last showed they were alive (None: never), and the age of the
    oldest email waiting to be sent or being sent (None: none waiting).

    Two small queries and numbers only: no patient data. The status depends on the
    database alone, since the container health check asks it of every web replica and a
    stopped worker is not a reason to restart them; README ("Monitoring") says what to
    alert on.
    """
    now = timezone.now()
    queued = DBTaskResult.objects.ready() | DBTaskResult.objects.running()
    try:
        beats = dict(Heartbeat.objects.values_list("name", "beat_at"))
        oldest = queued.aggregate(
            oldest=Min(
                Case(
                    # A task without a delay waits from when it was queued; a delayed one
                    # from when it became due.
                    When(run_after=get_date_max(), then=F("enqueued_at")),
                    default=Greatest("enqueued_at", "run_after"),
                )
            )
        )["oldest"]
    except DatabaseError:
        logger.warning("health check: database unreachable")
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse(
        {
            "status": "ok",
            "database": "ok",
            "worker_last_seen_seconds": _age_seconds(beats.get(Heartbeat.WORKER), now),
            "scheduler_last_seen_seconds": _age_seconds(beats.get(Heartbeat.SCHEDULER), now),
            "oldest_pending_email_seconds": _age_seconds(oldest, now),
        }
    )


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
    text = (
        ClinicDetails.objects.cached()
        .privacy_notice.replace("{retention_days}", str(settings.CLINIC_RETENTION_DAYS))
        .replace("{waitlist_days}", str(settings.CLINIC_WAITLIST_RETENTION_DAYS))
    )
    return render(
        request,
        "clinic/privacy.html",
        {
            "notice_html": render_markdown(text).html,
        },
    )
