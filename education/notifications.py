"""Emails between content editors and medical reviewers.

No patient data is involved, so the article's title may be in the subject and body.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse

from education.models import Article, ReviewStep

REVIEW_PERMISSION = "education.review_article"
# Where roles are kept (groups and user permissions); axes' backend holds no permissions.
PERMISSION_BACKEND = "django.contrib.auth.backends.ModelBackend"
# Steps the reviewers hear about; the others go to whoever sent the article for review.
TO_REVIEWERS = {ReviewStep.Action.SUBMITTED, ReviewStep.Action.UNPUBLISHED}
TO_EDITORS = {
    ReviewStep.Action.CHANGES_REQUESTED,
    ReviewStep.Action.APPROVED,
    ReviewStep.Action.APPROVED_NO_MEDICAL_CHANGE,
}


def absolute_url(path: str) -> str:
    return settings.CLINIC_SITE_URL.rstrip("/") + path


def reviewer_addresses() -> list[str]:
    users = get_user_model().objects.with_perm(
        REVIEW_PERMISSION, include_superusers=False, backend=PERMISSION_BACKEND
    )
    return sorted({user.email for user in users.filter(is_active=True) if user.email})


def _submitter_addresses(article: Article) -> list[str]:
    steps = article.review_steps.filter(action=ReviewStep.Action.SUBMITTED).select_related("by")
    return sorted({s.by.email for s in steps if s.by is not None and s.by.is_active and s.by.email})


def review_step_message(step: ReviewStep) -> EmailMessage | None:
    """The email for a hand-off step, or None when nobody needs to hear of it."""
    if step.action in TO_REVIEWERS:
        to = reviewer_addresses()
    elif step.action in TO_EDITORS:
        to = _submitter_addresses(step.article)
    else:
        return None
    if step.by is not None and step.by.email:
        to = [address for address in to if address != step.by.email]
    if not to:
        return None
    url = reverse("admin:education_article_workflow", args=[step.article.pk])
    context = {"step": step, "article": step.article, "url": absolute_url(url)}
    return EmailMessage(
        subject=f"{step.get_action_display()}: {step.article.title}",
        body=render_to_string("emails/article_review_step.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=to,
    )
