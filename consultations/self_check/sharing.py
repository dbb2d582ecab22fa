"""A patient's answers, what they mean, and the signed token that carries them to booking.

The token is signed (it cannot be changed without the secret key) and expires after
SHARE_MAX_AGE; it travels only in the body of a POST, never in a URL, a cookie or the
session. It is checked again, in full, when the booking form is sent.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property

from django.core import signing
from django.utils import timezone

from consultations.self_check import phq9
from consultations.self_check.models import ScreenAnswer, ScreenQuestion

SHARE_SALT = "consultations.self-check.share"
SHARE_MAX_AGE = 60 * 60  # an hour: time enough to fill in the booking form

EXPIRED_MESSAGE = (
    "Your self-check answers were more than an hour old, so we did not send them. Send the "
    "form again to book without them, or take the self-check again first."
)
REFUSED_MESSAGE = (
    "We could not check your self-check answers, so we did not send them. Send the form "
    "again to book without them, or take the self-check again first."
)


class SharedAnswersRefused(Exception):
    """The token was changed, forged, malformed or too old; `message` says what to do."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ScreenRow:
    key: str
    question: str
    answer: str
    answer_label: str
    needs_attention: bool
    rules_out: bool
    explanation: str


@dataclass(frozen=True)
class SelfCheckAnswers:
    phq9: tuple[int, ...]
    difficulty: str
    screen: dict[str, str] = field(hash=False)
    taken_at: datetime

    @cached_property
    def score(self) -> int:
        return phq9.score(self.phq9)

    @property
    def band(self) -> phq9.Band:
        return phq9.band(self.score)

    @property
    def self_harm_thoughts(self) -> bool:
        return phq9.self_harm_thoughts(self.phq9)

    def screen_rows(self, questions) -> list[ScreenRow]:
        labels = dict(ScreenAnswer.choices)
        rows = []
        for question in questions:
            answer = self.screen.get(question.key)
            if answer is None:
                continue
            rows.append(
                ScreenRow(
                    key=question.key,
                    question=question.text,
                    answer=answer,
                    answer_label=labels[answer],
                    needs_attention=question.needs_attention(answer),
                    rules_out=question.rules_out_with(answer),
                    explanation=question.explanation,
                )
            )
        return rows


def share_token_make(answers: SelfCheckAnswers) -> str:
    payload = {
        "p": list(answers.phq9),
        "d": answers.difficulty,
        "s": answers.screen,
        "t": int(answers.taken_at.timestamp()),
    }
    return signing.dumps(payload, salt=SHARE_SALT, compress=True)


def read_shared_answers(token: str) -> SelfCheckAnswers:
    """The answers in a share token, checked again in full; raises SharedAnswersRefused.

    This is the one way the booking flow reads a self-check.
    """
    try:
        payload = signing.loads(token, salt=SHARE_SALT, max_age=SHARE_MAX_AGE)
    except signing.SignatureExpired:
        raise SharedAnswersRefused(EXPIRED_MESSAGE) from None
    except signing.BadSignature:
        raise SharedAnswersRefused(REFUSED_MESSAGE) from None
    try:
        answers = _answers_from(payload)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise SharedAnswersRefused(REFUSED_MESSAGE) from None
    return answers


def _answers_from(payload: dict) -> SelfCheckAnswers:
    items = tuple(payload["p"])
    if len(items) != len(phq9.ITEMS) or any(type(a) is not int or not 0 <= a <= 3 for a in items):
        raise ValueError("bad PHQ-9 answers")
    difficulty = payload["d"]
    if difficulty not in {"", *dict(phq9.DIFFICULTY_OPTIONS)}:
        raise ValueError("bad difficulty")
    screen = dict(payload["s"])
    known = {question.key for question in ScreenQuestion.objects.for_self_check()}
    if set(screen) - known or any(a not in ScreenAnswer.values for a in screen.values()):
        raise ValueError("bad screen answers")
    taken_at = datetime.fromtimestamp(int(payload["t"]), tz=UTC)
    if taken_at > timezone.now():
        raise ValueError("taken in the future")
    return SelfCheckAnswers(phq9=items, difficulty=difficulty, screen=screen, taken_at=taken_at)
