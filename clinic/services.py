"""Writes for the site-wide background pieces: heartbeats and the scheduler's claims."""

import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from clinic.models import Heartbeat, JobOutcome, ScheduledJobRun


def heartbeat_record(*, name: str, at: datetime.datetime | None = None) -> None:
    """Note that the process called `name` ("worker", "scheduler") is alive now."""
    at = at or timezone.now()
    if Heartbeat.objects.filter(name=name).update(beat_at=at):
        return
    try:
        with transaction.atomic():
            Heartbeat.objects.create(name=name, beat_at=at)
    except IntegrityError:  # another process of the same name made the row first
        Heartbeat.objects.filter(name=name).update(beat_at=at)


def scheduled_job_claim(*, job: str, period: str) -> ScheduledJobRun | None:
    """Take `job` for `period`: the new run, or None if a scheduler already took it.

    The insert is committed at once (its own transaction), before the job runs, so a
    second scheduler's insert meets the unique constraint however the two interleave.
    """
    try:
        with transaction.atomic():
            return ScheduledJobRun.objects.create(job=job, period=period)
    except IntegrityError:
        return None


def scheduled_job_finish(*, run: ScheduledJobRun, error: BaseException | None = None) -> None:
    """Record how a claimed run ended (an error by its class name only)."""
    run.finished_at = timezone.now()
    run.outcome = JobOutcome.DONE if error is None else JobOutcome.FAILED
    run.error = "" if error is None else type(error).__name__[:100]
    run.save(update_fields=["finished_at", "outcome", "error"])
