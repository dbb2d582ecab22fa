"""Searching published articles: PostgreSQL full-text search, or a portable fallback.

PostgreSQL matches and ranks with the weighted vector stored on each article (title A,
summary B, body and FAQs C; `Article.search_vector`, GIN-indexed, written by
`services.article_render`) and marks matches with `ts_headline` over the summary and a
window of the text, in one hand-written statement (`POSTGRES_SQL`, read into whole
`Article` objects with `raw()`; the unread fields load when used). Other databases
(SQLite in development) match every word with `icontains`, rank title hits first, and
build the snippet in Python. Either way the snippet is escaped first and only our own
`<mark>` tags are added.
"""

import html
import re
from dataclasses import dataclass

from django.contrib.postgres.search import SearchVector
from django.db import connection
from django.db.models import Case, Q, Value, When
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from education.models import Article, GlossaryTerm, ReadingPath, Topic

MAX_RESULTS = 20
MAX_QUERY_LENGTH = 100
SNIPPET_CHARS = 220
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
    topic_name: str


@dataclass
class NoResultsHelp:
    """What the page offers when nothing matched: the glossary entries the words name, and
    the first article of each reading path (where staff chose to start readers)."""

    glossary_terms: list[GlossaryTerm]
    starting_articles: list[Article]


# Control characters (NUL among them, which PostgreSQL refuses in text) are never words.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def clean_query(raw: str) -> str:
    return " ".join(_CONTROL_CHARACTERS.sub(" ", raw[: MAX_QUERY_LENGTH * 4]).split())[
        :MAX_QUERY_LENGTH
    ]


# A hyphen or dash between letters joins two words: "side-effect" searches for "side
# effect", as the text may write it either way. A leading "-" (websearch's "not") stays.
_JOINING_DASH = re.compile(r"(?<=\w)[-\u2010-\u2014](?=\w)")


def article_search(*, query: str) -> list[SearchResult]:
    query = _JOINING_DASH.sub(" ", clean_query(query))
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


# One statement, written out: the ORM's SearchQuery(search_type="websearch"), SearchRank
# and SearchHeadline give the same results, but building them (with the window subquery)
# costs more Python than the database takes to answer: under `make bench` on PostgreSQL
# the uncached search used 16,064 us of worker CPU per request against 10,189 us for this
# statement (28 against 79 requests/s), far outside 10%.
# `q` is the parsed query, computed once. The headline text is the summary and a window of
# the search text starting HEADLINE_LEAD characters before the earliest appearance of the
# first HEADLINE_PREFIX letters of any stemmed query word ("grow" for "grows"; stop words
# are dropped), or at the start when none appears: `ts_headline` parses everything it is
# given, so never whole articles. It then marks every real match inside that window, and
# runs only for the rows the LIMIT keeps. The tables are named by their models.
POSTGRES_SQL = f"""
SELECT article.id, article.title, article.slug, article.reading_time_minutes,
  topic.name AS topic_name,
  ts_headline(
    %(config)s::regconfig,
    article.summary || E'\\n' || substr(
      article.search_text,
      greatest(coalesce(
        (SELECT min(nullif(strpos(lower(article.search_text), left(lexeme, %(prefix)s)), 0))
         FROM unnest(tsvector_to_array(to_tsvector(%(config)s::regconfig, %(query)s))) AS lexeme),
        1) - %(lead)s, 1),
      %(chars)s),
    q,
    %(options)s) AS headline
FROM {connection.ops.quote_name(Article._meta.db_table)} AS article
JOIN {connection.ops.quote_name(Topic._meta.db_table)} AS topic ON topic.id = article.topic_id
CROSS JOIN websearch_to_tsquery(%(config)s::regconfig, %(query)s) AS q
WHERE article.status = %(published)s AND article.publish_at <= %(now)s
  AND article.search_vector @@ q
ORDER BY ts_rank(article.search_vector, q) DESC, article.title
LIMIT %(limit)s
"""
HEADLINE_OPTIONS = (
    f"StartSel={START}, StopSel={STOP}, MaxWords=40, MinWords=20, MaxFragments=2, "
    'FragmentDelimiter=" … "'
)


def _postgres_search(query: str) -> list[SearchResult]:
    params = {
        "config": CONFIG,
        "query": query,
        "prefix": HEADLINE_PREFIX,
        "lead": HEADLINE_LEAD,
        "chars": HEADLINE_CHARS,
        "options": HEADLINE_OPTIONS,
        "published": Article.Status.PUBLISHED.value,
        "now": timezone.now(),
        "limit": MAX_RESULTS,
    }
    return [
        SearchResult(
            article=article, snippet=_marked(article.headline), topic_name=article.topic_name
        )
        for article in Article.objects.raw(POSTGRES_SQL, params)
    ]


# Simple word forms for the portable fallback, which matches parts of words: "sessions",
# "feeling", "needed" and "therapies" search for "session", "feel", "need" and "therap".
# A suffix goes only if at least MIN_STEM letters stay. PostgreSQL stems with its own
# English dictionary instead.
SUFFIXES = ("ies", "ing", "ed", "es", "s", "y")
MIN_STEM = 3
_WORD = re.compile(r"\w+(?:['’]\w+)*")


def word_stem(word: str) -> str:
    word = word.lower()
    for suffix in SUFFIXES:
        stem = word.removesuffix(suffix)
        if stem == word or len(stem) < MIN_STEM:
            continue
        if suffix == "es" and not stem.endswith(("s", "x", "z", "ch", "sh")):
            continue  # "doses" is "dose" + "s"; "classes" is "class" + "es"
        if suffix == "s" and stem.endswith(("s", "u", "i")):
            continue  # "stress", "focus", "analysis"
        if suffix in ("ing", "ed") and stem[-1] == stem[-2] and stem[-1] not in "aeiouylsfz":
            stem = stem[:-1]  # "planned", "stopping"
        return stem
    if word.endswith("ed") and len(word) > MIN_STEM:
        return word[:-1]  # "used" is "use" + "d"
    return word


def _portable_search(query: str) -> list[SearchResult]:
    words = [word_stem(word) for word in _WORD.findall(query)[:10]]
    if not words:
        return []
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
        SearchResult(
            article=a,
            snippet=_portable_snippet(f"{a.summary}\n{a.search_text}", words),
            topic_name=a.topic.name,
        )
        for a in articles
    ]


def _portable_snippet(text: str, words: list[str]) -> SafeString:
    # Each stem marks the whole word it starts ("effect" marks "effects").
    pattern = re.compile(
        r"\b(?:" + "|".join(re.escape(word) for word in words) + r")\w*", re.IGNORECASE
    )
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


def no_results_help(*, query: str) -> NoResultsHelp:
    words = Q()
    for word in _WORD.findall(_JOINING_DASH.sub(" ", clean_query(query)))[:10]:
        if len(stem := word_stem(word)) >= MIN_STEM:
            words |= Q(term__icontains=stem)
    starting = []
    for path in ReadingPath.objects.with_live_steps():
        if path.articles and path.articles[0] not in starting:
            starting.append(path.articles[0])
    return NoResultsHelp(
        glossary_terms=list(GlossaryTerm.objects.filter(words)[:5]) if words else [],
        starting_articles=starting,
    )
