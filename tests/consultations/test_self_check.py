"""The private self-check over HTTP: the PHQ-9 as published, its scoring and bands, the
crisis panel for item 9 on every path, and that nothing is stored, cached or put in a URL.
"""

import re
from pathlib import Path

import pytest
from django.contrib.sessions.models import Session
from django.test import Client

from consultations.models import ScreenQuestion, SharedSelfCheck
from consultations.self_check import phq9
from consultations.self_check.views import ALTERNATIVES_ARTICLE_SLUG
from education.rendering import plain_text, reading_grade
from tests.factories import ArticleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def screen_questions(db):
    """The screen's questions (a transactional test elsewhere may have emptied the table)."""
    return ScreenQuestion.objects.for_self_check()


# The published wording (phqscreeners.com form; Kroenke, Spitzer & Williams 2001).
PUBLISHED_ITEMS = [
    "Little interest or pleasure in doing things",
    "Feeling down, depressed, or hopeless",
    "Trouble falling or staying asleep, or sleeping too much",
    "Feeling tired or having little energy",
    "Poor appetite or overeating",
    "Feeling bad about yourself — or that you are a failure or have let yourself or your "
    "family down",
    "Trouble concentrating on things, such as reading the newspaper or watching television",
    "Moving or speaking so slowly that other people could have noticed? Or the opposite — "
    "being so fidgety or restless that you have been moving around a lot more than usual",
    "Thoughts that you would be better off dead or of hurting yourself in some way",
]
PUBLISHED_OPTIONS = ["Not at all", "Several days", "More than half the days", "Nearly every day"]
PUBLISHED_ATTRIBUTION = (
    "Developed by Drs. Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke and colleagues, "
    "with an educational grant from Pfizer Inc. No permission required to reproduce, "
    "translate, display or distribute."
)
SCREEN_NONE_FLAGGED = {
    "adult": "yes",
    "antidepressants": "yes",
    "psychosis_mania": "no",
    "blood_pressure": "no",
    "aneurysm_bleed": "no",
    "heart_stroke": "no",
    "pregnancy": "no",
    "substance_use": "no",
    "bad_reaction": "no",
}


def items_for(total: int, *, item9: int = 0) -> list[int]:
    """Nine answers adding up to `total`, with item 9 as given where the total allows."""
    answers = [0] * 9
    answers[8] = item9
    left = total - item9
    for index in range(8):
        answers[index] = min(3, left)
        left -= answers[index]
    if left:  # only 27 needs item 9 too
        answers[8] += left
    assert sum(answers) == total and all(0 <= a <= 3 for a in answers)
    return answers


def post_data(items=None, screen=None, difficulty="somewhat", **overrides) -> dict:
    items = items if items is not None else items_for(6)
    data = {f"item_{n}": str(a) for n, a in enumerate(items, start=1)}
    data["difficulty"] = difficulty
    data.update({f"screen_{k}": v for k, v in {**SCREEN_NONE_FLAGGED, **(screen or {})}.items()})
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&amp;", "&")


def main_html(response) -> str:
    html = response.content.decode()
    return html[html.index('<main id="main"') :]


# --- the form --------------------------------------------------------------------


def test_form_shows_the_phq9_exactly_as_published_with_attribution(client):
    response = client.get("/self-check/")
    assert response.status_code == 200
    html = response.content.decode()
    text = text_of(html)
    assert (
        "Over the last 2 weeks, how often have you been bothered by any of the following problems?"
        in text
    )
    for number, item in enumerate(PUBLISHED_ITEMS, start=1):
        assert f"<legend>{number}. {item}" in html
    for option in PUBLISHED_OPTIONS:
        assert html.count(f">{option}</label>") == 9
    assert PUBLISHED_ATTRIBUTION in text
    assert "doi.org/10.1046/j.1525-1497.2001.016009606.x" in html
    assert tuple(PUBLISHED_ITEMS) == phq9.ITEMS


def test_form_lists_every_screen_question_as_a_group_of_three(client):
    html = client.get("/self-check/").content.decode()
    questions = list(ScreenQuestion.objects.for_self_check())
    assert len(questions) == 9
    for question in questions:
        name = f"screen_{question.key}"
        assert f"<legend>{question.text}" in html
        for value in ("yes", "no", "not_sure"):
            assert f'name="{name}" id="id_{name}_' in html and f'value="{value}"' in html
    assert html.count('type="radio"') == 9 * 4 + 4 + 9 * 3
    assert "<script" not in html


