"""The patient's booking flow over HTTP: the form, validation, bot traps, the hold and the
confirmation page."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client, override_settings
from django.utils import timezone
from icalendar import Calendar

from consultations.forms import BookingForm
from consultations.models import AvailabilitySlot, ConsultationRequest, Status
from consultations.services import consultation_request_create
from consultations.tokens import FORM_TOKEN_MAX_AGE
from tests.consultations.conftest import VALID_ANSWERS, form_tokens, submit
from tests.factories import AvailabilitySlotFactory

pytestmark = pytest.mark.django_db


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


def test_book_link_on_every_page_marks_current(client):
    home = client.get("/").content.decode()
    assert '<a href="/book/">Book a consultation</a>' in home
    book = client.get("/book/").content.decode()
    assert '<a href="/book/" aria-current="page">Book a consultation</a>' in book


def test_form_lists_open_slots_grouped_by_day_with_full_labels(client, settings, time_machine):
    settings.TIME_ZONE = "America/New_York"
    time_machine.move_to(datetime(2037, 3, 1, 12, tzinfo=UTC))  # within the booking horizon
    # Tuesday, March 3, 2037, 2:30 pm in New York.
    start = datetime(2037, 3, 3, 19, 30, tzinfo=UTC)
    AvailabilitySlotFactory(starts_at=start)
    AvailabilitySlotFactory(starts_at=start + timedelta(days=1), modality="phone")
    AvailabilitySlotFactory(starts_at=start + timedelta(hours=1), is_open=False)
    AvailabilitySlotFactory(starts_at=start + timedelta(hours=2), held=1)  # full
    AvailabilitySlotFactory(starts_at=timezone.now() - timedelta(hours=1))  # past
    html = client.get("/book/").content.decode()
    text = _text(html)
    video = AvailabilitySlot.objects.get(starts_at=start).clinician.name_for_patients
    phone = AvailabilitySlot.objects.get(modality="phone").clinician.name_for_patients
    assert f"Tuesday, March 3, 2:30 pm Eastern time, video call with {video}, 30 minutes" in text
    assert f"Wednesday, March 4, 2:30 pm Eastern time, phone call with {phone}, 30 minutes" in text
    assert html.count('type="radio" name="slot"') == 3  # two open slots and "none"
    assert "<legend>Tuesday, March 3</legend>" in html
    assert "<legend>Wednesday, March 4</legend>" in html
    assert "None of these times work for me: contact me to arrange a time" in html
    assert "All times are Eastern time" in html
    assert "<script" not in html.replace('type="application/ld+json"', "")
    assert html.count("<h1") == 1


def test_successful_booking_holds_slot_and_redirects(client, slot, mailoutbox):
    response = submit(client, slot)
    assert response.status_code == 302
    assert response["Location"] == "/book/requested/"
    request = ConsultationRequest.objects.get()
    slot.refresh_from_db()
    assert slot.held == 1 and request.holds_place
    assert request.status == Status.NEW
    assert request.status_changes.get().to_status == Status.NEW
    assert request.discuss_topics == "fit,cost"
    assert str(request.phone) == "+12025550143"
    assert request.consent_policy_version and request.contact_consent_at
    assert re.fullmatch(r"CR-[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{6}", request.reference)


def test_confirmation_page_shows_reference_time_next_steps(client, slot):
    submit(client, slot)
    request = ConsultationRequest.objects.get()
    response = client.get("/book/requested/")
    html = response.content.decode()
    assert response.status_code == 200
    assert request.reference in html
    assert "Eastern time" in html and "will contact you" in html
    assert "cancel" in html.lower() and "988" in html
    assert "/book/requested/calendar.ics" in html
    # The URL and page carry no patient detail.
    assert "Alex" not in html and "alex@example.com" not in html
    assert "SECRET-NOTE-TEXT" not in html


def test_confirmation_page_without_session_goes_to_form(client):
    assert client.get("/book/requested/")["Location"] == "/book/"
    assert client.get("/book/requested/calendar.ics").status_code == 404


def test_confirmation_ics_is_neutral(client, slot):
    submit(client, slot)
    response = client.get("/book/requested/calendar.ics")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar"
    calendar = Calendar.from_ical(response.content)
    event = calendar.walk("VEVENT")[0]
    assert str(event["SUMMARY"]) == "Consultation with Riverside Health Clinic"
    assert event.decoded("DTSTART") == slot.starts_at
    raw = response.content.decode()
    for private in ("Alex", "alex@example.com", "555-0143", "5550143", "SECRET-NOTE"):
        assert private not in raw


def test_contact_me_option_needs_preferred_times(client):
    page = client.get("/book/").content.decode()
    # The box is on the page, labelled, beside the option, before anything is sent.
    assert re.search(r'<label[^>]*for="id_preferred_times"[^>]*>\s*If none of these times', page)
    assert re.search(r'<input[^>]*name="preferred_times"[^>]*id="id_preferred_times"', page)
    response = submit(client, None, preferred_times="")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Tell us which days and times suit you" in html
    assert 'href="#id_preferred_times"' in html and 'id="id_preferred_times"' in html
    response = submit(client, None)
    assert response.status_code == 302
    request = ConsultationRequest.objects.get()
    assert request.slot is None and request.preferred_times == "Weekday mornings"
    assert "contact you to arrange a time" in client.get("/book/requested/").content.decode()


def test_errors_summary_links_fields_and_keeps_input(client, slot):
    response = submit(
        client, slot, email="not-an-email", phone="12", state="", is_adult=None, note="kept text"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert ConsultationRequest.objects.count() == 0
    summary = re.search(r'<div class="alert alert-danger error-summary"(.*?)</div>', html, re.S)
    assert summary and 'role="alert"' in summary[0] and 'tabindex="-1"' in summary[0]
    for field_id in ("id_email", "id_phone", "id_state", "id_is_adult"):
        assert f'href="#{field_id}"' in summary[0]
        assert f'id="{field_id}"' in html
    # Messages beside the fields, tied to them for screen readers.
    email_input = re.search(r'<input[^>]*name="email"[^>]*>', html)[0]
    assert 'aria-invalid="true"' in email_input
    assert 'aria-describedby="id_email_error"' in email_input
    assert 'id="id_email_error"' in html
    assert 'value="Alex Example"' in html and "kept text" in html
    assert f'value="{slot.pk}" id="id_slot" checked' in html
    assert "<title>Error: Book a consultation" in html


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"full_name": "Alex\x00Example"}, "Null characters are not allowed"),
        ({"full_name": "A" * 100_000}, "at most 100 characters"),
        ({"note": "x" * 501}, "at most 500 characters"),
        ({"email": "x" * 300 + "@example.com"}, "at most 254 characters"),
        ({"phone": "not a phone"}, "Enter all 10 digits, area code first"),
        ({"slot": "999999"}, "Please choose one of the times shown"),
        ({"slot": "abc"}, "Please choose one of the times shown"),
        ({"slot": "9" * 40}, "Please choose one of the times shown"),
        ({"slot": ""}, "Choose a time, or choose to be contacted"),
        ({"state": "ZZ"}, "Select a valid choice"),
        ({"preferred_contact": "pigeon"}, "Select a valid choice"),
        ({"discuss_topics": ["fit", "nonsense"]}, "Select a valid choice"),
        ({"has_therapist": "maybe"}, "Select a valid choice"),
        ({"contact_consent": None}, "Tick the box to let us contact you"),
        ({"not_emergency_ack": None}, "understand this form is not for emergencies"),
        ({"is_adult": None}, "Confirm that you are 18 or older"),
        ({"full_name": ""}, "Enter your name."),
        ({"preferred_contact": None}, "Choose how we should contact you."),
    ],
)
def test_bad_input_gives_clear_errors_never_500(client, slot, overrides, message):
    response = submit(client, slot, **overrides)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert ConsultationRequest.objects.count() == 0


def test_closed_and_past_slots_are_refused(client):
    closed = AvailabilitySlotFactory(is_open=False)
    past = AvailabilitySlotFactory(starts_at=timezone.now() - timedelta(minutes=5))
    for slot in (closed, past):
        response = submit(client, slot)
        assert "That time is no longer open" in response.content.decode()
    assert ConsultationRequest.objects.count() == 0


def test_malformed_post_values_never_500(client, slot):
    tokens = form_tokens(client)
    response = client.post("/book/", {**tokens, "slot": ["1", "2"], "form_token": "x" * 5000})
    assert response.status_code == 200
    assert ConsultationRequest.objects.count() == 0


def test_full_slot_shows_just_taken_with_next_times_and_keeps_input(client, slot):
    later = AvailabilitySlotFactory(starts_at=slot.starts_at + timedelta(days=1))
    tokens = form_tokens(client)
    AvailabilitySlot.objects.filter(pk=slot.pk).update(held=1)  # someone else got there first
    response = submit(client, slot, tokens=tokens)
    html = response.content.decode()
    assert response.status_code == 200
    assert "That time was just taken" in html
    assert "The next open times are" in html and "Eastern time" in html
    assert f'value="{later.pk}"' in html and f'value="{slot.pk}"' not in html
    assert 'value="Alex Example"' in html
    assert ConsultationRequest.objects.count() == 0
    slot.refresh_from_db()
    assert slot.held == 1


def _already_sent_page(response, request):
    html = response.content.decode()
    assert response.status_code == 200
    assert f"You already sent this request: {request.reference}" in _text(html)
    assert 'href="/book/requested/"' in html and "send it again" not in html
    assert 'name="slot"' not in html  # no form to send a third time
    return html


def test_double_submit_creates_one_request_and_names_the_first(client, slot):
    tokens = form_tokens(client)
    first = submit(client, slot, tokens=tokens)
    second = submit(client, slot, tokens=tokens)
    assert first.status_code == 302
    request = ConsultationRequest.objects.get()
    _already_sent_page(second, request)
    slot.refresh_from_db()
    assert slot.held == 1
    assert request.reference in client.get("/book/requested/").content.decode()


def test_form_sent_again_with_another_time_books_nothing(client, slot):
    # Back, then Send: the first time has left the list, and the browser fills in the
    # same position, now another time. The used token still names the first request.
    later = AvailabilitySlotFactory(starts_at=slot.starts_at + timedelta(days=1))
    tokens = form_tokens(client)
    assert submit(client, slot, tokens=tokens).status_code == 302
    request = ConsultationRequest.objects.get()
    _already_sent_page(submit(client, later, tokens=tokens), request)
    _already_sent_page(submit(client, None, tokens=tokens), request)
    assert ConsultationRequest.objects.count() == 1
    later.refresh_from_db()
    assert later.held == 0


def test_form_sent_again_after_a_lost_response_names_the_first(client, slot):
    # The first send committed but its answer never arrived (a worker died after the
    # commit): the session never heard of it, and the slot is now full.
    tokens = form_tokens(client)
    form = BookingForm({**VALID_ANSWERS, **tokens, "slot": str(slot.pk)}, session=client.session)
    assert form.is_valid(), form.errors
    request = consultation_request_create(**form.request_fields())
    _already_sent_page(submit(client, slot, tokens=tokens), request)
    assert ConsultationRequest.objects.count() == 1


def test_back_after_sending_shows_the_request_and_offers_a_new_form(client, slot):
    assert submit(client, slot).status_code == 302
    request = ConsultationRequest.objects.get()
    html = _already_sent_page(client.get("/book/"), request)
    assert 'href="/book/?new"' in html
    fresh = client.get("/book/?new", follow=True)
    assert fresh.redirect_chain == [("/book/", 302)]
    assert 'name="slot"' in fresh.content.decode()
    assert submit(client, None, tokens={"form_token": fresh.context["form"]["form_token"].value()})
    assert ConsultationRequest.objects.count() == 2
    second = ConsultationRequest.objects.exclude(pk=request.pk).get()
    _already_sent_page(client.get("/book/"), second)


def test_unknown_form_token_asks_to_send_again(client, slot):
    tokens = form_tokens(client)
    response = submit(client, slot, tokens={**tokens, "form_token": "forged"})
    assert "This form had expired" in response.content.decode()
    assert 'value="Alex Example"' in response.content.decode()
    assert ConsultationRequest.objects.count() == 0
    # The re-shown form carries a fresh token, so sending it again works.
    token = response.context["form"]["form_token"].value()
    assert token != "forged"
    assert submit(client, slot, tokens={"form_token": token}).status_code == 302


def test_a_served_form_cannot_be_replayed_from_other_sessions(client, slot):
    # One served form's token, sent from fresh sessions: each refused, none booked.
    tokens = form_tokens(client)
    for _ in range(3):
        other = Client()
        other.get("/book/")
        response = submit(other, slot, tokens=tokens)
        assert "This form had expired" in response.content.decode()
    assert ConsultationRequest.objects.count() == 0
    assert submit(client, slot, tokens=tokens).status_code == 302


def test_a_served_form_expires(client, slot, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    tokens = form_tokens(client)
    time_machine.shift(FORM_TOKEN_MAX_AGE + 1)
    client.get("/")  # the session is still in use
    response = submit(client, slot, tokens=tokens)
    assert "This form had expired" in response.content.decode()
    assert ConsultationRequest.objects.count() == 0


def test_honeypot_saves_nothing_and_answers_calmly(client, slot):
    response = submit(client, slot, website="http://spam.example")
    html = response.content.decode()
    assert response.status_code == 200
    assert "could not send your request just now" in html
    assert ConsultationRequest.objects.count() == 0
    honeypot = re.search(r'<input[^>]*name="website"[^>]*>', html)[0]
    assert 'tabindex="-1"' in honeypot and 'autocomplete="off"' in honeypot
    assert "Leave this empty" in html and "visually-hidden" in html


@override_settings(CLINIC_BOOKING_MIN_SECONDS=3)
def test_too_fast_submission_is_refused_then_accepted(client, slot, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    tokens = form_tokens(client)
    response = submit(client, slot, tokens=tokens)
    assert "could not send your request just now" in response.content.decode()
    assert ConsultationRequest.objects.count() == 0
    # The form shown again keeps its token and the moment it was served.
    assert response.context["form"]["form_token"].value() == tokens["form_token"]
    time_machine.shift(4)
    assert submit(client, slot, tokens=tokens).status_code == 302


def _limited_page_keeps_everything(response):
    html = response.content.decode()
    assert response.status_code == 429
    assert "We could not send your request yet" in html
    assert "many requests came from here" in html
    assert 'href="tel:+15550100199">(555) 010-0199</a>' in html
    # Everything typed is still there, ready to send later.
    assert 'value="Alex Example"' in html and 'value="alex@example.com"' in html
    assert "SECRET-NOTE-TEXT" in html and 'value="NY" selected' in html
    return html


@override_settings(CLINIC_BOOKING_RATE_LIMIT="2/h")
def test_rate_limit_counts_requests_sent_not_mistakes(client):
    for _ in range(6):
        assert submit(client, None, email="not-an-email").status_code == 200
    assert [submit(client, None).status_code for _ in range(2)] == [302, 302]
    _limited_page_keeps_everything(submit(client, None))
    assert ConsultationRequest.objects.count() == 2
    assert client.get("/book/?new", follow=True).status_code == 200  # reading is never limited


@override_settings(CLINIC_BOOKING_POST_LIMIT="4/h")
def test_every_post_counts_against_a_higher_flood_ceiling(client):
    for _ in range(4):
        assert submit(client, None, email="not-an-email").status_code == 200
    _limited_page_keeps_everything(submit(client, None))
    assert ConsultationRequest.objects.count() == 0


@override_settings(CLINIC_BOOKING_EMAIL_LIMIT=2)
def test_requests_per_email_address_have_a_ceiling(client):
    assert submit(client, None).status_code == 302
    assert submit(Client(), None, email="Alex@Example.com").status_code == 302
    # From another address, as a replaying bot would: the email address still counts.
    _limited_page_keeps_everything(submit(Client(), None))
    assert submit(Client(), None, email="sam@example.com").status_code == 302
    assert ConsultationRequest.objects.count() == 3


@override_settings(CLINIC_BOOKING_RATE_LIMIT="off")
def test_rate_limit_off(client):
    assert all(submit(client, None).status_code == 302 for _ in range(7))


def test_csrf_is_enforced():
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post("/book/", VALID_ANSWERS)
    assert response.status_code == 403


def test_booking_page_rejects_other_methods(client):
    assert client.put("/book/").status_code == 405


def test_phone_example_shown_to_patients_is_accepted(client, slot):
    # A patient who copies the example from the hint must not get an error.
    page = client.get("/book/").content.decode()
    example = re.search(r"for example (\(\d{3}\) \d{3}-\d{4})", page).group(1)
    response = submit(client, slot, phone=example)
    assert response.status_code == 302


@override_settings(CLINIC_SELF_SERVICE_CUTOFF_HOURS=24)
def test_times_too_soon_to_change_online_are_never_offered(client):
    now = timezone.now()
    too_soon = AvailabilitySlotFactory(starts_at=now + timedelta(hours=19))
    later = AvailabilitySlotFactory(starts_at=now + timedelta(hours=25))
    html = client.get("/book/").content.decode()
    assert f'value="{later.pk}"' in html and f'value="{too_soon.pk}"' not in html
    response = submit(client, too_soon)
    assert "That time is too soon to book online" in response.content.decode()
    assert ConsultationRequest.objects.count() == 0
    # What the patient is promised can happen before the consultation.
    assert "We reply within one working day" not in html
    assert "before your consultation" in html
    assert submit(client, later).status_code == 302
    confirmation = client.get("/book/requested/").content.decode()
    assert "before your consultation" in confirmation
    request = ConsultationRequest.objects.get()
    assert request.self_service_closed_reason() == ""


def _week_buttons(html: str) -> dict[str, str]:
    """{'Earlier times': '2026-12-07', ...}: the week buttons the page offers."""
    found = re.findall(r'<button type="submit" name="week" value="([\d-]+)"[^>]*>(\w+ times)', html)
    return {label: value for value, label in found}


@override_settings(CLINIC_BOOKING_HORIZON_DAYS=56)
def test_every_open_time_in_the_horizon_is_a_week_away_keeping_what_was_typed(client):
    now = timezone.now()
    soon = [AvailabilitySlotFactory(starts_at=now + timedelta(days=2, hours=n)) for n in range(30)]
    next_weeks = [AvailabilitySlotFactory(starts_at=now + timedelta(days=d)) for d in (16, 30)]
    beyond = AvailabilitySlotFactory(starts_at=now + timedelta(days=60))
    page = client.get("/book/").content.decode()
    assert f'value="{soon[0].pk}"' in page and f'value="{next_weeks[-1].pk}"' not in page
    assert "Earlier times" not in _week_buttons(page)
    assert 'id="times"' in page and 'formaction="/book/#times"' in page

    # The patient picks a time, types a little, then looks at later weeks.
    token = form_tokens(client)["form_token"]
    typed = {**VALID_ANSWERS, "form_token": token, "slot": str(soon[0].pk), "email": ""}
    seen, pages = set(), [page]
    html = page
    while "Later times" in _week_buttons(html):
        response = client.post("/book/", {**typed, "week": _week_buttons(html)["Later times"]})
        html = response.content.decode()
        pages.append(html)
        assert response.status_code == 200
        assert "alert-danger error-summary" not in html and "Enter your email" not in html
        assert 'value="Alex Example"' in html and "SECRET-NOTE-TEXT" in html
        assert f'value="{soon[0].pk}" id="id_slot" checked' in html  # the choice stays
        assert "Earlier times" in _week_buttons(html)
        seen |= {s.pk for s in next_weeks if f'value="{s.pk}"' in html}
    assert seen == {s.pk for s in next_weeks}
    assert f'value="{beyond.pk}"' not in html
    # All 30 of the first days' times are offered (once only the soonest 24 were).
    assert all(f'value="{s.pk}"' in "".join(pages) for s in soon)
    # Sent from the last week's page, it books the time chosen on the first.
    response = client.post("/book/", {**typed, "email": "alex@example.com"})
    assert response.status_code == 302
    assert ConsultationRequest.objects.get().slot == soon[0]
