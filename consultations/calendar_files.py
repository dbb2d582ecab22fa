"""The .ics file for a consultation: a neutral title and no patient detail.

Every file for one request carries the same UID and a higher SEQUENCE than the one before
(`ConsultationRequest.calendar_sequence`), so the patient's calendar keeps one event and
updates it: `METHOD:REQUEST` adds or changes it, `METHOD:CANCEL` removes it.
"""

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, Event, vCalAddress, vText

from clinic.models import ClinicDetails
from consultations.models import ConsultationRequest, Status

REQUEST = "REQUEST"
CANCEL = "CANCEL"


def consultation_ics(
    consultation_request: ConsultationRequest, *, method: str = REQUEST, sequence: int | None = None
) -> bytes:
    """An iCalendar file for the request's slot. Only the time, the clinic, the reference
    and how the consultation happens: no name, email, phone or answers. Without
    `sequence`, the request's next one (a download that changes nothing)."""
    from consultations.notifications import attendance

    slot = consultation_request.slot
    clinic = ClinicDetails.objects.cached()
    calendar = Calendar()
    calendar.add("prodid", f"-//{clinic.name}//Consultations//EN")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = Event()
    event.add("uid", consultation_request.calendar_uid())
    event.add("sequence", consultation_request.calendar_sequence if sequence is None else sequence)
    event.add("dtstamp", timezone.now())
    event.add("dtstart", slot.starts_at)
    event.add("dtend", slot.ends_at)
    event.add("summary", f"Consultation with {clinic.name}")
    organizer = vCalAddress(f"mailto:{settings.DEFAULT_FROM_EMAIL}")
    organizer.params["cn"] = vText(clinic.name)
    event.add("organizer", organizer)
    how = attendance(consultation_request)
    if how.location:
        event.add("location", how.location)
    if method == CANCEL:
        event.add("status", "CANCELLED")
        description = f"Cancelled. Reference {consultation_request.reference}."
    else:
        confirmed = consultation_request.status == Status.CONFIRMED
        event.add("status", "CONFIRMED" if confirmed else "TENTATIVE")
        description = f"{how.summary} Reference {consultation_request.reference}."
        if not confirmed:
            description += " The clinic will contact you to confirm this time."
    if clinic.phone:
        description += f" Questions or changes: call {clinic.phone}."
    event.add("description", description)
    calendar.add_component(event)
    return calendar.to_ical()
