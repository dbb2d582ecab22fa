"""Search: PostgreSQL full-text ranking and highlighting; the portable fallback on SQLite."""

import datetime
import importlib
import io
import re

import psycopg
import pytest
import time_machine
from django.apps import apps
from django.contrib.postgres.search import SearchQuery
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from education.models import Article, ReadingPath, ReadingPathStep
from education.search import SNIPPET_CHARS, article_search
from education.services import article_publish, article_render
from tests.education.admin_forms import article_change_data
from tests.factories import ArticleFactory, ContributorFactory, FAQFactory, GlossaryTermFactory

pytestmark = pytest.mark.django_db

on_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="PostgreSQL full-text search only runs on PostgreSQL (CI runs the suite on both)",
)
on_fallback = pytest.mark.skipif(
    connection.vendor == "postgresql",
    reason="the portable fallback is only used off PostgreSQL (CI runs the suite on both)",
)


def urls(*articles):
    return [article.get_absolute_url() for article in articles]


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

    article_render(article=faq_hit)
    ArticleFactory(title="Draft about BDNF", draft=True, body="BDNF BDNF BDNF")
    ArticleFactory(title="Unrelated", summary="Nothing here.", body="Walking helps.")
    return body_hit, title_hit, faq_hit


@on_postgres
def test_postgres_ranks_title_over_body_and_highlights(articles):
    body_hit, title_hit, _ = articles
    results = article_search(query="BDNF")
    assert [r.url for r in results] == urls(title_hit, body_hit)  # drafts never appear
    assert "<mark>BDNF</mark>" in results[1].snippet
    # Stemming: "grows" finds "grow".
    assert title_hit.get_absolute_url() in [r.url for r in article_search(query="grows")]


@on_postgres
def test_postgres_searches_faqs_and_escapes_snippets(articles):
    _, _, faq_hit = articles
    results = article_search(query="dissociation")
    assert [r.url for r in results] == urls(faq_hit)
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
    assert [r.url for r in results] == urls(title_hit, body_hit)
    assert "<mark>BDNF</mark>" in results[1].snippet
    assert [r.url for r in article_search(query="dissociation")] == urls(faq_hit)
    # Every word must match somewhere.
    assert [r.url for r in article_search(query="bdnf fertilizer")] == urls(body_hit)


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


def stored_matches(query: str) -> list[Article]:
    return list(Article.objects.filter(search_vector=SearchQuery(query, config="english")))


@on_postgres
def test_render_stores_the_weighted_vector_and_keeps_it(articles):
    body_hit, title_hit, faq_hit = articles
    title_hit.refresh_from_db()
    assert "'bdnf':2A" in title_hit.search_vector  # title words weigh A
    assert "'grow':9B" in title_hit.search_vector  # summary words weigh B
    assert "'bdnf':17C" in body_hit.search_vector  # body words weigh C
    assert stored_matches("dissociation") == [faq_hit]  # FAQs are searched too
    # A later full save of the rendered instance must not write back an old vector.
    article_publish(article=title_hit, by=None)
    title_hit.refresh_from_db()
    assert "'bdnf':2A" in title_hit.search_vector


@on_fallback
def test_other_databases_leave_the_vector_empty(articles):
    assert not Article.objects.filter(search_vector__isnull=False).exists()


@on_postgres
def test_sample_content_is_searchable_from_the_stored_vector():
    call_command("load_sample_content", stdout=io.StringIO())
    assert not Article.objects.filter(search_vector__isnull=True).exists()
    results = article_search(query="BDNF")
    assert results and all("<mark>BDNF</mark>" in r.snippet for r in results)
    # Loading again when nothing changed keeps every vector.
    call_command("load_sample_content", stdout=io.StringIO())
    assert not Article.objects.filter(search_vector__isnull=True).exists()


@on_postgres
def test_migration_fills_vectors_of_existing_articles(articles):
    Article.objects.update(search_vector=None)
    migration = importlib.import_module("education.migrations.0002_article_search_vector")
    migration.fill_search_vectors(apps, connection.schema_editor())
    assert [r.url for r in article_search(query="BDNF")] == urls(articles[1], articles[0])


