"""The integration planner's form: dates and choices in, checked, nothing stored."""

from datetime import timedelta

from django import forms
from django.utils import timezone

from consultations.formatting import clinic_zone, format_day
from consultations.forms import WEEKDAYS
from education.models import PlannerItem
from education.planner import OWN_DATES, SERIES_PATTERNS

# A native date picker sends 2026-12-02; a browser without one shows a text box, where
# people type 12/02/2026 or 12/2/26.
DATE_FORMATS = ["%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%m-%d-%Y"]
DATE_HELP = "Choose the date, or type it as month/day/year, for example 12/02/2026."
OWN_DATE_FIELDS = [f"session_{number}" for number in range(2, 9)]
EARLIEST_DAYS_AGO = 60
LATEST_DAYS_AHEAD = 365
LONGEST_SERIES_DAYS = 12 * 7


def _date_field(label: str, required: bool) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=required,
        input_formats=DATE_FORMATS,
        error_messages={"invalid": "Enter a real date, for example 12/02/2026."},
    )


class PlannerForm(forms.Form):
    first_date = _date_field("Date of your first session", required=True)
    pattern = forms.ChoiceField(
        label="How often are your sessions?",
        choices=[(key, label) for key, (label, _) in SERIES_PATTERNS.items()]
        + [(OWN_DATES, "Another pattern: I will enter my session dates")],
        widget=forms.RadioSelect,
        initial="twice_weekly",
        error_messages={"required": "Choose how often your sessions are."},
    )
    supports = forms.ModelMultipleChoiceField(
        label="What would you like to plan for?",
        queryset=PlannerItem.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    weekdays = forms.TypedMultipleChoiceField(
        label="Which days are your therapy or integration sessions?",
        choices=WEEKDAYS,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    treatment_items = forms.ModelMultipleChoiceField(
        label="On treatment days, remind me to:",
        queryset=PlannerItem.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for number, name in enumerate(OWN_DATE_FIELDS, start=2):
            self.fields[name] = _date_field(f"Session {number}", required=False)
        self.order_fields(["first_date", "pattern", *OWN_DATE_FIELDS])
        for field in self.fields.values():
            if field.widget.input_type in ("radio", "checkbox"):
                field.widget.attrs["class"] = "form-check-input"
        self.fields["first_date"].help_text = DATE_HELP
        active = PlannerItem.objects.active()
        self.fields["supports"].queryset = active.filter(kind=PlannerItem.Kind.PRACTICE)
        self.fields["treatment_items"].queryset = active.filter(kind=PlannerItem.Kind.TREATMENT_DAY)
        self.fields["first_date"].error_messages["required"] = (
            "Enter the date of your first session."
        )

    @property
    def own_date_fields(self):
        return [self[name] for name in OWN_DATE_FIELDS]

    def clean_first_date(self):
        first = self.cleaned_data["first_date"]
        today = timezone.localtime(timezone.now(), clinic_zone()).date()
        earliest = today - timedelta(days=EARLIEST_DAYS_AGO)
        latest = today + timedelta(days=LATEST_DAYS_AHEAD)
        if not earliest <= first <= latest:
            raise forms.ValidationError(
                f"Enter a date between {format_day(earliest)}, {earliest.year} "
                f"and {format_day(latest)}, {latest.year}."
            )
        return first

    def clean(self):
        cleaned = super().clean()
        first = cleaned.get("first_date")
        if cleaned.get("pattern") == OWN_DATES and first:
            own = [cleaned[name] for name in OWN_DATE_FIELDS if cleaned.get(name)]
            if not own and not any(self.has_error(name) for name in OWN_DATE_FIELDS):
                self.add_error(
                    OWN_DATE_FIELDS[0],
                    "Enter the date of your second session, or choose one of the patterns.",
                )
            for name in OWN_DATE_FIELDS:
                day = cleaned.get(name)
                if day and not first < day <= first + timedelta(days=LONGEST_SERIES_DAYS):
                    self.add_error(
                        name,
                        "Enter a date after your first session and within 12 weeks of it.",
                    )
        needs_days = [item for item in cleaned.get("supports", []) if item.on_chosen_weekdays]
        if needs_days and not cleaned.get("weekdays"):
            self.add_error(
                "weekdays",
                f"Choose the days of your sessions for “{needs_days[0].label}”, or untick it.",
            )
        return cleaned

    def own_dates(self) -> list:
        return [self.cleaned_data[name] for name in OWN_DATE_FIELDS if self.cleaned_data.get(name)]

    def error_summary(self) -> list[tuple[str, str]]:
        """(input id, message) pairs in page order, for the summary at the top."""
        items = []
        for name in self.fields:
            for error in self.errors.get(name, []):
                bound = self[name]
                grouped = isinstance(
                    bound.field.widget, forms.CheckboxSelectMultiple | forms.RadioSelect
                )
                items.append((f"{bound.auto_id}_0" if grouped else bound.auto_id, error))
        return items
