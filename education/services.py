"""Writes to education content: rendering derived fields, publishing, reviewing.

The review workflow: a published article is never edited in place. Editors change its
draft of changes (`article_draft_open`), send it for review, and a medical reviewer
approves it (`article_approve`), which makes the draft the live version in one
transaction. Unpublished articles go through the same hand-off on their own row. Every
step is a `ReviewStep`, and each one emails the other role.
"""

import datetime
import math

import reversion
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone
from reversion.models import Version

from education import images, rendering
from education.models import (
    FAQ,
    Article,
    ArticleImage,
    ArticleRedirect,
    Contributor,
    GlossaryTerm,
    Reference,
    ReviewStep,
)
from education.search import weighted_vector
from education.tasks import send_review_step_email

WORDS_PER_MINUTE = 200
DERIVED_FIELDS = [
    "body_html",
    "toc",
    "search_text",
    "word_count",
    "reading_time_minutes",
    "reading_grade",
]

MISSING_APPROVAL = "a medical reviewer's approval"
MISSING_REFERENCE = "at least one reference"
MISSING_CLEAN_BODY = "a body without what the site removes (save it to see what)"
APPROVAL_NEEDED = "A medical reviewer must approve this article before it can be published."
# What a draft of changes carries over from the live version, and back once approved.
CONTENT_FIELDS = [
    "title", "slug", "summary", "body", "topic", "author", "key_takeaways", "regulatory_note",
]  # fmt: skip


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


def article_publish_problems(*, article: Article) -> list[str]:
    """What the article still needs before it may be published (empty when ready)."""
    missing = []
    if not article.is_reviewed:
        missing.append(MISSING_APPROVAL)
    if not article.pk or not article.references.exists():
        missing.append(MISSING_REFERENCE)
    if rendering.render_markdown(article.body).removed:
        missing.append(MISSING_CLEAN_BODY)
    return missing


def publish_gate_message(missing: list[str]) -> str:
    # Approval comes first: the reviewer checks the references too.
    if MISSING_APPROVAL in missing:
        return APPROVAL_NEEDED
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


def article_publish(
    *, article: Article, by, at: datetime.datetime | None = None, source: str = ""
) -> Article:
    """Publish the article now (or at `at`), if it passes the publishing gate.

    The one place that sets `publish_at` and `first_published_at`, fills in the next
    review date and writes the live version's history comment: the admin's action and
    its Review and publishing page, approving with "publish", and the loader all come
    here. `source` names what published it when no person did (the loader): it opens the
    history comment, and since that is no hand-off, no step is recorded or emailed.
    """
    if article.is_change_draft:
        raise ValidationError(
            "A draft of changes goes live when a medical reviewer approves it.", code="draft"
        )
    missing = article_publish_problems(article=article)
    if missing:
        raise ValidationError(publish_gate_message(missing), code="publish_gate")
    now = timezone.now()
    with transaction.atomic():
        with reversion.create_revision():
            article.status = Article.Status.PUBLISHED
            article.publish_at = at or article.publish_at or now
            if article.first_published_at is None:
                article.first_published_at = article.publish_at
            article_fill_review_due(article=article)
            article.save()
            _record(by, f"{source} Published: this is the live version.".lstrip())
        if not source:
            _step(article=article, action=ReviewStep.Action.PUBLISHED, by=by, live=True)
    return article


def article_unpublish(*, article: Article, by, note: str = "") -> Article:
    """Take the article off the site at once; publishing it again needs a new approval."""
    with transaction.atomic():
        with reversion.create_revision():
            article.status = Article.Status.DRAFT
            article.review_state = Article.ReviewState.EDITING
            article.save(update_fields=["status", "review_state", "updated_at"])
            _record(by, "Unpublished (back to draft)." + (f" {note}" if note else ""))
        _step(article=article, action=ReviewStep.Action.UNPUBLISHED, by=by, note=note, live=True)
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


# -- the review hand-off ----------------------------------------------------------------

