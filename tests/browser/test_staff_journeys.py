"""Staff in the admin, in a real browser, with the real role groups from `setup_roles`.

Journey 3: an intake coordinator handles a new consultation request.
Journey 4: a content editor edits a live article; patients keep reading the reviewed
version until a medical reviewer, after asking for one change, approves the draft.
Journey 5: a new article is refused publication until a reviewer approves (and publishes).
"""

import csv
import re

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from playwright.sync_api import expect

from education.models import Article, Contributor, Topic
from tests.browser import audit
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


def test_an_edit_to_a_live_article_waits_for_a_medical_reviewer(new_context, roles):
    """Editor edits a live article and sends it for review; the reviewer asks for changes;
    the editor fixes them; the reviewer approves; only then does the public page change."""
    call_command("load_sample_content", verbosity=0)
    # The clinic's own staff have taken over the contributor roles: a real review follows.
    Contributor.objects.update(is_sample=False)
    staff_member("eden", "Content editors")
    riley = staff_member("riley", "Medical reviewers")
    reviewer = Contributor.objects.filter(role__icontains="review").first()
    reviewer.user = riley
    reviewer.save()
    article = Article.objects.published().order_by("title").first()
    false_claim = "Ketamine never causes bladder problems at any dose."
    fixed = "At high doses over a long time, ketamine can harm the bladder."

    def public_page():
        # A new visitor each time: a browser may keep a page for its public max-age.
        visitor = new_context().new_page()
        visitor.goto(article.get_absolute_url())
        return visitor

    # The editor opens the live article: it is not edited in place.
    editor = new_context().new_page()
    sign_in(editor, "eden")
    editor.get_by_role("link", name="Articles", exact=True).first.click()
    editor.get_by_role("link", name=article.title, exact=True).click()
    expect(editor.get_by_text("patients read this version")).to_be_visible()
    editor.get_by_role("link", name="Review and publishing").first.click()
    editor.get_by_role("button", name="Edit a draft of changes").click()
    expect(editor.locator(".messagelist")).to_contain_text("Patients keep reading the live")
    body = editor.get_by_label("Body")
    body.fill(body.input_value() + "\n\n" + false_claim)
    editor.get_by_role("button", name="Save and continue editing").click()
    expect(editor.locator(".messagelist")).to_contain_text("was changed successfully")
    expect(public_page().get_by_text(false_claim)).to_have_count(0)

    # The preview shows the draft, labelled, without "Medically reviewed by".
    with editor.context.expect_page() as preview_info:
        editor.get_by_role("link", name="Preview (not published)").click()
    preview = preview_info.value
    expect(preview.get_by_text("Draft — not yet reviewed.")).to_be_visible()
    expect(preview.get_by_text(false_claim)).to_be_visible()
    expect(preview.get_by_text("Medically reviewed by")).to_have_count(0)
    audit.screenshot(preview, "staff-draft-preview")
    preview.close()

    # Sent for review with a note.
    editor.get_by_role("link", name="Review and publishing").first.click()
    editor.get_by_label("Note").fill("Added a line on bladder safety.")
    editor.get_by_role("button", name="Send for review").click()
    expect(editor.locator(".messagelist")).to_contain_text("Sent for review")
    expect(editor.get_by_text("Draft of changes — in review")).to_be_visible()
    audit.screenshot(editor, "staff-workflow-in-review")

    # The reviewer finds it waiting, sees the change, and asks for changes.
    clinician = new_context().new_page()
    sign_in(clinician, "riley")
    clinician.locator("#at-a-glance").get_by_role("link", name=article.title).click()
    expect(clinician.locator(".workflow-diff").filter(has_text=false_claim)).to_be_visible()
    audit.screenshot(clinician, "staff-workflow-reviewer")
    clinician.get_by_label("Note").fill("This is false. Say what the risk really is.")
    clinician.get_by_role("button", name="Ask for changes").click()
    expect(clinician.locator(".messagelist")).to_contain_text("Changes requested")

    # The editor sees it sent back, fixes it and sends it again.
    editor.goto("/admin/")
    editor.locator("#at-a-glance").get_by_role("link", name=article.title).click()
    expect(editor.get_by_text("This is false. Say what the risk really is.")).to_be_visible()
    audit.screenshot(editor, "staff-workflow-changes-requested")
    editor.get_by_role("link", name="Edit the article").click()
    body = editor.get_by_label("Body")
    body.fill(body.input_value().replace(false_claim, fixed))
    editor.get_by_role("button", name="Save and continue editing").click()
    editor.get_by_role("link", name="Review and publishing").first.click()
    editor.get_by_label("Note").fill("Fixed.")
    editor.get_by_role("button", name="Send for review").click()
    expect(public_page().get_by_text(fixed)).to_have_count(0)

    # The reviewer approves: now, and only now, patients read the new version.
    clinician.goto("/admin/")
    clinician.locator("#at-a-glance").get_by_role("link", name=article.title).click()
    clinician.get_by_label("Note").fill("Added the long-term bladder risk.")
    clinician.get_by_role("button", name="Approve", exact=True).click()
    expect(clinician.locator(".messagelist")).to_contain_text("now the live version")
    audit.screenshot(clinician, "staff-workflow-live")
    visitor = public_page()
    expect(visitor.get_by_text(fixed)).to_be_visible()
    expect(visitor.get_by_text(false_claim)).to_have_count(0)
    expect(visitor.get_by_text(f"Medically reviewed by {reviewer.name}")).to_be_visible()

    # The history lists each saved version with radio buttons to compare two; the newest
    # cannot be the older side, so its "from" button is hidden (the page's CSP allows
    # exactly that inline style).
    clinician.get_by_role("link", name="History of live versions").click()
    expect(clinician.get_by_text("Live version. Approved by")).to_be_visible()
    from_buttons = clinician.locator('#change-history input[name="version_id1"]')
    expect(from_buttons.locator("visible=false")).to_have_count(1)
    clinician.get_by_role("button", name="compare").click()
    expect(clinician).to_have_url(re.compile(r"/history/compare/\?version_id"))


