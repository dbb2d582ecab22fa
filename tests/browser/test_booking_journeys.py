"""The booking form's unhappy paths, as a patient meets them in a browser: no time suits,
Back then Send again, the rate limit, and a later week of times."""

import re

from playwright.sync_api import expect

from consultations.models import ConsultationRequest
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