NO_CONTRIBUTOR = (
    "Your staff account is not linked to a contributor profile, so the page could not "
    "name you as its medical reviewer. Ask an administrator to set Contributors → you → "
    "Staff account."
)
CHANGED_SINCE_OPENED = (
    "The article was edited after you opened it. Look at the latest version, then decide."
)


def article_draft_open(*, article: Article, by) -> Article:
    """The draft of changes to a published article, made from the live version on first
    use. An unpublished article is its own draft."""
    if article.status != Article.Status.PUBLISHED or article.is_change_draft:
        return article
    with transaction.atomic():
        existing = Article.objects.filter(draft_of=article).first()
        if existing is not None:
            return existing
        with reversion.create_revision():
            draft = Article.objects.create(
                draft_of=article, **{name: getattr(article, name) for name in CONTENT_FIELDS}
            )
            draft.related.set(article.related.all())
            _copy_parts(source=article, target=draft)
            article_render(article=draft)
            _record(by, "Draft of changes made from the live version.")
    return draft


def _copy_parts(*, source: Article, target: Article) -> None:
    FAQ.objects.bulk_create(
        FAQ(article=target, question=faq.question, answer=faq.answer, order=faq.order)
        for faq in source.faqs.all()
    )
    Reference.objects.bulk_create(
        Reference(
            article=target,
            citation=ref.citation,
            doi=ref.doi,
            pmid=ref.pmid,
            url=ref.url,
            order=ref.order,
        )
        for ref in source.references.all()
    )


def article_submit_for_review(*, article: Article, by, note: str = "") -> ReviewStep:
    if article.status == Article.Status.PUBLISHED:
        raise ValidationError("The live version is already approved. Edit a draft of changes.")
    if article.review_state == Article.ReviewState.IN_REVIEW:
        raise ValidationError("This article is already waiting for review.")
    if article.review_state == Article.ReviewState.APPROVED:
        raise ValidationError("This article is already approved.")
    with transaction.atomic():
        _set_review_state(article, Article.ReviewState.IN_REVIEW)
        return _step(article=article, action=ReviewStep.Action.SUBMITTED, by=by, note=note)


def article_request_changes(*, article: Article, by, note: str) -> ReviewStep:
    if not note.strip():
        raise ValidationError("Say what needs to change, so the editor knows what to fix.")
    if article.review_state not in {Article.ReviewState.IN_REVIEW, Article.ReviewState.EDITING}:
        raise ValidationError("Only an article waiting for review can be sent back.")
    with transaction.atomic():
        _set_review_state(article, Article.ReviewState.CHANGES_REQUESTED)
        return _step(article=article, action=ReviewStep.Action.CHANGES_REQUESTED, by=by, note=note)


def article_approve(
    *,
    article: Article,
    by,
    note: str = "",
    medical_change: bool = True,
    publish: bool = False,
    seen_updated_at: datetime.datetime | None = None,
) -> Article:
    """A medical reviewer approves the article as it stands; return the approved article.

    A draft of changes becomes the live version at once: its content replaces the live
    content, and the draft is gone. With `medical_change` (the usual case) the reviewer
    becomes the article's named reviewer, the review date is today and `note` is what
    changed at this review. Without it ("no medical change": a typo, a topic, a related
    article) the medical content patients read is unchanged, so the earlier review,
    its date and reviewer stand; the approval is still recorded with its reviewer.
    `seen_updated_at` is the draft's last-edit time as the reviewer saw it: a later edit
    refuses the approval, so nobody approves words they have not read.
    """
    if article.review_state == Article.ReviewState.APPROVED:
        raise ValidationError("This article is already approved.")
    if seen_updated_at is not None and seen_updated_at != article.updated_at:
        raise ValidationError(CHANGED_SINCE_OPENED, code="changed")
    if article.references.count() < 1:
        raise ValidationError("Add at least one reference before approving.")
    target = article.draft_of if article.is_change_draft else article
    reviewer = Contributor.objects.filter(user=by).first() if by is not None else None
    if medical_change:
        if reviewer is None:
            raise ValidationError(NO_CONTRIBUTOR, code="no_contributor")
        if not note.strip():
            raise ValidationError(
                "Say what changed at this review: it is shown at the foot of the page."
            )
    elif target.reviewer_id is None or target.last_reviewed is None:
        raise ValidationError(
            "“No medical change” keeps an earlier review, and this article has none. "
            "Approve it with a note instead."
        )
    today = timezone.localdate()
    action = (
        ReviewStep.Action.APPROVED
        if medical_change
        else ReviewStep.Action.APPROVED_NO_MEDICAL_CHANGE
    )
    goes_live = target.status == Article.Status.PUBLISHED
    with transaction.atomic():
        with reversion.create_revision():
            if article.is_change_draft:
                _apply_draft(draft=article, live=target)
            if medical_change:
                target.reviewer = reviewer
                target.last_reviewed = today
                target.next_review_due = next_review_due_for(article=target, reviewed_on=today)
                target.review_note = note.strip()
            target.review_state = Article.ReviewState.APPROVED
            target.save()
            article_render(article=target)
            who = reviewer.name if reviewer else by.get_username()
            comment = (
                f"Approved by {who} on {today:%Y-%m-%d}: {note.strip()}"
                if medical_change
                else f"Approved by {who}: no medical change." + (f" {note}" if note else "")
            )
            if goes_live:
                comment = "Live version. " + comment
            _record(by, comment)
        _step(article=target, action=action, by=by, note=note.strip(), live=goes_live)
        if publish and not goes_live:
            article_publish(article=target, by=by)
    return target


