"""The questions patients ask first, linked from the home and booking pages.

One list, here: each entry links to its article only while that article is published,
so a clinic that removes or renames a sample article gets no broken link.
"""

from django import template

from education.models import Article

register = template.Library()

FIRST_QUESTIONS = [
    ("is-ketamine-treatment-right-for-me", "Before you book: is ketamine right for me?"),
    ("costs-insurance-and-good-faith-estimate", "What it costs"),
    ("will-it-work-what-the-research-shows", "Will it work?"),
    ("misuse-dependence-and-bladder-problems", "The risks, and how we guard against them"),
    ("your-consultation-and-first-treatment-day", "What happens at your first visit"),
]


@register.inclusion_tag("education/includes/first_questions.html")
def first_questions(heading_id: str, heading: str = "Questions to ask first"):
    slugs = [slug for slug, _ in FIRST_QUESTIONS]
    live = {a.slug: a for a in Article.objects.published().filter(slug__in=slugs)}
    links = [(live[slug], label) for slug, label in FIRST_QUESTIONS if slug in live]
    return {"links": links, "heading_id": heading_id, "heading": heading}
