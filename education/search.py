"""Searching published articles: PostgreSQL full-text search, or a portable fallback.

PostgreSQL matches and ranks with the weighted vector stored on each article (title A,
summary B, body and FAQs C; `Article.search_vector`, GIN-indexed, written by
`services.article_render`), in one hand-written statement (`POSTGRES_SQL`), each row made
into a `SearchResult`: what the results page shows. The words of the results' text that
the database stems as it stems the query are marked.
Other databases (SQLite in development) match every word with `icontains`, rank title
hits first, and mark the words that start with the query's simple stems. Either way the
snippet is a passage of the summary and text around the first match (`_snippet`),
escaped first, with only our own `<mark>` tags added. A search that finds nothing offers
places to start (`no_results_help`), kept per process.
"""

import html
import re
from dataclasses import dataclass

from django.contrib.postgres.search import SearchVector
from django.db import NotSupportedError, connection
from django.db.models import Case, Q, Value, When
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from clinic.kept_urls import kept_reverse
from clinic.page_cache import COPY_SECONDS, kept_value
from education.models import Article, GlossaryTerm, ReadingPath, Topic

MAX_RESULTS = 20
MAX_QUERY_LENGTH = 100
SNIPPET_CHARS = 220
CONFIG = "english"
# Sentinels that cannot appear in article text, swapped for <mark> after escaping.
START, STOP = "\x02", "\x03"


@dataclass(frozen=True)
class SearchResult:
    """What the results page shows of one article found."""

    title: str
    url: str
    reading_time_minutes: int
    topic_name: str
    snippet: SafeString


@dataclass
class NoResultsHelp:
    """What the page offers when nothing matched: the glossary entries the words name, the
    first article of each reading path (where staff chose to start readers), and the
    topics."""

    glossary_terms: list[GlossaryTerm]
    starting_articles: list[Article]
    topics: list[Topic]


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


# One statement, written out, each row made into a result by hand: the ORM's
# SearchQuery(search_type="websearch") and SearchRank give the same results, but building
# them costs more Python than the database takes to answer (under `make bench` on
# PostgreSQL the ORM's uncached search used 16,064 us of worker CPU per request against
# 10,189 us for a statement; making Article objects of the rows cost a further 25 us
# each). The tables are named by their models. Each row also carries the query's lexemes
# (its stemmed words, stop words dropped), for the snippets.
POSTGRES_SQL = f"""
SELECT article.title, article.slug, article.reading_time_minutes, topic.name,
  article.summary || E'\\n' || article.search_text,
  tsvector_to_array(to_tsvector('{CONFIG}'::regconfig, %(query)s))
FROM {connection.ops.quote_name(Article._meta.db_table)} AS article
JOIN {connection.ops.quote_name(Topic._meta.db_table)} AS topic ON topic.id = article.topic_id
CROSS JOIN websearch_to_tsquery('{CONFIG}'::regconfig, %(query)s) AS q
WHERE article.status = '{Article.Status.PUBLISHED.value}' AND article.publish_at <= %(now)s
  AND article.search_vector @@ q
ORDER BY ts_rank(article.search_vector, q) DESC, article.title
LIMIT {MAX_RESULTS}
"""


def _prepared_cursor():
    """A cursor that binds its parameters on the server, so PostgreSQL parses and plans the
    search statement once per connection (`prepare_threshold` in clinic/settings.py)
    rather than for every search: planning was twice the time of running it. It is
    wrapped as Django wraps its own cursors (errors, query logging), after the same
    health check."""
    # Imported here: the PostgreSQL backend is loaded only where it is the database.
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.close_if_health_check_failed()
    connection.ensure_connection()
    cursor = ServerBindingCursor(connection.connection)
    if connection.queries_logged:
        return connection.make_debug_cursor(cursor)
    return connection.make_cursor(cursor)


# Each word's lexemes, by the same English stemming that matched the articles: for the
# words the snippets might mark, the first time this process meets each.
WORD_LEXEMES_SQL = """
SELECT word, tsvector_to_array(to_tsvector(%(config)s::regconfig, word))
FROM unnest(%(words)s::text[]) AS word
"""
# A stem keeps the start of its word but may change its last letter ("therapi" for
# "therapy", "dose" for "dosing"): a word may match a lexeme when it starts with all but
# that letter (at most this many letters).
CANDIDATE_PREFIX = 4
_WORD_AT = re.compile(r"\w+")