def test_a_new_article_is_refused_publication_until_a_reviewer_approves(new_context, roles):
    call_command("load_sample_content", verbosity=0)
    # The clinic's own staff have taken over the contributor roles: a real review follows.
    Contributor.objects.update(is_sample=False)
    staff_member("eden", "Content editors")
    riley = staff_member("riley", "Medical reviewers")
    Contributor.objects.filter(role__icontains="review").update(user=None)
    reviewer = Contributor.objects.filter(role__icontains="review").first()
    reviewer.user = riley
    reviewer.save()
    topic = Topic.objects.get(slug="safety")
    author = Contributor.objects.filter(role__icontains="author").first()
    title = "Driving and travel on treatment days"

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

    # Publishing is refused, saying who must act.
    editor.get_by_role("link", name="Articles", exact=True).first.click()
    editor.get_by_role("row").filter(has_text=title).get_by_role("checkbox").check()
    run_action(editor, "Publish selected articles")
    expect(editor.locator(".messagelist")).to_contain_text(
        "A medical reviewer must approve this article before it can be published."
    )
    editor.get_by_role("link", name=title).click()
    editor.get_by_role("link", name="Review and publishing").first.click()
    editor.get_by_role("button", name="Send for review").click()

    # The reviewer approves and publishes in one step; a visitor finds it.
    clinician = new_context().new_page()
    sign_in(clinician, "riley")
    clinician.locator("#at-a-glance").get_by_role("link", name=title).click()
    clinician.get_by_label("Note").fill("Checked against the source.")
    clinician.get_by_role("button", name="Approve and publish").click()
    expect(clinician.locator(".messagelist")).to_contain_text("now the live version")
    visitor = new_context().new_page()
    visitor.goto("/articles/")
    visitor.get_by_role("link", name=title).click()
    expect(visitor.get_by_role("heading", level=1)).to_have_text(title)
    expect(visitor.get_by_text(f"Medically reviewed by {reviewer.name}")).to_be_visible()
