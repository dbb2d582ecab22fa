"""The real sample articles in `content/`: what patients ask finds them, and each one
carries honest review metadata, sourced figures and the esketamine regulatory facts."""

import datetime
import io
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import frontmatter
import pytest
import time_machine
from django.conf import settings
from django.core.checks import run_checks
from django.core.management import call_command
from django.urls import reverse

from education.models import FAQ, Article, Contributor
from education.rendering import render_markdown
from tests.factories import ArticleFactory

CONTENT = Path(settings.BASE_DIR) / "content"
ARTICLE_FILES = sorted((CONTENT / "articles").glob("*.md"))
POSTS = {path.stem: frontmatter.load(path) for path in ARTICLE_FILES}
IDS = list(POSTS)

# The twelve articles the content brief asks for, by slug.
BRIEF_ARTICLES = {
    "how-ketamine-works-glutamate-cascade",
    "neuroplasticity-window-and-integration",
    "why-a-series-not-a-single-dose",
    "brain-regions-ketamine-affects",
    "safety-side-effects-what-a-session-feels-like",
    "integration-practices-after-a-session",
    "is-ketamine-treatment-right-for-me",
    "costs-insurance-and-good-faith-estimate",
    "iv-ketamine-esketamine-spray-and-at-home-ketamine",
    "will-it-work-what-the-research-shows",
    "misuse-dependence-and-bladder-problems",
    "your-consultation-and-first-treatment-day",
}


def test_the_twelve_articles_of_the_brief_exist():
    assert BRIEF_ARTICLES <= set(POSTS)


@pytest.mark.parametrize("slug", IDS)
def test_article_body_has_nothing_the_sanitizer_removes(slug):
    assert render_markdown(POSTS[slug].content).removed == []


@pytest.mark.parametrize("slug", IDS)
def test_article_has_full_review_metadata(slug):
    meta = POSTS[slug].metadata
    assert meta["slug"] == slug
    assert meta["author"] != meta["reviewer"]
    assert meta["review_note"].strip() and meta["summary"].strip()
    assert len(meta["summary"]) <= 160
    assert 3 <= len(meta["key_takeaways"]) <= 5
    assert meta["references"], "every article cites at least one reference"
    assert all(r["citation"].strip() for r in meta["references"])
    assert 2 <= len(meta["related"]) <= 3 and set(meta["related"]) <= set(POSTS)


@pytest.mark.parametrize("slug", IDS)
def test_article_note_gives_the_esketamine_regulatory_facts(slug):
    note = POSTS[slug].metadata["regulatory_note"]
    for fact in ["off-label", "Spravato", "March 2019", "August 2020", "January 2025", "REMS"]:
        assert fact in note, f"{slug}: regulatory note lacks {fact!r}"


# Claims that came from another provider's marketing, with no source behind them.
UNSOURCED_CLAIMS = [
    r"30 (to|-) ?45 minutes",
    r"4 in 10 sessions",
    r"a third of sessions",
    r"no clear link between how intense",
    r"tended to get better with treatment",
    r"at least 24 hours",
    r"often overactive",
]


@pytest.mark.parametrize("slug", IDS)
def test_article_repeats_no_unsourced_claim(slug):
    text = POSTS[slug].content + str(POSTS[slug].metadata)
    for pattern in UNSOURCED_CLAIMS:
        assert not re.search(pattern, text, re.IGNORECASE), f"{slug}: {pattern}"


@pytest.mark.parametrize("slug", IDS)
def test_every_author_year_finding_has_its_reference(slug):
    """A study named in the text as 'Name and others, 2013' must be in the list."""
    post = POSTS[slug]
    citations = " ".join(r["citation"] for r in post.metadata["references"])
    for name in re.findall(r"\(([A-Z][a-z-]+) and (?:others|colleagues)", post.content):
        assert name in citations, f"{slug}: {name} is cited in the text but not listed"


@pytest.fixture
def sample_content(db):
    call_command("load_sample_content", stdout=io.StringIO())


# What a worried adult types first, and the article that must answer it.
PATIENT_QUESTIONS = [
    ("cost", "costs-insurance-and-good-faith-estimate"),
    ("insurance", "costs-insurance-and-good-faith-estimate"),
    ("Good Faith Estimate", "costs-insurance-and-good-faith-estimate"),
    ("pregnant", "is-ketamine-treatment-right-for-me"),
    ("candidate", "is-ketamine-treatment-right-for-me"),
    ("bladder", "misuse-dependence-and-bladder-problems"),
    ("addiction", "misuse-dependence-and-bladder-problems"),
    ("addiction risk", "misuse-dependence-and-bladder-problems"),
    ("Spravato", "iv-ketamine-esketamine-spray-and-at-home-ketamine"),
    ("at-home ketamine", "iv-ketamine-esketamine-spray-and-at-home-ketamine"),
    ("electroconvulsive", "will-it-work-what-the-research-shows"),
]


