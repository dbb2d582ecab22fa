"""Rules for what a patient may change from their manage link."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from consultations.models import ConsultationRequest


def self_service_closed_reason(consultation_request: ConsultationRequest) -> str:
    """Why the patient can no longer cancel or move online; empty when they still can."""
    if not consultation_request.is_active:
        return "closed"
    slot = consultation_request.slot
    cutoff = timedelta(hours=settings.CLINIC_SELF_SERVICE_CUTOFF_HOURS)
    if slot is not None and slot.starts_at - timezone.now() < cutoff:
        return "too_late"
    return ""
