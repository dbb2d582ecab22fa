"""The self-check in a real browser: a patient at risk (PHQ-9 item 9 above "not at all")
meets the crisis panel first, shares the answers, books, and the intake coordinator sees
the priority flag. The same patient journey by keyboard alone. Each page is audited and
screenshotted at 390 and 1280 px.
"""

import re

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from playwright.sync_api import expect

from consultations.models import ConsultationRequest, ScreenQuestion
from consultations.self_check import phq9
from tests.browser import audit
from tests.browser.test_patient_journeys import PATIENT, tab_to
from tests.factories import AvailabilitySlotFactory, UserFactory

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def open_slots(live_server):
    return AvailabilitySlotFactory.create_batch(3)


@pytest.fixture(autouse=True)
def screen_questions(live_server):
    """The screen's questions (an earlier browser test's flush empties the table)."""
    return ScreenQuestion.objects.for_self_check()


@pytest.fixture
def roles(live_server):
    call_command("setup_roles", verbosity=0)


def item_group(page, number: int):
    return page.get_by_role("group", name=re.compile(rf"^{number}\. "))


def answer_screen(page, answers: dict[str, str]) -> None:
    for question in ScreenQuestion.objects.for_self_check():
        group = page.get_by_role("group", name=question.text)
        group.get_by_label(answers.get(question.key, "No"), exact=True).check()


def crisis_panel_is_on_screen(page) -> None:
    panel = page.get_by_role("region", name="Please reach out for support now")
    expect(panel).to_be_visible()
    for name in ("Call 988", "Text 988", "Call 911"):
        box = panel.get_by_role("link", name=name).bounding_box()
        assert box and box["y"] + box["height"] <= page.viewport_size["height"], (name, box)


def book_with_shared_answers(page) -> None:
    expect(page.get_by_role("group", name="Your self-check answers")).to_be_visible()
    expect(page.get_by_label("Send my self-check answers with this request")).to_be_checked()
    page.get_by_role("group", name="Choose a time").get_by_role("radio").first.check()
    page.get_by_role("textbox", name="Your name").fill(PATIENT["name"])
    page.get_by_role("textbox", name=re.compile(r"^Email")).fill(PATIENT["email"])
    page.get_by_role("textbox", name=re.compile(r"^Phone")).fill(PATIENT["phone"])
    page.get_by_role("radio", name="Phone call").check()
    page.get_by_label("State where you live").select_option(label="New York")
    page.get_by_label("I am 18 or older").check()
    page.get_by_role("group", name="Do you see a therapist").get_by_label("No", exact=True).check()
    page.get_by_label("You may contact me").check()
    page.get_by_label("I understand this form is not for emergencies").check()
    page.get_by_role("button", name="Request this consultation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you. We have your request.")


def test_patient_at_risk_gets_the_crisis_panel_shares_and_books_and_is_called_first(
    new_context, live_server, open_slots, roles
):
    page = new_context().new_page()
    page.goto("/")
    page.get_by_role("link", name="Take the two-minute self-check").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Self-check")
    audit.measure_page(page, page.url, "self-check")
    audit.audit_page(page, "self-check")
    audit.screenshot(page, "self-check")

    # A first try with two questions left out, item 9 answered "Several days".
    for number in range(1, 10):
        if number != 4:
            item_group(page, number).get_by_label(
                "Several days" if number == 9 else "Not at all", exact=True
            ).check()
    answer_screen(page, {"adult": "Yes", "antidepressants": "Yes", "blood_pressure": "Not sure"})
    page.get_by_role("button", name="See my result").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Choose an answer for question 4.")
    # Even on the error path the crisis panel comes first, before the summary.
    page.set_viewport_size(PHONE)
    crisis_panel_is_on_screen(page)
    audit.audit_page(page, "self-check, with errors")
    audit.screenshot(page, "self-check-errors")
    # Every answer given is kept.
    expect(item_group(page, 9).get_by_label("Several days", exact=True)).to_be_checked()

    summary.get_by_role("link").first.click()
    item_group(page, 4).get_by_label("More than half the days", exact=True).check()
    page.get_by_role("button", name="See my result").click()

    # The result opens with the crisis panel, on screen at 390 px without scrolling.
    expect(page.get_by_role("heading", level=1)).to_have_text("Your self-check result")
    crisis_panel_is_on_screen(page)
    audit.SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(audit.SCREENSHOTS / "self-check-result-at-risk-390-first-screen.png"))
    expect(page.get_by_text("Your score: 3 out of 27")).to_be_visible()
    audit.audit_page(page, "self-check result, at risk")
    audit.screenshot(page, "self-check-result-at-risk")

    page.get_by_role("button", name="Share these answers with the clinic when I book").click()
    audit.audit_page(page, "booking, with shared self-check")
    audit.screenshot(page, "booking-shared-self-check")
    book_with_shared_answers(page)
    request = ConsultationRequest.objects.get(email=PATIENT["email"])
    assert request.self_check.call_back_today and request.self_check.phq9_score == 3

    # The intake coordinator sees it first, marked priority, with the answers.
    coordinator = UserFactory(username="casey")
    coordinator.groups.add(Group.objects.get(name="Intake coordinators"))
    AvailabilitySlotFactory()
    staff_context = new_context()
    staff_page = staff_context.new_page()
    staff_page.goto("/admin/")
    staff_page.get_by_label("Username").fill("casey")
    staff_page.get_by_label("Password").fill("correct-horse-battery-staple")
    staff_page.get_by_role("button", name="Log in").click()
    staff_page.goto("/admin/consultations/consultationrequest/")
    first_row = staff_page.locator("#result_list tbody tr").first
    expect(first_row).to_contain_text(request.reference)
    expect(first_row).to_contain_text("Call back today")
    first_row.get_by_role("link", name=request.reference).click()
    expect(staff_page.get_by_text("Priority: call back today.")).to_be_visible()
    expect(staff_page.get_by_text("PHQ-9 score: 3 of 27")).to_be_visible()
    # As in test_admin_pages: the page keeps its policy; axe's own probes then break it.
    assert [e for e in staff_context.console_errors if "Content Security Policy" in e] == []
    violations = audit.run_axe(staff_page)
    staff_context.console_errors.clear()
    assert violations == [], audit.format_violations(violations)
    audit.screenshot(staff_page, "admin-request-shared-self-check")


