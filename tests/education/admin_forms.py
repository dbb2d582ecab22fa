"""Building the POST data the article admin's change form sends, for tests."""

from django.urls import reverse
from django.utils import timezone


def inline_data(prefix: str, rows: list[dict], initial: int = 0) -> dict:
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        data |= {f"{prefix}-{index}-{key}": value for key, value in row.items()}
    return data


def article_change_data(client, article, *, delete_reference=False, **overrides) -> dict:
    """What a staff member submits when saving `article` unchanged except `overrides`,
    keeping (or, with `delete_reference`, deleting) its one reference."""
    url = reverse("admin:education_article_change", args=[article.pk])
    form = client.get(url).context["adminform"].form
    reference = article.references.get()
    row = {"id": reference.pk, "article": article.pk, "citation": "x", "order": 0}
    if delete_reference:
        row["DELETE"] = "on"
    publish_at = timezone.localtime(article.publish_at) if article.publish_at else None
    data = {
        **{k: v for k, v in form.initial.items() if v is not None and k != "related"},
        "topic": article.topic.pk,
        "author": article.author.pk,
        "publish_at_0": publish_at.date().isoformat() if publish_at else "",
        "publish_at_1": publish_at.time().isoformat("seconds") if publish_at else "",
        "next_review_due": article.next_review_due.isoformat() if article.next_review_due else "",
        **overrides,
    }
    return data | inline_data("faqs", []) | inline_data("references", [row], initial=1)
