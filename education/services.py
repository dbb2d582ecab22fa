"""Writes to education content: rendering derived fields, publishing, reviewing."""

import datetime
import math

import reversion
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from education import rendering
from education.models import Article, GlossaryTerm
from education.search import weighted_vector

WORDS_PER_MINUTE = 200
DERIVED_FIELDS = [
    "body_html",
    "toc",
    "search_text",
    "word_count",
    "reading_time_minutes",
    "reading_grade",
]

MISSING_REVIEWER = "a medical reviewer"
MISSING_LAST_REVIEWED = "a last-reviewed date"
MISSING_REFERENCE = "at least one reference"


def glossary_links() -> list[tuple[str, str]]:
    return [(term.term, term.get_absolute_url()) for term in GlossaryTerm.objects.all()]


def article_render(*, article: Article, glossary: list[tuple[str, str]] | None = None) -> bool:
    """Compute and store the article's derived fields; return whether any changed.

    Called after the article and its FAQs are saved (the search text includes FAQs).
    Pass `glossary` when rendering many articles, to read the glossary once. On
    PostgreSQL it also stores the article's search vector (from the saved title, summary
    and search text), every time, since a title or summary edit changes it too.
    """
    rendered = rendering.render_markdown(article.body)
    body_html = rendering.link_glossary_terms(
        rendered.html, glossary if glossary is not None else glossary_links()
    )
    body_text = rendering.plain_text(rendered.html)
    faqs = article.faqs.all() if article.pk else []
    faq_text = "\n".join(f"{faq.question}\n{faq.answer}" for faq in faqs)
    # Headings and list items end as sentences, for the grade formula and search snippets.
    sentences = rendering.plain_text(rendered.html, sentence_blocks=True)
    word_count = rendering.count_words(body_text)
    grade = rendering.reading_grade(sentences)
    derived = {
        "body_html": body_html,
        "toc": rendered.toc,
        "search_text": f"{sentences}\n{faq_text}".strip(),
        "word_count": word_count,
        "reading_time_minutes": max(1, math.ceil(word_count / WORDS_PER_MINUTE)),
        "reading_grade": round(grade, 1) if body_text else None,
    }
    changed = [name for name, value in derived.items() if _differs(article, name, value)]
    for name in changed:
        setattr(article, name, derived[name])
    if changed and article.pk:
        article.save(update_fields=changed)
    if article.pk and connection.vendor == "postgresql":
        Article.objects.filter(pk=article.pk).update(search_vector=weighted_vector())
        # Keep the instance current, or its next full save() would write the old vector.
        article.refresh_from_db(fields=["search_vector"])
    return bool(changed)


def _differs(article: Article, name: str, value) -> bool:
    current = getattr(article, name)
    if name == "reading_grade" and current is not None and value is not None:
        return float(current) != float(value)
    return current != value


def article_render_all() -> int:
    """Re-render every article (after the glossary changes); return how many changed."""
    glossary = glossary_links()
    articles = Article.objects.prefetch_related("faqs")
    return sum(article_render(article=article, glossary=glossary) for article in articles)


def article_publish_problems(*, article: Article, reference_count: int | None = None) -> list[str]:
    """What the article still needs before it may be published (empty when ready)."""
    if reference_count is None:
        reference_count = article.references.count() if article.pk else 0
    missing = []
    if article.reviewer_id is None:
        missing.append(MISSING_REVIEWER)
    if article.last_reviewed is None:
        missing.append(MISSING_LAST_REVIEWED)
    if reference_count < 1:
        missing.append(MISSING_REFERENCE)
    return missing


def publish_gate_message(missing: list[str]) -> str:
    return "This article cannot be published yet. It needs " + _join(missing) + "."


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def next_review_due_for(*, article: Article, reviewed_on: datetime.date) -> datetime.date:
    return reviewed_on + datetime.timedelta(days=article.topic.review_interval_days)


def article_fill_review_due(*, article: Article) -> None:
    """Default the next review date from the topic's interval when it is left empty."""
    if article.next_review_due is None and article.last_reviewed is not None:
        article.next_review_due = next_review_due_for(
            article=article, reviewed_on=article.last_reviewed
        )


def article_publish(*, article: Article, by, at: datetime.datetime | None = None) -> Article:
    """Publish the article now (or at `at`), if it passes the publishing gate."""
    missing = article_publish_problems(article=article)
    if missing:
        raise ValidationError(publish_gate_message(missing), code="publish_gate")
    now = timezone.now()
    with transaction.atomic(), reversion.create_revision():
        article.status = Article.Status.PUBLISHED
        article.publish_at = at or article.publish_at or now
        if article.first_published_at is None:
            article.first_published_at = article.publish_at
        article_fill_review_due(article=article)
        article.save()
        _record(by, "Published.")
    return article


def article_unpublish(*, article: Article, by) -> Article:
    with transaction.atomic(), reversion.create_revision():
        article.status = Article.Status.DRAFT
        article.save(update_fields=["status", "updated_at"])
        _record(by, "Unpublished (back to draft).")
    return article


def article_mark_reviewed(
    *, article: Article, by, note: str, on: datetime.date | None = None
) -> Article:
    """Record a clinical review: last reviewed today, next review from the topic interval."""
    reviewed_on = on or timezone.localdate()
    with transaction.atomic(), reversion.create_revision():
        article.last_reviewed = reviewed_on
        article.next_review_due = next_review_due_for(article=article, reviewed_on=reviewed_on)
        article.review_note = note
        article.save(
            update_fields=["last_reviewed", "next_review_due", "review_note", "updated_at"]
        )
        _record(by, f"Marked reviewed on {reviewed_on:%Y-%m-%d}: {note}")
    return article


def _record(user, comment: str) -> None:
    if user is not None and user.is_authenticated:
        reversion.set_user(user)
    reversion.set_comment(comment)
