"""The integration planner in Chromium: plan a series, print it, take the calendar file,
and the same by keyboard alone. Nothing typed reaches a URL."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from icalendar import Calendar

from tests.browser import audit

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _content():
    call_command("load_sample_content", verbosity=0)


@pytest.fixture(autouse=True)
def _clock():
    moment = datetime.datetime(2027, 2, 20, 10, tzinfo=ZoneInfo("America/New_York"))
    with time_machine.travel(moment, tick=True):
        yield


def test_patient_plans_prints_and_downloads(page, context):
    page.goto("/planner/")
    audit.audit_page(page, "planner")
    page.get_by_role("button", name="Show my plan").click()
    assert page.get_by_role("alert").is_visible()  # no date yet: a clear message
    audit.audit_page(page, "planner, with errors")
    audit.screenshot(page, "planner-errors")
    page.get_by_label("Date of your first session").fill("2027-03-08")
    page.get_by_label("Three times a week for two weeks (6 sessions)").check()
    page.get_by_label("A steady sleep routine").check()
    page.get_by_label("Gentle movement").check()
    page.get_by_label("Therapy or integration sessions").check()
    page.get_by_label("Wednesday").check()
    page.get_by_label("Arrange a ride home").check()
    page.get_by_role("button", name="Show my plan").click()
    page.get_by_role("heading", name="Your plan for the weeks of your series").wait_for()
    assert page.get_by_text("Session 6").is_visible()
    assert page.get_by_role("heading", name="Monday, March 8").is_visible()
    assert page.get_by_role("heading", name="Sunday, March 14").is_visible()  # clocks move
    audit.audit_page(page, "planner, the plan")
    audit.screenshot(page, "planner-plan")
    page.emulate_media(media="print")
    audit.SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pdf = audit.SCREENSHOTS / "planner-plan-letter.pdf"
    page.pdf(path=str(pdf), format="Letter")
    page.pdf(path=str(audit.SCREENSHOTS / "planner-plan-a4.pdf"), format="A4")
    assert pdf.stat().st_size > 10_000
    assert page.locator(".plan__crisis").is_visible()  # the crisis notice prints
    assert not page.get_by_role("button", name="Change my answers").is_visible()
    page.emulate_media(media="screen")
    with page.expect_download() as download:
        page.get_by_role("button", name="Add to my calendar (.ics)").click()
    calendar = Calendar.from_ical(download.value.path().read_bytes())
    titles = {str(e["SUMMARY"]) for e in calendar.walk("VEVENT")}
    assert titles == {"Appointment", "Evening wind-down", "Walk", "Session"}
    page.get_by_role("button", name="Change my answers").click()
    assert page.get_by_label("Date of your first session").input_value() == "2027-03-08"
    assert page.get_by_label("Wednesday").is_checked()
    assert all("2027" not in url and "first_date" not in url for url in context.requested_urls)


def test_patient_plans_with_the_keyboard_alone(page, context):
    page.goto("/planner/")
    page.keyboard.press("Tab")  # skip link
    page.keyboard.press("Enter")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "id_first_date":
            break
    page.keyboard.type("03082027")  # a native date input takes month, day, year
    page.keyboard.press("Tab")  # the checked pattern radio
    page.keyboard.press("ArrowDown")  # three times a week
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Show my plan":
            break
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Your plan for the weeks of your series").wait_for()
    assert page.get_by_text("Session 6").is_visible()
    assert page.get_by_role("heading", name="Friday, March 19").is_visible()  # session 6
