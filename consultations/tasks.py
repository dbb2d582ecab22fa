"""Background tasks (django-tasks): emails go out after the request is saved.

A failed send never touches the request itself: the failure is recorded on it for staff
to see and retry ("Resend confirmation" in the admin).
"""

import logging

from django.utils import timezone
from django_tasks import task

from consultations.models import ConsultationRequest, EmailStatus, Status
from consultations.notifications import (
    PATIENT_EMAILS,
    patient_message,
    staff_notification_message,
)

logger = logging.getLogger(__name__)


class WorkerLost(Exception):
    """Recorded (never raised) on a task whose worker stopped while it ran: the task stayed
    RUNNING until fail_stranded_tasks marked it failed. Whether its email went out is
    unknown."""


@task()
def send_consultation_request_emails(request_id: int) -> str:
    """Send the patient's confirmation (unless already sent, or the request closed since
    it was queued) and the staff notice (unless already sent). Returns the confirmation's
    email status."""
    consultation_request = (
        ConsultationRequest.objects.select_related("slot").filter(pk=request_id).first()
    )
    if consultation_request is None:
        return "gone"
    queryset = ConsultationRequest.objects.filter(pk=request_id)
    status = consultation_request.confirmation_email_status
    if status != EmailStatus.SENT and consultation_request.is_active:
        try:
            # A resend for a confirmed request says it is confirmed, not "received".
            confirmed = consultation_request.status == Status.CONFIRMED
            patient_email_send(
                consultation_request=consultation_request,
                change="confirmed" if confirmed else "received",
            )
        except Exception as error:  # noqa: BLE001 - any failure is recorded, never raised
            status = EmailStatus.FAILED
            queryset.update(
                confirmation_email_status=status,
                confirmation_email_error=type(error).__name__[:100],
            )
            # The reference only: the exception text could contain the address.
            logger.warning(
                "confirmation email for %s failed: %s",
                consultation_request.reference,
                type(error).__name__,
            )
        else:
            status = EmailStatus.SENT
            queryset.update(
                confirmation_email_status=status,
                confirmation_email_error="",
                confirmation_email_sent_at=timezone.now(),
            )
    if consultation_request.staff_notified_at is None:
        try:
            staff_notification_message(consultation_request).send()
        except Exception as error:  # noqa: BLE001
            logger.warning(
                "staff notice for %s failed: %s",
                consultation_request.reference,
                type(error).__name__,
            )
        else:
            queryset.update(staff_notified_at=timezone.now())
    return status


@task()
def send_staff_change_notice(request_id: int, change: str) -> bool:
    """Tell the clinic a patient cancelled or moved their request."""
    consultation_request = ConsultationRequest.objects.filter(pk=request_id).first()
    if consultation_request is None:
        return False
    try:
        staff_notification_message(consultation_request, change).send()
    except Exception as error:  # noqa: BLE001
        logger.warning(
            "staff %s notice for %s failed: %s",
            change,
            consultation_request.reference,
            type(error).__name__,
        )
        return False
    return True


def patient_email_send(*, consultation_request: ConsultationRequest, change: str) -> None:
    """Send the patient the email for `change` now, its calendar file taking the request's
    next SEQUENCE. Raises whatever the mail backend raises."""
    from consultations.services import consultation_request_calendar_sequence_take

    sequence = 0
    if PATIENT_EMAILS[change].calendar_method and consultation_request.slot_id:
        sequence = consultation_request_calendar_sequence_take(request_id=consultation_request.pk)
    patient_message(consultation_request, change, sequence=sequence).send()


def _send_patient_update(request_id: int, change: str, label: str) -> bool:
    consultation_request = (
        ConsultationRequest.objects.select_related("slot").filter(pk=request_id).first()
    )
    if consultation_request is None:
        return False
    if consultation_request.status not in PATIENT_EMAILS[change].statuses:
        # Changed again since this was queued (the patient cancelled a request staff had
        # just confirmed): that change has its own email, and this one would contradict it.
        logger.info(
            "%s email for %s not sent: changed since", label, consultation_request.reference
        )
        return False
    try:
        patient_email_send(consultation_request=consultation_request, change=change)
    except Exception as error:  # noqa: BLE001 - logged; the change itself stands
        logger.warning(
            "%s email for %s failed: %s",
            label,
            consultation_request.reference,
            type(error).__name__,
        )
        return False
    return True


@task()
def send_patient_update(request_id: int, change: str) -> bool:
    """Tell the patient what staff did ("confirmed", "moved", "declined",
    "cancelled_by_clinic"). A failure is logged (by reference) and changes nothing else."""
    return _send_patient_update(request_id, change, change.replace("_", " "))


@task()
def send_patient_cancellation_notice(request_id: int) -> bool:
    """Tell the patient their cancel went through, with the calendar file that removes the
    event. A failure is logged (by reference) and changes nothing else: the request stays
    cancelled."""
    return _send_patient_update(request_id, "cancelled", "cancellation")


@task()
def notify_waitlist(slot_ids: list[int]) -> int:
    """Email the waitlisted patients who fit a place that opened in these slots (oldest
    first, a few at a time). Returns how many were emailed."""
    from consultations.waitlist import waitlist_notify

    return waitlist_notify(slot_ids=slot_ids)