def test_pages_link_to_the_self_check(client):
    link = 'href="/self-check/">Take the two-minute self-check</a>'
    assert link in client.get("/").content.decode()
    assert link in client.get("/book/").content.decode()
    article = ArticleFactory(slug="is-ketamine-right-for-me")
    assert link in client.get(article.get_absolute_url()).content.decode()


# --- scoring -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "label"),
    [
        (0, "None or minimal"),
        (4, "None or minimal"),
        (5, "Mild"),
        (9, "Mild"),
        (10, "Moderate"),
        (14, "Moderate"),
        (15, "Moderately severe"),
        (19, "Moderately severe"),
        (20, "Severe"),
        (27, "Severe"),
    ],
)
def test_score_and_band_at_every_band_edge(client, total, label):
    response = client.post("/self-check/", post_data(items_for(total)))
    text = text_of(main_html(response))
    assert response.status_code == 200
    assert f"Your score: {total} out of 27" in text
    assert f"Range: {label}" in text
    assert "not a diagnosis" in text
    assert phq9.band(total).label == label


def test_scoring_refuses_impossible_answers():
    with pytest.raises(ValueError):
        phq9.score([3] * 8)
    with pytest.raises(ValueError):
        phq9.score([4] + [0] * 8)
    with pytest.raises(ValueError):
        phq9.band(28)


# --- safety ------------------------------------------------------------------------


@pytest.mark.parametrize("item9", [1, 2, 3])
def test_item9_opens_the_result_with_the_crisis_panel(client, item9):
    response = client.post("/self-check/", post_data(items_for(item9 + 2, item9=item9)))
    main = main_html(response)
    assert main.index('class="crisis-panel"') < main.index("<h1")
    panel = main[main.index('class="crisis-panel"') : main.index("</section>")]
    for link in ('href="tel:988"', 'href="sms:988"', 'href="tel:911"', 'href="tel:+15550100199"'):
        assert link in panel
    assert "Monday to Friday, 9 am to 5 pm" in panel
    assert "<details" not in main
    # The booking offer stays, below the panel.
    assert main.index("Share these answers with the clinic when I book") > main.index("</section>")


def test_item9_not_at_all_shows_no_crisis_panel(client):
    main = main_html(client.post("/self-check/", post_data(items_for(27 - 3))))
    assert 'class="crisis-panel"' not in main


def test_item9_shows_the_crisis_panel_first_on_the_error_path(client):
    data = post_data(items_for(5, item9=2), item_3=None, screen_adult=None)
    response = client.post("/self-check/", data)
    main = main_html(response)
    assert response.status_code == 200
    assert main.index('class="crisis-panel"') < main.index("error-summary") < main.index("<form")
    assert 'href="tel:988"' in main


def test_missing_answers_are_named_linked_and_the_rest_kept(client):
    data = post_data(items_for(7), item_3=None, screen_pregnancy=None)
    response = client.post("/self-check/", data)
    html = response.content.decode().split("</head>")[1]  # the inline CSS names classes too
    assert 'class="crisis-panel"' not in html
    summary = html[html.index("error-summary") : html.index("</div>", html.index("error-summary"))]
    assert '<a href="#id_item_3_0">Choose an answer for question 3.</a>' in summary
    assert 'href="#id_screen_pregnancy_0"' in summary
    assert 'id="id_item_3_0"' in html and 'aria-invalid="true"' in html
    # Every answer given is still chosen.
    assert re.search(r'name="item_1" id="id_item_1_3" value="3" checked', html)
    assert re.search(r'name="screen_adult" id="id_screen_adult_0" value="yes" checked', html)
    assert re.search(r'name="difficulty" id="id_difficulty_1" value="somewhat" checked', html)


# --- the advice --------------------------------------------------------------------


