"""Models: what counts as published, review dates, and the database's own rules."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from education.models import Article, no_control_characters
from tests.factories import (
    ArticleFactory,
    ContributorFactory,
    GlossaryTermFactory,
    ReferenceFactory,
    TopicFactory,
)

pytestmark = pytest.mark.django_db


def test_published_means_published_status_and_publish_time_passed():
    live = ArticleFactory()
    ArticleFactory(draft=True)
    ArticleFactory(publish_at=timezone.now() + datetime.timedelta(hours=1))  # scheduled
    assert list(Article.objects.published()) == [live]
    assert live.is_live


def test_overdue_and_current_split_on_next_review_due():
    today = timezone.localdate()
    overdue = ArticleFactory(next_review_due=today - datetime.timedelta(days=1))
    due_today = ArticleFactory(next_review_due=today)
    unset = ArticleFactory(next_review_due=None)
    assert list(Article.objects.overdue_for_review()) == [overdue]
    assert set(Article.objects.current()) == {due_today, unset}
    assert overdue.is_overdue_for_review and not due_today.is_overdue_for_review


def test_database_refuses_published_article_without_reviewer_or_review_date():
    article = ArticleFactory(draft=True)
    article.status = Article.Status.PUBLISHED
    article.publish_at = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        article.save()


def test_slugs_are_unique():
    ArticleFactory(slug="same")
    with pytest.raises(IntegrityError), transaction.atomic():
        ArticleFactory(slug="same")


def test_string_forms_links_and_helpers():
    topic = TopicFactory(name="Safety", slug="safety")
    person = ContributorFactory(name="Sample reviewer", credentials="MD")
    term = GlossaryTermFactory(term="BDNF", slug="bdnf")
    article = ArticleFactory(topic=topic, slug="a-b", key_takeaways="One.\n\n  Two.  \n")
    reference = ReferenceFactory(article=article, doi="10.1/x", pmid="123", citation="Cite.")
    assert str(topic) == "Safety" and topic.get_absolute_url() == "/topics/safety/"
    assert str(person) == "Sample reviewer, MD"
    assert str(ContributorFactory(name="No letters", credentials="")) == "No letters"
    assert str(term) == "BDNF" and term.get_absolute_url() == "/glossary/#bdnf"
    assert str(article) == article.title and article.get_absolute_url() == "/articles/a-b/"
    assert article.takeaway_list == ["One.", "Two."]
    assert str(reference) == "Cite."
    assert reference.doi_url == "https://doi.org/10.1/x"
    assert reference.pubmed_url == "https://pubmed.ncbi.nlm.nih.gov/123/"
    empty = ReferenceFactory(article=article, doi="", pmid="")
    assert empty.doi_url == "" and empty.pubmed_url == ""
    assert str(article.faqs.model(question="Why?")) == "Why?"


def test_database_refuses_a_published_article_nobody_approved():
    article = ArticleFactory(draft=True, reviewer=ContributorFactory())
    article.last_reviewed = timezone.localdate()
    article.status = Article.Status.PUBLISHED
    article.publish_at = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        article.save()  # reviewer and date are there, but review_state is "editing"


def test_a_draft_of_changes_shares_its_articles_slug_and_is_never_published():
    live = ArticleFactory(slug="same")
    draft = ArticleFactory(slug="same", draft=True, draft_of=live)
    assert list(Article.objects.without_change_drafts().filter(slug="same")) == [live]
    draft.status, draft.review_state = Article.Status.PUBLISHED, Article.ReviewState.APPROVED
    draft.reviewer, draft.last_reviewed = live.reviewer, live.last_reviewed
    draft.publish_at = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        draft.save()


def test_line_breaks_as_browsers_send_them_are_not_control_characters():
    # A textarea posts its line breaks as CRLF; refusing \r refused every multi-line edit.
    no_control_characters("## Heading\r\n\r\nA paragraph.\r\nAnother line.\tTabbed.")
    with pytest.raises(ValidationError):
        no_control_characters("A pasted \x0c form feed.")