def test_searching_what_patients_ask_finds_the_answer(client, sample_content):
    """One load of the real files, then each search as a visitor makes it."""
    misses = []
    for words, slug in PATIENT_QUESTIONS:
        html = client.get(reverse("education:search"), {"q": words}).content.decode()
        found = re.findall(r'href="/articles/([a-z0-9-]+)/"', html.split("<main", 1)[-1])
        if slug not in found[:3]:
            misses.append(f"{words!r} -> {found[:5]}")
    assert not misses, misses


CLINIC_ZONE = ZoneInfo(settings.TIME_ZONE)


def load() -> str:
    out = io.StringIO()
    call_command("load_sample_content", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_sample_review_dates_are_the_load_date_never_backdated():
    assert not any("last_reviewed" in post.metadata for post in POSTS.values())
    with time_machine.travel(datetime.datetime(2027, 2, 3, 10, 0, tzinfo=CLINIC_ZONE)):
        load()
    assert set(Article.objects.values_list("last_reviewed", flat=True)) == {
        datetime.date(2027, 2, 3)
    }
    assert Contributor.objects.filter(is_sample=False).count() == 0
    # Loading again later with nothing changed keeps the date; a change moves it on.
    FAQ.objects.filter(article__slug="is-ketamine-treatment-right-for-me").delete()
    with time_machine.travel(datetime.datetime(2027, 3, 1, 10, 0, tzinfo=CLINIC_ZONE)):
        assert "0 created, 1 updated" in load()
    dates = dict(Article.objects.values_list("slug", "last_reviewed"))
    assert dates.pop("is-ketamine-treatment-right-for-me") == datetime.date(2027, 3, 1)
    assert set(dates.values()) == {datetime.date(2027, 2, 3)}


def test_sample_article_page_says_no_clinician_reviewed_it(client, sample_content):
    article = Article.objects.get(slug="misuse-dependence-and-bladder-problems")
    html = client.get(article.get_absolute_url()).content.decode()
    assert "Sample content, not reviewed by a clinician." in html
    assert "Medically reviewed by" not in html and "Page last reviewed" not in html
    assert '"reviewedBy"' not in html and '"lastReviewed"' not in html


@pytest.mark.django_db
def test_a_real_review_is_still_shown_as_one(client):
    article = ArticleFactory(title="Sleep after treatment")
    html = client.get(article.get_absolute_url()).content.decode()
    assert "Medically reviewed by" in html and '"reviewedBy"' in html
    assert "Sample content" not in html


def sample_warnings():
    return [m for m in run_checks(include_deployment_checks=True) if m.id == "education.W001"]


def test_deploy_check_warns_while_samples_are_published(sample_content):
    [warning] = sample_warnings()
    assert f"{len(ARTICLE_FILES)} published article(s)" in warning.msg
    assert "DJANGO_SILENCED_SYSTEM_CHECKS=education.W001" in warning.hint
    Contributor.objects.update(is_sample=False)  # the clinic's own staff took over
    assert sample_warnings() == []


@pytest.mark.django_db
def test_deploy_check_is_quiet_without_samples():
    ArticleFactory()
    assert sample_warnings() == []


def test_home_and_booking_pages_link_the_questions_patients_ask_first(client, sample_content):
    right_for_me = Article.objects.get(slug="is-ketamine-treatment-right-for-me")
    costs = Article.objects.get(slug="costs-insurance-and-good-faith-estimate")
    for url in [reverse("home"), reverse("consultations:book")]:
        html = client.get(url).content.decode()
        assert (
            f'<a href="{right_for_me.get_absolute_url()}">'
            "Before you book: is ketamine right for me?</a>" in html
        )
        assert f'<a href="{costs.get_absolute_url()}">What it costs</a>' in html
    # A link whose article is gone disappears rather than break.
    right_for_me.delete()
    assert "is ketamine right for me?" not in client.get(reverse("home")).content.decode()


def test_new_glossary_terms_are_loaded_and_linked(client, sample_content):
    html = client.get(reverse("education:glossary")).content.decode()
    for term in ["REMS", "Contraindication", "Off-label", "Good Faith Estimate", "TMS", "ECT"]:
        assert f">{term}<" in html, term
    article = Article.objects.get(slug="will-it-work-what-the-research-shows")
    assert 'href="/glossary/#tms"' in article.body_html