def test_answers_that_need_a_clinician_carry_their_explanation(client):
    question = ScreenQuestion.objects.get(key="blood_pressure")
    response = client.post(
        "/self-check/", post_data(screen={"blood_pressure": "yes", "pregnancy": "not_sure"})
    )
    text = text_of(main_html(response))
    assert question.text in text and question.explanation in text
    assert "That is fine: the clinician will ask about it." in text
    assert "bring these answers up" in text


def test_an_answer_that_rules_ketamine_out_points_to_other_options(client):
    ArticleFactory(
        slug="will-it-work-what-the-research-shows", title="Will it work? What the research shows"
    )
    response = client.post("/self-check/", post_data(screen={"aneurysm_bleed": "yes"}))
    main = main_html(response)
    text = text_of(main)
    assert "usually do not give ketamine" in text
    assert "transcranial magnetic stimulation" in text and "Your own doctor" in text
    assert 'href="/articles/will-it-work-what-the-research-shows/"' in main
    # Advisory only: booking is still offered.
    assert "Share these answers with the clinic when I book" in text
    assert 'href="/book/">Book without sharing my answers' in main


def test_no_answers_of_concern_still_offers_booking(client):
    text = text_of(main_html(client.post("/self-check/", post_data())))
    assert "None of your answers stands out" in text
    assert "book a free consultation" in text


def test_staff_rewording_shows_on_the_page(client):
    ScreenQuestion.objects.filter(key="pregnancy").update(text="Are you pregnant or nursing?")
    assert "<legend>Are you pregnant or nursing?" in client.get("/self-check/").content.decode()


# --- privacy -----------------------------------------------------------------------


def test_nothing_is_stored_and_nothing_is_kept_by_any_cache(client):
    form = client.get("/self-check/")
    response = client.post("/self-check/", post_data(items_for(12, item9=1)))
    assert response.status_code == 200
    for page in (form, response):
        assert "no-store" in page["Cache-Control"] and "private" in page["Cache-Control"]
        assert "sessionid" not in page.cookies
    assert SharedSelfCheck.objects.count() == 0
    assert Session.objects.count() == 0
    assert '<meta name="robots" content="noindex">' in response.content.decode()


def test_result_needs_no_cookie_and_no_csrf_token(db):
    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/self-check/", post_data())
    assert response.status_code == 200
    assert "Your score: 6 out of 27" in text_of(main_html(response))


def test_the_form_posts_to_a_plain_address(client):
    html = client.get("/self-check/").content.decode()
    assert '<form method="post" action="/self-check/"' in html


def test_missing_questions_come_back_without_overwriting_staff_wording(client):
    ScreenQuestion.objects.filter(key="pregnancy").update(text="Reworded by staff?")
    ScreenQuestion.objects.exclude(key="pregnancy").delete()
    html = client.get("/self-check/").content.decode()
    assert ScreenQuestion.objects.count() == 9
    assert "<legend>Reworded by staff?" in html


def _own_words(response) -> str:
    """The page's text less the PHQ-9's published wording, which is not ours to simplify."""
    main = main_html(response)
    text = plain_text(main[: main.index("<footer")], sentence_blocks=True)
    published = (
        *phq9.ITEMS,
        phq9.INSTRUCTIONS,
        phq9.DIFFICULTY_QUESTION,
        phq9.ATTRIBUTION,
        phq9.CITATION,
        *(label for _points, label in phq9.OPTIONS),
        *(label for _code, label in phq9.DIFFICULTY_OPTIONS),
    )
    for fixed in published:
        text = text.replace(fixed, " ")
    return text


def test_own_words_read_at_grade_8_or_lower(client):
    everything_flagged = dict.fromkeys(SCREEN_NONE_FLAGGED, "yes") | {
        "adult": "no",
        "antidepressants": "no",
        "pregnancy": "not_sure",
    }
    pages = [
        client.get("/self-check/"),
        client.post("/self-check/", post_data(items_for(22, item9=2), screen=everything_flagged)),
        client.post("/self-check/", post_data(items_for(3))),
    ]
    for page in pages:
        assert reading_grade(_own_words(page)) <= 8


def test_alternatives_link_names_a_sample_article_that_exists():
    articles = Path(__file__).resolve().parents[2] / "content" / "articles"
    assert (articles / f"{ALTERNATIVES_ARTICLE_SLUG}.md").exists()
