"""Staff admin for availability, consultation requests and the audit trail.

Request pages need the usual view/change permissions; export needs
`consultations.export_consultationrequest`. Every view of a request's change page, every
change and every export adds an AuditEvent; so does every staff change to a slot (added,
edited, opened, closed, deleted, or a series generated). The shared self-check answers and
the patient's therapist show on a request's page only to staff with their own view
permission, and the audit row of that view says they were shown.
"""

import csv
import re
from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from clinic.admin import DATETIME_OVERRIDES
from consultations.agenda import agenda_view
from consultations.formatting import clinic_zone, clinic_zone_name, format_clinic_time
from consultations.forms import WEEKDAYS, SlotSeriesForm
from consultations.models import (
    ACTIVE_STATUSES,
    HANDLE_PERMISSION,
    AuditAction,
    AuditEvent,
    AvailabilitySlot,
    Clinician,
    ClinicianState,
    ConsultationReminder,
    ConsultationRequest,
    Location,
    Modality,
    StaffCalendarFeed,
    StaffNote,
    Status,
    TherapistContact,
    clinic_day_start,
    request_handlers,
)
from consultations.notifications import STAFF_STATUS_EMAILS
from consultations.self_check.admin import SharedSelfCheckRequestAdminMixin
from consultations.services import (
    RequestClosed,
    SlotOverlaps,
    SlotUnavailable,
    StatusChanged,
    audit_event_record,
    availability_slot_save,
    availability_slot_series_create,
    consultation_request_move,
    consultation_request_resend_confirmation,
    consultation_request_set_status,
    staff_calendar_feed_revoke,
    staff_note_add,
)
from consultations.staff_calendar import calendar_feed_page
from consultations.waitlist import waitlist_place_opened

# ------------------------------------------------------------ clinicians, locations


class ClinicianStateFormSet(forms.BaseInlineFormSet):
    """In a table row the column heading is no label: name each box itself."""

    def add_fields(self, form, index):
        super().add_fields(form, index)
        form.fields["state"].widget.attrs["aria-label"] = "Licensed state"
        if "DELETE" in form.fields:
            name = form.instance.get_state_display() if form.instance.pk else "this state"
            form.fields["DELETE"].widget.attrs["aria-label"] = f"Delete {name}"


class ClinicianStateInline(admin.TabularInline):
    model = ClinicianState
    formset = ClinicianStateFormSet
    extra = 1
    verbose_name_plural = "licensed states (video and phone consultations only with patients there)"


@admin.register(Clinician)
class ClinicianAdmin(admin.ModelAdmin):
    list_display = ["__str__", "licensed_in", "modalities", "is_active", "is_sample", "user"]
    list_filter = ["is_active", "is_sample", "states__state"]
    search_fields = ["display_name", "credentials"]
    inlines = [ClinicianStateInline]
    fields = [
        "display_name",
        "credentials",
        "bio",
        ("offers_video", "offers_phone", "offers_in_person"),
        "is_active",
        "is_sample",
        "user",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user").prefetch_related("states")

    @admin.display(description="licensed in")
    def licensed_in(self, clinician):
        return ", ".join(s.state for s in clinician.states.all()) or "no state yet"

    @admin.display(description="offers")
    def modalities(self, clinician):
        return ", ".join(m.label for m in Modality if clinician.offers(m))

    def get_readonly_fields(self, request, obj=None):
        # Whose consultations an account is shown as its own: administrators decide.
        return [] if request.user.has_perm("auth.change_user") else ["user"]


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ["name", "one_line_address", "phone_display"]
    search_fields = ["name", "address"]

    @admin.display(description="phone")
    def phone_display(self, location):
        return format_html(
            '<a href="tel:{}">{}</a>', location.phone.as_e164, location.phone.as_national
        )


# ---------------------------------------------------------------------------- slots


class SlotStateFilter(admin.SimpleListFilter):
    title = "show"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("upcoming", "Upcoming"), ("open", "Open"), ("full", "Full"), ("past", "Past")]

    def queryset(self, request, queryset):
        return {
            "upcoming": queryset.upcoming,
            "open": queryset.bookable,
            "full": queryset.full,
            "past": lambda: queryset.filter(starts_at__lte=timezone.now()),
        }.get(self.value(), lambda: queryset)()


SLOT_AUDITED_FIELDS = [
    "clinician",
    "location",
    "starts_at",
    "duration_minutes",
    "modality",
    "capacity",
    "is_open",
]


def _slot_value(slot: AvailabilitySlot, name: str) -> str:
    """A slot's field as staff read it in the audit trail."""
    if name == "starts_at":
        return format_clinic_time(slot.starts_at)
    if name == "modality":
        return slot.get_modality_display()
    if name == "is_open":
        return "yes" if slot.is_open else "no"
    if name == "location":
        return str(slot.location or "none")
    return str(getattr(slot, name))


