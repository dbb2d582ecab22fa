"""The booking form, the patient's move form and the admin's slot-series form."""

import re
from datetime import date, time, timedelta
from itertools import groupby

import phonenumbers
from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Field, Fieldset, Layout, Submit
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.urls import reverse
from django.utils import timezone
from phonenumber_field.formfields import PhoneNumberField
from phonenumber_field.phonenumber import to_python as phone_number_from

from consultations.formatting import (
    clinic_zone,
    clinic_zone_name,
    format_clinic_clock,
    format_clinic_day,
    format_day,
)
from consultations.models import (
    AvailabilitySlot,
    Clinician,
    DiscussTopic,
    HeardAbout,
    Location,
    Modality,
    PreferredContact,
    SelfPayAnswer,
    TherapistAnswer,
    clinic_week_start,
    earliest_bookable_start,
    latest_bookable_start,
)
from consultations.self_check.sharing import SharedAnswersRefused, read_shared_answers
from consultations.services import TherapistDetails
from consultations.tokens import form_token_age
from consultations.us_states import US_STATES


def privacy_line() -> str:
    """The link to the privacy notice, shown beside every form's consent boxes."""
    return (
        '<p class="form-text">How we use and protect your answers: '
        f'<a href="{reverse("privacy")}">our privacy notice</a>.</p>'
    )


NO_SLOT = "none"
NO_SLOT_LABEL = "None of these times work for me: contact me to arrange a time"
MAX_SLOTS_SHOWN = 24
# Each missing answer says what to do, so the error summary never repeats one vague line.
REQUIRED_MESSAGES = {
    "full_name": "Enter your name.",
    "email": "Enter your email address.",
    "phone": "Enter your phone number.",
    "preferred_contact": "Choose how we should contact you.",
    "state": "Choose the state where you live.",
    "is_adult": "Confirm that you are 18 or older. We can only see adults.",
    "has_therapist": "Tell us if you see a therapist now, or choose “I'd rather not say”.",
    "contact_consent": "Tick the box to let us contact you about this request.",
    "not_emergency_ack": "Tick the box to show you understand this form is not for emergencies.",
}
TAKEN_MESSAGE = "That time was just taken. Please choose another time."
BOT_MESSAGE = (
    "Sorry, we could not send your request just now. Please check your answers, wait a "
    "moment and send it again, or call us."
)
EXPIRED_MESSAGE = "This form had expired. Please check your answers and send it again."
LIMIT_MESSAGE = (
    "We could not send this request: many requests came from here in a short while. "
    "Your answers are kept below."
)
THERAPIST_UNREACHABLE = (
    "Enter your therapist's phone number (all 10 digits, area code first) or their email address."
)
THERAPIST_NO_CONSENT = (
    "Tick the box to let us contact your therapist, or clear their details: we keep them "
    "only with your permission."
)
THERAPIST_NOT_YES = (
    "To let us contact your therapist, answer “Yes” to “Do you see a therapist or "
    "counselor now?”, or untick this box."
)
THERAPIST_NAME_MISSING = "Enter your therapist's name, or untick the box that lets us contact them."
THERAPIST_CONTACT_MISSING = (
    "Enter your therapist's phone number or email, or untick the box that lets us contact them."
)
THERAPIST_FIELDS = ("therapist_name", "therapist_practice", "therapist_contact")
# Checked by the form, never stored as answers: the consent boxes (the request records
# when they were given), the box for sharing self-check answers, the therapist's details
# (they go as one `therapist`, and only with their box ticked), and the bot trap.
NOT_REQUEST_FIELDS = {
    "is_adult",
    "contact_consent",
    "not_emergency_ack",
    "share_self_check",
    *THERAPIST_FIELDS,
    "therapist_contact_consent",
    "website",
}
US_PHONE_REGIONS = {"US", "AS", "GU", "MP", "PR", "VI"}


