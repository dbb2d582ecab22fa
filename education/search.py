"""Searching published articles: PostgreSQL full-text search, or a portable fallback.

PostgreSQL matches and ranks with the weighted vector stored on each article (title A,
summary B, body and FAQs C; `Article.search_vector`, GIN-indexed, written by
`services.article_render`) and marks matches with `ts_headline` over the summary and a
window of the text. Other databases (SQLite in development) match every word
with `icontains`, rank title hits first, and build the snippet in Python. Either way the
snippet is escaped first and only our own `<mark>` tags are added.
"""

import html
import re
from dataclasses import dataclass

from django.contrib.postgres.search import (
    SearchHeadline,
    SearchQuery,
    SearchRank,
    SearchVector,
)
from django.db import connection
from django.db.models import Case, F, IntegerField, Q, TextField, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import (
    Coalesce,
    Concat,
    Greatest,
    Substr,
)
from django.utils.safestring import SafeString, mark_safe

from education.models import Article

MAX_RESULTS = 20
MAX_QUERY_LENGTH = 100
SNIPPET_CHARS = 220
# What the results page shows of each article (the rest stays in the database).
LISTED_FIELDS = ["title", "slug", "reading_time_minutes", "topic__name"]
# The snippet's window of search text: this many characters, starting this many before
# the first appearance of the first HEADLINE_PREFIX letters of a stemmed query word.
HEADLINE_CHARS = 1500
HEADLINE_LEAD = 300
HEADLINE_PREFIX = 4
CONFIG = "english"
# Sentinels that cannot appear in article text, swapped for <mark> after escaping.
START, STOP = "\x02", "\x03"


@dataclass
class SearchResult:
    article: Article
    snippet: SafeString


def clean_query(raw: str) -> str:
    return " ".join(raw.split())[:MAX_QUERY_LENGTH]


def article_search(*, query: str) -> list[SearchResult]:
    query = clean_query(query)
    if not query:
        return []
    if connection.vendor == "postgresql":
        return _postgres_search(query)
    return _portable_search(query)


def _marked(text: str) -> SafeString:
    # Escape first, then mark: the sentinels survive escaping untouched.
    escaped = html.escape(text, quote=False)
    return mark_safe(escaped.replace(START, "<mark>").replace(STOP, "</mark>"))  # noqa: S308


def weighted_vector() -> SearchVector:
    """The document searched on PostgreSQL; stored in `Article.search_vector` on render."""
    return (
        SearchVector("title", weight="A", config=CONFIG)
        + SearchVector("summary", weight="B", config=CONFIG)
        + SearchVector("search_text", weight="C", config=CONFIG)
    )


def _headline_text(query: str) -> Concat:
    """The summary and a window of the search text, from just before the query's first
    appearance: `ts_headline` parses all the text it is given, so never whole articles.

    The window starts a little before the earliest appearance of the first letters of
    any of the query's stemmed words ("grow" for "grows"; stop words are dropped), or at
    the start when none appears; `ts_headline` then marks every real match inside it.
    """
    table = connection.ops.quote_name(Article._meta.db_table)
    first = RawSQL(
        f"(SELECT min(NULLIF(strpos(lower({table}.search_text), left(lexeme, %s)), 0))"
        " FROM unnest(tsvector_to_array(to_tsvector(%s::regconfig, %s))) AS lexeme)",
        (HEADLINE_PREFIX, CONFIG, query),
        output_field=IntegerField(),
    )
    start = Greatest(Coalesce(first, Value(1)) - Value(HEADLINE_LEAD), Value(1))
    return Concat(
        "summary",
        Value("\n"),
        Substr("search_text", start, HEADLINE_CHARS),
        output_field=TextField(),
    )


def _postgres_search(query: str) -> list[SearchResult]:
    search_query = SearchQuery(query, search_type="websearch", config=CONFIG)
    articles = (
        Article.objects.published()
        .filter(search_vector=search_query)
        .select_related("topic")
        .only(*LISTED_FIELDS)
        .annotate(
            rank=SearchRank(F("search_vector"), search_query),
            headline=SearchHeadline(
                _headline_text(query),
                search_query,
                config=CONFIG,
                start_sel=START,
                stop_sel=STOP,
                max_words=40,
                min_words=20,
                max_fragments=2,
                fragment_delimiter=" … ",
            ),
        )
        .order_by("-rank", "title")[:MAX_RESULTS]
    )
    return [SearchResult(article=a, snippet=_marked(a.headline)) for a in articles]


def _portable_search(query: str) -> list[SearchResult]:
    words = query.split()[:10]
    matches = Q()
    rank = Value(0)
    for word in words:
        matches &= (
            Q(title__icontains=word) | Q(summary__icontains=word) | Q(search_text__icontains=word)
        )
        rank += (
            Case(When(title__icontains=word, then=Value(100)), default=0)
            + Case(When(summary__icontains=word, then=Value(10)), default=0)
            + Case(When(search_text__icontains=word, then=Value(1)), default=0)
        )
    articles = (
        Article.objects.published()
        .for_listing()
        .filter(matches)
        .annotate(rank=rank)
        .order_by("-rank", "title")[:MAX_RESULTS]
    )
    return [
        SearchResult(article=a, snippet=_portable_snippet(f"{a.summary}\n{a.search_text}", words))
        for a in articles
    ]


def _portable_snippet(text: str, words: list[str]) -> SafeString:
    pattern = re.compile("|".join(re.escape(word) for word in words), re.IGNORECASE)
    first = pattern.search(text)
    start = 0 if first is None else max(0, first.start() - SNIPPET_CHARS // 3)
    # Start and end on word boundaries so the snippet does not begin mid-word.
    if start:
        start = text.find(" ", start) + 1
    end = start + SNIPPET_CHARS
    if end >= len(text):
        end = len(text)
    elif (cut := text.rfind(" ", start, end)) > start:
        end = cut
    window = " ".join(text[start:end].split())
    marked = pattern.sub(lambda m: f"{START}{m.group(0)}{STOP}", window)
    prefix = "… " if start else ""
    suffix = " …" if end < len(text) else ""
    return _marked(f"{prefix}{marked}{suffix}")