def _postgres_search(query: str) -> list[SearchResult]:
    params = {"query": query, "now": timezone.now()}
    with _prepared_cursor() as cursor:
        try:
            cursor.execute(POSTGRES_SQL, params)
        except NotSupportedError as error:
            # "cached plan must not change result type": a migration run by another
            # process (a deploy) changed a column the statement returns, after this
            # connection prepared it. Its plans are dropped and it is asked again, rather
            # than every search on the connection failing until it is closed.
            if getattr(error.__cause__, "sqlstate", None) != "0A000" or connection.in_atomic_block:
                raise
            cursor.execute("DEALLOCATE ALL")  # psycopg forgets its own record of them too
            cursor.execute(POSTGRES_SQL, params)
        rows = cursor.fetchall()
    if not rows:
        return []
    # The snippets are made here, not with ts_headline, which parses every word it is
    # given: that was most of the database's time for a search. Every word that starts as
    # a lexeme does is a candidate; it is marked if the database stems it to one.
    lexemes = frozenset(rows[0][5])
    prefixes = {lexeme[: max(1, min(CANDIDATE_PREFIX, len(lexeme) - 1))] for lexeme in lexemes}
    texts = [row[4] for row in rows]
    firsts = _first_matches(texts, prefixes, lexemes)
    windows = [_snippet_text(text, first) for text, first in zip(texts, firsts, strict=True)]
    # Only the words the snippets show are marked, so only those are looked up.
    shown = [_words_starting(window[0].lower(), prefixes) for window in windows]
    words = _lexemes_of({word for found in shown for word, _ in found})
    marks = _whole_words({word for word, stems in words.items() if not stems.isdisjoint(lexemes)})
    return [
        SearchResult(
            title=title,
            url=kept_reverse("education:article_detail", slug),
            reading_time_minutes=minutes,
            topic_name=topic_name,
            snippet=_snippet(window, marks),
        )
        for (title, slug, minutes, topic_name, _, _), window in zip(rows, windows, strict=True)
    ]


# Where each text's first match is looked for first: most articles name the words searched
# for in their summary or first paragraphs, and lowercasing and scanning a whole article
# for every result cost more than the rest of the search.
FIRST_CHARS = 1500


def _first_matches(texts: list[str], prefixes: set[str], lexemes: frozenset[str]) -> list:
    """Where each text's first word that stems to one of `lexemes` starts (None if none
    does): its first FIRST_CHARS (to a space) for every text, then the rest of those
    without one; each round looks up the new words of all the texts at once."""
    firsts: list[int | None] = [None] * len(texts)
    scanned = [0] * len(texts)
    for limit in (FIRST_CHARS, None):
        found = {}
        for i, text in enumerate(texts):
            if firsts[i] is not None or scanned[i] >= len(text):
                continue
            end = len(text) if limit is None else text.find(" ", limit)
            end = len(text) if end == -1 else end
            start, scanned[i] = scanned[i], end
            # A part starts at a space (or the text's start) and ends before one, so its
            # words are whole.
            found[i] = [
                (word, start + at)
                for word, at in _words_starting(text[start:end].lower(), prefixes)
            ]
        if not found:
            break
        words = _lexemes_of({word for part in found.values() for word, _ in part})
        for i, part in found.items():
            firsts[i] = next((at for word, at in part if not words[word].isdisjoint(lexemes)), None)
    return firsts


# word -> its lexemes, in this process. A word's stems never change, and the words come
# from the articles (never from a query), so what it holds is bounded by their
# vocabulary; cleared if it ever grows past WORD_LEXEMES_KEPT words all the same.
_word_lexemes: dict[str, frozenset[str]] = {}
WORD_LEXEMES_KEPT = 50_000


def _lexemes_of(words: set[str]) -> dict[str, frozenset[str]]:
    """Each word's lexemes, asking the database only about the words this process has not
    asked about before: after the first searches, a search is one statement, since each
    statement costs the worker about as much CPU as making all the snippets."""
    known = {word: stems for word in words if (stems := _word_lexemes.get(word)) is not None}
    unknown = sorted(words.difference(known))
    if unknown:
        if len(_word_lexemes) + len(unknown) > WORD_LEXEMES_KEPT:
            _word_lexemes.clear()
        with connection.cursor() as cursor:
            cursor.execute(WORD_LEXEMES_SQL, {"words": unknown, "config": CONFIG})
            learnt = {word: frozenset(stems) for word, stems in cursor.fetchall()}
        _word_lexemes.update(learnt)
        known.update(learnt)
    return known


