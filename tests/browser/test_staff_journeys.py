"""Staff in the admin, in a real browser, with the real role groups from `setup_roles`.

Journey 3: an intake coordinator handles a new consultation request.
Journey 4: a content editor drafts an article; it cannot go live until a medical
reviewer has reviewed it; then it appears on the public site.
"""

import csv
import re

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from playwright.sync_api import expect

from education.models import Contributor, Topic
from tests.factories import PASSWORD, ConsultationRequestFactory, UserFactory


@pytest.fixture
def roles(live_server):
    call_command("setup_roles", verbosity=0)


def staff_member(username: str, group: str):
    user = UserFactory(username=username, first_name=username.title())
    user.groups.add(Group.objects.get(name=group))
    return user


def sign_in(page, username: str) -> None:
    page.goto("/admin/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def choose(select, text: str) -> None:
    """Pick the option of a <select> whose visible text contains `text`."""
    label = select.locator("option").filter(has_text=text).first.inner_text()
    select.select_option(label=label)


def run_action(page, action: str) -> None:
    page.get_by_label("Action:").select_option(label=action)
    page.get_by_role("button", name="Go").click()


def test_intake_coordinator_handles_a_new_request(page, roles):
    coordinator = staff_member("casey", "Intake coordinators")
    new_request = ConsultationRequestFactory()
    handled = ConsultationRequestFactory(status="contacted")

    sign_in(page, "casey")
    # The admin's front page counts new requests and links to them.
    page.get_by_role("link", name="New requests").click()
    expect(page.get_by_role("link", name=handled.reference)).to_have_count(0)
    page.get_by_role("link", name=new_request.reference).click()

    # Assign it, mark it contacted and add a note, in one save.
    choose(page.get_by_label("Assigned to"), "casey")
    page.get_by_label("Status").select_option(label="Contacted")
    notes = page.locator("fieldset, .inline-group").filter(has_text=re.compile("staff note", re.I))
    notes.get_by_role("textbox").first.fill("Left a voicemail; will call again tomorrow.")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")

    new_request.refresh_from_db()
    assert new_request.status == "contacted"
    assert new_request.assigned_to == coordinator
    assert [n.text for n in new_request.staff_notes.all()] == [
        "Left a voicemail; will call again tomorrow."
    ]

    # Export the request to CSV.
    page.get_by_role("link", name="All", exact=True).first.click()
    page.get_by_role("row").filter(has_text=new_request.reference).get_by_role("checkbox").check()
    with page.expect_download() as download_info:
        run_action(page, "Export selected to CSV")
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    with open(download.path(), newline="", encoding="utf-8-sig") as exported:
        rows = list(csv.reader(exported))
    assert len(rows) == 2 and any(new_request.reference in cell for cell in rows[1])


def test_article_needs_a_medical_review_before_it_goes_live(new_context, roles):
    call_command("load_sample_content", verbosity=0)
    # The clinic's own staff have taken over the contributor roles: a real review follows.
    Contributor.objects.update(is_sample=False)
    staff_member("eden", "Content editors")
    staff_member("riley", "Medical reviewers")
    topic = Topic.objects.get(slug="safety")
    author = Contributor.objects.filter(role__icontains="author").first()
    reviewer = Contributor.objects.filter(role__icontains="review").first()
    title = "Driving and travel on treatment days"

    # The editor drafts the article, with a reference, and saves it.
    editor = new_context().new_page()
    sign_in(editor, "eden")
    editor.get_by_role("link", name="Articles", exact=True).first.click()
    editor.get_by_role("link", name=re.compile("Add article", re.IGNORECASE)).click()
    editor.get_by_label("Title").press_sequentially(title)
    expect(editor.get_by_label("Slug")).to_have_value("driving-and-travel-on-treatment-days")
    editor.get_by_label("Topic").select_option(label=topic.name)
    editor.get_by_label("Summary").fill("Why you need a ride home after each session.")
    editor.get_by_label("Body").fill(
        "## Getting home\n\nDo not drive on the day of a session. Ask a friend to take you home."
    )
    choose(editor.get_by_label("Author"), author.name)
    editor.get_by_role("button", name="Add another Reference").click()
    editor.get_by_role("textbox", name=re.compile("^Citation")).fill(
        "Example A. Ketamine and driving. J Example. 2020;1:1."
    )
    editor.get_by_role("button", name="Save and continue editing").click()
    expect(editor.locator(".messagelist")).to_contain_text("was added successfully")

    # The preview shows the draft, clearly marked.
    with editor.context.expect_page() as preview_info:
        editor.get_by_role("link", name="Preview on site (not published)").click()
    preview = preview_info.value
    expect(preview.get_by_role("heading", level=1)).to_have_text(title)
    expect(preview.get_by_text("Preview: not published")).to_be_visible()
    preview.close()

    # Publishing is refused: no medical reviewer yet.
    editor.get_by_role("link", name="Articles", exact=True).first.click()
    editor.get_by_role("row").filter(has_text=title).get_by_role("checkbox").check()
    run_action(editor, "Publish selected articles")
    expect(editor.locator(".messagelist")).to_contain_text("was not published")
    expect(editor.locator(".messagelist")).to_contain_text("medical reviewer")
    visitor = new_context().new_page()
    visitor.goto("/articles/")
    expect(visitor.get_by_role("link", name=title)).to_have_count(0)

    # The medical reviewer names the reviewer and marks it reviewed today.
    clinician = new_context().new_page()
    sign_in(clinician, "riley")
    clinician.get_by_role("link", name="Articles", exact=True).first.click()
    clinician.get_by_role("link", name=title).click()
    choose(clinician.get_by_label("Medical reviewer"), reviewer.name)
    clinician.get_by_role("button", name="Save", exact=True).click()
    clinician.get_by_role("row").filter(has_text=title).get_by_role("checkbox").check()
    run_action(clinician, "Mark reviewed today")
    clinician.get_by_label("What changed at this review").fill("Checked against the source.")
    clinician.get_by_role("button", name="Mark reviewed today").click()
    expect(clinician.locator(".messagelist")).to_contain_text("reviewed today")

    # Now the editor can publish it, and a visitor finds it on the site.
    editor.reload()
    editor.get_by_role("row").filter(has_text=title).get_by_role("checkbox").check()
    run_action(editor, "Publish selected articles")
    expect(editor.locator(".messagelist")).to_contain_text("Published 1 article")
    # A new visitor: the first one's browser may keep its copy of the list for the
    # pages' public max-age (60 s), as any browser or proxy would.
    visitor = new_context().new_page()
    visitor.goto("/articles/")
    visitor.get_by_role("link", name=title).click()
    expect(visitor.get_by_role("heading", level=1)).to_have_text(title)
    expect(visitor.get_by_text("Preview: not published")).to_have_count(0)
    expect(visitor.get_by_text(f"Medically reviewed by {reviewer.name}")).to_be_visible()

    # The history lists each saved version with radio buttons to compare two; the newest
    # cannot be the older side, so its "from" button is hidden (the page's CSP allows
    # exactly that inline style).
    editor.get_by_role("link", name=title).click()
    editor.get_by_role("link", name="History").click()
    from_buttons = editor.locator('#change-history input[name="version_id1"]')
    expect(from_buttons.locator("visible=true")).to_have_count(from_buttons.count() - 1)
    expect(from_buttons.locator("visible=false")).to_have_count(1)
    editor.get_by_role("button", name="compare").click()
    expect(editor).to_have_url(re.compile(r"/history/compare/\?version_id"))