@on_postgres
def test_snippet_marks_a_match_deep_in_a_long_article():
    filler = "Filler words go here. " * 300
    ArticleFactory(title="Long one", body=f"{filler}Plants grow in the sun. {filler}")
    snippet = article_search(query="growing")[0].snippet
    assert "<mark>grow</mark>" in snippet
    assert snippet.startswith("… ") and snippet.endswith(" …")
    assert len(snippet) < SNIPPET_CHARS + 40
    # A query made only of stop words or symbols finds nothing, without an error.
    assert article_search(query="the") == [] and article_search(query="<>") == []


@on_postgres
def test_postgres_snippet_marks_every_form_of_the_words_and_only_those():
    ArticleFactory(
        title="Dosing",
        summary="How we set doses.",
        body="A dosage chart. The dose is set for you; dosing changes with weight. "
        "A dossier is kept. Therapy and therapies.",
    )
    (result,) = article_search(query="dose therapy")
    assert result.snippet == (
        "How we set <mark>doses</mark>. A dosage chart. The <mark>dose</mark> is set for you; "
        "<mark>dosing</mark> changes with weight. A dossier is kept. <mark>Therapy</mark> "
        "and <mark>therapies</mark>."
    )


@on_postgres
def test_postgres_snippet_starts_at_the_first_real_match():
    # Words that only begin like the query's ("grown" is not "grow" to the stemmer, which
    # keeps it) do not move the snippet; a title-only match shows the summary's start.
    filler = "Filler words go here. " * 30
    ArticleFactory(title="Growth", summary="Grown-ups.", body=f"{filler}Cells grow. {filler}")
    (result,) = article_search(query="grows")
    assert result.snippet.startswith("… ") and "Cells <mark>grow</mark>." in result.snippet
    assert "Grown" not in result.snippet
    ArticleFactory(title="Ketamine and growth", summary="A short summary.", body="Plain text.")
    (result,) = article_search(query="ketamine")
    assert result.snippet == "A short summary. Plain text."


def test_an_approved_edit_changes_what_search_finds(admin_client, admin_user, client):
    article = ArticleFactory(title="Sleep after treatment", body="Rest well.")
    ContributorFactory(user=admin_user)

    def found(word):
        # What a visitor sees: results pages are kept per worker until content changes.
        response = client.get(reverse("education:search"), {"q": word})
        assert response["Cache-Control"] == "public, max-age=60"
        return f'href="{article.get_absolute_url()}"' in response.content.decode()

    assert found("sleep") and not found("vivid")
    assert [r.url for r in article_search(query="sleep")] == urls(article)
    workflow = reverse("admin:education_article_workflow", args=[article.pk])
    admin_client.post(workflow, {"action": "open_draft"})
    draft = Article.objects.get(draft_of=article)
    url = reverse("admin:education_article_change", args=[draft.pk])
    data = article_change_data(
        admin_client,
        draft,
        title="Dreams after treatment",
        body="Rest well. Vivid dreams can happen.",
    )
    assert admin_client.post(url, data).status_code == 302
    # The draft is not what patients read, so search still finds the live words only.
    assert found("sleep") and not found("vivid")
    assert [r.url for r in article_search(query="vivid")] == urls()
    approve = reverse("admin:education_article_workflow", args=[draft.pk])
    admin_client.post(approve, {"action": "approve", "note": "Dreams added."})
    assert not found("sleep") and found("vivid") and found("dreams")
    assert article_search(query="sleep") == []
    assert [r.url for r in article_search(query="vivid")] == urls(article)


def test_a_scheduled_article_is_found_only_from_its_publish_time():
    when = timezone.now() + datetime.timedelta(hours=2)
    article = ArticleFactory(title="Coming soon: sleep and recovery", publish_at=when)
    assert article_search(query="recovery") == []
    with time_machine.travel(when + datetime.timedelta(seconds=1)):
        assert [r.url for r in article_search(query="recovery")] == urls(article)


# --- Plain words: hyphens and simple word forms, on both databases (issue 21, item 10)


@pytest.fixture
def side_effects():
    return ArticleFactory(
        title="Side effects and how we manage them",
        summary="Most side effects pass within an hour.",
        body="Feeling sleepy after a session is common. Some people needed a lift home. "
        "We plan a follow-up call. Doses are set for you.",
    )


@pytest.mark.parametrize(
    "query", ["side effect", "side-effect", "side-effects", "Side Effects", "side–effect"]
)
def test_a_hyphen_joins_words_as_a_space_does(side_effects, query):
    assert [r.url for r in article_search(query=query)] == urls(side_effects)


