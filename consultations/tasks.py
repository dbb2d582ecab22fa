"""Background tasks (django-tasks): emails go out after the request is saved.

A failed send never touches the request itself: the failure is recorded on it for staff
to see and retry ("Resend confirmation" in the admin).
"""

import logging

from django.utils import timezone
from django_tasks import task

from consultations.models import ConsultationRequest, EmailStatus
from consultations.notifications import (
    patient_cancellation_message,
    patient_confirmation_message,
    staff_notification_message,
)

logger = logging.getLogger(__name__)


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
            patient_confirmation_message(consultation_request).send()
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


@task()
def send_patient_cancellation_notice(request_id: int) -> bool:
    """Tell the patient their cancel went through. A failure is logged (by reference)
    and changes nothing else: the request stays cancelled."""
    consultation_request = (
        ConsultationRequest.objects.select_related("slot").filter(pk=request_id).first()
    )
    if consultation_request is None:
        return False
    try:
        patient_cancellation_message(consultation_request).send()
    except Exception as error:  # noqa: BLE001
        logger.warning(
            "cancellation email for %s failed: %s",
            consultation_request.reference,
            type(error).__name__,
        )
        return False
    return True