def _apply_draft(*, draft: Article, live: Article) -> None:
    """Move the draft's content onto the live row (same id, same URL history), then drop
    the draft. Runs inside the approval's transaction and revision."""
    if draft.slug != live.slug:
        _keep_old_address(article=live, new_slug=draft.slug)
    for name in CONTENT_FIELDS:
        setattr(live, name, getattr(draft, name))
    live.faqs.all().delete()
    live.references.all().delete()
    draft.faqs.update(article=live)
    draft.references.update(article=live)
    draft.review_steps.update(article=live)
    live.related.set(draft.related.all())
    draft.delete()
    live.draft_of = None


def article_image_save(*, image: ArticleImage, renditions: images.Renditions, by) -> ArticleImage:
    """Store a new upload's renditions (never the uploaded file) and its row."""
    image.digest = renditions.digest
    image.width, image.height = renditions.width, renditions.height
    image.widths = renditions.widths
    image.uploaded_by = by
    for (width, extension), content in renditions.files.items():
        name = image.rendition_name(width, extension)
        if not default_storage.exists(name):  # the name holds the content's digest
            default_storage.save(name, ContentFile(content))
    image.save()
    return image


def article_image_delete(*, image: ArticleImage) -> None:
    names = image.rendition_names()
    image.delete()
    for name in names:
        default_storage.delete(name)


def _keep_old_address(*, article: Article, new_slug: str) -> None:
    """The live article is renamed: its address now (and every earlier one) leads to the
    new address; an earlier address it takes back is the article again, not a redirect."""
    ArticleRedirect.objects.filter(old_slug=new_slug).delete()
    ArticleRedirect.objects.update_or_create(
        old_slug=article.slug, defaults={"article": article, "created_at": timezone.now()}
    )


def article_withdraw_approval(*, article: Article) -> bool:
    """An approved article that is not yet live was edited: it needs a new review."""
    if article.review_state != Article.ReviewState.APPROVED or article.status == "published":
        return False
    _set_review_state(article, Article.ReviewState.EDITING)
    return True


def _set_review_state(article: Article, state: str) -> None:
    article.review_state = state
    # Not updated_at: that marks content edits, which an approval must not have missed.
    Article.objects.filter(pk=article.pk).update(review_state=state)


def _step(*, article: Article, action: str, by, note: str = "", live: bool = False) -> ReviewStep:
    """Record a hand-off step and email the other role about it once the step commits."""
    version = Version.objects.get_for_object(article).first() if live else None
    step = ReviewStep.objects.create(
        article=article,
        action=action,
        note=note,
        by=by if by is not None and by.is_authenticated else None,
        version=version,
    )
    transaction.on_commit(lambda: send_review_step_email.enqueue(step.pk), robust=True)
    return step