def _words_starting(lowered: str, prefixes: set[str]) -> list[tuple[str, int]]:
    """Each word of `lowered` that starts with one of `prefixes`, with where it starts, in
    order (found with str.find: a regular expression over every result's whole text costs
    more than the rest of the search). `lowered` is the text lowercased; in the rare
    letter whose lowercase is longer, positions after it are a little off, which only
    moves the snippet by as much."""
    found = []
    for prefix in prefixes:
        at = lowered.find(prefix)
        while at != -1:
            word = _WORD_AT.match(lowered, at)
            if word and (at == 0 or not lowered[at - 1].isalnum()):
                found.append((word.group(0), at))
            at = lowered.find(prefix, at + 1)
    return sorted(found, key=lambda item: item[1])


def _whole_words(words: set[str]) -> re.Pattern | None:
    if not words:
        return None
    alternatives = "|".join(re.escape(word) for word in sorted(words))
    return re.compile(rf"\b(?:{alternatives})\b", re.IGNORECASE)


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
    # Each stem marks the whole word it starts ("effect" marks "effects").
    marks = re.compile(
        r"\b(?:" + "|".join(re.escape(word) for word in words) + r")\w*", re.IGNORECASE
    )
    results = []
    for a in articles:
        text = f"{a.summary}\n{a.search_text}"
        first = marks.search(text)
        results.append(
            SearchResult(
                title=a.title,
                url=a.get_absolute_url(),
                reading_time_minutes=a.reading_time_minutes,
                topic_name=a.topic.name,
                snippet=_snippet(_snippet_text(text, first and first.start()), marks),
            )
        )
    return results


def _snippet_text(text: str, first: int | None) -> tuple[str, bool, bool]:
    """About SNIPPET_CHARS of `text` from a little before `first` (the first match, or
    the start), its spaces made single; and whether text was left out before and after."""
    start = 0 if first is None else max(0, first - SNIPPET_CHARS // 3)
    # Start and end on word boundaries so the snippet does not begin mid-word.
    if start:
        start = text.find(" ", start) + 1
    end = start + SNIPPET_CHARS
    if end >= len(text):
        end = len(text)
    elif (cut := text.rfind(" ", start, end)) > start:
        end = cut
    return " ".join(text[start:end].split()), start > 0, end < len(text)


def _snippet(snippet_text: tuple[str, bool, bool], marks: re.Pattern | None) -> SafeString:
    """A `_snippet_text`, escaped, every `marks` match in it marked."""
    window, cut_before, cut_after = snippet_text
    if marks is not None:
        window = marks.sub(lambda m: f"{START}{m.group(0)}{STOP}", window)
    prefix = "… " if cut_before else ""
    suffix = " …" if cut_after else ""
    return _marked(f"{prefix}{window}{suffix}")


def no_results_help(*, query: str) -> NoResultsHelp:
    stems = {
        stem
        for word in _WORD.findall(_JOINING_DASH.sub(" ", clean_query(query)))[:10]
        if len(stem := word_stem(word)) >= MIN_STEM
    }
    places = kept_value("search:places to start", _places_to_start, seconds=COPY_SECONDS)
    return NoResultsHelp(
        glossary_terms=[
            term
            for term in places.glossary_terms
            if any(stem in term.term.lower() for stem in stems)
        ][:5],
        starting_articles=places.starting_articles,
        topics=places.topics,
    )


def _places_to_start() -> NoResultsHelp:
    """What every page with no results offers, whatever was searched for (every glossary
    entry, to be chosen from by the words): the same for every visitor, so kept per
    process (as long as a page is, since a scheduled article may start a reading path).
    Loading it took 3 ms of queries, ten times a search that found something."""
    starting = []
    for path in ReadingPath.objects.with_live_steps():
        if path.articles and path.articles[0] not in starting:
            starting.append(path.articles[0])
    return NoResultsHelp(
        glossary_terms=list(GlossaryTerm.objects.only("term", "slug")),
        starting_articles=starting,
        topics=list(Topic.objects.all()),
    )
