"""Services: derived fields, the publishing gate, publishing and reviewing."""

import datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone
from reversion.models import Version

from education import services
from education.models import Article
from tests.factories import (
    ArticleFactory,
    ContributorFactory,
    FAQFactory,
    GlossaryTermFactory,
    ReferenceFactory,
    TopicFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

LONG_BODY = "\n\n".join(
    f"## Part {n}\n\nThe brain can change. New links can grow. " for n in range(1, 6)
)


def test_render_stores_html_toc_reading_time_grade_and_search_text():
    article = ArticleFactory(body=LONG_BODY + "\n\n" + "word " * 450, rendered=False)
    FAQFactory(article=article, question="Does it hurt?", answer="Not usually.")
    article.refresh_from_db()
    assert services.article_render(article=article) is True
    article.refresh_from_db()
    assert '<h2 id="part-1">Part 1</h2>' in article.body_html
    assert [entry["id"] for entry in article.toc] == [f"part-{n}" for n in range(1, 6)]
    assert article.word_count == 5 * 10 + 450
    assert article.reading_time_minutes == 3  # 500 words at 200 a minute, rounded up
    assert article.reading_grade is not None
    assert "Does it hurt?" in article.search_text and "New links can grow." in article.search_text
    assert services.article_render(article=article) is False  # nothing left to change


def test_render_links_glossary_terms_and_glossary_changes_rerender():
    article = ArticleFactory(body="BDNF helps. Then BDNF again.")
    assert "glossary-link" not in article.body_html
    GlossaryTermFactory(term="BDNF", slug="bdnf")
    assert services.article_render_all() == 1
    article.refresh_from_db()
    assert article.body_html.count('href="/glossary/#bdnf"') == 1


def test_unsaved_article_renders_without_faqs():
    article = Article(body="Short text here.")
    services.article_render(article=article)
    assert article.body_html == "<p>Short text here.</p>" and article.reading_time_minutes == 1


def test_publish_gate_says_who_must_act():
    article = ArticleFactory(draft=True, references=0)
    with pytest.raises(ValidationError) as caught:
        services.article_publish(article=article, by=None)
    assert caught.value.messages == [
        "A medical reviewer must approve this article before it can be published."
    ]
    article.refresh_from_db()
    assert article.status == Article.Status.DRAFT


def test_publish_gate_names_only_the_missing_item():
    article = ArticleFactory(draft=True, references=0, review_state="approved")
    article.reviewer = ContributorFactory()
    article.last_reviewed = datetime.date(2026, 1, 5)
    assert services.article_publish_problems(article=article) == ["at least one reference"]
    ReferenceFactory(article=article)
    assert services.article_publish_problems(article=article) == []


def test_publish_gate_refuses_a_body_the_site_would_change():
    # Saved some way other than the admin form (which refuses it), e.g. by the loader.
    article = ArticleFactory(
        draft=True,
        review_state="approved",
        reviewer=ContributorFactory(),
        last_reviewed=datetime.date(2026, 1, 5),
        body="A scan:\n\n![Scan](https://elsewhere.example/scan.png)",
    )
    with pytest.raises(ValidationError) as caught:
        services.article_publish(article=article, by=None)
    assert "without what the site removes" in caught.value.messages[0]


def approved_draft(**fields):
    return ArticleFactory(
        draft=True,
        review_state="approved",
        reviewer=ContributorFactory(),
        last_reviewed=datetime.date(2026, 1, 1),
        **fields,
    )


def test_publish_sets_times_review_due_and_records_history():
    article = approved_draft(topic=TopicFactory(review_interval_days=180))
    user = UserFactory()
    services.article_publish(article=article, by=user)
    article.refresh_from_db()
    assert article.status == Article.Status.PUBLISHED
    assert article.publish_at is not None and article.first_published_at == article.publish_at
    assert article.next_review_due == datetime.date(2026, 6, 30)
    version = Version.objects.get_for_object(article).first()
    assert version.revision.user == user
    assert version.revision.comment == "Published: this is the live version."
    assert Article.objects.published().filter(pk=article.pk).exists()


def test_publish_at_a_future_time_schedules_the_article():
    article = approved_draft()
    when = timezone.now() + datetime.timedelta(days=2)
    services.article_publish(article=article, by=None, at=when)
    assert not Article.objects.published().filter(pk=article.pk).exists()
    with time_machine.travel(when + datetime.timedelta(minutes=1)):
        assert Article.objects.published().filter(pk=article.pk).exists()


def test_unpublish_returns_to_draft_and_needs_a_new_approval():
    article = ArticleFactory()
    services.article_unpublish(article=article, by=UserFactory())
    article.refresh_from_db()
    assert article.status == Article.Status.DRAFT
    assert article.review_state == Article.ReviewState.EDITING
    assert not Article.objects.published().exists()
    with pytest.raises(ValidationError):
        services.article_publish(article=article, by=None)


def test_mark_reviewed_sets_dates_from_topic_interval_and_note():
    article = ArticleFactory(topic=TopicFactory(review_interval_days=365))
    services.article_mark_reviewed(
        article=article, by=UserFactory(), note="No changes needed.", on=datetime.date(2026, 3, 1)
    )
    article.refresh_from_db()
    assert article.last_reviewed == datetime.date(2026, 3, 1)
    assert article.next_review_due == datetime.date(2027, 3, 1)
    assert article.review_note == "No changes needed."
    assert "No changes needed." in Version.objects.get_for_object(article).first().revision.comment


def test_fill_review_due_only_when_empty():
    article = ArticleFactory.build(
        topic=TopicFactory(review_interval_days=10),
        last_reviewed=datetime.date(2026, 1, 1),
        next_review_due=None,
    )
    services.article_fill_review_due(article=article)
    assert article.next_review_due == datetime.date(2026, 1, 11)
    article.next_review_due = datetime.date(2030, 1, 1)
    services.article_fill_review_due(article=article)
    assert article.next_review_due == datetime.date(2030, 1, 1)
