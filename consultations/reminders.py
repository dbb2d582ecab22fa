"""Reminder emails before confirmed consultations, each sent at most once.

A scheduler runs `manage.py send_consultation_reminders` every few minutes. Each run
works out from the database which reminders are due (CLINIC_REMINDER_HOURS before a
confirmed consultation, up to CLINIC_REMINDER_GRACE_MINUTES late:
`ConsultationRequest.objects.reminder_due`) and claims each one by inserting its
`ConsultationReminder` row, in a transaction of its own that commits before anything is
sent. The unique constraint (request, hours before, start) lets exactly one insert win:
a second run at the same moment, or the same run again after a restart, finds the row
taken and moves on. Only the winner sends.

So a reminder goes at most once. The price is that a run that dies between its claim and
the send leaves the row "sending" and that reminder is not sent (README, "Reminders":
what to monitor). A send that fails (the mail server refused or was unreachable) marks
the row "failed" with the exception's class name only; later runs claim it again with a
conditional update and retry until the reminder's grace has passed, after which it stays
failed for staff to see.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from consultations.models import (
    ConsultationReminder,
    ConsultationRequest,
    ReminderState,
    Status,
)
from consultations.tasks import patient_email_send

logger = logging.getLogger(__name__)


@dataclass
class ReminderRun:
    """What one run did (or, dry, would do): "CR-XXXXXX (24 h)" per reminder."""

    sent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    due: list[str] = field(default_factory=list)  # a dry run's answer


def _label(reference: str, hours_before: int) -> str:
    return f"{reference} ({hours_before} h)"


def _grace() -> timedelta:
    return timedelta(minutes=settings.CLINIC_REMINDER_GRACE_MINUTES)


def consultation_reminders_due(*, now: datetime) -> dict[int, list[int]]:
    """The reminders due at `now` and not yet claimed: {request id: [hours before, …]},
    nearest to the consultation first."""
    due: dict[int, list[int]] = {}
    for hours_before in sorted(settings.CLINIC_REMINDER_HOURS):
        requests = ConsultationRequest.objects.reminder_due(
            hours_before=hours_before, now=now, grace=_grace()
        )
        for request_id in requests.values_list("pk", flat=True):
            due.setdefault(request_id, []).append(hours_before)
    return due


def _claim(*, request_id: int, hours_before: int, starts_at: datetime, now: datetime, state: str):
    """Insert the reminder's row; None if another run has it already."""
    try:
        with transaction.atomic():
            return ConsultationReminder.objects.create(
                request_id=request_id,
                hours_before=hours_before,
                starts_at=starts_at,
                state=state,
                claimed_at=now,
            )
    except IntegrityError:
        return None


def _send(reminder: ConsultationReminder) -> str:
    """Send a claimed reminder, if its consultation is still confirmed at the same time
    (a cancel or a move may have come since the claim), and record how it went."""
    rows = ConsultationReminder.objects.filter(pk=reminder.pk)
    consultation_request = (
        ConsultationRequest.objects.select_related("slot__clinician", "slot__location")
        .filter(pk=reminder.request_id)
        .first()
    )
    if (
        consultation_request is None
        or consultation_request.status != Status.CONFIRMED
        or consultation_request.slot is None
        or consultation_request.slot.starts_at != reminder.starts_at
    ):
        rows.update(state=ReminderState.SKIPPED)
        return ReminderState.SKIPPED
    try:
        patient_email_send(consultation_request=consultation_request, change="reminder")
    except Exception as error:  # noqa: BLE001 - recorded and retried, never raised
        rows.update(state=ReminderState.FAILED, error=type(error).__name__[:100])
        # The reference only: the exception text could carry the address.
        logger.warning(
            "%s h reminder for %s failed: %s",
            reminder.hours_before,
            consultation_request.reference,
            type(error).__name__,
        )
        return ReminderState.FAILED
    rows.update(state=ReminderState.SENT, sent_at=timezone.now(), error="")
    logger.info("%s h reminder for %s sent", reminder.hours_before, consultation_request.reference)
    return ReminderState.SENT


def consultation_reminders_send(
    *, now: datetime | None = None, dry_run: bool = False
) -> ReminderRun:
    """Claim and send every reminder due at `now` (default: the current time), and retry
    those whose send failed while their grace lasts. Safe to run anywhere, any number of
    times at once: each reminder is claimed by exactly one run. When two of one request's
    reminders are due together (the worker was down), only the nearest is sent and the
    other is recorded as not sent. `dry_run` claims and sends nothing and lists what is
    due (retries included)."""
    now = now or timezone.now()
    run = ReminderRun()
    due = consultation_reminders_due(now=now)
    starts = dict(
        ConsultationRequest.objects.filter(pk__in=due).values_list("pk", "slot__starts_at")
    )
    references = dict(ConsultationRequest.objects.filter(pk__in=due).values_list("pk", "reference"))
    retries = [
        reminder
        for hours_before in settings.CLINIC_REMINDER_HOURS
        for reminder in ConsultationReminder.objects.retry_due(
            hours_before=hours_before, now=now, grace=_grace()
        ).select_related("request")
    ]
    if dry_run:
        run.due = [_label(references[pk], hours[0]) for pk, hours in due.items()]
        run.due += [_label(r.request.reference, r.hours_before) for r in retries]
        return run

    claimed: list[ConsultationReminder] = []
    for request_id, (nearest, *earlier) in due.items():
        reminder = _claim(
            request_id=request_id,
            hours_before=nearest,
            starts_at=starts[request_id],
            now=now,
            state=ReminderState.SENDING,
        )
        if reminder is not None:
            claimed.append(reminder)
        for hours_before in earlier:
            # Overtaken by a nearer one: recorded, so no later run sends it after that.
            if _claim(
                request_id=request_id,
                hours_before=hours_before,
                starts_at=starts[request_id],
                now=now,
                state=ReminderState.SKIPPED,
            ):
                run.skipped.append(_label(references[request_id], hours_before))
    for reminder in retries:
        # A conditional update is the claim: of two runs retrying it, one changes the row.
        taken = ConsultationReminder.objects.filter(
            pk=reminder.pk, state=ReminderState.FAILED
        ).update(state=ReminderState.SENDING, attempts=F("attempts") + 1, claimed_at=now)
        if taken:
            claimed.append(reminder)

    outcomes = {
        ReminderState.SENT: run.sent,
        ReminderState.FAILED: run.failed,
        ReminderState.SKIPPED: run.skipped,
    }
    for reminder in claimed:
        reference = references.get(reminder.request_id) or reminder.request.reference
        outcomes[_send(reminder)].append(_label(reference, reminder.hours_before))
    return run
