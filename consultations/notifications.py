"""Emails about consultation requests.

Subjects never name the treatment; bodies carry the reference, the time, the modality,
how to attend and links, never what the patient typed.
"""

from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse

from clinic.models import ClinicDetails
from consultations.calendar_files import CANCEL, REQUEST, consultation_ics
from consultations.models import ACTIVE_STATUSES, ConsultationRequest, Modality, Status
from consultations.self_check.services import needs_call_back_today
from consultations.tokens import manage_token_make


def absolute_url(path: str) -> str:
    return settings.CLINIC_SITE_URL.rstrip("/") + path


@dataclass(frozen=True)
class Attendance:
    """How the patient attends, as emails and calendar files say it."""

    clinician: str  # "a clinician" when staff prefer no name
    summary: str  # "Video call, 30 minutes, with a clinician."
    instructions: str  # the video link, the call, or the address
    location: str  # the calendar event's LOCATION: the address or the video link


def attendance(consultation_request: ConsultationRequest) -> Attendance:
    slot = consultation_request.slot
    clinician = slot.clinician.name_for_patients
    summary = (
        f"{slot.get_modality_display().capitalize()}, {slot.duration_minutes} minutes, "
        f"with {clinician}."
    )
    location = ""
    if slot.modality == Modality.IN_PERSON:
        location = slot.location.one_line_address
        instructions = f"Come to: {location}"
    elif slot.modality == Modality.PHONE:
        instructions = "We will call you at the number you gave us, at this time."
    elif consultation_request.video_link:
        location = consultation_request.video_link
        instructions = f"Join the video call here: {location}"
    else:
        instructions = "We will email you the link for the video call before it starts."
    return Attendance(clinician, summary, instructions, location)


@dataclass(frozen=True)
class PatientEmail:
    subject: str
    template: str
    calendar_method: str  # "" for no calendar file
    # The statuses the request must still have when the email goes: a change made since
    # it was queued (the patient cancelled a request staff had just confirmed) has an
    # email of its own, and this one would only contradict it.
    statuses: frozenset


GOING_AHEAD = frozenset(ACTIVE_STATUSES)
PATIENT_EMAILS = {
    # The patient booked or moved: "we received your request".
    "received": PatientEmail(
        "Your consultation request with {clinic}",
        "emails/consultation_confirmation.txt",
        REQUEST,
        GOING_AHEAD,
    ),
    "confirmed": PatientEmail(
        "Your consultation with {clinic} is confirmed",
        "emails/consultation_confirmed.txt",
        REQUEST,
        frozenset({Status.CONFIRMED}),
    ),
    "moved": PatientEmail(
        "Your consultation with {clinic} has a new time",
        "emails/consultation_moved.txt",
        REQUEST,
        GOING_AHEAD,
    ),
    "declined": PatientEmail(
        "About your consultation request with {clinic}",
        "emails/consultation_declined.txt",
        CANCEL,
        frozenset({Status.DECLINED}),
    ),
    "cancelled_by_clinic": PatientEmail(
        "Your consultation with {clinic} is cancelled",
        "emails/consultation_cancelled_by_clinic.txt",
        CANCEL,
        frozenset({Status.CANCELLED}),
    ),
    "cancelled": PatientEmail(
        "Your consultation request with {clinic} is cancelled",
        "emails/consultation_cancelled.txt",
        CANCEL,
        frozenset({Status.CANCELLED}),
    ),
    "reminder": PatientEmail(
        "Reminder: your consultation with {clinic}",
        "emails/consultation_reminder.txt",
        REQUEST,
        frozenset({Status.CONFIRMED}),
    ),
}
# What staff changing a request to a status tells the patient.
STAFF_STATUS_EMAILS = {
    Status.CONFIRMED: "confirmed",
    Status.DECLINED: "declined",
    Status.CANCELLED: "cancelled_by_clinic",
}


def patient_message(
    consultation_request: ConsultationRequest, change: str, *, sequence: int = 0
) -> EmailMessage:
    """The email for `change` (a key of PATIENT_EMAILS): the reference, the time, how to
    attend, the manage link and the clinic's details, and the calendar file that fits,
    carrying `sequence`. Never anything the patient typed."""
    kind = PATIENT_EMAILS[change]
    clinic = ClinicDetails.objects.cached()
    manage_url = absolute_url(
        reverse("consultations:manage", args=[manage_token_make(consultation_request)])
    )
    slot = consultation_request.slot
    context = {
        "clinic": clinic,
        "consultation_request": consultation_request,
        "slot": slot,
        "attendance": attendance(consultation_request) if slot else None,
        "manage_url": manage_url,
        "book_url": absolute_url(reverse("consultations:book")),
    }
    message = EmailMessage(
        subject=kind.subject.format(clinic=clinic.name),
        body=render_to_string(kind.template, context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[consultation_request.email],
    )
    if slot is not None and kind.calendar_method:
        content = consultation_ics(
            consultation_request, method=kind.calendar_method, sequence=sequence
        )
        message.attach("consultation.ics", content, "text/calendar")
    return message


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