def test_a_hyphenated_word_in_the_text_is_found_by_its_parts(side_effects):
    assert [r.url for r in article_search(query="follow up")] == urls(side_effects)
    assert [r.url for r in article_search(query="follow-up call")] == urls(side_effects)


@pytest.mark.parametrize("query", ["sessions", "feel", "feels", "need", "dose", "dosing", "effect"])
def test_simple_word_forms_find_each_other(side_effects, query):
    assert [r.url for r in article_search(query=query)] == urls(side_effects)


def test_the_snippet_marks_whole_words_for_a_hyphenated_query(side_effects):
    (result,) = article_search(query="side-effect")
    assert "<mark>effects</mark>" in result.snippet


def test_word_forms_do_not_match_everything(side_effects):
    assert article_search(query="zzzqqq") == []
    assert article_search(query="sideways") == []
    assert article_search(query="sleepless") == []


def test_no_results_suggest_starting_articles_the_glossary_and_booking(client):
    start = ArticleFactory(title="Is ketamine treatment right for me?")
    path = ReadingPath.objects.create(slug="thinking", title="Thinking about ketamine")
    ReadingPathStep.objects.create(path=path, article=start, order=1)
    ReadingPathStep.objects.create(path=path, article=ArticleFactory(title="Later"), order=2)
    GlossaryTermFactory(term="Dissociation", slug="dissociation")
    html = client.get("/search/", {"q": "dissociation zzzqqq"}).content.decode()
    assert "No articles matched" in html
    assert "shorter" not in html
    assert f'href="{start.get_absolute_url()}"' in html  # the first step of each path
    assert 'href="/articles/later/' not in html
    assert 'href="/glossary/#dissociation"' in html  # a glossary word it names
    assert 'href="/glossary/"' in html and 'href="/book/"' in html


HEADER = re.compile(r'<header class="site-header">.*?</header>', re.S)


@pytest.mark.parametrize(
    "url", ["/", "/articles/", "/glossary/", "/search/?q=bdnf", "/book/", "/planner/", "/nope/"]
)
def test_every_page_has_a_search_box_in_its_header(client, url, articles):
    (header,) = HEADER.findall(client.get(url).content.decode())
    assert re.search(r'<form class="site-search" role="search"[^>]* action="/search/"', header)
    assert 'method="get"' in header
    assert re.search(r'<label[^>]* for="site-search-q"[^>]*>Search the articles</label>', header)
    assert re.search(r'<input[^>]* type="search" id="site-search-q" name="q"', header)
    assert '<button class="btn' in header and ">Search</button>" in header


def test_each_result_carries_what_the_results_page_shows(articles):
    _, title_hit, _ = articles
    first = article_search(query="BDNF")[0]
    assert (first.title, first.url, first.reading_time_minutes, first.topic_name) == (
        title_hit.title,
        title_hit.get_absolute_url(),
        title_hit.reading_time_minutes,
        title_hit.topic.name,
    )


@on_postgres
def test_postgres_plans_the_search_once_per_connection(articles, django_assert_num_queries):
    article_search(query="BDNF")  # and, once per process, which words stem to what
    with django_assert_num_queries(1):  # still counted (and logged) as Django's queries are
        assert len(article_search(query="BDNF")) == 2
    assert [result.title for result in article_search(query="fertilizer")] == [
        "Integration after a session"
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%websearch_to_tsquery%"],
        )
        assert cursor.fetchone() == (1,)


def test_results_name_their_topic_on_both_databases(articles):
    _, title_hit, _ = articles
    assert article_search(query="BDNF")[0].topic_name == title_hit.topic.name


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_postgres_search_outlives_a_migration_run_by_another_process(articles):
    """The search statement is prepared once per connection; a deploy's migration that
    changes a column it returns makes PostgreSQL refuse the prepared plan ("cached plan
    must not change result type"). The search drops its plans and asks again."""
    assert len(article_search(query="BDNF")) == 2  # prepared on this connection
    length = Article._meta.get_field("title").max_length
    params = connection.get_connection_params()
    with psycopg.connect(**params, autocommit=True) as deploy:
        deploy.execute(
            f"ALTER TABLE education_article ALTER COLUMN title TYPE varchar({length + 1})"
        )
        try:
            assert len(article_search(query="BDNF")) == 2
        finally:
            deploy.execute(
                f"ALTER TABLE education_article ALTER COLUMN title TYPE varchar({length})"
            )
