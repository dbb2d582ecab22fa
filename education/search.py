"""Searching published articles: PostgreSQL full-text search, or a portable fallback.

PostgreSQL ranks with weighted vectors (title A, summary B, body and FAQs C) and marks
matches with `ts_headline`. Other databases (SQLite in development) match every word
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
from django.db.models import Case, Q, TextField, Value, When
from django.db.models.functions import Concat
from django.utils.safestring import SafeString, mark_safe

from education.models import Article

MAX_RESULTS = 20
MAX_QUERY_LENGTH = 100
SNIPPET_CHARS = 220
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


def _postgres_search(query: str) -> list[SearchResult]:
    search_query = SearchQuery(query, search_type="websearch", config=CONFIG)
    vector = (
        SearchVector("title", weight="A", config=CONFIG)
        + SearchVector("summary", weight="B", config=CONFIG)
        + SearchVector("search_text", weight="C", config=CONFIG)
    )
    articles = (
        Article.objects.published()
        .for_listing()
        .annotate(
            document=vector,
            rank=SearchRank(vector, search_query),
            headline=SearchHeadline(
                Concat("summary", Value("\n"), "search_text", output_field=TextField()),
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
        .filter(document=search_query)
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
