"""The clinic's answer reaches the patient, through a real SMTP server: the patient books,
a coordinator confirms in the admin, and the patient's calendar event is replaced, never
added to; the patient then moves the time and the same event moves with it."""

import email
import re
from urllib.parse import urlsplit

from django.core.management import call_command
from icalendar import Calendar
from playwright.sync_api import expect

from consultations.models import ConsultationRequest
from tests.browser.test_booking_journeys import PATIENT, fill_in_about_you, send
from tests.browser.test_staff_journeys import sign_in, staff_member
from tests.factories import AvailabilitySlotFactory


def _to_patient(inbox):
    messages = [email.message_from_bytes(envelope.content) for envelope in inbox]
    return [m for m in messages if PATIENT["email"] in m["To"]]


def _event(message):
    """(METHOD, UID, SEQUENCE, start) of the calendar file the message carries."""
    (part,) = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    calendar = Calendar.from_ical(part.get_payload(decode=True))
    (event,) = calendar.walk("VEVENT")
    return (
        str(calendar["METHOD"]),
        str(event["UID"]),
        int(event["SEQUENCE"]),
        event.decoded("DTSTART"),
    )


def _body(message) -> str:
    (part,) = [p for p in message.walk() if p.get_content_type() == "text/plain"]
    return part.get_payload(decode=True).decode()


def test_book_confirm_and_move_update_one_calendar_event(new_context, live_server, smtp_inbox):
    call_command("setup_roles", verbosity=0)
    staff_member("casey", "Intake coordinators")
    first, later = AvailabilitySlotFactory.create_batch(2)

    # The patient books the first time.
    patient = new_context().new_page()
    patient.goto("/book/?state=NY")
    times = patient.get_by_role("group", name="Choose a time")
    times.locator(f'input[value="{first.pk}"]').check()
    fill_in_about_you(patient)
    send(patient)
    expect(patient.get_by_role("heading", level=1)).to_have_text("Thank you. We have your request.")
    request = ConsultationRequest.objects.get()
    (received,) = _to_patient(smtp_inbox)
    method, uid, booked_sequence, start = _event(received)
    assert (method, uid, start) == ("REQUEST", request.calendar_uid(), first.starts_at)

    # A coordinator confirms it on the request's page.
    coordinator = new_context().new_page()
    sign_in(coordinator, "casey")
    coordinator.goto(f"/admin/consultations/consultationrequest/{request.pk}/change/")
    coordinator.get_by_label("Status").select_option(label="Confirmed")
    coordinator.get_by_role("button", name="Save", exact=True).click()
    expect(coordinator.locator(".messagelist")).to_contain_text("was changed successfully")
    received, confirmed = _to_patient(smtp_inbox)
    assert confirmed["Subject"].endswith("is confirmed")
    assert "ketamine" not in (confirmed["Subject"] + _body(confirmed)).lower()
    method, confirmed_uid, confirmed_sequence, start = _event(confirmed)
    assert (method, confirmed_uid, start) == ("REQUEST", uid, first.starts_at)
    assert confirmed_sequence > booked_sequence  # the calendar replaces the one event

    # The patient follows the email's manage link and moves to the later time.
    link = re.search(r"https?://\S+/book/manage/\S+", _body(confirmed)).group(0)
    patient.goto(urlsplit(link).path)
    patient.locator(f'input[name="slot"][value="{later.pk}"]').check()
    patient.get_by_role("button", name="Move my request to this time").click()
    expect(patient.get_by_role("main")).to_contain_text("moved")
    moved = _to_patient(smtp_inbox)[-1]
    method, moved_uid, moved_sequence, start = _event(moved)
    assert (method, moved_uid, start) == ("REQUEST", uid, later.starts_at)
    assert moved_sequence > confirmed_sequence
    request.refresh_from_db()
    assert request.slot == later
