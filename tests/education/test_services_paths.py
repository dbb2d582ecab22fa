"""The review hand-off's less travelled paths: what a reviewer is told on the Review and
publishing page when a step cannot be taken, publishing from the pages, and the publishing
service's own guards for the steps no page offers (a change draft published, an approval
approved again)."""

import io
import logging
from datetime import UTC, datetime
from pathlib import Path

import frontmatter
import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from education import services
from education.models import Article, ReviewStep
from education.tasks import send_review_step_email
from tests.factories import ArticleFactory, ContributorFactory, UserFactory
from tests.page_forms import form_with_button, link_to

pytestmark = pytest.mark.django_db

CONTENT = Path(settings.BASE_DIR) / "content"


@pytest.fixture(autouse=True)
def roles():
    call_command("setup_roles", stdout=io.StringIO(), stderr=io.StringIO())


def member(group: str, **fields):
    user = UserFactory(**fields)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def editor_user():
    return member("Content editors", email="eden@clinic.example")


@pytest.fixture
def reviewer_user():
    user = member("Medical reviewers", email="riley@clinic.example")
    ContributorFactory(user=user, name="Riley Reviewer")
    return user


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def press(client, article, button: str, note: str = ""):
    """Type `note` into the Review and publishing page's note box and press `button`."""
    url = reverse("admin:education_article_workflow", args=[article.pk])
    form = form_with_button(client.get(url).content.decode(), button)
    data = form.submission(button)
    data["note"] = [note]  # the page's one text area
    return client.post(url, data, follow=True)


def sent_for_review(editor_user, **fields) -> Article:
    article = ArticleFactory(draft=True, **fields)
    press(signed_in(editor_user), article, "Send for review", "Ready.")
    article.refresh_from_db()
    assert article.review_state == "in_review"
    return article


# -- refusals a reviewer meets on the page ------------------------------------------------


def test_asking_for_changes_without_saying_what_changes_nothing_and_says_why(
    editor_user, reviewer_user, mailoutbox, django_capture_on_commit_callbacks
):
    article = sent_for_review(editor_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = press(signed_in(reviewer_user), article, "Ask for changes", "   ")
    assert "Say what needs to change, so the editor knows what to fix." in (
        response.content.decode()
    )
    article.refresh_from_db()
    assert article.review_state == "in_review"
    assert not article.review_steps.filter(action="changes_requested").exists()
    assert mailoutbox == []


def test_changes_asked_for_once_are_not_asked_for_again(
    editor_user, reviewer_user, mailoutbox, django_capture_on_commit_callbacks
):
    article = sent_for_review(editor_user)
    reviewer = signed_in(reviewer_user)
    with django_capture_on_commit_callbacks(execute=True):
        press(reviewer, article, "Ask for changes", "Cite the 2023 guideline.")
    assert [email.to for email in mailoutbox] == [["eden@clinic.example"]]
    with django_capture_on_commit_callbacks(execute=True):
        response = press(reviewer, article, "Ask for changes", "And the dose table.")
    assert "Only an article waiting for review can be sent back." in response.content.decode()
    notes = article.review_steps.filter(action="changes_requested").values_list("note", flat=True)
    assert list(notes) == ["Cite the 2023 guideline."]
    assert len(mailoutbox) == 1


def test_an_article_without_a_reference_is_not_approved(editor_user, reviewer_user):
    article = sent_for_review(editor_user, references=0)
    response = press(signed_in(reviewer_user), article, "Approve", "Checked.")
    assert "Add at least one reference before approving." in response.content.decode()
    article.refresh_from_db()
    assert article.review_state == "in_review" and article.reviewer is None
    assert not article.review_steps.filter(action="approved").exists()


def test_an_approval_without_a_note_asks_what_changed(editor_user, reviewer_user):
    article = sent_for_review(editor_user)
    response = press(signed_in(reviewer_user), article, "Approve", "")
    assert "Say what changed at this review" in response.content.decode()
    article.refresh_from_db()
    assert article.review_state == "in_review" and article.last_reviewed is None


# -- publishing from the pages ------------------------------------------------------------

ARTICLES = reverse("admin:education_article_changelist")


def test_an_approved_article_is_published_from_its_page(
    editor_user, reviewer_user, mailoutbox, django_capture_on_commit_callbacks
):
    article = sent_for_review(editor_user, title="Sleep after a session")
    press(signed_in(reviewer_user), article, "Approve", "Checked against the sources.")
    assert Client().get(article.get_absolute_url()).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        response = press(signed_in(editor_user), article, "Publish")
    assert "Published." in response.content.decode()
    article.refresh_from_db()
    assert article.is_live and article.first_published_at == article.publish_at
    assert article.review_steps.filter(action="published", by=editor_user).exists()
    assert Client().get(article.get_absolute_url()).status_code == 200
    assert mailoutbox == []  # publishing is no hand-off: nobody is waiting on it


def test_the_publish_action_says_nothing_was_published_when_nothing_was(editor_user):
    editor = signed_in(editor_user)
    ArticleFactory(draft=True, title="Unready")
    form = form_with_button(editor.get(ARTICLES).content.decode(), "Go")
    chosen = form.submission(
        "Go", action="publish", _selected_action=form.offered["_selected_action"]
    )
    html = editor.post(ARTICLES, chosen, follow=True).content.decode()
    assert "“Unready” was not published." in html
    assert "Published " not in html


def test_a_live_articles_page_links_to_its_open_draft(editor_user):
    editor = signed_in(editor_user)
    live = ArticleFactory()
    press(editor, live, "Edit a draft of changes")
    draft = live.change_draft
    page = editor.get(reverse("admin:education_article_change", args=[live.pk])).content.decode()
    assert "draft of changes</a> is open (draft)." in page
    assert link_to(page, "draft of changes") == reverse(
        "admin:education_article_change", args=[draft.pk]
    )


# -- the service's guards for steps no page offers ------------------------------------------


def test_a_draft_of_changes_is_never_published_directly(editor_user):
    live = ArticleFactory(title="Live words")
    draft = services.article_draft_open(article=live, by=editor_user)
    Article.objects.filter(pk=draft.pk).update(title="Unreviewed words", review_state="approved")
    draft.refresh_from_db()
    with pytest.raises(ValidationError) as refused:
        services.article_publish(article=draft, by=editor_user)
    assert refused.value.code == "draft"
    draft.refresh_from_db()
    assert draft.status == "draft" and draft.publish_at is None
    assert list(Article.objects.published().values_list("title", flat=True)) == ["Live words"]


def test_an_unpublished_article_is_its_own_draft(editor_user):
    article = ArticleFactory(draft=True)
    assert services.article_draft_open(article=article, by=editor_user) == article
    assert Article.objects.count() == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "The live version is already approved. Edit a draft of changes."),
        ({"draft": True, "review_state": "in_review"}, "already waiting for review"),
        ({"draft": True, "review_state": "approved"}, "already approved"),
    ],
    ids=["live", "in-review", "approved"],
)
def test_an_article_is_sent_for_review_only_while_being_edited(editor_user, fields, message):
    article = ArticleFactory(**fields)
    with pytest.raises(ValidationError, match=message):
        services.article_submit_for_review(article=article, by=editor_user)
    assert not ReviewStep.objects.exists()
    assert Article.objects.get(pk=article.pk).review_state == article.review_state