def slot_details(slot: AvailabilitySlot) -> str:
    """'video call with Dr. Ana Ruiz, MD, 30 minutes', and for in person where:
    'in person with a clinician at Midtown office, 100 Example Avenue, New York, NY'."""
    where = f" at {slot.location.name}, {slot.location.one_line_address}" if slot.location else ""
    return (
        f"{slot.get_modality_display()} with {slot.clinician.name_for_patients}{where}, "
        f"{slot.duration_minutes} minutes"
    )


def slot_label(slot: AvailabilitySlot) -> str:
    """'Tuesday, March 3, 2:30 pm Eastern time, video call with Dr. Ana Ruiz, MD, 30 minutes'."""
    return (
        f"{format_clinic_day(slot.starts_at)}, {format_clinic_clock(slot.starts_at)} "
        f"{clinic_zone_name(slot.starts_at)}, {slot_details(slot)}"
    )


def state_code(value) -> str:
    """A US state's postal code from the form or the address, or "" if it is none."""
    value = (value or "").strip().upper() if isinstance(value, str) else ""
    return value if value in dict(US_STATES) else ""


class SlotChoiceField(forms.Field):
    """A slot id from the radio list, or "none" to be contacted to arrange a time.

    Cleans to an AvailabilitySlot bookable online or None. Unknown ids, closed or past
    slots, slots too soon to change online and slots that filled since the page was shown
    are validation errors. The hold in the
    service checks again, for a slot that fills in the millisecond after this check.
    """

    default_error_messages = {
        "required": "Choose a time, or choose to be contacted to arrange one.",
        "invalid": "Please choose one of the times shown.",
        "closed": "That time is no longer open. Please choose another time.",
        "too_soon": "That time is too soon to book online. Please choose a later time, or call us.",
        "too_far": "That time is further ahead than we book online. Please choose an earlier "
        "time, or ask us to contact you.",
        "unlicensed": "That time is a video or phone call with a clinician who is not licensed "
        "in the state you chose, so we cannot book it. Please choose one of the times shown "
        "for your state, an in-person time, or ask us to contact you.",
        "clinician_busy": "That clinician can no longer see anyone at that time. Please "
        "choose another time.",
        "taken": TAKEN_MESSAGE,
    }

    def __init__(self, *, slots, **kwargs):
        super().__init__(**kwargs)
        self.slots = list(slots)
        self.state = ""  # the patient's state: only times legal there are accepted

    def to_python(self, value):
        value = (value or "").strip()
        if value in ("", NO_SLOT):
            return value or None
        if not value.isdigit() or len(value) > 18:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        chosen = AvailabilitySlot.objects.filter(pk=int(value))
        slot = chosen.bookable(state=self.state or None).first()
        if slot is not None:
            return slot
        if not chosen.exists():
            code = "invalid"
        elif self.state and chosen.bookable().exists():
            code = "unlicensed"
        elif chosen.open_to_patients().filter(starts_at__lt=earliest_bookable_start()).exists():
            code = "too_soon"
        elif chosen.open_to_patients().filter(starts_at__gt=latest_bookable_start()).exists():
            code = "too_far"
        elif chosen.open_to_patients().exclude(pk__in=AvailabilitySlot.objects.full()).exists():
            code = "clinician_busy"  # a place left, but the buffer or the daily maximum
        elif chosen.open_to_patients().exists():
            code = "taken"
        else:
            code = "closed"
        raise forms.ValidationError(self.error_messages[code], code=code)

    def clean(self, value):
        cleaned = self.to_python(value)
        if cleaned is None:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        return None if cleaned == NO_SLOT else cleaned


