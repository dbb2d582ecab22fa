"""No input a stranger can send makes a page fail: NUL characters (which PostgreSQL
refuses in text) and 100 kB values, in every parameter and path of every anonymous URL."""

import pytest
from django.test import override_settings
from django.urls import reverse

from consultations.tokens import manage_token_make
from consultations.waitlist import leave_token_make, offer_token_make
from tests.consultations.conftest import VALID_ANSWERS, form_tokens
from tests.factories import (
    ArticleFactory,
    ConsultationRequestFactory,
    TopicFactory,
    WaitlistEntryFactory,
)

pytestmark = pytest.mark.django_db

NUL = "\x00"
HUGE = "x" * 100_000
BAD_VALUES = [NUL, f"ketamine{NUL}", HUGE, "\x01\x7f\u200b"]
QUERY_PARAMS = ["q", "topic", "page", "next"]


@pytest.fixture
def public_paths():
    article = ArticleFactory()
    return [
        reverse("home"),
        reverse("education:article_list"),
        article.get_absolute_url(),
        article.topic.get_absolute_url(),
        reverse("education:glossary"),
        reverse("education:search"),
        reverse("education:feed"),
        reverse("education:sitemap"),
        reverse("education:robots_txt"),
        reverse("consultations:book"),
        reverse("consultations:requested"),
        reverse("consultations:requested_ics"),
        reverse("consultations:manage", args=[manage_token_make(ConsultationRequestFactory())]),
        reverse(
            "consultations:manage_cancel", args=[manage_token_make(ConsultationRequestFactory())]
        ),
        reverse("consultations:waitlist_join"),
        reverse("consultations:waitlist_added"),
        reverse("consultations:waitlist_offer", args=[offer_token_make(WaitlistEntryFactory())]),
        reverse("consultations:waitlist_leave", args=[leave_token_make(WaitlistEntryFactory())]),
        reverse("admin:login"),
        reverse("healthz"),
    ]


@pytest.mark.parametrize("value", BAD_VALUES, ids=["nul", "nul-inside", "100kB", "controls"])
def test_every_anonymous_url_survives_bad_query_values(client, public_paths, value):
    for path in public_paths:
        for param in QUERY_PARAMS:
            response = client.get(path, {param: value})
            assert response.status_code < 500, (path, param, response.status_code)


@pytest.mark.parametrize("value", BAD_VALUES, ids=["nul", "nul-inside", "100kB", "controls"])
def test_bad_path_segments_are_not_found(client, value):
    for prefix in (
        "/articles/",
        "/topics/",
        "/book/manage/",
        "/book/offer/",
        "/book/leave-waitlist/",
    ):
        assert client.get(prefix + value[:3000] + "/").status_code == 404


def test_search_and_topic_with_nul_answer_plainly(client):
    TopicFactory(slug="how-it-works")
    response = client.get(reverse("education:search"), {"q": f"ketamine{NUL}"})
    assert response.status_code == 200
    assert NUL not in response.content.decode()
    assert client.get(reverse("education:article_list"), {"topic": NUL}).status_code == 404


@override_settings(CLINIC_BOOKING_RATE_LIMIT="off")
@pytest.mark.parametrize("value", BAD_VALUES, ids=["nul", "nul-inside", "100kB", "controls"])
def test_booking_form_keeps_answers_and_explains_bad_values(client, value):
    fields = [*VALID_ANSWERS, "slot", "preferred_times", "form_token", "started", "website"]
    for field in [*fields, "therapist_name", "therapist_practice", "therapist_contact"]:
        data = {**VALID_ANSWERS, **form_tokens(client), "slot": "none", field: value}
        response = client.post(reverse("consultations:book"), data)
        assert response.status_code in (200, 302), (field, response.status_code)


@override_settings(CLINIC_BOOKING_POST_LIMIT="off")
@pytest.mark.parametrize("value", BAD_VALUES, ids=["nul", "nul-inside", "100kB", "controls"])
def test_waitlist_form_survives_bad_values(client, value):
    answers = {"email": "wait@example.com", "state": "NY", "consent": "on"}
    for field in [*answers, "modality", "clinician", "week", "website"]:
        response = client.post(reverse("consultations:waitlist_join"), {**answers, field: value})
        assert response.status_code in (200, 302), (field, response.status_code)
    leave = reverse("consultations:waitlist_leave", args=[value[:3000]])
    assert client.post(leave).status_code < 500


@pytest.mark.parametrize("value", BAD_VALUES, ids=["nul", "nul-inside", "100kB", "controls"])
def test_sign_in_and_manage_posts_survive_bad_values(client, value):
    request = ConsultationRequestFactory()
    manage = reverse("consultations:manage", args=[manage_token_make(request)])
    for data in ({"action": value}, {"action": "move", "slot": value}):
        assert client.post(manage, data).status_code < 500
    for data in ({"username": value, "password": "x"}, {"username": "a", "password": value}):
        assert client.post(reverse("admin:login"), data).status_code < 500