def test_a_result_with_nothing_of_concern_and_one_that_rules_ketamine_out(page, live_server):
    page.goto("/self-check/")
    for number in range(1, 10):
        item_group(page, number).get_by_label(
            "Nearly every day" if number < 5 else "Not at all", exact=True
        ).check()
    page.get_by_role("group", name=phq9.DIFFICULTY_QUESTION).get_by_label("Very difficult").check()
    answer_screen(page, {"adult": "Yes", "antidepressants": "Yes", "aneurysm_bleed": "Yes"})
    page.get_by_role("button", name="See my result").click()
    expect(page.get_by_text("Your score: 12 out of 27")).to_be_visible()
    expect(page.get_by_role("region", name="Please reach out for support now")).to_have_count(0)
    expect(page.get_by_text("usually do not give ketamine")).to_be_visible()
    audit.audit_page(page, "self-check result")
    audit.screenshot(page, "self-check-result")


def test_the_at_risk_journey_by_keyboard_alone(page, live_server, open_slots):
    page.goto("/")
    tab_to(page, "Take the two-minute self-check", max_stops=80)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Self-check")
    for number, item in enumerate(phq9.ITEMS, start=1):
        tab_to(page, f"{number}. {item[:30]}")
        # Space chooses "Not at all"; the arrow moves on to "Several days" for item 9.
        page.keyboard.press("ArrowRight" if number == 9 else "Space")
    for question in ScreenQuestion.objects.for_self_check():
        tab_to(page, question.text[:40])
        page.keyboard.press("Space")  # "Yes"
        if question.key not in ("adult", "antidepressants"):
            page.keyboard.press("ArrowRight")  # "No"
    tab_to(page, "See my result")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your self-check result")
    expect(page.get_by_role("region", name="Please reach out for support now")).to_be_visible()
    expect(page.get_by_text("Your score: 1 out of 27")).to_be_visible()

    tab_to(page, "Share these answers with the clinic", max_stops=60)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Book a consultation")
    tab_to(page, "Choose a time", kind="radio")
    page.keyboard.press("Space")
    tab_to(page, "Your name")
    page.keyboard.type(PATIENT["name"])
    tab_to(page, "Email")
    page.keyboard.type(PATIENT["email"])
    tab_to(page, "Phone")
    page.keyboard.type(PATIENT["phone"])
    tab_to(page, "How should we contact you")
    page.keyboard.press("Space")
    tab_to(page, "State where you live")
    page.keyboard.type("New York")
    tab_to(page, "I am 18 or older")
    page.keyboard.press("Space")
    tab_to(page, "Do you see a therapist")
    page.keyboard.press("Space")
    focused = tab_to(page, "Send my self-check answers")
    assert focused["type"] == "checkbox"
    tab_to(page, "You may contact me")
    page.keyboard.press("Space")
    tab_to(page, "not for emergencies")
    page.keyboard.press("Space")
    tab_to(page, "Request this consultation")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you. We have your request.")
    request = ConsultationRequest.objects.get(email=PATIENT["email"])
    assert request.self_check.call_back_today
    assert request.self_check.phq9_answers == [0] * 8 + [1]