def test_an_approved_article_is_not_approved_again(reviewer_user):
    article = ArticleFactory(draft=True, review_state="approved")
    with pytest.raises(ValidationError, match="already approved"):
        services.article_approve(article=article, by=reviewer_user, note="Again.")
    assert not ReviewStep.objects.exists()


def test_no_medical_change_needs_an_earlier_review(reviewer_user):
    article = ArticleFactory(draft=True, review_state="in_review")
    with pytest.raises(ValidationError, match="keeps an earlier review"):
        services.article_approve(article=article, by=reviewer_user, medical_change=False)
    article.refresh_from_db()
    assert article.review_state == "in_review" and article.reviewer is None


# -- the loader names everything an article lacks ------------------------------------------


def test_the_loader_names_every_gap_of_an_approved_article(tmp_path):
    for name in ["topics.yaml", "contributors.yaml", "glossary.yaml"]:
        (tmp_path / name).write_text((CONTENT / name).read_text())
    (tmp_path / "articles").mkdir()
    post = frontmatter.load(sorted((CONTENT / "articles").glob("*.md"))[0])
    post["references"] = []
    post["related"] = []
    post.content += "\n\n<script>alert(1)</script>\n"
    (tmp_path / "articles" / "x.md").write_text(frontmatter.dumps(post))
    with pytest.raises(CommandError) as refused:
        call_command("load_sample_content", "--path", str(tmp_path), stdout=io.StringIO())
    assert str(refused.value).endswith(
        "This article cannot be published yet. It needs at least one reference and a body "
        "without what the site removes (save it to see what)."
    )
    assert not Article.objects.exists()


# -- the hand-off email task ---------------------------------------------------------------


def test_a_step_gone_before_its_email_was_sent_emails_nobody(
    editor_user, reviewer_user, mailoutbox
):
    article = sent_for_review(editor_user)
    step_id = article.review_steps.get().pk
    article.delete()
    assert send_review_step_email.call(step_id) == 0
    assert mailoutbox == []


def test_a_failed_review_email_is_logged_and_the_step_kept(
    editor_user, reviewer_user, settings, caplog
):
    article = sent_for_review(editor_user)
    step = article.review_steps.get()
    settings.EMAIL_BACKEND = "tests.consultations.failing_email_backend.FailingEmailBackend"
    with caplog.at_level(logging.WARNING, logger="education.tasks"):
        assert send_review_step_email.call(step.pk) == 0
    assert [r.getMessage() for r in caplog.records if r.name == "education.tasks"] == [
        f"review email for step {step.pk} failed: SMTPException"
    ]
    assert ReviewStep.objects.filter(pk=step.pk).exists()


def test_the_hand_off_works_in_the_hour_the_clocks_go_back(editor_user):
    # 1:30 am on November 7, 2027 happens twice in New York. The page's "seen" time once
    # went out in clinic time without its offset, could not be read back, and the form
    # failed without a word: "Send for review" did nothing for that hour.
    with time_machine.travel(datetime(2027, 11, 7, 5, 30, tzinfo=UTC), tick=False):
        sent_for_review(editor_user)
