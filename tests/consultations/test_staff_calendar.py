"""Staff calendar feeds: each staff member makes, replaces or turns off their own private
ICS address in the admin; it lists the consultations their role may see, without patient
details, and every fetch is limited and audited."""

import hashlib
import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from consultations.models import AuditAction, AuditEvent, StaffCalendarFeed, Status
from consultations.services import staff_calendar_feed_issue
from tests.factories import (
    AvailabilitySlotFactory,
    ClinicianFactory,
    ConsultationRequestFactory,
    LocationFactory,
    role_member,
)
from tests.page_forms import form_with_button

pytestmark = pytest.mark.django_db

NOW = datetime(2031, 3, 3, 14, 0, tzinfo=UTC)
PAGE = reverse("admin:consultations_calendar_feed")
FEED_LIST = reverse("admin:consultations_staffcalendarfeed_changelist")


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def coordinator():
    return role_member("Intake coordinators")


@pytest.fixture
def clinician_user():
    user = role_member("Clinicians")
    ClinicianFactory(user=user, display_name="Dr. Own Feed")
    return user


def consultation(**fields):
    """A request with its own clinician, three days ahead unless told."""
    if "slot" not in fields:
        fields.setdefault("slot__starts_at", NOW + timedelta(days=3))
    return ConsultationRequestFactory(
        full_name="Rosalind Quill",
        email="rquill@example.com",
        note="PRIVATE-NOTE",
        **fields,
    )


def make_address(client, user, button="Make my feed's address"):
    """Sign in as `user`, press the page's button, and read the address shown once."""
    client.force_login(user)
    page = client.get(PAGE)
    assert page.status_code == 200
    form = form_with_button(page.content.decode(), button)
    response = client.post(PAGE, form.submission(button))
    assert response.status_code == 200
    url = unescape(
        re.search(r'id="feed-url" readonly value="([^"]+)"', response.content.decode())[1]
    )
    assert url.startswith("https://clinic.example/staff-calendar/") and url.endswith(".ics")
    return url.removeprefix("https://clinic.example")


def fetch(path):
    """As a calendar app does: no cookie, no sign-in."""
    return Client().get(path)


def events(response):
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(response.content)
    return {str(event["SUMMARY"]).split()[1]: event for event in calendar.walk("VEVENT")}


def test_a_coordinators_feed_lists_every_upcoming_consultation_without_patient_details(
    client, coordinator
):
    confirmed = consultation(status=Status.CONFIRMED)
    new = consultation(slot__modality="phone")
    cancelled = consultation(status=Status.CANCELLED, holds_place=False)
    declined = consultation(status=Status.DECLINED, holds_place=False)
    in_person = consultation(
        slot__modality="in_person", slot__location=LocationFactory(name="Harbor site")
    )
    past = consultation(slot__starts_at=NOW - timedelta(days=2))
    unarranged = consultation(slot=None, holds_place=False)
    path = make_address(client, coordinator)

    response = fetch(path)
    listed = events(response)
    assert set(listed) == {r.reference for r in (confirmed, new, cancelled, declined, in_person)}, (
        "past and unscheduled requests are left out"
    )
    assert past.reference not in listed and unarranged.reference not in listed
    event = listed[confirmed.reference]
    assert str(event["STATUS"]) == "CONFIRMED"
    assert event.decoded("DTSTART") == confirmed.slot.starts_at
    assert event.decoded("DTEND") == confirmed.slot.ends_at
    description = str(event["DESCRIPTION"])
    assert f"Reference: {confirmed.reference}" in description
    assert "Modality: video call" in description
    assert f"Clinician: {confirmed.slot.clinician}" in description
    assert "Status: Confirmed" in description
    change = reverse("admin:consultations_consultationrequest_change", args=[confirmed.pk])
    assert f"Request: https://clinic.example{change}" in description
    assert str(listed[new.reference]["STATUS"]) == "TENTATIVE"
    assert str(listed[cancelled.reference]["STATUS"]) == "CANCELLED"
    assert str(listed[declined.reference]["STATUS"]) == "CANCELLED"
    assert str(listed[in_person.reference]["LOCATION"]).startswith("Harbor site, ")
    text = response.content.decode()
    for private in ("Rosalind", "Quill", "rquill", "PRIVATE-NOTE", "5550143", "555-0143"):
        assert private not in text
    assert "no-store" in response["Cache-Control"]
    assert not response.cookies


def test_a_clinician_sees_only_their_own(client, clinician_user):
    own = consultation(slot__clinician=clinician_user.clinician, status=Status.CONFIRMED)
    other = consultation(status=Status.CONFIRMED)
    client.force_login(clinician_user)
    assert "your upcoming consultations as Dr. Own Feed" in client.get(PAGE).content.decode()
    listed = events(fetch(make_address(client, clinician_user)))
    assert set(listed) == {own.reference}
    assert other.reference not in listed
    assert "Request:" not in str(listed[own.reference]["DESCRIPTION"])  # cannot open it


def test_only_a_hash_of_the_token_is_kept_and_the_address_is_shown_once(client, coordinator):
    path = make_address(client, coordinator)
    token = path.split("/")[2].removesuffix(".ics")
    assert len(token) >= 40
    feed = StaffCalendarFeed.objects.get(user=coordinator)
    assert feed.token_hash == hashlib.sha256(token.encode()).hexdigest()
    page = client.get(PAGE).content.decode()
    assert token not in page and "Your feed is on" in page