def _series_summary(data: dict) -> str:
    days = ", ".join(name for number, name in WEEKDAYS if number in data["weekdays"])
    times = ", ".join(f"{at:%H:%M}" for at in data["start_times"])
    places = f"{data['capacity']} place{'s' if data['capacity'] != 1 else ''}"
    return (
        f"generated a series for {data['clinician']}"
        + (f" at {data['location']}" if data.get("location") else "")
        + f": {days} at {times} from {data['start_date']:%Y-%m-%d} to "
        f"{data['end_date']:%Y-%m-%d}, {Modality(data['modality']).label}, "
        f"{data['duration_minutes']} minutes, {places}"
    )


class AvailabilitySlotForm(forms.ModelForm):
    class Meta:
        model = AvailabilitySlot
        fields = [
            "clinician",
            "location",
            "starts_at",
            "duration_minutes",
            "modality",
            "capacity",
            "is_open",
        ]

    def clean_capacity(self):
        capacity = self.cleaned_data["capacity"]
        held = self.instance.held if self.instance.pk else 0
        if capacity < held:
            raise forms.ValidationError(
                f"{held} places are already taken; capacity cannot be lower than that."
            )
        if capacity < 1:
            raise forms.ValidationError("Capacity must be at least 1.")
        return capacity

    def clean(self):
        cleaned = super().clean()
        clinician = cleaned.get("clinician", self.instance.clinician if self.instance.pk else None)
        modality = cleaned.get("modality", self.instance.modality)
        starts_at = cleaned.get("starts_at", self.instance.starts_at)
        duration = cleaned.get("duration_minutes", self.instance.duration_minutes)
        if clinician and modality and not clinician.offers(modality):
            self.add_error(
                "modality",
                f"{clinician} does not offer {Modality(modality).label} consultations "
                "(see their page under Clinicians).",
            )
        if "location" in cleaned:
            if modality == Modality.IN_PERSON and not cleaned["location"]:
                self.add_error("location", "Choose where this in-person time is.")
            elif modality != Modality.IN_PERSON:
                cleaned["location"] = None  # video and phone happen nowhere in particular
        if clinician and starts_at and duration:
            other = (
                AvailabilitySlot.objects.overlapping(
                    clinician_id=clinician.pk,
                    starts_at=starts_at,
                    ends_at=starts_at + timedelta(minutes=duration),
                )
                .exclude(pk=self.instance.pk)
                .first()
            )
            if other is not None:
                raise forms.ValidationError(overlap_message(other))
        return cleaned


def overlap_message(other: AvailabilitySlot) -> str:
    return (
        f"{other.clinician} already has a slot then: {format_clinic_time(other.starts_at)}, "
        f"{other.duration_minutes} minutes. One clinician's slots cannot overlap."
    )


