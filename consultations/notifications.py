"""Emails about consultation requests.

Subjects never name the treatment; bodies carry the reference, the time, the modality
and links, never what the patient typed.
"""

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse

from clinic.models import ClinicDetails
from consultations.calendar_files import consultation_ics
from consultations.models import ConsultationRequest
from consultations.self_check.services import needs_call_back_today
from consultations.tokens import manage_token_make


def absolute_url(path: str) -> str:
    return settings.CLINIC_SITE_URL.rstrip("/") + path


def _patient_message(
    consultation_request: ConsultationRequest, *, subject: str, template: str
) -> EmailMessage:
    """An email to the patient: the reference, the time, the manage link and the clinic's
    details. Callers attach the calendar file that fits the change."""
    clinic = ClinicDetails.objects.cached()
    manage_url = absolute_url(
        reverse("consultations:manage", args=[manage_token_make(consultation_request)])
    )
    context = {
        "clinic": clinic,
        "consultation_request": consultation_request,
        "slot": consultation_request.slot,
        "manage_url": manage_url,
        "book_url": absolute_url(reverse("consultations:book")),
    }
    return EmailMessage(
        subject=subject.format(clinic=clinic.name),
        body=render_to_string(template, context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[consultation_request.email],
    )


def patient_confirmation_message(consultation_request: ConsultationRequest) -> EmailMessage:
    message = _patient_message(
        consultation_request,
        subject="Your consultation request with {clinic}",
        template="emails/consultation_confirmation.txt",
    )
    if consultation_request.slot is not None:
        message.attach("consultation.ics", consultation_ics(consultation_request), "text/calendar")
    return message


def patient_cancellation_message(consultation_request: ConsultationRequest) -> EmailMessage:
    """The patient cancelled from their link. (A calendar file that removes the event
    belongs here, attached as the confirmation attaches its own.)"""
    return _patient_message(
        consultation_request,
        subject="Your consultation request with {clinic} is cancelled",
        template="emails/consultation_cancelled.txt",
    )


def staff_notification_message(
    consultation_request: ConsultationRequest, change: str = "new"
) -> EmailMessage:
    """`change` is "new", "cancelled" or "moved". A request whose shared self-check needs a
    same-day call back says only "priority": never an answer."""
    admin_url = absolute_url(
        reverse("admin:consultations_consultationrequest_change", args=[consultation_request.pk])
    )
    subjects = {
        "new": f"New consultation request {consultation_request.reference}",
        "cancelled": f"Consultation request {consultation_request.reference} cancelled",
        "moved": f"Consultation request {consultation_request.reference} moved",
    }
    priority = needs_call_back_today(consultation_request)
    body = render_to_string(
        "emails/consultation_staff_notice.txt",
        {
            "consultation_request": consultation_request,
            "change": change,
            "admin_url": admin_url,
            "priority": priority,
        },
    )
    return EmailMessage(
        subject=("Priority: " if priority else "") + subjects[change],
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[settings.CLINIC_NOTIFY_EMAIL],
    )
