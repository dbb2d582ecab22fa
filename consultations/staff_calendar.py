"""Staff calendar feeds: each staff member's private ICS subscription of the upcoming
consultations their role may see, and the admin page where they make, replace or turn
off its address.

Who sees what is the agenda's rule (consultations/agenda.py): staff who may see requests
get everyone's consultations, a clinician linked to their staff account their own,
anyone else none. Each event carries the reference, the modality, the clinician, the
status and, in person, the location; never a patient's name, contact details, answers or
notes. Cancelled and declined requests stay in the feed as STATUS:CANCELLED, so a
calendar that showed them strikes them out.

Calendar apps cannot sign in, so the address is the credential: its token is a long
random string in the URL path. Only its hash is stored (StaffCalendarFeed); every fetch is
limited per client address, written to the audit trail, and a replaced, turned-off or
unknown token answers 404. The log redaction (clinic/log_redaction.py) keeps the token
out of every log line.
"""

from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event, vDuration

from clinic.models import ClinicDetails
from consultations.agenda import agenda_allowed, own_clinician
from consultations.formatting import clinic_zone_name
from consultations.models import (
    ConsultationRequest,
    StaffCalendarFeed,
    Status,
    clinic_day_start,
)
from consultations.notifications import absolute_url
from consultations.services import staff_calendar_feed_issue, staff_calendar_feed_revoke

SEE_ALL_PERMISSION = "consultations.view_consultationrequest"
# How a request's status shows in a calendar.
EVENT_STATUS = {
    Status.NEW: "TENTATIVE",
    Status.CONTACTED: "TENTATIVE",
    Status.CONFIRMED: "CONFIRMED",
    Status.COMPLETED: "CONFIRMED",
    Status.NO_SHOW: "CONFIRMED",
    Status.DECLINED: "CANCELLED",
    Status.CANCELLED: "CANCELLED",
}
# What calendar apps are asked to keep to (some poll far more often otherwise).
REFRESH = timedelta(hours=1)


def feed_allowed(user) -> bool:
    """Whether this account may have a feed: active staff whom the agenda lets in."""
    return user.is_active and user.is_staff and agenda_allowed(user)


def feed_consultations(user):
    """The consultations `user`'s feed lists: from the start of today in the clinic's zone
    on, everyone's for staff who may see requests, a clinician's own otherwise."""
    if not feed_allowed(user):
        return ConsultationRequest.objects.none()
    consultations = ConsultationRequest.objects.filter(slot__starts_at__gte=clinic_day_start())
    if not user.has_perm(SEE_ALL_PERMISSION):
        consultations = consultations.filter(slot__clinician=own_clinician(user))
    return consultations.select_related("slot__clinician", "slot__location").order_by(
        "slot__starts_at", "pk"
    )


def feed_path(token: str) -> str:
    return reverse("consultations:staff_calendar_feed", args=[token])


def staff_calendar_ics(user) -> tuple[bytes, int]:
    """The feed of `user` as an iCalendar file, and how many consultations it lists."""
    clinic = ClinicDetails.objects.cached()
    can_open = user.has_perm(SEE_ALL_PERMISSION)
    host = urlsplit(settings.CLINIC_SITE_URL).hostname or "localhost"
    now = timezone.now()
    calendar = Calendar()
    calendar.add("prodid", f"-//{clinic.name}//Staff consultations//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"{clinic.name}: consultations")
    calendar.add("refresh-interval", vDuration(REFRESH), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(REFRESH))
    consultations = list(feed_consultations(user))
    for consultation in consultations:
        slot = consultation.slot
        modality = slot.get_modality_display()
        event = Event()
        # Not the patient's UID: this is the clinic's own view of the consultation.
        event.add("uid", f"staff-{consultation.reference}@{host}")
        event.add("sequence", consultation.calendar_sequence)
        event.add("dtstamp", now)
        event.add("dtstart", slot.starts_at)
        event.add("dtend", slot.ends_at)
        event.add("summary", f"Consultation {consultation.reference} ({modality})")
        event.add("status", EVENT_STATUS[consultation.status])
        lines = [
            f"Reference: {consultation.reference}",
            f"Modality: {modality}",
            f"Clinician: {slot.clinician}",
            f"Status: {consultation.get_status_display()}",
        ]
        if slot.location is not None:
            where = f"{slot.location.name}, {slot.location.one_line_address}"
            event.add("location", where)
            lines.append(f"Location: {where}")
        if can_open:
            change = reverse(
                "admin:consultations_consultationrequest_change", args=[consultation.pk]
            )
            lines.append(f"Request: {absolute_url(change)}")
        event.add("description", "\n".join(lines))
        calendar.add_component(event)
    return calendar.to_ical(), len(consultations)


def calendar_feed_page(request, admin_site):
    """ "Your calendar feed": make, replace or turn off your own feed's address. A new
    address is shown on the answer to the POST that made it, once, and never again."""
    user = request.user
    feed = StaffCalendarFeed.objects.filter(user=user).first()
    allowed = feed_allowed(user)
    new_url = ""
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "issue" and allowed:
            new_url = absolute_url(
                feed_path(staff_calendar_feed_issue(user=user, http_request=request))
            )
            feed = StaffCalendarFeed.objects.get(user=user)
        elif action == "revoke" and feed is not None:
            staff_calendar_feed_revoke(feed=feed, http_request=request)
            messages.success(request, "Your calendar feed is off: its address no longer answers.")
            return redirect("admin:consultations_calendar_feed")
        else:
            return HttpResponseBadRequest("Nothing to do.")
    mine = own_clinician(user)
    context = {
        **admin_site.each_context(request),
        "title": "Your calendar feed",
        "feed": feed,
        "allowed": allowed,
        "sees_all": user.has_perm(SEE_ALL_PERMISSION),
        "mine": mine,
        "new_url": new_url,
        "zone_name": clinic_zone_name(),
        "refresh_hours": int(REFRESH.total_seconds() // 3600),
    }
    return TemplateResponse(request, "admin/consultations/calendar_feed.html", context)
