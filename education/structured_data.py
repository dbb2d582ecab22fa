"""JSON-LD for article pages (schema.org MedicalWebPage, BreadcrumbList, FAQPage).

Dicts are built in Python and serialised with `json.dumps`; `<`, `>` and `&` are escaped
as Unicode escapes, so no text from an article can close the `<script>` element.
"""

import json

from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from education.models import Article

_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


def json_ld(data: dict) -> SafeString:
    text = json.dumps(data, ensure_ascii=False, sort_keys=False).translate(_ESCAPES)
    return mark_safe(text)  # noqa: S308 - the three HTML-significant characters are escaped


def _person(contributor) -> dict:
    return {
        "@type": "Person",
        "name": contributor.name,
        "honorificSuffix": contributor.credentials,
        "jobTitle": contributor.role,
    }


def breadcrumbs(request, trail: list[tuple[str, str]]) -> dict:
    return {
        "@context": "https://schema.org",
        "@type": "BreadcrumbList",
        "itemListElement": [
            {
                "@type": "ListItem",
                "position": position,
                "name": name,
                "item": request.build_absolute_uri(url),
            }
            for position, (name, url) in enumerate(trail, start=1)
        ],
    }


def breadcrumb_trail(*steps: tuple[str, str]) -> list[tuple[str, str]]:
    """(name, URL) from the home page to this page, for includes/breadcrumbs.html."""
    return [("Home", reverse("home")), *steps]


def article_breadcrumb_trail(article: Article) -> list[tuple[str, str]]:
    return breadcrumb_trail(
        ("Articles", reverse("education:article_list")),
        (article.topic.name, article.topic.get_absolute_url()),
        (article.title, article.get_absolute_url()),
    )


def article_documents(request, article: Article, clinic_name: str) -> list[SafeString]:
    """The JSON-LD documents for one article page, ready for `<script>` elements."""
    url = request.build_absolute_uri(article.get_absolute_url())
    page = {
        "@context": "https://schema.org",
        "@type": "MedicalWebPage",
        "@id": url,
        "url": url,
        "name": article.title,
        "headline": article.title,
        "description": article.summary,
        "inLanguage": "en",
        "about": {"@type": "Thing", "name": article.topic.name},
        "medicalAudience": {"@type": "MedicalAudience", "audienceType": "Patient"},
        "author": _person(article.author),
        "publisher": {"@type": "MedicalOrganization", "name": clinic_name},
        "dateModified": article.updated_at.isoformat(),
        "citation": [_citation(reference) for reference in article.references.all()],
    }
    published = article.first_published_at or article.publish_at
    if published is not None:
        page["datePublished"] = published.isoformat()
    # A sample "review" never happened, and a draft's earlier review does not cover its
    # new words: neither is claimed to search engines.
    if article.is_reviewed and not article.is_sample:
        page["reviewedBy"] = _person(article.reviewer)
        page["lastReviewed"] = article.last_reviewed.isoformat()
    documents = [page, breadcrumbs(request, article_breadcrumb_trail(article))]
    faqs = list(article.faqs.all())
    if faqs:
        documents.append(
            {
                "@context": "https://schema.org",
                "@type": "FAQPage",
                "mainEntity": [
                    {
                        "@type": "Question",
                        "name": faq.question,
                        "acceptedAnswer": {"@type": "Answer", "text": faq.answer},
                    }
                    for faq in faqs
                ],
            }
        )
    return [json_ld(document) for document in documents]


def _citation(reference) -> dict:
    citation = {"@type": "ScholarlyArticle", "name": reference.citation}
    if reference.doi:
        citation["sameAs"] = reference.doi_url
        citation["identifier"] = f"doi:{reference.doi}"
    if reference.pubmed_url:
        citation["url"] = reference.pubmed_url
    elif reference.url:
        citation["url"] = reference.url
    return citation