def test_a_new_address_replaces_the_old_one(client, coordinator):
    first = make_address(client, coordinator)
    second = make_address(client, coordinator, "Make a new address (the old one stops working)")
    assert first != second
    assert fetch(first).status_code == 404
    assert fetch(second).status_code == 200
    assert StaffCalendarFeed.objects.count() == 1
    details = list(
        AuditEvent.objects.filter(user=coordinator).order_by("pk").values_list("action", "detail")
    )
    assert details[:2] == [
        (AuditAction.ADD, f"calendar feed of {coordinator.username}: address made"),
        (
            AuditAction.CHANGE,
            f"calendar feed of {coordinator.username}: new address, the old one stopped",
        ),
    ]


def test_turning_the_feed_off_makes_its_address_404(client, coordinator):
    path = make_address(client, coordinator)
    page = client.get(PAGE).content.decode()
    form = form_with_button(page, "Turn my feed off")
    response = client.post(PAGE, form.submission("Turn my feed off"), follow=True)
    assert "Your calendar feed is off" in response.content.decode()
    assert fetch(path).status_code == 404
    assert not StaffCalendarFeed.objects.exists()


def test_a_manager_turns_off_anyones_feed(client, coordinator):
    path = make_address(Client(), coordinator)
    manager = role_member("Clinic managers")
    client.force_login(manager)
    listing = client.get(FEED_LIST).content.decode()
    assert coordinator.username in listing and "Turn the selected feeds off" in listing
    feed = StaffCalendarFeed.objects.get()
    client.post(FEED_LIST, {"action": "turn_off", "_selected_action": [feed.pk]})
    assert fetch(path).status_code == 404
    event = AuditEvent.objects.get(action=AuditAction.DELETE)
    assert event.user == manager
    assert event.detail == f"calendar feed of {coordinator.username}: turned off"


def test_others_cannot_list_feeds_and_own_page_is_per_account(client, coordinator):
    make_address(Client(), coordinator)
    other = role_member("Intake coordinators")
    client.force_login(other)
    assert client.get(FEED_LIST).status_code == 403
    assert "You have no calendar feed" in client.get(PAGE).content.decode()
    # Turning off "my" feed with none of one's own changes nobody else's.
    assert client.post(PAGE, {"action": "revoke"}).status_code == 400
    assert StaffCalendarFeed.objects.filter(user=coordinator).exists()


def test_staff_whose_role_sees_no_consultations_get_no_feed(client):
    editor = role_member("Content editors")
    client.force_login(editor)
    assert "Your role sees no consultations" in client.get(PAGE).content.decode()
    assert client.post(PAGE, {"action": "issue"}).status_code == 400
    assert not StaffCalendarFeed.objects.exists()


@pytest.mark.parametrize("change", ["deactivated", "left the role"])
def test_a_feed_stops_when_its_owner_may_no_longer_see_consultations(coordinator, change):
    path = "/staff-calendar/" + staff_calendar_feed_issue(user=coordinator) + ".ics"
    assert fetch(path).status_code == 200
    if change == "deactivated":
        coordinator.is_active = False
        coordinator.save()
    else:
        coordinator.groups.clear()
    assert fetch(path).status_code == 404


def test_an_unknown_token_gets_404(coordinator):
    token = staff_calendar_feed_issue(user=coordinator)
    assert fetch(f"/staff-calendar/{token[:-1]}.ics").status_code == 404
    assert fetch("/staff-calendar/x.ics").status_code == 404


def test_every_fetch_is_audited(coordinator):
    consultation(status=Status.CONFIRMED)
    consultation()
    path = "/staff-calendar/" + staff_calendar_feed_issue(user=coordinator) + ".ics"
    fetch(path)
    fetch(path)
    fetches = AuditEvent.objects.filter(detail="calendar feed fetched")
    assert fetches.count() == 2
    event = fetches.first()
    assert (event.user, event.username, event.action) == (
        coordinator,
        coordinator.username,
        AuditAction.LIST,
    )
    assert event.count == 2 and event.source_ip == "127.0.0.1"
    assert event.at == timezone.now()


def test_fetches_are_rate_limited_per_address(settings, coordinator):
    settings.CLINIC_CALENDAR_FEED_RATE_LIMIT = "3/h"
    path = "/staff-calendar/" + staff_calendar_feed_issue(user=coordinator) + ".ics"
    assert fetch(path).status_code == 200
    assert fetch("/staff-calendar/guess.ics").status_code == 404  # guesses count too
    assert fetch(path).status_code == 200
    limited = fetch(path)
    assert limited.status_code == 429 and limited["Retry-After"] == "3600"
    assert AuditEvent.objects.filter(detail="calendar feed fetched").count() == 2
    other_address = Client(REMOTE_ADDR="192.0.2.7").get(path)
    assert other_address.status_code == 200


def test_the_feed_page_is_linked_from_the_agenda(client, coordinator):
    client.force_login(coordinator)
    agenda = client.get(reverse("admin:consultations_agenda")).content.decode()
    assert f'href="{PAGE}"' in agenda


def test_the_slot_of_a_moved_request_moves_its_event(client, coordinator):
    request = consultation(status=Status.CONFIRMED)
    path = make_address(client, coordinator)
    before = events(fetch(path))[request.reference]
    new_slot = AvailabilitySlotFactory(starts_at=NOW + timedelta(days=5))
    request.slot = new_slot
    request.save()
    after = events(fetch(path))[request.reference]
    assert str(after["UID"]) == str(before["UID"])
    assert after.decoded("DTSTART") == new_slot.starts_at