class SlotFormMixin:
    """Shared by the booking and move forms: the slot list grouped by day for the template."""

    def shown_slots(self):
        return self.fields["slot"].slots

    def slot_groups(self):
        selected = str(self["slot"].value() or "")
        groups = []
        zone = clinic_zone()
        by_day = groupby(
            self.shown_slots(), key=lambda s: timezone.localtime(s.starts_at, zone).date()
        )
        for _day, slots in by_day:
            slots = list(slots)
            groups.append(
                {
                    "day": format_clinic_day(slots[0].starts_at),
                    "options": [
                        {
                            "value": str(slot.pk),
                            "label": slot_label(slot),
                            # The day and zone are read out but not repeated on screen,
                            # where the day's heading and the intro already say them.
                            "day": format_clinic_day(slot.starts_at),
                            "clock": format_clinic_clock(slot.starts_at),
                            "zone": clinic_zone_name(slot.starts_at),
                            "details": slot_details(slot),
                            "checked": str(slot.pk) == selected,
                        }
                        for slot in slots
                    ],
                }
            )
        return groups

    def slot_none_checked(self):
        return str(self["slot"].value() or "") == NO_SLOT


def _bookable_slots(state: str = ""):
    """Every time a patient can book online within the booking horizon, soonest first;
    with their state, only the times they may legally book from there."""
    slots = AvailabilitySlot.objects.bookable(state=state or None)
    return slots.select_related("clinician", "location").order_by("starts_at", "modality")


_week_start = clinic_week_start  # the Monday of the clinic-zone week of a time


class ErrorSummaryMixin:
    """For public forms with an error summary: `error_order` lists the fields in page order."""

    error_order: list[str] = []

    def error_summary(self):
        """(field id, message) pairs, in page order, for the summary at the top."""
        items = [("", error) for error in self.non_field_errors()]
        for name in self.error_order:
            for error in self.errors.get(name, []):
                items.append((self.first_input_id(name), error))
        return items

    def first_input_id(self, name: str) -> str:
        """The id of the field's input, or of its first option for a group of choices."""
        bound = self[name]
        grouped = isinstance(bound.field.widget, forms.RadioSelect | forms.CheckboxSelectMultiple)
        return f"{bound.auto_id}_0" if grouped else bound.auto_id