class SlotListForm(forms.ModelForm):
    """A row of the slot list: its "is open" box is named after its time, because the
    list's column heading is not a label a screen reader ties to each box."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "is_open" in self.fields and self.instance.starts_at:
            when = format_clinic_time(self.instance.starts_at)
            self.fields["is_open"].widget.attrs["aria-label"] = f"Open for booking: {when}"


@admin.register(AvailabilitySlot)
class AvailabilitySlotAdmin(admin.ModelAdmin):
    form = AvailabilitySlotForm
    formfield_overrides = DATETIME_OVERRIDES
    list_display = [
        "when",
        "clinician",
        "modality",
        "location",
        "duration_minutes",
        "places",
        "is_open",
    ]
    list_editable = ["is_open"]
    list_filter = [SlotStateFilter, "clinician", "location", "modality", "is_open"]
    list_select_related = ["clinician", "location"]
    date_hierarchy = "starts_at"
    ordering = ["starts_at"]
    actions = ["open_slots", "close_slots"]
    change_list_template = "admin/consultations/availabilityslot/change_list.html"

    def get_changelist_form(self, request, **kwargs):
        return super().get_changelist_form(request, form=SlotListForm, **kwargs)

    @admin.display(description="time", ordering="starts_at")
    def when(self, slot):
        return format_clinic_time(slot.starts_at)

    @admin.display(description="held / capacity")
    def places(self, slot):
        return f"{slot.held} / {slot.capacity}"

    def get_readonly_fields(self, request, obj=None):
        # Patients booked against this time: moving it would silently change theirs.
        if obj is not None and obj.requests.exists():
            return ["clinician", "location", "starts_at", "duration_minutes", "modality", "held"]
        return ["held"]

    def get_fields(self, request, obj=None):
        return [
            "clinician",
            "location",
            "starts_at",
            "duration_minutes",
            "modality",
            "capacity",
            "held",
            "is_open",
        ]

    # --- audit: every staff change to availability, like every change to a request

    def save_model(self, request, obj, form, change):
        before = AvailabilitySlot.objects.get(pk=obj.pk) if change else None
        # The form checked for overlaps; the service checks again as it saves, for a
        # colleague saving the same clinician's time in the same moment.
        try:
            availability_slot_save(slot=obj)
        except SlotOverlaps as overlap:
            self.message_user(request, overlap_message(overlap.slot), messages.ERROR)
            return
        if before is None:
            places = f"{obj.capacity} place{'s' if obj.capacity != 1 else ''}"
            detail = (
                f"added {obj}, {obj.duration_minutes} minutes, {places}, "
                f"{'open' if obj.is_open else 'closed'}"
            )
            audit_event_record(
                http_request=request, action=AuditAction.ADD, slot=obj, detail=detail
            )
            return
        changes = [
            f"{AvailabilitySlot._meta.get_field(name).verbose_name} "
            f"{_slot_value(before, name)} → {_slot_value(obj, name)}"
            for name in SLOT_AUDITED_FIELDS
            if getattr(before, name) != getattr(obj, name)
        ]
        if changes:
            audit_event_record(
                http_request=request,
                action=AuditAction.CHANGE,
                slot=obj,
                detail=f"{before}: {'; '.join(changes)}",
            )

    def delete_model(self, request, obj):
        audit_event_record(
            http_request=request, action=AuditAction.DELETE, slot=obj, detail=str(obj)
        )
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            audit_event_record(
                http_request=request, action=AuditAction.DELETE, slot=obj, detail=str(obj)
            )
        super().delete_queryset(request, queryset)

    def delete_view(self, request, object_id, extra_context=None):
        slot = self.get_object(request, object_id)
        if not self.has_delete_permission(request, slot):
            raise PermissionDenied
        count = slot.requests.count() if slot is not None else 0
        if count:
            self.message_user(
                request,
                f"This slot cannot be deleted: {count} consultation request(s) are booked for "
                "it, and deleting it would lose their time. Cancel or move those requests "
                "first, or untick “open for booking” to stop new bookings.",
                messages.ERROR,
            )
            return redirect("admin:consultations_availabilityslot_change", slot.pk)
        return super().delete_view(request, object_id, extra_context)

    def _set_open(self, request, queryset, is_open: bool) -> int:
        """Open or close the selected slots; each one that changes goes in the audit trail."""
        changed = list(queryset.exclude(is_open=is_open))
        AvailabilitySlot.objects.filter(pk__in=[slot.pk for slot in changed]).update(
            is_open=is_open
        )
        if is_open:
            waitlist_place_opened(slot_ids=[slot.pk for slot in changed])
        done = "opened for booking" if is_open else "closed to new bookings"
        for slot in changed:
            audit_event_record(
                http_request=request, action=AuditAction.CHANGE, slot=slot, detail=f"{slot}: {done}"
            )
        return len(changed)

    @admin.action(description="Open selected slots for booking", permissions=["change"])
    def open_slots(self, request, queryset):
        count = self._set_open(request, queryset, True)
        self.message_user(request, f"Opened {count} slot(s).", messages.SUCCESS)

    @admin.action(description="Close selected slots to new bookings", permissions=["change"])
    def close_slots(self, request, queryset):
        count = self._set_open(request, queryset, False)
        self.message_user(request, f"Closed {count} slot(s).", messages.SUCCESS)

    def get_urls(self):
        return [
            path(
                "agenda/",
                self.admin_site.admin_view(lambda request: agenda_view(request, self.admin_site)),
                name="consultations_agenda",
            ),
            path(
                "generate/",
                self.admin_site.admin_view(self.generate_series_view),
                name="consultations_availabilityslot_generate",
            ),
            *super().get_urls(),
        ]

    def generate_series_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = SlotSeriesForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            created, skipped = availability_slot_series_create(**form.cleaned_data)
            summary = _series_summary(form.cleaned_data)
            audit_event_record(
                http_request=request,
                action=AuditAction.ADD,
                count=created,
                detail=f"{summary}; created {created}, skipped {skipped}",
            )
            self.message_user(
                request,
                f"Created {created} slot(s) for {form.cleaned_data['clinician']}; skipped "
                f"{skipped} that would overlap their existing slots.",
                messages.SUCCESS,
            )
            return redirect("admin:consultations_availabilityslot_changelist")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Generate a series of slots",
            "form": form,
            "zone_name": clinic_zone_name(),
        }
        return TemplateResponse(
            request, "admin/consultations/availabilityslot/generate_series.html", context
        )


# ------------------------------------------------------------------------- requests


class RequestedTimeFilter(admin.SimpleListFilter):
    """The time a request is for. "Today" is the index page's "Consultations today"."""

    title = "requested time"
    parameter_name = "when"

    def lookups(self, request, model_admin):
        return [
            ("today", "Today (going ahead)"),
            ("week", "This week"),
            ("upcoming", "Upcoming"),
            ("past", "Past"),
            ("none", "No time chosen"),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        value = self.value()
        if value == "today":
            return queryset.today()
        if value == "week":
            today = clinic_day_start().date()
            return queryset.for_days(today - timedelta(days=today.weekday()), days=7)
        if value == "upcoming":
            return queryset.filter(slot__starts_at__gte=now)
        if value == "past":
            return queryset.filter(slot__starts_at__lt=now)
        if value == "none":
            return queryset.filter(slot__isnull=True)
        return queryset


class ModalityFilter(admin.SimpleListFilter):
    title = "modality"
    parameter_name = "modality"

    def lookups(self, request, model_admin):
        return Modality.choices

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(slot__modality=self.value())
        return queryset


class StaffNoteForm(forms.ModelForm):
    class Meta:
        model = StaffNote
        fields = ["text"]
        # In a table row the column heading is no label: name the box itself.
        widgets = {"text": forms.Textarea(attrs={"rows": 3, "aria-label": "New staff note"})}


class StaffNoteInline(admin.TabularInline):
    """Notes can be added, never edited or removed: each keeps its author and time."""

    model = StaffNote
    form = StaffNoteForm
    extra = 1
    fields = ["text", "author_name", "created_at"]
    readonly_fields = ["author_name", "created_at"]
    verbose_name = "staff note"
    verbose_name_plural = "staff notes (add-only; kept with the author and time)"

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    # A name, not the admin's link to the user's page, which only managers may open.
    @admin.display(description="author")
    def author_name(self, obj):
        return obj.author.get_username() if obj.author else "–"

    # Notes follow the request's own permissions, so roles need no separate note rights.
    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("consultations.view_consultationrequest") or (
            request.user.has_perm(HANDLE_PERMISSION)
        )

    def has_add_permission(self, request, obj=None):
        return request.user.has_perm(HANDLE_PERMISSION)


SUBMITTED_FIELDS = [
    "reference",
    "requested_time",
    "modality",
    "preferred_times",
    "created_at",
    "full_name",
    "email",
    "phone_link",
    "preferred_contact",
    "state",
    "is_adult_confirmed",
    "discuss_topics_display",
    "note",
    "has_therapist",
    "heard_about",
    "expects_self_pay",
    "contact_consent_at",
    "not_emergency_ack_at",
    "consent_policy_version",
]
SUBMITTED_SECTION = "Submitted by the patient (read-only)"
# The patient's own therapist, stored only when they agreed the clinic may contact them;
# shown only to staff with this permission (intake coordinators and managers), and each
# view says so in the audit trail.
THERAPIST_SECTION = "Therapist (the patient agreed we may contact them)"
VIEW_THERAPIST_PERMISSION = "consultations.view_therapistcontact"


def may_see_therapist(user) -> bool:
    return user.has_perm(VIEW_THERAPIST_PERMISSION)


def therapist_contact_of(consultation_request) -> TherapistContact | None:
    return TherapistContact.objects.filter(request_id=consultation_request.pk).first()


DELIVERY_FIELDS = [
    "confirmation_email_status",
    "confirmation_email_error",
    "confirmation_email_sent_at",
    "staff_notified_at",
]

EXPORT_COLUMNS = [
    "reference",
    f"requested time ({clinic_zone_name()})",
    "modality",
    "status",
    "name",
    "email",
    "phone",
    "preferred contact",
]


# The request list's filters and date drill-down, and nothing else: the admin would
# otherwise take any lookup on any field from the address (`?email__contains=`,
# `?manage_key__startswith=`), a way to probe patient details one letter at a time.
OFFERED_LOOKUPS = {
    "status__exact",
    "when",
    "modality",
    "assigned_to__id__exact",
    "assigned_to__isnull",
    "confirmation_email_status__exact",
    "created_at__year",
    "created_at__month",
    "created_at__day",
    # The drill-down's "today"-style links give the bounds directly.
    "created_at__gte",
    "created_at__lt",
}
_PLAIN_VALUE = re.compile(r"[\w-]{1,20}", re.ASCII)


def _list_audit_detail(params) -> str:
    """What a search or filter of the request list asked for, without the search words."""
    parts = []
    if params.get("q", "").strip():
        parts.append("searched (the words are not recorded)")
    filters = [
        f"{name}={value if _PLAIN_VALUE.fullmatch(value) else '…'}"
        for name, value in sorted(params.items())
        if name in OFFERED_LOOKUPS
    ]
    if filters:
        parts.append("filters: " + ", ".join(filters))
    return "; ".join(parts)[:200]


def _csv_safe(value: str) -> str:
    """Stop a spreadsheet from running a cell typed by a patient as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


class ViewOnlyAdminMixin:
    """A record nobody, not even a superuser, adds, changes or deletes in the admin: it is
    written by the app alone (the audit trail, the reminders sent)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


DONT_EMAIL_LABEL = "Don't email the patient about this change"
DONT_EMAIL_HELP = (
    "For example, when the patient asked for it by phone. Confirming, declining, cancelling "
    "and moving email the patient otherwise. The choice is kept in the status history."
)


class SlotChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, slot):
        return f"{format_clinic_time(slot.starts_at)}, {slot.get_modality_display()}"


