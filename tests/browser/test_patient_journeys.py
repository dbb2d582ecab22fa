"""A patient's way through the site, as a person does it: by visible labels and links.

Journey 1 reads, searches and books with the mouse; journey 2 books with the keyboard
alone. Both audit each booking page on the way (empty form, form with errors,
confirmation, manage page) and leave screenshots of them.
"""

import re
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from consultations.models import ConsultationRequest
from tests.browser import audit
from tests.factories import AvailabilitySlotFactory

PATIENT = {"name": "Sam Rivera", "email": "sam.rivera@example.com", "phone": "(202) 555-0143"}


@pytest.fixture
def open_slots(live_server):
    return AvailabilitySlotFactory.create_batch(3)


@pytest.fixture
def sample_content(live_server):
    call_command("load_sample_content", verbosity=0)


def manage_link_from_email(mailoutbox, live_server) -> str:
    """The cancel/change link in the patient's email, pointed at the test server."""
    to_patient = [m for m in mailoutbox if PATIENT["email"] in m.to]
    assert len(to_patient) == 1, [m.subject for m in mailoutbox]
    url = re.search(r"https?://\S+/book/manage/\S+", to_patient[0].body).group(0)
    return live_server.url + urlsplit(url).path


def test_patient_reads_searches_books_and_cancels(
    page, live_server, sample_content, open_slots, mailoutbox
):
    # Home → a topic → an article.
    page.goto("/")
    page.get_by_role("link", name="How ketamine works", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("How ketamine works")
    page.get_by_role("link", name=re.compile("the glutamate cascade")).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("glutamate cascade")

    # A glossary term in the article leads to its plain-language meaning.
    page.get_by_role("article").get_by_role("link", name="NMDA receptor").first.click()
    expect(page).to_have_url(re.compile(r"/glossary/#nmda-receptor$"))
    expect(page.get_by_text("A spot on a brain cell that glutamate can attach to")).to_be_visible()

    # Search for BDNF from the header (every page has it) and open the result.
    header_search = page.get_by_role("search", name="Site")
    header_search.get_by_label("Search the articles").fill("BDNF")
    header_search.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("BDNF")
    results = page.get_by_role("main").get_by_role("list").first.get_by_role("link")
    expect(results.first).to_be_visible()
    title = results.first.inner_text()
    results.first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)

    # Book: the page as it first appears.
    page.get_by_role("link", name="Book a consultation").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Book a consultation")
    audit.measure_page(page, page.url, "booking")
    audit.audit_page(page, "booking")
    audit.screenshot(page, "booking")

    page.get_by_role("group", name="Choose a time").get_by_role("radio").first.check()
    page.get_by_role("textbox", name="Your name").fill(PATIENT["name"])
    email = page.get_by_role("textbox", name=re.compile(r"^Email"))
    email.fill("sam.rivera@example")  # the mistake
    page.get_by_role("textbox", name=re.compile(r"^Phone")).fill(PATIENT["phone"])
    page.get_by_role("radio", name="Email").check()
    page.get_by_label("State where you live").select_option(label="New York")
    page.get_by_label("I am 18 or older").check()
    page.get_by_role("group", name="Do you see a therapist").get_by_label("No", exact=True).check()
    page.get_by_label("You may contact me").check()
    page.get_by_label("I understand this form is not for emergencies").check()
    page.get_by_role("button", name="Request this consultation").click()

    # The mistake is named at the top, linked to its field, and marked on the field.
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("email")
    expect(email).to_have_attribute("aria-invalid", "true")
    audit.audit_page(page, "booking, with errors")
    audit.screenshot(page, "booking-errors")
    summary.get_by_role("link").first.click()
    expect(email).to_be_focused()
    email.fill(PATIENT["email"])
    page.get_by_role("button", name="Request this consultation").click()

    # Confirmation, and the calendar file.
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you. We have your request.")
    audit.measure_page(page, page.url, "confirmation")
    audit.audit_page(page, "confirmation")
    audit.screenshot(page, "confirmation")
    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile(r"Add to my calendar")).click()
    download = download_info.value
    assert download.suggested_filename.endswith(".ics")
    calendar = open(download.path(), encoding="utf-8").read()
    assert "BEGIN:VCALENDAR" in calendar and "BEGIN:VEVENT" in calendar
    assert PATIENT["name"] not in calendar and PATIENT["email"] not in calendar

    # The link in the email opens the manage page; the patient cancels.
    audit.measure_page(page, manage_link_from_email(mailoutbox, live_server), "manage request")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your consultation request")
    audit.audit_page(page, "manage request")
    audit.screenshot(page, "manage")
    page.get_by_role("link", name="Cancel my request").click()
    page.get_by_role("button", name="Yes, cancel it").click()
    expect(page.get_by_role("main")).to_contain_text(re.compile("cancelled", re.IGNORECASE))
    request = ConsultationRequest.objects.get(email=PATIENT["email"])
    assert request.status == "cancelled"


# --- journey 2: the keyboard alone ---------------------------------------------------

_FOCUSED_JS = """
() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const s = getComputedStyle(el);
  const fromLabels = [...(el.labels || [])].map(l => l.innerText).join(' ');
  const legends = [];
  for (let f = el.closest('fieldset'); f; f = f.parentElement.closest('fieldset')) {
    const legend = f.querySelector('legend');
    if (legend) legends.push(legend.innerText.trim());
  }
  return {
    name: (fromLabels || el.getAttribute('aria-label') || el.innerText || el.value || '').trim(),
    group: legends.join(' / '),
    tag: el.tagName.toLowerCase(), type: el.type || '',
    outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2,
  };
}
"""


def tab_to(page, label: str, *, kind: str = "", max_stops: int = 40) -> dict:
    """Press Tab until the focused control's label (or its group's legend) contains
    `label` (and its type is `kind`, if given); every stop on the way must show a visible
    focus outline."""
    for _ in range(max_stops):
        page.keyboard.press("Tab")
        focused = page.evaluate(_FOCUSED_JS)
        assert focused is not None, "Tab left the page"
        assert focused["outline"], f"focus not visible on {focused}"
        named = label.lower() in f"{focused['name']} / {focused['group']}".lower()
        if named and kind in ("", focused["type"]):
            return focused
    raise AssertionError(f"no control labelled {label!r} within {max_stops} Tab presses")


def test_patient_books_with_the_keyboard_alone(page, live_server, open_slots, mailoutbox):
    page.goto("/")
    tab_to(page, "Book a consultation")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Book a consultation")

    # A first attempt with the email left out: focus must land on the error summary.
    # When the open times span two weeks, the "Later times" button comes first in the group.
    tab_to(page, "Choose a time", kind="radio")
    page.keyboard.press("Space")
    tab_to(page, "Your name")
    page.keyboard.type(PATIENT["name"])
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
    tab_to(page, "You may contact me")
    page.keyboard.press("Space")
    tab_to(page, "not for emergencies")
    page.keyboard.press("Space")
    tab_to(page, "Request this consultation")
    page.keyboard.press("Enter")

    summary = page.get_by_role("alert")
    expect(summary).to_be_focused()
    outline = summary.evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline != "none", "the focused error summary shows no outline"

    # The next Tab reaches the summary's link, which takes focus to the field.
    page.keyboard.press("Tab")
    expect(summary.get_by_role("link")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("textbox", name=re.compile(r"^Email"))).to_be_focused()
    page.keyboard.type(PATIENT["email"])
    tab_to(page, "Request this consultation")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you. We have your request.")
    assert ConsultationRequest.objects.filter(email=PATIENT["email"]).count() == 1
