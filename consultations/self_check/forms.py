"""The self-check form: the nine PHQ-9 items, its difficulty question and the screen."""

from django import forms
from django.utils import timezone

from consultations.self_check import phq9
from consultations.self_check.models import ScreenAnswer
from consultations.self_check.sharing import SelfCheckAnswers

SCREEN_PREFIX = "screen_"


def item_name(number: int) -> str:
    return f"item_{number}"


class SelfCheckForm(forms.Form):
    def __init__(self, *args, questions, **kwargs):
        super().__init__(*args, **kwargs)
        self.questions = list(questions)
        for number, text in enumerate(phq9.ITEMS, start=1):
            self.fields[item_name(number)] = forms.TypedChoiceField(
                label=f"{number}. {text}",
                choices=[(str(points), label) for points, label in phq9.OPTIONS],
                coerce=int,
                widget=forms.RadioSelect,
                error_messages={"required": f"Choose an answer for question {number}."},
            )
        self.fields["difficulty"] = forms.ChoiceField(
            label=phq9.DIFFICULTY_QUESTION,
            choices=phq9.DIFFICULTY_OPTIONS,
            required=False,
            widget=forms.RadioSelect,
        )
        for question in self.questions:
            self.fields[SCREEN_PREFIX + question.key] = forms.ChoiceField(
                label=question.text,
                choices=ScreenAnswer.choices,
                widget=forms.RadioSelect,
                error_messages={"required": f"Choose yes, no or not sure for: {question.text}"},
            )

    def phq9_fields(self):
        return [self[item_name(n)] for n in range(1, len(phq9.ITEMS) + 1)]

    def screen_fields(self):
        return [self[SCREEN_PREFIX + q.key] for q in self.questions]

    def self_harm_thoughts(self) -> bool:
        """Item 9 answered above "not at all", read from what was sent even when other
        answers are missing, so the crisis panel shows on the error path too."""
        value = self.data.get(item_name(phq9.SELF_HARM_ITEM), "") if self.is_bound else ""
        return value in {"1", "2", "3"}

    def answers(self) -> SelfCheckAnswers:
        data = self.cleaned_data
        return SelfCheckAnswers(
            phq9=tuple(data[item_name(n)] for n in range(1, len(phq9.ITEMS) + 1)),
            difficulty=data["difficulty"],
            screen={q.key: data[SCREEN_PREFIX + q.key] for q in self.questions},
            taken_at=timezone.now().replace(microsecond=0),
        )

    def error_summary(self) -> list[tuple[str, str]]:
        """(first option's id, message) pairs in page order, for the summary at the top."""
        return [
            (f"{self[name].auto_id}_0", error)
            for name in self.fields
            for error in self.errors.get(name, [])
        ]
