"""A reviewed article stays reviewed: drafts of live articles and the review hand-off.

Everything goes through the admin pages as the two roles with the fewest rights use them
(the groups `setup_roles` makes): a content editor and a medical reviewer.
"""

import datetime
import re
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from reversion.models import Version

from education.models import Article, ReviewStep
from tests.education.admin_forms import article_change_data
from tests.factories import (
    ArticleFactory,
    ContributorFactory,
    FAQFactory,
    TopicFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

FALSE_CLAIM = "Ketamine never causes bladder problems at any dose."
TRUE_BODY = "## Your bladder\n\nKetamine can irritate the bladder. Tell us if it hurts to pee."
ZONE = ZoneInfo("America/New_York")
APPROVAL_DAY = datetime.datetime(2026, 12, 2, 15, 0, tzinfo=ZONE)


@pytest.fixture(autouse=True)
def clock():
    """Every test here happens on Wednesday, December 2, 2026, from 3 pm in New York."""
    with time_machine.travel(APPROVAL_DAY, tick=True):
        yield


@pytest.fixture(autouse=True)
def roles(clock):
    call_command("setup_roles", stdout=StringIO(), stderr=StringIO())


def member(group: str, **fields):
    user = UserFactory(**fields)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def editor_user():
    return member("Content editors", first_name="Eden", email="eden@clinic.example")


@pytest.fixture
def reviewer_user():
    user = member("Medical reviewers", first_name="Riley", email="riley@clinic.example")
    ContributorFactory(user=user, name="Riley Reviewer", credentials="MD")
    return user


@pytest.fixture
def editor(editor_user):
    client = Client()
    client.force_login(editor_user)
    return client


@pytest.fixture
def reviewer(reviewer_user):
    client = Client()
    client.force_login(reviewer_user)
    return client


@pytest.fixture
def live():
    article = ArticleFactory(
        title="Your bladder and ketamine",
        body=TRUE_BODY,
        last_reviewed=datetime.date(2026, 6, 1),
        next_review_due=datetime.date(2027, 6, 1),
        topic=TopicFactory(review_interval_days=365),
    )
    FAQFactory(article=article, question="Is it common?", answer="Not at clinic doses.")
    return article


def workflow_url(article) -> str:
    return reverse("admin:education_article_workflow", args=[article.pk])


def step(client, article, action: str, note: str = "", **extra):
    """Press one button on the article's Review and publishing page."""
    page = client.get(workflow_url(article))
    seen = page.context["form"]["seen"].value() if page.status_code == 200 else ""
    return client.post(
        workflow_url(article), {"action": action, "note": note, "seen": seen, **extra}
    )


def open_draft(client, article) -> Article:
    response = step(client, article, "open_draft")
    assert response.status_code == 302
    draft = Article.objects.get(draft_of=article)
    assert response["Location"] == reverse("admin:education_article_change", args=[draft.pk])
    return draft


def edit(client, article, **changes):
    url = reverse("admin:education_article_change", args=[article.pk])
    response = client.post(url, article_change_data(client, article, **changes))
    assert response.status_code == 302, response.context["adminform"].form.errors
    article.refresh_from_db()


def public_html(article_slug: str) -> str:
    response = Client().get(f"/articles/{article_slug}/")
    assert response.status_code == 200
    return response.content.decode()


def test_an_edit_to_a_live_article_changes_nothing_until_a_reviewer_approves(
    editor, reviewer, live, mailoutbox, django_capture_on_commit_callbacks
):
    reviewed_line = "Medically reviewed by <strong>"
    draft = open_draft(editor, live)
    edit(editor, draft, body=TRUE_BODY + "\n\n" + FALSE_CLAIM)

    html = public_html(live.slug)
    assert FALSE_CLAIM not in html and "Ketamine can irritate the bladder." in html
    assert reviewed_line in html and "on June 1, 2026" in html
    assert "Draft" not in html
    search = Client().get(reverse("education:search"), {"q": "never causes"}).content.decode()
    assert live.get_absolute_url() not in search

    # The preview shows the draft exactly, labelled, with no "Medically reviewed by".
    preview = editor.get(reverse("admin:education_article_preview", args=[draft.pk]))
    preview_html = preview.content.decode()
    assert FALSE_CLAIM in preview_html and "Draft — not yet reviewed." in preview_html
    assert "Medically reviewed by" not in preview_html
    assert "private" in preview["Cache-Control"]

    # Sent for review with a note: the reviewer is emailed, and sees it waiting.
    with django_capture_on_commit_callbacks(execute=True):
        step(editor, draft, "submit", note="Added a line on bladder safety.")
    draft.refresh_from_db()
    assert draft.review_state == "in_review"
    (email,) = mailoutbox
    assert email.to == ["riley@clinic.example"]
    assert email.subject == "Sent for review: Your bladder and ketamine"
    assert "Added a line on bladder safety." in email.body
    assert f"https://clinic.example{workflow_url(draft)}" in email.body
    index = reviewer.get(reverse("admin:index")).content.decode()
    assert "Waiting for your review" in index and workflow_url(draft) in index

    # The reviewer sees exactly what changed, and sends it back.
    page = reviewer.get(workflow_url(draft)).content.decode()
    assert "+" + FALSE_CLAIM in page
    with django_capture_on_commit_callbacks(execute=True):
        step(reviewer, draft, "request_changes", note="This is false: remove it.")
    draft.refresh_from_db()
    assert draft.review_state == "changes_requested"
    assert mailoutbox[-1].to == ["eden@clinic.example"]
    assert mailoutbox[-1].subject == "Changes requested: Your bladder and ketamine"
    index = editor.get(reverse("admin:index")).content.decode()
    assert "Changes requested" in index and workflow_url(draft) in index
    assert FALSE_CLAIM not in public_html(live.slug)

    # The editor fixes it and sends it again; the reviewer approves it.
    edit(editor, draft, body=TRUE_BODY + "\n\nHigh doses over years can harm the bladder.")
    step(editor, draft, "submit", note="Fixed.")
    with django_capture_on_commit_callbacks(execute=True):
        response = step(reviewer, draft, "approve", note="Added long-term bladder risk.")
    assert response.status_code == 302 and response["Location"] == workflow_url(live)
    assert mailoutbox[-1].subject == "Approved: Your bladder and ketamine"

    html = public_html(live.slug)
    assert "High doses over years can harm the bladder." in html and FALSE_CLAIM not in html
    assert "Riley Reviewer, MD</strong> on December 2, 2026" in html
    assert "What changed at the last review: Added long-term bladder risk." in html
    live.refresh_from_db()
    assert live.last_reviewed == datetime.date(2026, 12, 2)
    assert live.next_review_due == datetime.date(2027, 12, 2)
    assert not Article.objects.filter(draft_of=live).exists()
    assert [s.action for s in live.review_steps.order_by("at", "id")] == [
        "submitted", "changes_requested", "submitted", "approved",
    ]  # fmt: skip
    assert live.faqs.get().question == "Is it common?"  # the draft's copy, now live


def test_history_keeps_every_live_version(editor, reviewer, live):
    for body in ["First new body.", "Second new body."]:
        draft = open_draft(editor, live)
        edit(editor, draft, body=body)
        step(editor, draft, "submit")
        assert step(reviewer, draft, "approve", note=f"Now: {body}").status_code == 302
    approvals = live.review_steps.filter(action="approved").order_by("at", "id")
    bodies = [s.version.field_dict["body"] for s in approvals]
    assert bodies == ["First new body.", "Second new body."]
    assert all(s.version.revision.comment.startswith("Live version.") for s in approvals)
    history = reviewer.get(reverse("admin:education_article_history", args=[live.pk]))
    assert history.content.decode().count("Live version. Approved by Riley Reviewer") == 2


def test_no_medical_change_is_approved_in_one_click_and_keeps_the_review(editor, reviewer, live):
    draft = open_draft(editor, live)
    edit(editor, draft, summary="A fixed typo in the summary.")
    step(editor, draft, "submit", note="Typo.")
    assert step(reviewer, draft, "approve_no_medical_change").status_code == 302
    live.refresh_from_db()
    assert live.summary == "A fixed typo in the summary."
    # The medical content patients read is unchanged, so its review date stands.
    assert live.last_reviewed == datetime.date(2026, 6, 1)
    recorded = live.review_steps.get(action="approved_no_medical_change")
    assert recorded.by.first_name == "Riley"
    comment = Version.objects.get_for_object(live).first().revision.comment
    assert comment == "Live version. Approved by Riley Reviewer: no medical change."


def test_an_approval_of_words_the_reviewer_has_not_seen_is_refused(editor, reviewer, live):
    draft = open_draft(editor, live)
    step(editor, draft, "submit")
    seen = reviewer.get(workflow_url(draft)).context["form"]["seen"].value()
    edit(editor, draft, body=FALSE_CLAIM)  # after the reviewer opened the page
    response = reviewer.post(
        workflow_url(draft), {"action": "approve", "note": "Fine.", "seen": seen}, follow=True
    )
    assert "The article was edited after you opened it." in response.content.decode()
    assert FALSE_CLAIM not in public_html(live.slug)


def test_an_editor_cannot_approve_or_publish_a_draft(editor, live):
    draft = open_draft(editor, live)
    step(editor, draft, "submit")
    page = editor.get(workflow_url(draft)).content.decode()
    assert 'value="approve"' not in page
    for action in ["approve", "approve_no_medical_change", "publish"]:
        assert step(editor, draft, action).status_code == 403
    draft.refresh_from_db()
    assert draft.review_state == "in_review" and Article.objects.filter(pk=draft.pk).exists()


def test_a_reviewer_without_a_contributor_profile_is_told_what_to_do(editor, live):
    unlinked = Client()
    unlinked.force_login(member("Medical reviewers"))
    draft = open_draft(editor, live)
    response = unlinked.post(
        workflow_url(draft), {"action": "approve", "note": "Fine."}, follow=True
    )
    assert "not linked to a contributor profile" in response.content.decode()
    assert Article.objects.filter(pk=draft.pk).exists()


def test_unpublishing_is_immediate_recorded_and_tells_the_reviewers(
    editor, reviewer_user, live, mailoutbox, django_capture_on_commit_callbacks
):
    assert Client().get(live.get_absolute_url()).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = step(editor, live, "unpublish", note="Dose advice is out of date.")
    assert response.status_code == 302
    assert Client().get(live.get_absolute_url()).status_code == 404
    recorded = live.review_steps.get(action="unpublished")
    assert recorded.note == "Dose advice is out of date." and recorded.by.first_name == "Eden"
    (email,) = mailoutbox
    assert email.to == [reviewer_user.email]
    assert email.subject == "Unpublished: Your bladder and ketamine"
    assert "Patients can no longer read it." in email.body
    live.refresh_from_db()
    assert live.review_state == "editing"  # going back up needs a new approval


def test_a_reviewer_approves_and_publishes_a_new_article_in_one_step(editor, reviewer):
    article = ArticleFactory(draft=True, title="New one")
    assert step(editor, article, "publish").status_code == 403  # not approved: no button
    editor_page = editor.get(workflow_url(article)).content.decode()
    assert "A medical reviewer must approve this article before it can be published." in (
        editor_page
    )
    step(editor, article, "submit")
    step(reviewer, article, "approve_publish", note="Checked against the sources.")
    article.refresh_from_db()
    assert article.is_live and article.last_reviewed == datetime.date(2026, 12, 2)
    html = public_html(article.slug)
    assert "Riley Reviewer, MD</strong> on December 2, 2026" in html


def test_editing_an_approved_article_before_it_is_published_withdraws_the_approval(
    editor, reviewer
):
    article = ArticleFactory(draft=True)
    step(editor, article, "submit")
    step(reviewer, article, "approve", note="Fine.")
    article.refresh_from_db()
    assert article.review_state == "approved"
    url = reverse("admin:education_article_change", args=[article.pk])
    data = article_change_data(editor, article, body="Different words now.")
    response = editor.post(url, data, follow=True)
    assert "needs a new medical review" in response.content.decode()
    article.refresh_from_db()
    assert article.review_state == "editing"
    assert step(editor, article, "publish").status_code == 403


def test_a_draft_may_not_take_another_articles_slug(editor, live):
    other = ArticleFactory(slug="taken")
    draft = open_draft(editor, live)
    url = reverse("admin:education_article_change", args=[draft.pk])
    response = editor.post(url, article_change_data(editor, draft, slug=other.slug))
    assert response.status_code == 200
    assert "Another article already uses this slug." in response.content.decode()


def test_the_list_and_page_show_each_state(editor, reviewer, live):
    ArticleFactory(draft=True, title="Plain draft")
    ArticleFactory(title="Overdue one", next_review_due=datetime.date(2020, 1, 1))
    draft = open_draft(editor, live)
    step(editor, draft, "submit")
    html = editor.get(reverse("admin:education_article_changelist")).content.decode()
    assert "Live; changes: in review" in html
    assert ">Draft<" in html and "Overdue for review" in html
    assert html.count(">Your bladder and ketamine<") == 1  # the draft is not a second row
    page = editor.get(reverse("admin:education_article_change", args=[draft.pk]))
    assert "<strong>In review.</strong> This is a draft of changes" in page.content.decode()
    assert "Draft of changes — in review" in editor.get(workflow_url(draft)).content.decode()


def test_opening_a_draft_twice_returns_the_same_draft(editor, live):
    first = open_draft(editor, live)
    assert open_draft(editor, live) == first
    assert ReviewStep.objects.count() == 0


# What each role may do at each state, written out here rather than read from the admin.
ROLE_BUTTONS = {
    ("Content editors", "live"): {"open_draft", "unpublish"},
    ("Medical reviewers", "live"): {"open_draft", "unpublish"},
    ("Content editors", "draft of changes, in review"): set(),
    ("Medical reviewers", "draft of changes, in review"): {
        "approve", "approve_no_medical_change", "request_changes",
    },
    ("Content editors", "new, draft"): {"submit"},
    ("Medical reviewers", "new, draft"): {
        "submit", "approve", "approve_publish", "request_changes",
    },
    ("Content editors", "new, approved"): {"publish"},
    ("Medical reviewers", "new, approved"): {"publish"},
}  # fmt: skip


def article_in(state: str, live) -> Article:
    if state == "live":
        return live
    if state == "draft of changes, in review":
        return ArticleFactory(draft=True, draft_of=live, review_state="in_review")
    if state == "new, draft":
        return ArticleFactory(draft=True)
    return ArticleFactory(
        draft=True,
        review_state="approved",
        reviewer=live.reviewer,
        last_reviewed=datetime.date(2026, 12, 1),
    )


@pytest.mark.parametrize(("group", "state"), list(ROLE_BUTTONS))
def test_each_role_gets_exactly_its_buttons(client, live, group, state):
    user = member(group)
    ContributorFactory(user=user)
    client.force_login(user)
    article = article_in(state, live)
    html = client.get(workflow_url(article)).content.decode()
    shown = set(re.findall(r'name="action" value="([a-z_]+)"', html))
    assert shown == ROLE_BUTTONS[group, state]


# Renamed addresses ---------------------------------------------------------------------


def rename(editor, reviewer, article, slug: str) -> None:
    draft = open_draft(editor, article)
    edit(editor, draft, slug=slug)
    step(editor, draft, "submit", note="A clearer address.")
    assert step(reviewer, draft, "approve", note="New address only.").status_code == 302


def test_a_renamed_live_article_keeps_its_old_address(editor, reviewer, live, client):
    old_url = live.get_absolute_url()
    rename(editor, reviewer, live, "bladder-and-ketamine")
    live.refresh_from_db()
    assert live.slug == "bladder-and-ketamine"

    response = client.get(old_url)
    assert response.status_code == 301 and response["Location"] == live.get_absolute_url()
    assert client.get(live.get_absolute_url()).status_code == 200
    sitemap = client.get("/sitemap.xml").content.decode()
    assert live.get_absolute_url() in sitemap and old_url not in sitemap

    # Renamed again: both earlier addresses lead to the newest, in one step.
    rename(editor, reviewer, live, "ketamine-and-your-bladder")
    live.refresh_from_db()
    for url in [old_url, "/articles/bladder-and-ketamine/"]:
        assert client.get(url)["Location"] == "/articles/ketamine-and-your-bladder/"

    # Back to the first name: that address is the article again, never a loop.
    rename(editor, reviewer, live, old_url.strip("/").split("/")[-1])
    assert client.get(old_url).status_code == 200
    assert client.get("/articles/ketamine-and-your-bladder/")["Location"] == old_url


def test_an_old_address_of_an_unpublished_article_is_gone(editor, reviewer, live, client):
    old_url = live.get_absolute_url()
    rename(editor, reviewer, live, "bladder-and-ketamine")
    live.refresh_from_db()
    live.status = Article.Status.DRAFT
    live.save()
    assert client.get(old_url).status_code == 404


def test_staff_see_and_delete_redirects(editor, reviewer, live):
    old_slug = live.slug
    rename(editor, reviewer, live, "bladder-and-ketamine")
    changelist = reverse("admin:education_articleredirect_changelist")
    page = editor.get(changelist).content.decode()
    assert f"/articles/{old_slug}/" in page and "Your bladder and ketamine" in page
    redirect = live.redirects.get()
    delete = reverse("admin:education_articleredirect_delete", args=[redirect.pk])
    assert editor.post(delete, {"post": "yes"}).status_code == 302
    assert Client().get(f"/articles/{old_slug}/").status_code == 404
