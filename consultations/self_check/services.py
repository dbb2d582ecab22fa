"""Writes for the self-check: only ever storing answers a patient chose to share."""

from django.utils import timezone

from consultations.self_check.models import SHARE_POLICY_VERSION, ScreenQuestion, SharedSelfCheck
from consultations.self_check.sharing import SelfCheckAnswers


def shared_self_check_save(*, consultation_request, answers: SelfCheckAnswers) -> SharedSelfCheck:
    """Store the answers with the request, with the consent record. Call it inside the
    transaction that creates the request; the one-to-one field keeps it to one copy."""
    rows = answers.screen_rows(ScreenQuestion.objects.for_self_check())
    return SharedSelfCheck.objects.create(
        request=consultation_request,
        phq9_answers=list(answers.phq9),
        phq9_difficulty=answers.difficulty,
        phq9_score=answers.score,
        screen_answers=[
            {
                "key": row.key,
                "question": row.question,
                "answer": row.answer,
                "needs_attention": row.needs_attention,
                "rules_out": row.rules_out,
                "explanation": row.explanation,
            }
            for row in rows
        ],
        call_back_today=answers.self_harm_thoughts,
        taken_at=answers.taken_at,
        consent_at=timezone.now(),
        consent_policy_version=SHARE_POLICY_VERSION,
    )


def needs_call_back_today(consultation_request) -> bool:
    """True when the request's shared self-check answered PHQ-9 item 9 above "not at all"."""
    return SharedSelfCheck.objects.filter(
        request_id=consultation_request.pk, call_back_today=True
    ).exists()
