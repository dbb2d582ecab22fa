"""The self-check's two tables (part of the consultations app; imported by its models).

- ScreenQuestion: the "could ketamine fit me?" questions. Staff edit the wording and the
  explanation in the admin; which answer needs a clinician and whether it usually rules
  ketamine out are set by the clinic's migration, not in the admin.
- SharedSelfCheck: the answers a patient chose to send with a consultation request, with
  the consent record. Nothing else about a self-check is ever stored.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from consultations.self_check import phq9
from consultations.self_check.screen_defaults import DEFAULT_QUESTIONS, screen_questions_missing

# Bump when the sharing wording on the result page or the booking form changes; each
# stored copy keeps the version the patient agreed to.
SHARE_POLICY_VERSION = "2026-12"


class ScreenAnswer(models.TextChoices):
    YES = "yes", "Yes"
    NO = "no", "No"
    NOT_SURE = "not_sure", "Not sure"


class ScreenQuestionManager(models.Manager):
    def for_self_check(self) -> list["ScreenQuestion"]:
        """Every question in order; installs the defaults first if any is missing (the
        migration installs them; this covers a database emptied since)."""
        questions = list(self.all())
        if len(questions) < len(_default_keys()):
            self.bulk_create(screen_questions_missing(self.model), ignore_conflicts=True)
            questions = list(self.all())
        return questions


def _default_keys() -> list[str]:
    return [key for key, *_rest in DEFAULT_QUESTIONS]


class ScreenQuestion(models.Model):
    key = models.SlugField(max_length=40, unique=True, editable=False)
    position = models.PositiveSmallIntegerField(default=0, editable=False)
    text = models.CharField(
        "question",
        max_length=300,
        help_text="Plain words, answered yes, no or not sure. Keep its meaning: the answer "
        "that needs a clinician's attention is fixed.",
    )
    concern_answer = models.CharField(
        "answer that needs a clinician",
        max_length=10,
        choices=[(ScreenAnswer.YES, "Yes"), (ScreenAnswer.NO, "No")],
        editable=False,
    )
    rules_out = models.BooleanField(
        "usually rules ketamine out",
        default=False,
        editable=False,
        help_text="A firm reason on the esketamine label, or the clinic's adults-only rule.",
    )
    explanation = models.TextField(
        max_length=600,
        help_text="Shown to the patient, and to staff, when the answer needs a clinician "
        "(or is 'not sure'). Say why, calmly, in plain words.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScreenQuestionManager()

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = "self-check question"
        constraints = [
            models.CheckConstraint(
                condition=Q(concern_answer__in=["yes", "no"]), name="screen_concern_yes_or_no"
            )
        ]

    def __str__(self) -> str:
        return self.text

    def needs_attention(self, answer: str) -> bool:
        return answer in (self.concern_answer, ScreenAnswer.NOT_SURE)

    def rules_out_with(self, answer: str) -> bool:
        return self.rules_out and answer == self.concern_answer


class SharedSelfCheck(models.Model):
    """One patient's self-check answers, stored only because they chose to share them."""

    request = models.OneToOneField(
        "consultations.ConsultationRequest", on_delete=models.CASCADE, related_name="self_check"
    )
    phq9_answers = models.JSONField("PHQ-9 answers (0-3, items 1-9)")
    phq9_difficulty = models.CharField(
        "PHQ-9 difficulty", max_length=10, blank=True, choices=phq9.DIFFICULTY_OPTIONS
    )
    phq9_score = models.PositiveSmallIntegerField("PHQ-9 score")
    # Each: {"key", "question" (the wording the patient saw), "answer", "needs_attention",
    # "rules_out", "explanation"}.
    screen_answers = models.JSONField(default=list)
    call_back_today = models.BooleanField(
        "call back today",
        default=False,
        help_text="PHQ-9 item 9 was answered above 'not at all'.",
    )
    taken_at = models.DateTimeField("self-check taken at")
    consent_at = models.DateTimeField("sharing agreed at", default=timezone.now)
    consent_policy_version = models.CharField(max_length=20, default=SHARE_POLICY_VERSION)

    class Meta:
        verbose_name = "shared self-check"
        constraints = [
            models.CheckConstraint(
                condition=Q(phq9_score__lte=phq9.MAX_SCORE), name="phq9_score_in_range"
            )
        ]

    def __str__(self) -> str:
        return f"Self-check for {self.request_id}"

    @property
    def band(self) -> phq9.Band:
        return phq9.band(self.phq9_score)

    def phq9_rows(self) -> list[tuple[int, str, str]]:
        labels = dict(phq9.OPTIONS)
        return [
            (number, item, labels[answer])
            for number, (item, answer) in enumerate(
                zip(phq9.ITEMS, self.phq9_answers, strict=True), start=1
            )
        ]