class BookingForm(ErrorSummaryMixin, SlotFormMixin, forms.Form):
    slot = SlotChoiceField(slots=(), label="Choose a time")
    preferred_times = forms.CharField(
        label="If none of these times work: which days and times suit you?",
        max_length=300,
        required=False,
        help_text="For example: weekday mornings, or Tuesday after 3 pm.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    full_name = forms.CharField(
        label="Your name", max_length=100, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    email = forms.EmailField(
        label="Email", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    phone = PhoneNumberField(
        label="Phone",
        region="US",
        max_length=32,
        help_text="A US number, for example (212) 555-0123.",
        widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
    )
    preferred_contact = forms.ChoiceField(
        label="How should we contact you?",
        choices=PreferredContact.choices,
        widget=forms.RadioSelect,
    )
    state = forms.ChoiceField(
        label="State where you live",
        choices=[("", "Choose your state")] + US_STATES,
        widget=forms.Select(attrs={"autocomplete": "address-level1"}),
    )
    is_adult = forms.BooleanField(label="I am 18 or older")
    discuss_topics = forms.MultipleChoiceField(
        label="What would you like to talk about? (optional)",
        choices=DiscussTopic.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    note = forms.CharField(
        label="Anything else we should know? (optional)",
        help_text="Please do not include medical details. At most 500 characters.",
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    has_therapist = forms.ChoiceField(
        label="Do you see a therapist or counselor now?",
        choices=TherapistAnswer.choices,
        widget=forms.RadioSelect,
    )
    # The patient's own therapist: optional, kept only with its own consent box ticked.
    therapist_name = forms.CharField(
        label="Your therapist's name",
        max_length=100,
        required=False,
        # Never the browser's guess: it would fill in the patient's own name and email.
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    therapist_practice = forms.CharField(
        label="Their practice or clinic (optional)",
        max_length=150,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    therapist_contact = forms.CharField(
        label="Their phone number or email",
        max_length=254,
        required=False,
        help_text="For example (718) 555-0142 or name@example.com.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    therapist_contact_consent = forms.BooleanField(
        label="You may contact my therapist to coordinate my care.",
        required=False,
    )
    expects_self_pay = forms.ChoiceField(
        label="Do you expect to pay for this care yourself? (optional)",
        help_text="If you do, we will send you a written Good Faith Estimate of the cost.",
        choices=SelfPayAnswer.choices,
        widget=forms.RadioSelect,
        required=False,
    )
    heard_about = forms.ChoiceField(
        label="How did you hear about us? (optional)",
        choices=[("", "Choose one")] + HeardAbout.choices,
        required=False,
    )
    contact_consent = forms.BooleanField(
        label="You may contact me by phone, email or text about this request."
    )
    not_emergency_ack = forms.BooleanField(
        label="I understand this form is not for emergencies. In a crisis I will call or "
        "text 988, or call 911."
    )
    # Self-check answers the patient chose to share: a signed token, read again on submit.
    # The box comes first so it is cleaned before the token.
    share_self_check = forms.BooleanField(
        label="Send my self-check answers with this request", required=False
    )
    self_check = forms.CharField(required=False, max_length=4000, widget=forms.HiddenInput)
    # Bot traps: a field people never see, and the time the form was served.
    website = forms.CharField(
        label="Leave this empty",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )
    # The one-time token, signed with this session and the moment the form was served.
    form_token = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)

    error_order = [
        "slot",
        "preferred_times",
        "full_name",
        "email",
        "phone",
        "preferred_contact",
        "state",
        "is_adult",
        "discuss_topics",
        "note",
        "has_therapist",
        "therapist_name",
        "therapist_practice",
        "therapist_contact",
        "therapist_contact_consent",
        "expects_self_pay",
        "heard_about",
        "self_check",
        "contact_consent",
        "not_emergency_ack",
    ]

    def __init__(self, *args, session, week: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.session = session
        self.asked_week = week
        # Read when the page is drawn, so a form shown again lists what is open then, for
        # the state the patient gave (the times legal there).
        source = self.data if self.is_bound else self.initial
        self.patient_state = state_code(source.get("state"))
        self.fields["slot"].state = self.patient_state
        self.fields["slot"].slots = _bookable_slots(self.patient_state)
        # The help text beneath shows an example; the error says what is wrong instead.
        self.fields["phone"].error_messages["invalid"] = (
            "That is not a phone number we can call. Enter all 10 digits, area code first."
        )
        for name, message in REQUIRED_MESSAGES.items():
            self.fields[name].error_messages["required"] = message
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = Layout(
            Field("slot", template="consultations/includes/slot_field.html"),
            Fieldset(
                "About you",
                "full_name",
                "email",
                "phone",
                "preferred_contact",
                "state",
                "is_adult",
            ),
            Fieldset(
                "About your visit",
                "discuss_topics",
                "note",
                "has_therapist",
                Fieldset(
                    "Your therapist (optional)",
                    HTML(
                        '<p class="form-text">If you see a therapist and would like us to '
                        "work with them, tell us who they are and tick the box. We keep "
                        "their details, and contact them about your care here, only with "
                        "your permission.</p>"
                    ),
                    "therapist_name",
                    "therapist_practice",
                    "therapist_contact",
                    "therapist_contact_consent",
                    css_class="therapist-details",
                ),
                "expects_self_pay",
                "heard_about",
            ),
            Field("self_check", template="consultations/self_check/booking_share.html"),
            Fieldset(
                "Before you send",
                HTML(privacy_line()),
                "contact_consent",
                "not_emergency_ack",
            ),
            Field("website", wrapper_class="visually-hidden"),
            "form_token",
            HTML(
                '<p class="form-text">We contact you to confirm before your consultation, '
                "usually within one working day.</p>"
            ),
            Submit("submit", "Request this consultation"),
        )

    # -- the times, one week at a time ----------------------------------------------------

    def weeks(self) -> list[date]:
        """The Mondays of the weeks that have open times, in order."""
        return sorted({_week_start(slot.starts_at) for slot in self.fields["slot"].slots})

    def shown_week(self) -> date | None:
        """The week asked for by an earlier/later button, else the chosen time's week,
        else the first week with open times."""
        weeks = self.weeks()
        if not weeks:
            return None
        asked = self.asked_week
        try:
            wanted = date.fromisoformat(asked[:10])
        except ValueError:
            chosen = self._chosen_slot()
            wanted = _week_start(chosen.starts_at) if chosen else weeks[0]
        # A week with no times left (or a made-up one): the nearest later week, else the last.
        return next((week for week in weeks if week >= wanted), weeks[-1])

    def week_nav(self) -> dict | None:
        week = self.shown_week()
        if week is None:
            return None
        weeks = self.weeks()
        at = weeks.index(week)
        return {
            "label": f"Week of {format_day(week)}",
            "earlier": weeks[at - 1] if at > 0 else None,
            "later": weeks[at + 1] if at + 1 < len(weeks) else None,
            "count": len(weeks),
        }

    def shown_slots(self):
        week = self.shown_week()
        shown = [s for s in self.fields["slot"].slots if _week_start(s.starts_at) == week]
        chosen = self._chosen_slot()
        if chosen is not None and chosen not in shown:
            shown.insert(0, chosen)  # the patient's choice stays with them on every week
        return shown

    def _chosen_slot(self):
        value = str(self["slot"].value() or "")
        return next((s for s in self.fields["slot"].slots if str(s.pk) == value), None)

    def clean_self_check(self):
        """The shared self-check answers, or None if there are none or the box is unticked."""
        token = self.cleaned_data["self_check"]
        if not token or not self.cleaned_data.get("share_self_check"):
            return None
        try:
            return read_shared_answers(token)
        except SharedAnswersRefused as refused:
            raise forms.ValidationError(refused.message, code="refused") from None

    def clean_therapist_contact(self):
        """A phone number or an email address, as (phone, email); ("", "") when empty."""
        value = self.cleaned_data["therapist_contact"].strip()
        if not value:
            return "", ""
        if "@" in value:
            try:
                validate_email(value)
            except ValidationError:
                raise forms.ValidationError(THERAPIST_UNREACHABLE, code="invalid") from None
            return "", value
        phone = phone_number_from(value, region="US")
        if not phone.is_valid():  # an unreadable string comes back as an invalid number
            raise forms.ValidationError(THERAPIST_UNREACHABLE, code="invalid")
        return phone, ""

    def _clean_therapist(self, cleaned) -> None:
        """The therapist's details go with the request only with their box ticked: details
        without it, or the box without a name and a way to reach them, are refused with a
        message (nothing typed is lost), never dropped without a word."""
        cleaned["therapist"] = None
        typed = any(
            str(self.data.get(self.add_prefix(name), "")).strip() for name in THERAPIST_FIELDS
        )
        if not cleaned.get("therapist_contact_consent"):
            if typed:
                self.add_error("therapist_contact_consent", THERAPIST_NO_CONSENT)
            return
        refusals = []
        has_therapist = cleaned.get("has_therapist")
        if has_therapist and has_therapist != TherapistAnswer.YES:
            refusals.append(("therapist_contact_consent", THERAPIST_NOT_YES))
        name = cleaned.get("therapist_name")
        if name == "":
            refusals.append(("therapist_name", THERAPIST_NAME_MISSING))
        reach = cleaned.get("therapist_contact")
        if reach == ("", ""):
            refusals.append(("therapist_contact", THERAPIST_CONTACT_MISSING))
        for field, message in refusals:
            self.add_error(field, message)
        if refusals or name is None or reach is None or has_therapist is None:
            return  # refused here, or a field's own check already said what is wrong
        phone, email = reach
        cleaned["therapist"] = TherapistDetails(
            name=name,
            practice=cleaned.get("therapist_practice", ""),
            phone=phone,
            email=email,
        )

    def clean_phone(self):
        # The field parses "+44 20 7946 0958" as a valid number too: the clinic calls and
        # texts US numbers only (the states and territories of the state list).
        phone = self.cleaned_data["phone"]
        if phone and phonenumbers.region_code_for_number(phone) not in US_PHONE_REGIONS:
            raise forms.ValidationError(
                "We can only call and text US numbers. Enter a US phone number."
            )
        return phone

    def clean(self):
        cleaned = super().clean()
        if (
            "slot" in cleaned
            and cleaned["slot"] is None
            and not cleaned.get("preferred_times", "").strip()
        ):
            self.add_error(
                "preferred_times", "Tell us which days and times suit you, so we can call then."
            )
        self._clean_therapist(cleaned)
        age = self.form_token_age()
        if age is None:
            self.add_error(None, EXPIRED_MESSAGE)
        elif cleaned.get("website") or age < settings.CLINIC_BOOKING_MIN_SECONDS:
            # The honeypot was filled, or the form came back too fast to be human.
            self.add_error(None, BOT_MESSAGE)
        return cleaned

    def carried_over(self, *, week: str) -> "BookingForm":
        """An unchecked form holding what this one was sent with, showing `week`."""
        answers = {
            name: field.widget.value_from_datadict(self.data, self.files, self.add_prefix(name))
            for name, field in self.fields.items()
        }
        return BookingForm(initial=answers, session=self.session, week=week[:10])

    def form_token_age(self) -> float | None:
        """Seconds since this session was served the form; None for a token that is
        missing, forged, another session's or too old (the form is then shown again with
        a new one)."""
        token = self.data.get("form_token") if self.is_bound else self.initial.get("form_token")
        return form_token_age(self.session, str(token or "")[:200])

    def request_fields(self) -> dict:
        """The answers, named as consultation_request_create takes them."""
        return {k: v for k, v in self.cleaned_data.items() if k not in NOT_REQUEST_FIELDS}


class MoveForm(SlotFormMixin, forms.Form):
    slot = SlotChoiceField(slots=(), label="Choose a new time")

    def __init__(self, *args, current_slot=None, state: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        # The soonest open times only: the move form has no weeks to page through; only
        # times the patient may book from their state.
        self.fields["slot"].state = state
        soonest = _bookable_slots(state)[:MAX_SLOTS_SHOWN]
        self.fields["slot"].slots = [s for s in soonest if s != current_slot]

    def clean_slot(self):
        slot = self.cleaned_data["slot"]
        if slot is None:
            raise forms.ValidationError("Choose one of the times shown.")
        return slot


class WaitlistForm(ErrorSummaryMixin, forms.Form):
    """'Email me when a time opens': the one contact we keep, where the patient lives (what
    is legal for them), optionally what they wait for, and their consent."""

    email = forms.EmailField(
        label="Email", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    state = forms.ChoiceField(
        label="State where you live",
        choices=[("", "Choose your state")] + US_STATES,
        widget=forms.Select(attrs={"autocomplete": "address-level1"}),
    )
    modality = forms.ChoiceField(
        label="How would you like to meet? (optional)",
        choices=[("", "Any way")]
        + [(value, label.capitalize()) for value, label in Modality.choices],
        required=False,
        widget=forms.RadioSelect,
    )
    clinician = forms.ChoiceField(label="With which clinician? (optional)", required=False)
    week = forms.ChoiceField(label="Which week? (optional)", required=False)
    consent = forms.BooleanField(
        label="Email me when a time opens that fits. I can leave the waitlist from any of "
        "those emails."
    )
    website = forms.CharField(
        label="Leave this empty",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    error_order = ["email", "state", "modality", "clinician", "week", "consent"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Only clinicians patients can tell apart: those shown by name.
        named = Clinician.objects.active().exclude(display_name="")
        self.fields["clinician"].choices = [("", "Any clinician")] + [
            (str(c.pk), c.name_for_patients) for c in named
        ]
        today = timezone.localtime(timezone.now(), clinic_zone()).date()
        first = today - timedelta(days=today.weekday())
        last = today + timedelta(days=settings.CLINIC_BOOKING_HORIZON_DAYS)
        mondays = [first + timedelta(weeks=n) for n in range((last - first).days // 7 + 1)]
        self.fields["week"].choices = [("", "Any week")] + [
            (monday.isoformat(), f"Week of {format_day(monday)}") for monday in mondays
        ]
        self.fields["email"].error_messages["required"] = "Enter your email address."
        self.fields["state"].error_messages["required"] = REQUIRED_MESSAGES["state"]
        self.fields["consent"].error_messages["required"] = (
            "Tick the box to let us email you when a time opens."
        )
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = Layout(
            "email",
            "state",
            Fieldset(
                "What are you waiting for? (optional)",
                "modality",
                "clinician",
                "week",
            ),
            Fieldset("Before you send", HTML(privacy_line()), "consent"),
            Field("website", wrapper_class="visually-hidden"),
            Submit("submit", "Join the waitlist"),
        )

    def clean_clinician(self):
        pk = self.cleaned_data["clinician"]
        return Clinician.objects.active().filter(pk=pk).first() if pk else None

    def clean_week(self):
        week = self.cleaned_data["week"]
        return date.fromisoformat(week) if week else None

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("website"):
            self.add_error(None, BOT_MESSAGE)
        return cleaned

    def entry_fields(self) -> dict:
        """The answers, named as waitlist_entry_create takes them."""
        return {k: v for k, v in self.cleaned_data.items() if k not in ("consent", "website")}


WEEKDAYS = [
    (0, "Monday"),
    (1, "Tuesday"),
    (2, "Wednesday"),
    (3, "Thursday"),
    (4, "Friday"),
    (5, "Saturday"),
    (6, "Sunday"),
]


class SlotSeriesForm(forms.Form):
    clinician = forms.ModelChoiceField(queryset=Clinician.objects.active())
    location = forms.ModelChoiceField(
        queryset=Location.objects.all(),
        required=False,
        help_text="Where, for in-person slots. Leave empty for video and phone.",
    )
    start_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    end_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    weekdays = forms.TypedMultipleChoiceField(
        choices=WEEKDAYS, coerce=int, widget=forms.CheckboxSelectMultiple, initial=[0, 1, 2, 3, 4]
    )
    start_times = forms.CharField(
        max_length=300,
        help_text="24-hour times separated by commas, in the clinic's time zone. "
        "For example: 09:00, 10:30, 14:00",
    )
    duration_minutes = forms.IntegerField(min_value=5, max_value=240, initial=30)
    modality = forms.ChoiceField(choices=Modality.choices)
    capacity = forms.IntegerField(min_value=1, max_value=50, initial=1)

    def clean_start_times(self):
        times = []
        for part in re.split(r"[,\s]+", self.cleaned_data["start_times"].strip()):
            if not part:
                continue
            match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", part)
            if not match:
                raise forms.ValidationError(f"“{part[:10]}” is not a time like 09:30.")
            times.append(time(int(match[1]), int(match[2])))
        if not times:
            raise forms.ValidationError("Enter at least one start time.")
        return times

    def clean(self):
        cleaned = super().clean()
        clinician, modality = cleaned.get("clinician"), cleaned.get("modality")
        if clinician and modality and not clinician.offers(modality):
            self.add_error(
                "modality",
                f"{clinician} does not offer {Modality(modality).label} consultations "
                "(see their page under Clinicians).",
            )
        if modality == Modality.IN_PERSON and not cleaned.get("location"):
            self.add_error("location", "Choose where the in-person slots are.")
        start, end = cleaned.get("start_date"), cleaned.get("end_date")
        if start and end:
            if end < start:
                self.add_error("end_date", "The end date is before the start date.")
            elif (end - start).days > 366:
                self.add_error("end_date", "Choose a range of at most one year.")
        return cleaned
