"""The article admin: every page opens, the publishing gate, actions, and history."""

import base64
import datetime
import hashlib

import pytest
import reversion
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone
from reversion.models import Version

from education.models import Article, GlossaryTerm
from tests.education.admin_forms import article_change_data, inline_data
from tests.factories import (
    ArticleFactory,
    ContributorFactory,
    FAQFactory,
    GlossaryTermFactory,
    TopicFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

MODELS = ["topic", "contributor", "glossaryterm", "article"]


def article_form(topic, author, **overrides) -> dict:
    data = {
        "title": "New article",
        "slug": "new-article",
        "topic": topic.pk,
        "summary": "A summary.",
        "body": "## One\n\nShort words. Easy to read.",
        "key_takeaways": "",
        "regulatory_note": "",
        "author": author.pk,
        "reviewer": "",
        "status": "draft",
        "publish_at_0": "",
        "publish_at_1": "",
        "last_reviewed": "",
        "next_review_due": "",
        "review_note": "",
    }
    data |= inline_data("faqs", [{"order": "1", "question": "Why?", "answer": "Because."}])
    data |= inline_data("references", [])
    data |= overrides
    return data


@pytest.fixture
def article():
    article = ArticleFactory(next_review_due=timezone.localdate() - datetime.timedelta(days=3))
    FAQFactory(article=article)
    return article


def test_every_education_admin_page_opens(admin_client, article):
    GlossaryTermFactory()
    for model in MODELS:
        assert admin_client.get(reverse(f"admin:education_{model}_changelist")).status_code == 200
        assert admin_client.get(reverse(f"admin:education_{model}_add")).status_code == 200
        instance = {
            "topic": article.topic,
            "contributor": article.author,
            "glossaryterm": GlossaryTerm.objects.first(),
            "article": article,
        }[model]
        url = reverse(f"admin:education_{model}_change", args=[instance.pk])
        assert admin_client.get(url).status_code == 200, model
    history = reverse("admin:education_article_history", args=[article.pk])
    assert admin_client.get(history).status_code == 200


def test_article_list_columns_filters_and_search(admin_client, article):
    hard = ArticleFactory(title="Hard reading")
    Article.objects.filter(pk=hard.pk).update(reading_grade=11.5)
    soon = ArticleFactory(
        title="Due soon", next_review_due=timezone.localdate() + datetime.timedelta(days=20)
    )
    ArticleFactory(title="A draft one", draft=True)
    url = reverse("admin:education_article_changelist")
    html = admin_client.get(url).content.decode()
    assert "Overdue since" in html and "review-overdue" in html
    assert "11.5 (above 8)" in html
    overdue = admin_client.get(url, {"review_due": "overdue"}).content.decode()
    assert article.title in overdue and soon.title not in overdue
    due_soon = admin_client.get(url, {"review_due": "soon"}).content.decode()
    assert soon.title in due_soon and article.title not in due_soon
    drafts = admin_client.get(url, {"status": "draft"}).content.decode()
    assert "A draft one" in drafts and soon.title not in drafts
    assert "Due soon" in admin_client.get(url, {"q": "due soon"}).content.decode()
    ArticleFactory(title="Later", publish_at=timezone.now() + datetime.timedelta(days=3))
    assert "Scheduled (" in admin_client.get(url).content.decode()


def test_change_form_shows_grade_guidance_checklist_and_preview_link(admin_client):
    draft = ArticleFactory(draft=True, references=0)
    html = admin_client.get(reverse("admin:education_article_change", args=[draft.pk])).content
    html = html.decode()
    assert "Target grade 8 or lower" in html and "minute" in html
    assert "A medical reviewer must approve this article before it can be published." in html
    preview = reverse("admin:education_article_preview", args=[draft.pk])
    assert f'href="{preview}"' in html and "Preview (not published)" in html
    assert admin_client.get(preview).status_code == 200
    workflow = reverse("admin:education_article_workflow", args=[draft.pk])
    assert f'href="{workflow}"' in html
    add = admin_client.get(reverse("admin:education_article_add")).content.decode()
    assert "Save the article first" in add and "Shown after saving" in add


def test_adding_an_article_renders_it_as_a_draft(admin_client):
    topic = TopicFactory(review_interval_days=30)
    author = ContributorFactory()
    data = article_form(topic, author)
    response = admin_client.post(reverse("admin:education_article_add"), data)
    assert response.status_code == 302, response.context["errors"]
    article = Article.objects.get(slug="new-article")
    assert '<h2 id="one">One</h2>' in article.body_html
    assert "Why?" in article.search_text  # rendered after the FAQ inline was saved
    assert article.review_state == "editing" and article.status == "draft"
    assert Version.objects.get_for_object(article).count() == 1


def test_the_form_can_neither_publish_nor_name_a_reviewer(admin_client):
    """Publishing is a step of its own and the reviewer is whoever approves; a forged
    form changes neither."""
    topic, author, reviewer = TopicFactory(), ContributorFactory(), ContributorFactory()
    data = article_form(
        topic, author, status="published", reviewer=reviewer.pk, last_reviewed="2026-01-01"
    )
    data |= inline_data("references", [{"order": "1", "citation": "A study.", "doi": "10.1/x"}])
    assert admin_client.post(reverse("admin:education_article_add"), data).status_code == 302
    article = Article.objects.get()
    assert article.status == "draft" and article.reviewer is None
    assert article.last_reviewed is None and not article.is_live


def test_a_published_article_is_never_edited_in_place(admin_client):
    article = ArticleFactory(title="Live title")
    url = reverse("admin:education_article_change", args=[article.pk])
    page = admin_client.get(url)
    assert page.status_code == 200 and "patients read this version" in page.content.decode()
    assert 'name="_save"' not in page.content.decode()
    data = article_change_data(admin_client, article, title="Changed", delete_reference=True)
    assert admin_client.post(url, data).status_code == 403
    article.refresh_from_db()
    assert article.title == "Live title" and article.references.exists()


def run_action(client, action: str, articles, **extra):
    data = {"action": action, "_selected_action": [a.pk for a in articles], **extra}
    return client.post(reverse("admin:education_article_changelist"), data, follow=True)


def test_publish_action_publishes_approved_articles_and_explains_the_rest(admin_client):
    ready = ArticleFactory(draft=True, reviewer=ContributorFactory(), review_state="approved")
    Article.objects.filter(pk=ready.pk).update(last_reviewed=timezone.localdate())
    not_ready = ArticleFactory(draft=True, title="Unready", references=0)
    response = run_action(admin_client, "publish", [ready, not_ready])
    html = response.content.decode()
    assert "Published 1 article(s)." in html
    assert (
        "“Unready” was not published. "
        "A medical reviewer must approve this article before it can be published." in html
    )
    ready.refresh_from_db()
    not_ready.refresh_from_db()
    assert ready.is_live and not_ready.status == "draft"


def test_unpublish_action(admin_client, article):
    response = run_action(admin_client, "unpublish", [article])
    assert "Moved 1 article(s) back to draft. The medical reviewers were told." in (
        response.content.decode()
    )
    article.refresh_from_db()
    assert article.status == "draft"


def test_mark_reviewed_asks_for_the_change_note_then_sets_dates(admin_client, article):
    response = run_action(admin_client, "mark_reviewed", [article])
    html = response.content.decode()
    assert "What changed at this review" in html and article.title in html
    response = run_action(admin_client, "mark_reviewed", [article], apply="1", review_note="")
    assert "This field is required." in response.content.decode()
    response = run_action(
        admin_client, "mark_reviewed", [article], apply="1", review_note="Checked; no changes."
    )
    assert "Marked 1 article(s) reviewed today." in response.content.decode()
    article.refresh_from_db()
    today = timezone.localdate()
    assert article.last_reviewed == today
    assert article.next_review_due == today + datetime.timedelta(days=365)
    assert article.review_note == "Checked; no changes."


def editor(*codenames: str):
    user = UserFactory()
    base = ["view_article", "change_article", "add_article", "view_topic", "view_contributor"]
    for codename in [*base, *codenames]:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


def test_workflow_actions_and_fields_need_their_permissions(client, article):
    client.force_login(editor())
    url = reverse("admin:education_article_changelist")
    html = client.get(url).content.decode()
    assert 'value="publish"' not in html and 'value="mark_reviewed"' not in html
    run_action(client, "unpublish", [article])
    run_action(client, "mark_reviewed", [article], apply="1", review_note="x")
    article.refresh_from_db()
    assert article.status == "published" and article.review_note != "x"
    draft = ArticleFactory(draft=True)
    change = client.get(reverse("admin:education_article_change", args=[draft.pk]))
    form = change.context["adminform"].form
    for field in ["status", "publish_at", "last_reviewed", "next_review_due", "review_note"]:
        assert field not in form.fields


def test_publish_and_review_permissions_unlock_their_actions(client, article):
    client.force_login(editor("publish_article", "review_article"))
    html = client.get(reverse("admin:education_article_changelist")).content.decode()
    assert 'value="publish"' in html and 'value="unpublish"' in html
    assert 'value="mark_reviewed"' in html
    response = run_action(client, "mark_reviewed", [article], apply="1", review_note="Fine.")
    assert "Marked 1 article(s) reviewed today." in response.content.decode()


def test_history_compare_and_restore(admin_client):
    # Only an unpublished article is restored in place; a live one changes by approval.
    article = ArticleFactory(title="First title", draft=True, review_state="editing")
    with reversion.create_revision():
        article.save()
    with reversion.create_revision():
        article.title = "Second title"
        article.save()
    first, second = Version.objects.get_for_object(article).order_by("pk")
    history = reverse("admin:education_article_history", args=[article.pk])
    assert "Second title" in admin_client.get(history).content.decode()
    compare = reverse("admin:education_article_compare", args=[article.pk])
    html = admin_client.get(compare, {"version_id1": first.pk, "version_id2": second.pk})
    assert html.status_code == 200 and "First title" in html.content.decode()
    revision = reverse("admin:education_article_revision", args=[article.pk, first.pk])
    form = admin_client.get(revision)
    assert form.status_code == 200
    data = {
        key: value
        for key, value in form.context["adminform"].form.initial.items()
        if value is not None and key not in {"related", "publish_at"}
    }
    data |= {"publish_at_0": "", "publish_at_1": ""}
    for formset in form.context["inline_admin_formsets"]:
        management = formset.formset.management_form
        prefix = formset.formset.prefix
        data |= {f"{prefix}-{k}": v for k, v in management.initial.items()}
        for index, inline_form in enumerate(formset.formset.forms):
            values = {**inline_form.initial, "id": inline_form.instance.pk, "article": article.pk}
            data |= {f"{prefix}-{index}-{k}": v for k, v in values.items() if v is not None}
    response = admin_client.post(revision, data)
    assert response.status_code == 302, (
        response.context["adminform"].form.errors,
        [f.formset.errors for f in response.context["inline_admin_formsets"]],
    )
    article.refresh_from_db()
    assert article.title == "First title"


def test_glossary_changes_relink_articles(admin_client):
    article = ArticleFactory(body="Synapses connect cells.")
    data = {"term": "Synapse", "slug": "synapse", "definition": "A gap."}
    assert admin_client.post(reverse("admin:education_glossaryterm_add"), data).status_code == 302
    article.refresh_from_db()
    assert 'href="/glossary/#synapse"' in article.body_html
    term = GlossaryTerm.objects.get()
    delete = reverse("admin:education_glossaryterm_delete", args=[term.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    article.refresh_from_db()
    assert "glossary-link" not in article.body_html
    GlossaryTermFactory(term="Cells", slug="cells")
    data = {"action": "delete_selected", "_selected_action": [GlossaryTerm.objects.get().pk]}
    admin_client.post(reverse("admin:education_glossaryterm_changelist"), data | {"post": "yes"})
    assert not GlossaryTerm.objects.exists()


def test_only_the_history_page_allows_its_one_inline_style(admin_client):
    # reversion-compare hides one radio button with style="visibility:hidden".
    article = ArticleFactory()
    history = admin_client.get(reverse("admin:education_article_history", args=[article.pk]))
    digest = base64.b64encode(hashlib.sha256(b"visibility:hidden").digest()).decode()
    assert f"'unsafe-hashes' 'sha256-{digest}'" in history["Content-Security-Policy"]
    change = admin_client.get(reverse("admin:education_article_change", args=[article.pk]))
    assert "unsafe-hashes" not in change["Content-Security-Policy"]
