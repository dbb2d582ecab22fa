"""What a correctly signed share token may carry: each answer is checked again on submit,
and a token from before a screen question existed still books, without that question."""

import time

import pytest
from django.core import signing

from consultations.models import ConsultationRequest, ScreenQuestion, SharedSelfCheck
from consultations.self_check.sharing import SHARE_SALT
from tests.consultations.test_self_check_sharing import book_sharing, take_self_check

pytestmark = pytest.mark.django_db


AN_HOUR_AHEAD = "an hour from now"  # worked out in the test, on the test's clock


def signed(token: str, **changes) -> str:
    """The token's answers with `changes`, signed with the site's own key."""
    if changes.get("t") == AN_HOUR_AHEAD:
        changes["t"] = int(time.time()) + 3600
    payload = signing.loads(token, salt=SHARE_SALT) | changes
    return signing.dumps(payload, salt=SHARE_SALT, compress=True)


@pytest.mark.parametrize(
    "changes",
    [
        {"d": "unbearably"},
        {"s": {"adult": "yes", "favourite_colour": "no"}},
        {"s": {"adult": "perhaps"}},
        {"t": AN_HOUR_AHEAD},
    ],
    ids=["unknown-difficulty", "unknown-question", "unknown-answer", "taken-in-the-future"],
)
def test_each_signed_answer_is_checked_again(client, slot, changes):
    token = signed(take_self_check(client), **changes)
    response = book_sharing(client, slot, token)
    assert response.status_code == 200
    assert "We could not check your self-check answers" in response.content.decode()
    assert not ConsultationRequest.objects.exists() and not SharedSelfCheck.objects.exists()


def test_answers_from_before_a_new_screen_question_book_without_it(client, slot):
    token = take_self_check(client)
    answered = signing.loads(token, salt=SHARE_SALT)["s"]
    newest = ScreenQuestion.objects.for_self_check()[-1].key
    earlier = signed(token, s={k: v for k, v in answered.items() if k != newest})
    assert book_sharing(client, slot, earlier).status_code == 302
    stored = SharedSelfCheck.objects.get()
    assert [row["key"] for row in stored.screen_answers] == [
        q.key for q in ScreenQuestion.objects.for_self_check() if q.key != newest
    ]
