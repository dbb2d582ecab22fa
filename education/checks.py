"""System checks for the education app (run by `manage.py check`)."""

from django.core.checks import Warning, register
from django.db import DatabaseError
from django.db.models import Q

from education.models import Article


@register(deploy=True)
def sample_contributors_on_published_articles(app_configs, **kwargs):
    """Going live with the sample articles must be a deliberate choice: their "reviews"
    never happened. DJANGO_SILENCED_SYSTEM_CHECKS=education.W001 publishes them anyway."""
    try:
        count = (
            Article.objects.published()
            .filter(Q(author__is_sample=True) | Q(reviewer__is_sample=True))
            .count()
        )
    except DatabaseError:  # no tables yet (a fresh database before migrate)
        return []
    if not count:
        return []
    return [
        Warning(
            f"{count} published article(s) name a sample author or reviewer. No clinician "
            "has reviewed them, and each page says so.",
            hint="Replace the sample contributors with your own staff and have a clinician "
            "review each article, or unpublish the samples. To go live with them anyway, set "
            "DJANGO_SILENCED_SYSTEM_CHECKS=education.W001.",
            id="education.W001",
        )
    ]