class ConsultationRequestAdminForm(forms.ModelForm):
    move_to = SlotChoiceField(
        queryset=AvailabilitySlot.objects.none(),
        required=False,
        label="Move to another time",
        help_text="Open times with a place left. The request keeps its status; its old "
        "time is freed.",
    )
    dont_email_patient = forms.BooleanField(
        required=False, label=DONT_EMAIL_LABEL, help_text=DONT_EMAIL_HELP
    )
    video_link = forms.URLField(
        required=False,
        max_length=300,
        assume_scheme="https",
        help_text=ConsultationRequest._meta.get_field("video_link").help_text,
    )

    class Meta:
        model = ConsultationRequest
        fields = ["status", "assigned_to", "video_link"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "move_to" in self.fields:
            self.fields["move_to"].queryset = (
                self._staff_bookable().exclude(pk=self.instance.slot_id).order_by("starts_at")
            )
        # The page carries the status it was shown with, so a change made meanwhile (the
        # patient cancelled from their link) is noticed rather than overwritten.
        if "status" in self.fields:  # absent for view-only staff
            self.fields["status"].show_hidden_initial = True
        if "assigned_to" in self.fields:
            # Whoever has it now stays a choice, even after a move to another role.
            self.fields["assigned_to"].queryset = request_handlers(
                keeping=self.instance.assigned_to_id
            )

    def _staff_bookable(self):
        """The times staff may give this request: legal for the patient's state."""
        return AvailabilitySlot.objects.bookable(state=self.instance.state, by_staff=True)

    @property
    def seen_status(self) -> str:
        """The status on the page when staff opened it (the saved one if not sent)."""
        return self.data.get(self.add_initial_prefix("status")) or self.instance.status

    def clean_status(self):
        status = self.cleaned_data["status"]
        instance = self.instance
        if self.seen_status != instance.status and status != instance.status:
            raise forms.ValidationError(
                f"While this page was open, the status became “{instance.get_status_display()}” "
                "(the patient or a colleague changed it). Check the request, then choose again."
            )
        reopening = (
            status in ACTIVE_STATUSES
            and instance.slot_id
            and not instance.holds_place
            and not self._staff_bookable().filter(pk=instance.slot_id).exists()
        )
        if reopening:
            raise forms.ValidationError(
                "Its time is no longer open, so this request cannot be re-opened. "
                "Ask the patient to book a new time."
            )
        return status

    def clean_video_link(self):
        link = self.cleaned_data["video_link"]
        if link and not link.startswith("https://"):
            raise forms.ValidationError("Use a secure link that starts with https://.")
        return link

    def clean(self):
        cleaned = super().clean()
        status = cleaned.get("status", self.instance.status)
        if cleaned.get("move_to") and status not in ACTIVE_STATUSES:
            self.add_error(
                "move_to", "Only a request that is going ahead can move. Re-open it first."
            )
        return cleaned


class RequestActionForm(ActionForm):
    dont_email_patient = forms.BooleanField(required=False, label=DONT_EMAIL_LABEL)


@admin.register(ConsultationRequest)
class ConsultationRequestAdmin(SharedSelfCheckRequestAdminMixin, admin.ModelAdmin):
    form = ConsultationRequestAdminForm
    # What fits a 1280 px screen beside the admin's sidebar and the filters: the modality
    # and the time received are filters (and on each request's page), not columns.
    list_display = [
        "reference",
        "requested_time",
        "status",
        "assigned_to",
        "confirmation_email_status",
    ]
    list_filter = [
        "status",
        RequestedTimeFilter,
        ModalityFilter,
        ("assigned_to", admin.RelatedOnlyFieldListFilter),
        "confirmation_email_status",
    ]
    search_fields = ["reference", "full_name", "email", "phone"]
    date_hierarchy = "created_at"
    list_select_related = ["slot", "assigned_to"]
    readonly_fields = [
        *SUBMITTED_FIELDS,
        *DELIVERY_FIELDS,
        "reminders_sent",
        "status_history",
        "therapist_contact_details",
    ]
    fieldsets = [
        ("Requested", {"fields": SUBMITTED_FIELDS[:5]}),
        (SUBMITTED_SECTION, {"fields": SUBMITTED_FIELDS[5:]}),
        (
            "Handling",
            {
                "fields": [
                    "status",
                    "move_to",
                    "dont_email_patient",
                    "assigned_to",
                    "video_link",
                    "status_history",
                ]
            },
        ),
        ("Emails", {"fields": [*DELIVERY_FIELDS, "reminders_sent"]}),
    ]
    inlines = [StaffNoteInline]
    action_form = RequestActionForm
    actions = [
        "mark_contacted",
        "mark_confirmed",
        "mark_declined",
        "mark_cancelled",
        "resend_confirmation",
        "export_csv",
    ]

    # --- display

    @admin.display(description="requested time", ordering="slot__starts_at")
    def requested_time(self, obj):
        return format_clinic_time(obj.slot.starts_at) if obj.slot else "To arrange"

    @admin.display(description="modality", ordering="slot__modality")
    def modality(self, obj):
        return obj.slot.get_modality_display() if obj.slot else "–"

    @admin.display(description="phone")
    def phone_link(self, obj):
        # As staff read and dial it: (212) 555-0187, a tel: link in E.164.
        if not obj.phone:
            return "–"
        return format_html('<a href="tel:{}">{}</a>', obj.phone.as_e164, obj.phone.as_national)

    @admin.display(description="would like to discuss")
    def discuss_topics_display(self, obj):
        return obj.get_discuss_topics_display() or "–"

    @admin.display(description="status history")
    def status_history(self, obj):
        rows = [
            (
                format_clinic_time(change.changed_at),
                str(change),
                change.changed_by.get_username() if change.changed_by else "patient",
            )
            for change in obj.status_changes.select_related("changed_by")
        ]
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}: {} ({})</li>", rows))

    @admin.display(description="therapist")
    def therapist_contact_details(self, obj):
        contact = therapist_contact_of(obj)
        if contact is None:
            return "–"
        return render_to_string("admin/consultations/therapist_contact.html", {"contact": contact})

    @admin.display(description="reminders")
    def reminders_sent(self, obj):
        """Each reminder claimed for this request (send_consultation_reminders): which,
        for which time, and how it went."""
        rows = [
            (
                reminder.hours_before,
                format_clinic_time(reminder.starts_at),
                reminder.get_state_display(),
                f", {format_clinic_time(reminder.sent_at)}" if reminder.sent_at else "",
                f" ({reminder.error}, {reminder.attempts} attempts)" if reminder.error else "",
            )
            for reminder in obj.reminders.order_by("starts_at", "-hours_before")
        ]
        if not rows:
            return "None yet"
        return format_html(
            "<ul>{}</ul>",
            format_html_join("", "<li>{} h before {}: {}{}{}</li>", rows),
        )

    # --- permissions

    def has_add_permission(self, request):
        return False  # requests come from patients through the booking form

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None and may_see_therapist(request.user) and therapist_contact_of(obj):
            section = (THERAPIST_SECTION, {"fields": ["therapist_contact_details"]})
            submitted = next(
                at for at, (name, _options) in enumerate(fieldsets) if name == SUBMITTED_SECTION
            )
            fieldsets.insert(submitted + 1, section)
        if self.has_change_permission(request, obj):
            return fieldsets
        # View-only staff get no form, so nothing to choose a time or an email with.
        choices = {"move_to", "dont_email_patient"}
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f not in choices]})
            for name, options in fieldsets
        ]

    def has_export_permission(self, request):
        return request.user.has_perm("consultations.export_consultationrequest")

    def lookup_allowed(self, lookup, value, request=None):
        return lookup in OFFERED_LOOKUPS and super().lookup_allowed(lookup, value, request)

    # --- audit

    def view_audit_detail(self, request, obj) -> str:
        """What the audit row of a request page view adds: which private parts it showed."""
        parts = [super().view_audit_detail(request, obj)]
        if may_see_therapist(request.user) and therapist_contact_of(obj):
            parts.append("with the therapist's details")
        return "; ".join(part for part in parts if part)

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        detail = _list_audit_detail(request.GET) if request.method == "GET" else ""
        if detail and getattr(response, "context_data", None) and "cl" in response.context_data:
            audit_event_record(
                http_request=request,
                action=AuditAction.LIST,
                count=response.context_data["cl"].result_count,
                detail=detail,
            )
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            obj = self.get_object(request, object_id)
            if obj is not None:
                audit_event_record(
                    http_request=request,
                    action=AuditAction.VIEW,
                    consultation_request=obj,
                    detail=self.view_audit_detail(request, obj),
                )
        return response

    def save_model(self, request, obj, form, change):
        changed = []
        data = form.cleaned_data
        email_patient = not data.get("dont_email_patient")
        status_changes = "status" in form.changed_data
        new_status, obj.status = obj.status, form.initial.get("status", obj.status)
        if data.get("move_to") is not None:
            new_slot = data["move_to"]
            try:
                consultation_request_move(
                    consultation_request=obj,
                    new_slot=new_slot,
                    by=request.user,
                    # Moved and confirmed at once: the one "confirmed" email has the new time.
                    email_patient=email_patient
                    and not (status_changes and new_status in STAFF_STATUS_EMAILS),
                )
                changed.append(f"moved to {format_clinic_time(new_slot.starts_at)}")
            except SlotUnavailable:
                messages.error(request, "The request was not moved: that time is no longer open.")
            except RequestClosed:
                # The patient cancelled (or a colleague closed it) after the form's checks.
                current = ConsultationRequest.objects.get(pk=obj.pk).get_status_display()
                messages.error(
                    request,
                    f"The request was not moved: while this page was open it became "
                    f"“{current}”. Check the request before changing it.",
                )
        if status_changes:
            try:
                consultation_request_set_status(
                    consultation_request=obj,
                    status=new_status,
                    by=request.user,
                    seen=[form.seen_status],
                    email_patient=email_patient,
                )
                changed.append(f"status: {form.initial['status']} → {new_status}")
            except SlotUnavailable:
                messages.error(request, "The status was not changed: its time is no longer open.")
            except StatusChanged as now:
                messages.error(
                    request,
                    f"The status was not changed: while this page was open it became "
                    f"“{Status(now.status).label}”. Check the request before changing it.",
                )
        if changed and not email_patient:
            changed.append("patient not emailed")
        if "assigned_to" in form.changed_data:
            assigned_to = data["assigned_to"]
            ConsultationRequest.objects.filter(pk=obj.pk).update(assigned_to=assigned_to)
            obj.assigned_to = assigned_to
            changed.append(f"assigned to {assigned_to.get_username() if assigned_to else 'nobody'}")
        if "video_link" in form.changed_data:
            video_link = data["video_link"]
            ConsultationRequest.objects.filter(pk=obj.pk).update(video_link=video_link)
            obj.video_link = video_link
            changed.append("video link set" if video_link else "video link removed")
        if changed:
            audit_event_record(
                http_request=request,
                action=AuditAction.CHANGE,
                consultation_request=obj,
                detail="; ".join(changed),
            )

    def save_formset(self, request, form, formset, change):
        # Only new notes come back: existing ones are shown read-only.
        for note in formset.save(commit=False):
            staff_note_add(consultation_request=form.instance, text=note.text, author=request.user)
            audit_event_record(
                http_request=request,
                action=AuditAction.CHANGE,
                consultation_request=form.instance,
                detail="added a staff note",
            )

    def delete_model(self, request, obj):
        audit_event_record(
            http_request=request, action=AuditAction.DELETE, consultation_request=obj
        )
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            audit_event_record(
                http_request=request, action=AuditAction.DELETE, consultation_request=obj
            )
        super().delete_queryset(request, queryset)

    # --- actions

    def _set_status(self, request, queryset, status):
        """Apply `status` to the selected requests that are still going ahead.

        A closed request (the patient cancelled, or staff declined it) is never re-opened
        from the list, even if it was still open when the list was shown: re-opening is
        done on the request's own page, where staff see why it closed.
        """
        changed = skipped = 0
        closed = []
        email_patient = request.POST.get("dont_email_patient") != "on"
        for obj in queryset.select_related("slot"):
            before = obj.status
            try:
                did_change = consultation_request_set_status(
                    consultation_request=obj,
                    status=status,
                    by=request.user,
                    seen=ACTIVE_STATUSES,
                    email_patient=email_patient,
                )
            except SlotUnavailable:
                did_change = False
            except StatusChanged:
                closed.append(obj.reference)
                continue
            if did_change:
                changed += 1
                audit_event_record(
                    http_request=request,
                    action=AuditAction.CHANGE,
                    consultation_request=obj,
                    detail=f"status: {before} → {status}"
                    + ("" if email_patient else "; patient not emailed"),
                )
            else:
                skipped += 1
        label = Status(status).label.lower()
        message = f"Marked {changed} request(s) {label}."
        if skipped:
            message += f" {skipped} already had that status or could not take a place again."
        if closed:
            message += (
                f" Skipped {len(closed)} that are closed (cancelled by the patient, declined "
                f"or finished), and left them as they are: {', '.join(sorted(closed))}."
            )
        level = messages.SUCCESS if changed and not closed else messages.WARNING
        self.message_user(request, message, level)

    @admin.action(description="Mark selected as contacted", permissions=["change"])
    def mark_contacted(self, request, queryset):
        self._set_status(request, queryset, Status.CONTACTED)

    @admin.action(description="Confirm selected", permissions=["change"])
    def mark_confirmed(self, request, queryset):
        self._set_status(request, queryset, Status.CONFIRMED)

    @admin.action(description="Decline selected (frees their times)", permissions=["change"])
    def mark_declined(self, request, queryset):
        self._set_status(request, queryset, Status.DECLINED)

    @admin.action(description="Cancel selected (frees their times)", permissions=["change"])
    def mark_cancelled(self, request, queryset):
        self._set_status(request, queryset, Status.CANCELLED)

    @admin.action(description="Resend confirmation email", permissions=["change"])
    def resend_confirmation(self, request, queryset):
        count = 0
        closed = []
        for obj in queryset:
            try:
                consultation_request_resend_confirmation(consultation_request=obj)
            except RequestClosed:
                closed.append(obj.reference)
                continue
            audit_event_record(
                http_request=request,
                action=AuditAction.CHANGE,
                consultation_request=obj,
                detail="resent the confirmation email",
            )
            count += 1
        message = (
            f"Queued the confirmation email again for {count} request(s). "
            "The Email column shows whether it was sent."
        )
        if closed:
            message += (
                f" Did not resend {len(closed)} that are closed (cancelled, declined or "
                f"finished), as there is no booking to confirm: {', '.join(sorted(closed))}."
            )
        self.message_user(request, message, messages.WARNING if closed else messages.SUCCESS)

    @admin.action(description="Export selected to CSV", permissions=["export"])
    def export_csv(self, request, queryset):
        rows = list(queryset.select_related("slot").order_by("slot__starts_at", "created_at"))
        zone = clinic_zone()
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        stamp = timezone.localtime(timezone.now(), zone).strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = (
            f'attachment; filename="consultation-requests-{stamp}.csv"'
        )
        response["Cache-Control"] = "no-store"
        writer = csv.writer(response)
        writer.writerow(EXPORT_COLUMNS)
        for obj in rows:
            slot = obj.slot
            writer.writerow(
                [
                    obj.reference,
                    timezone.localtime(slot.starts_at, zone).strftime("%Y-%m-%d %H:%M")
                    if slot
                    else "to arrange",
                    slot.get_modality_display() if slot else "",
                    obj.get_status_display(),
                    _csv_safe(obj.full_name),
                    _csv_safe(obj.email),
                    obj.phone.as_e164 if obj.phone else "",
                    obj.get_preferred_contact_display(),
                ]
            )
        # One row per request exported, so the trail answers "who took CR-… away".
        for obj in rows:
            audit_event_record(
                http_request=request,
                action=AuditAction.EXPORT,
                consultation_request=obj,
                count=len(rows),
                detail=f"CSV export of {len(rows)}",
            )
        return response


