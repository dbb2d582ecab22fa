"""The .ics file for a requested consultation: a neutral title and no patient detail."""

from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, Event

from clinic.models import ClinicDetails
from consultations.models import ConsultationRequest, Modality


def consultation_ics(consultation_request: ConsultationRequest) -> bytes:
    """An iCalendar file for the request's slot. Only the time, the clinic, the reference
    and how the consultation happens: no name, email, phone or answers."""
    slot = consultation_request.slot
    clinic = ClinicDetails.objects.cached()
    host = urlsplit(settings.CLINIC_SITE_URL).hostname or "localhost"
    calendar = Calendar()
    calendar.add("prodid", f"-//{clinic.name}//Consultations//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"{consultation_request.reference}@{host}")
    event.add("dtstamp", timezone.now())
    event.add("dtstart", slot.starts_at)
    event.add("dtend", slot.ends_at)
    event.add("summary", f"Consultation with {clinic.name}")
    if slot.modality == Modality.IN_PERSON:
        event.add("location", clinic.address.replace("\n", ", "))
    description = (
        f"{slot.get_modality_display().capitalize()}. Reference {consultation_request.reference}. "
        "The clinic will contact you to confirm this time."
    )
    if clinic.phone:
        description += f" Questions or changes: call {clinic.phone}."
    event.add("description", description)
    calendar.add_component(event)
    return calendar.to_ical()
