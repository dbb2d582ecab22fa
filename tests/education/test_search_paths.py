"""Search's edges: the fallback's word forms and snippets, and what a page with no results
offers (each starting article once; no glossary entry for a two-letter word)."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from clinic import page_cache
from clinic.models import ClinicDetails
from education.models import ReadingPath, ReadingPathStep
from education.search import SNIPPET_CHARS, article_search
from tests.factories import ArticleFactory, GlossaryTermFactory

pytestmark = pytest.mark.django_db

on_fallback = pytest.mark.skipif(
    connection.vendor == "postgresql",
    reason="the portable fallback is only used off PostgreSQL (CI runs the suite on both)",
)


@on_fallback
@pytest.mark.parametrize(("query", "written"), [("planned", "plan"), ("notes", "note")])
def test_the_fallback_finds_a_word_written_in_another_form(query, written):
    found = ArticleFactory(title="Before your visit", body=f"We {written} it with you.")
    ArticleFactory(title="Unrelated", body="Nothing about that here.")
    (result,) = article_search(query=query)
    assert result.url == found.get_absolute_url()
    assert f"<mark>{written}</mark>" in result.snippet


@on_fallback
def test_a_snippet_inside_one_long_unbroken_word_is_cut_at_its_length():
    address = "https://example.org/" + "a" * 400
    ArticleFactory(title="Links", summary="Further", body=address)
    (result,) = article_search(query="further")
    assert result.snippet == (
        f"<mark>Further</mark> {address[: SNIPPET_CHARS - len('Further ')]} …"
    )


def test_no_results_offer_each_starting_article_once(client):
    start = ArticleFactory(title="Is ketamine treatment right for me?")
    for slug in ["thinking", "deciding"]:
        path = ReadingPath.objects.create(slug=slug, title=slug.title())
        ReadingPathStep.objects.create(path=path, article=start, order=1)
    unpublished = ArticleFactory(draft=True, title="Not yet written")
    empty = ReadingPath.objects.create(slug="later", title="Later")
    ReadingPathStep.objects.create(path=empty, article=unpublished, order=1)
    html = client.get("/search/", {"q": "zzzqqq"}).content.decode()
    assert "No articles matched" in html
    assert html.count(f'href="{start.get_absolute_url()}"') == 1
    assert "Not yet written" not in html


def test_no_results_offer_no_glossary_entry_for_a_two_letter_word(client):
    GlossaryTermFactory(term="Dissociation", slug="dissociation")
    html = client.get("/search/", {"q": "is zzzqqq"}).content.decode()
    assert "No articles matched" in html
    assert 'href="/glossary/#dissociation"' not in html
    html = client.get("/search/", {"q": "dissociations zzzqqq"}).content.decode()
    assert 'href="/glossary/#dissociation"' in html


def test_punctuation_alone_finds_nothing(client):
    ArticleFactory(title="Questions?", body="Ask us anything?! We answer every question.")
    assert article_search(query="?! …") == []
    assert "No articles matched" in client.get("/search/", {"q": "?!"}).content.decode()


def test_a_page_with_no_results_asks_the_database_once_a_minute(client, django_assert_num_queries):
    start = ArticleFactory(title="Is ketamine treatment right for me?")
    path = ReadingPath.objects.create(slug="thinking", title="Thinking")
    ReadingPathStep.objects.create(path=path, article=start, order=1)
    GlossaryTermFactory(term="Dissociation", slug="dissociation")
    ClinicDetails.objects.cached()  # created on first use, which changes the content version
    client.get("/search/", {"q": "zzzqqq"})  # the content version is read once a second
    with django_assert_num_queries(1):
        html = client.get("/search/", {"q": "dissociations"}).content.decode()
    assert "No articles matched" in html
    assert 'href="/glossary/#dissociation"' in html
    assert f'href="{start.get_absolute_url()}"' in html


def test_a_scheduled_article_starts_its_path_on_pages_with_no_results_within_a_minute(client):
    when = timezone.now() + datetime.timedelta(seconds=30)
    later = ArticleFactory(title="Coming later", publish_at=when)
    path = ReadingPath.objects.create(slug="thinking", title="Thinking")
    ReadingPathStep.objects.create(path=path, article=later, order=1)
    ClinicDetails.objects.cached()  # created on first use, which changes the content version
    assert "Coming later" not in client.get("/search/", {"q": "zzzqqq"}).content.decode()
    with time_machine.travel(when + datetime.timedelta(seconds=page_cache.COPY_SECONDS)):
        assert "Coming later" in client.get("/search/", {"q": "qqqzzz"}).content.decode()