# ------------------------------------------------------------------------ reminders


@admin.register(ConsultationReminder)
class ConsultationReminderAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    """Every reminder claimed, read-only for everyone: what to watch ("Failed", or
    "Sending" for more than a few minutes: a run died before it could send)."""

    list_display = [
        "request_reference",
        "hours_before",
        "consultation_time",
        "state",
        "claimed_at",
        "sent_at",
        "attempts",
        "error",
    ]
    list_filter = ["state", "hours_before"]
    search_fields = ["request__reference"]
    list_select_related = ["request"]
    fields = readonly_fields = list_display

    @admin.display(description="request", ordering="request__reference")
    def request_reference(self, obj):
        return obj.request.reference

    @admin.display(description=f"for the time ({clinic_zone_name()})", ordering="starts_at")
    def consultation_time(self, obj):
        return format_clinic_time(obj.starts_at)


# ------------------------------------------------------------- staff calendar feeds


@admin.register(StaffCalendarFeed)
class StaffCalendarFeedAdmin(admin.ModelAdmin):
    """Everyone's feeds, for managers: who has one, since when, and turning one off (the
    delete). Each staff member makes, replaces or turns off their own on "Your calendar
    feed" (consultations/staff_calendar.py). The address itself is never stored."""

    list_display = ["user", "created_at"]
    fields = readonly_fields = ["user", "created_at"]
    list_select_related = ["user"]
    actions = ["turn_off"]

    def get_urls(self):
        return [
            path(
                "mine/",
                self.admin_site.admin_view(
                    lambda request: calendar_feed_page(request, self.admin_site)
                ),
                name="consultations_calendar_feed",
            ),
            *super().get_urls(),
        ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # turn_off goes through the service
        return actions

    @admin.action(description="Turn the selected feeds off", permissions=["delete"])
    def turn_off(self, request, queryset):
        feeds = list(queryset.select_related("user"))
        for feed in feeds:
            staff_calendar_feed_revoke(feed=feed, http_request=request)
        self.message_user(request, f"Turned off {len(feeds)} calendar feed(s).", messages.SUCCESS)

    def delete_model(self, request, obj):
        staff_calendar_feed_revoke(feed=obj, http_request=request)


# ---------------------------------------------------------------------------- audit


@admin.register(AuditEvent)
class AuditEventAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    """Read-only for everyone: needs view_auditevent to list; nobody can add, edit or delete."""

    list_display = [
        "at",
        "username",
        "action",
        "reference",
        "slot_id",
        "count",
        "detail",
        "source_ip",
    ]
    list_filter = ["action", "at"]
    search_fields = ["username", "reference"]
    date_hierarchy = "at"
