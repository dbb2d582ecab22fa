"""The booking form's unhappy paths, as a patient meets them in a browser: no time suits,
Back then Send again, the rate limit, and a later week of times."""

import re
from datetime import timedelta

from django.test import override_settings
from django.utils import timezone
from playwright.sync_api import expect

from consultations.models import ConsultationRequest
from tests.browser import audit
from tests.factories import AvailabilitySlotFactory

PATIENT = {"name": "Sam Rivera", "email": "sam.rivera@example.com", "phone": "(202) 555-0143"}


def fill_in_about_you(page):
    page.get_by_role("textbox", name="Your name").fill(PATIENT["name"])
    page.get_by_role("textbox", name=re.compile(r"^Email")).fill(PATIENT["email"])
    page.get_by_role("textbox", name=re.compile(r"^Phone")).fill(PATIENT["phone"])
    page.get_by_role("radio", name="Email").check()
    page.get_by_label("State where you live").select_option(label="New York")
    page.get_by_label("I am 18 or older").check()
    page.get_by_role("group", name="Do you see a therapist").get_by_label("No", exact=True).check()
    page.get_by_label("You may contact me").check()
    page.get_by_label("I understand this form is not for emergencies").check()


def send(page):
    page.get_by_role("button", name="Request this consultation").click()


def test_none_of_these_times_asks_when_suits_and_sends(page, live_server):
    AvailabilitySlotFactory.create_batch(2)
    page.goto("/book/")
    times = page.get_by_role("group", name="Choose a time")
    times.get_by_role("radio", name=re.compile("None of these times work for me")).check()
    fill_in_about_you(page)
    send(page)
    # Forgetting to say when suits names the box, which is right there under the option.
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Tell us which days and times suit you")
    summary.get_by_role("link", name=re.compile("Tell us which days")).click()
    box = page.get_by_role("textbox", name=re.compile("which days and times suit you"))
    expect(box).to_be_focused()
    box.fill("Weekday mornings")
    send(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you. We have your request.")
    expect(page.get_by_role("main")).to_contain_text("contact you to arrange a time")
    request = ConsultationRequest.objects.get()
    assert request.slot is None and request.preferred_times == "Weekday mornings"


def test_back_then_send_again_names_the_first_request_and_books_nothing_else(page, live_server):
    AvailabilitySlotFactory.create_batch(3)
    page.goto("/book/")
    page.get_by_role("group", name="Choose a time").get_by_role("radio").first.check()
    fill_in_about_you(page)
    send(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you. We have your request.")
    first = ConsultationRequest.objects.get()

    # Back: the form would come back with another time ticked in the first one's place.
    page.go_back()
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(f"You already sent this request: {first.reference}")
    expect(page.get_by_role("button", name="Request this consultation")).to_have_count(0)
    audit.audit_page(page, "booking, already sent")
    audit.screenshot(page, "booking-already-sent")
    page.get_by_role("link", name="See your request").click()
    expect(page.get_by_role("main")).to_contain_text(first.reference)

    # A new form is one link away, for a second consultation.
    page.go_back()
    page.get_by_role("link", name="Start a new request").click()
    expect(page.get_by_role("button", name="Request this consultation")).to_be_visible()
    assert ConsultationRequest.objects.count() == 1


def test_send_again_after_a_lost_answer_names_the_first_request(page, live_server):
    AvailabilitySlotFactory.create_batch(2)
    page.goto("/book/")
    page.get_by_role("group", name="Choose a time").get_by_role("radio").first.check()
    fill_in_about_you(page)

    # The request is made, but its answer never reaches the phone.
    def lose_the_answer(route):
        route.fetch(max_redirects=0)
        route.abort("connectionreset")

    page.route("**/book/", lose_the_answer)
    send(page)
    expect(page.get_by_role("button", name="Request this consultation")).to_have_count(0)
    page.unroute("**/book/")
    first = ConsultationRequest.objects.get()
    # The browser's error page: trying again sends the same form once more.
    with page.expect_request(lambda request: request.method == "POST"):
        page.reload()
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(f"You already sent this request: {first.reference}")
    assert ConsultationRequest.objects.count() == 1


@override_settings(CLINIC_BOOKING_RATE_LIMIT="1/h")
def test_the_rate_limit_keeps_what_was_typed_and_gives_the_phone_number(page, live_server):
    AvailabilitySlotFactory.create_batch(3)
    page.goto("/book/")
    page.get_by_role("group", name="Choose a time").get_by_role("radio").first.check()
    fill_in_about_you(page)
    send(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you. We have your request.")

    page.goto("/book/?new")
    page.get_by_role("group", name="Choose a time").get_by_role("radio").first.check()
    fill_in_about_you(page)
    page.get_by_label("Anything else we should know?").fill("Evenings are easier for me")
    send(page)
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("We could not send your request yet")
    expect(summary).to_be_focused()
    phone = summary.get_by_role("link", name="(555) 010-0199")
    expect(phone).to_have_attribute("href", "tel:+15550100199")
    expect(page.get_by_role("textbox", name="Your name")).to_have_value(PATIENT["name"])
    expect(page.get_by_label("Anything else we should know?")).to_have_value(
        "Evenings are easier for me"
    )
    expect(page.get_by_label("I am 18 or older")).to_be_checked()
    audit.audit_page(page, "booking, limit reached")
    audit.screenshot(page, "booking-limit")
    assert ConsultationRequest.objects.count() == 1


def test_a_later_week_of_times_keeps_what_was_typed(page, live_server):
    now = timezone.now()
    AvailabilitySlotFactory(starts_at=now + timedelta(days=2))
    later = AvailabilitySlotFactory(starts_at=now + timedelta(days=16))
    page.goto("/book/")
    fill_in_about_you(page)
    times = page.get_by_role("group", name="Choose a time")
    expect(times.get_by_role("radio")).to_have_count(2)  # the first week's time, and "none"
    times.get_by_role("button", name=re.compile("^Later times")).click()

    # The later week, with everything typed still there, and the page opened at the times.
    assert page.url.endswith("/book/#times")
    later_time = page.get_by_role("radio", name=re.compile(later.get_modality_display()))
    expect(later_time).to_have_count(1)
    expect(page.get_by_role("textbox", name="Your name")).to_have_value(PATIENT["name"])
    expect(page.get_by_label("You may contact me")).to_be_checked()
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(times.get_by_role("button", name=re.compile("^Earlier times"))).to_be_visible()
    audit.audit_page(page, "booking, a later week")
    audit.screenshot(page, "booking-later-week")
    later_time.check()
    # Enter in a box sends the request (the week buttons come first on the page).
    page.get_by_role("textbox", name="Your name").press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you. We have your request.")
    assert ConsultationRequest.objects.get().slot == later


def test_sent_with_nothing_answered_every_field_shows_its_error_readably(page, live_server):
    """Every field in its error state at once: the radio and checkbox labels too, which
    Bootstrap colours with its own red (4.45:1 on the page's paper, under AA's 4.5:1)."""
    AvailabilitySlotFactory.create_batch(2)
    page.goto("/book/")
    send(page)
    summary = page.get_by_role("alert")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Enter your name.")
    expect(page.get_by_role("radio", name="Email")).to_have_attribute("aria-invalid", "true")
    audit.audit_page(page, "booking, nothing answered")
    audit.screenshot(page, "booking-nothing-answered")
    assert ConsultationRequest.objects.count() == 0
