"""Search: PostgreSQL full-text ranking and highlighting; the portable fallback on SQLite."""

import pytest
from django.db import connection

from education.search import article_search
from tests.factories import ArticleFactory, FAQFactory

pytestmark = pytest.mark.django_db

on_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="PostgreSQL full-text search only runs on PostgreSQL (CI runs the suite on both)",
)
on_fallback = pytest.mark.skipif(
    connection.vendor == "postgresql",
    reason="the portable fallback is only used off PostgreSQL (CI runs the suite on both)",
)


@pytest.fixture
def articles():
    body_hit = ArticleFactory(
        title="Integration after a session",
        summary="Ways to use the days after treatment.",
        body="Sleep well. Some people say BDNF is like fertilizer for the brain.",
    )
    title_hit = ArticleFactory(
        title="What BDNF does",
        summary="A protein that helps brain cells grow.",
        body="It supports new links between cells.",
    )
    faq_hit = ArticleFactory(title="Safety", summary="Side effects.", body="Nausea can happen.")
    FAQFactory(article=faq_hit, question="Will I feel dissociation?", answer="Often, briefly.")
    faq_hit.refresh_from_db()
    from education.services import article_render

    article_render(article=faq_hit)
    ArticleFactory(title="Draft about BDNF", draft=True, body="BDNF BDNF BDNF")
    ArticleFactory(title="Unrelated", summary="Nothing here.", body="Walking helps.")
    return body_hit, title_hit, faq_hit


@on_postgres
def test_postgres_ranks_title_over_body_and_highlights(articles):
    body_hit, title_hit, _ = articles
    results = article_search(query="BDNF")
    assert [r.article for r in results] == [title_hit, body_hit]  # drafts never appear
    assert "<mark>BDNF</mark>" in results[1].snippet
    # Stemming: "grows" finds "grow".
    assert title_hit in [r.article for r in article_search(query="grows")]


@on_postgres
def test_postgres_searches_faqs_and_escapes_snippets(articles):
    _, _, faq_hit = articles
    results = article_search(query="dissociation")
    assert [r.article for r in results] == [faq_hit]
    assert "<mark>dissociation</mark>" in results[0].snippet
    ArticleFactory(title="Tag test", body="Ketamine &lt;script&gt;alert(1)&lt;/script&gt; dose")
    ArticleFactory(title="Maths test", body="Ketamine ratio: 5 &lt; 6 &amp; 7 &gt; 3 fentanyl")
    assert "<script>" not in article_search(query="dose")[0].snippet
    snippet = article_search(query="fentanyl")[0].snippet
    assert "5 &lt; 6 &amp; 7 &gt; 3 <mark>fentanyl</mark>" in snippet


@on_fallback
def test_fallback_ranks_title_first_and_highlights(articles):
    body_hit, title_hit, faq_hit = articles
    results = article_search(query="bdnf")
    assert [r.article for r in results] == [title_hit, body_hit]
    assert "<mark>BDNF</mark>" in results[1].snippet
    assert [r.article for r in article_search(query="dissociation")] == [faq_hit]
    # Every word must match somewhere.
    assert [r.article for r in article_search(query="bdnf fertilizer")] == [body_hit]


@on_fallback
def test_fallback_snippet_is_escaped_and_trimmed():
    claim = "A &lt;b&gt;bold&lt;/b&gt; claim about ketamine. "  # text that looks like a tag
    ArticleFactory(title="Long one", body="Filler words go here. " * 30 + claim + "More. " * 60)
    snippet = article_search(query="ketamine")[0].snippet
    assert snippet.startswith("… ") and snippet.endswith(" …")
    assert "<b>" not in snippet and "&lt;b&gt;bold&lt;/b&gt;" in snippet
    assert "<mark>ketamine</mark>" in snippet


def test_blank_query_finds_nothing(articles):
    assert article_search(query="   ") == []


def test_search_page_shows_results(client, articles):
    html = client.get("/search/", {"q": "BDNF"}).content.decode()
    assert "2 articles found." in html and "What BDNF does" in html
    assert "<mark>" in html


def test_empty_search_page_is_helpful(client, articles):
    html = client.get("/search/").content.decode()
    assert "<title>Search – " in html
    assert 'href="/glossary/"' in html and 'href="/book/"' in html
    assert 'href="/topics/' in html


def test_no_results_page_is_helpful_and_escapes_the_query(client, articles):
    html = client.get("/search/", {"q": "<script>zzzz</script>"}).content.decode()
    assert "No articles matched" in html
    assert "<script>zzzz" not in html and "&lt;script&gt;zzzz" in html
    assert 'href="/glossary/"' in html and 'href="/book/"' in html
