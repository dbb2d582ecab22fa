"""Availability, consultation requests and their history, and the staff audit trail."""

import hashlib
import secrets
from datetime import datetime, time, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import RangeOperators
from django.db import models
from django.db.models import (
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone
from phonenumber_field.modelfields import PhoneNumberField

from consultations.formatting import clinic_zone, format_clinic_time
from consultations.us_states import US_STATES

# Bump when the consent wording on the booking form changes; each request keeps the
# version it was given.
CONSENT_POLICY_VERSION = "2025-01"

# No 0/O, 1/I/L: a reference read aloud over the phone is not misheard.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
REFERENCE_PREFIX = "CR"


def new_reference() -> str:
    return REFERENCE_PREFIX + "-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))


def new_manage_key() -> str:
    return secrets.token_urlsafe(24)


class Modality(models.TextChoices):
    VIDEO = "video", "video call"
    PHONE = "phone", "phone call"
    IN_PERSON = "in_person", "in person"


def clinic_day_start(day=None) -> datetime:
    """Midnight at the start of `day` (default: today) in the clinic's zone."""
    zone = clinic_zone()
    day = day or timezone.localtime(timezone.now(), zone).date()
    return datetime.combine(day, time.min, tzinfo=zone)


def self_service_cutoff() -> datetime:
    """The earliest start a patient can still cancel or move online (and so book online:
    a time they could not change from their manage link is never offered)."""
    return timezone.now() + timedelta(hours=settings.CLINIC_SELF_SERVICE_CUTOFF_HOURS)


class ClinicianQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)

    def licensed_in(self, state: str):
        """Active clinicians licensed in `state`: the only ones who may see its patients
        by video or phone."""
        return self.active().filter(states__state=state).distinct()


class Clinician(models.Model):
    """Someone patients book a consultation with."""

    display_name = models.CharField(
        "name shown to patients",
        max_length=100,
        blank=True,
        help_text="Leave empty to show “a clinician” instead of a name.",
    )
    credentials = models.CharField(
        max_length=80, blank=True, help_text="For example MD or PMHNP-BC."
    )
    bio = models.TextField("short bio", max_length=600, blank=True)
    offers_video = models.BooleanField("offers video calls", default=True)
    offers_phone = models.BooleanField("offers phone calls", default=True)
    offers_in_person = models.BooleanField("sees people in person", default=True)
    is_active = models.BooleanField(
        "active", default=True, help_text="Untick to stop patients booking their times."
    )
    is_sample = models.BooleanField(
        default=False, help_text="Made by load_sample_slots for trying the site: not a real person."
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="clinician",
        limit_choices_to={"is_staff": True},
        verbose_name="staff account",
        help_text="Their sign-in, so the agenda shows them their own consultations first.",
    )

    objects = ClinicianQuerySet.as_manager()

    class Meta:
        ordering = ["display_name", "pk"]

    def __str__(self) -> str:
        name = self.display_name or f"Clinician {self.pk or 'new'} (shown as “a clinician”)"
        return f"{name}, {self.credentials}" if self.credentials else name

    @property
    def name_for_patients(self) -> str:
        """'Dr. Ana Ruiz, MD', or 'a clinician' when staff prefer no name."""
        if not self.display_name:
            return "a clinician"
        return f"{self.display_name}, {self.credentials}" if self.credentials else self.display_name

    def offers(self, modality: str) -> bool:
        return {
            Modality.VIDEO: self.offers_video,
            Modality.PHONE: self.offers_phone,
            Modality.IN_PERSON: self.offers_in_person,
        }[modality]


class ClinicianState(models.Model):
    """A US state where a clinician is licensed: video and phone consultations with
    patients in that state are legal only then."""

    clinician = models.ForeignKey(Clinician, on_delete=models.CASCADE, related_name="states")
    state = models.CharField(max_length=2, choices=US_STATES)

    class Meta:
        ordering = ["state"]
        verbose_name = "licensed state"
        constraints = [
            models.UniqueConstraint(fields=["clinician", "state"], name="clinician_state_once"),
        ]

    def __str__(self) -> str:
        return self.get_state_display()


class Location(models.Model):
    """A site where patients are seen in person. A clinic with one site has one."""

    name = models.CharField(max_length=100)
    address = models.TextField(help_text="As it goes on an envelope, over two or three lines.")
    phone = PhoneNumberField(
        max_length=32, region="US", help_text="This site's phone, for example (212) 555-0123."
    )
    directions = models.TextField(
        blank=True, help_text="Optional: parking, the entrance, the nearest stop."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def one_line_address(self) -> str:
        return ", ".join(line.strip() for line in self.address.splitlines() if line.strip())


class UTCTimeRange(Func):
    """tsrange [starts_at, starts_at + duration_minutes) in UTC wall time, for the slot
    overlap constraint. timestamptz + interval is only STABLE in PostgreSQL (it reads the
    session's zone), and an index may use only IMMUTABLE expressions; at a fixed zone it
    is."""

    output_field = DateTimeField()

    def as_sql(self, compiler, connection, **extra_context):
        starts_sql, starts_params = compiler.compile(self.source_expressions[0])
        minutes_sql, minutes_params = compiler.compile(self.source_expressions[1])
        utc = f"({starts_sql} AT TIME ZONE 'UTC')"
        sql = f"tsrange({utc}, {utc} + make_interval(mins => {minutes_sql}), '[)')"
        return sql, (*starts_params, *starts_params, *minutes_params)


class PostgreSQLExclusionConstraint(ExclusionConstraint):
    """An exclusion constraint on PostgreSQL, and nothing elsewhere: SQLite has no such
    constraint, so there the service checks inside the transaction that writes (SQLite
    transactions here are IMMEDIATE: writers queue, so the check cannot race). Form
    validation is left to the service too, so there is one message for one rule."""

    def constraint_sql(self, model, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return None
        return super().constraint_sql(model, schema_editor)

    def create_sql(self, model, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return None
        return super().create_sql(model, schema_editor)

    def remove_sql(self, model, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return None
        return super().remove_sql(model, schema_editor)

    def validate(self, model, instance, exclude=None, using="default"):
        return


# When a slot ends, as a query expression (works on PostgreSQL and SQLite).
SLOT_ENDS_AT = ExpressionWrapper(
    F("starts_at")
    + ExpressionWrapper(
        # As a plain integer: SQLite multiplies a duration only by one of the basic types.
        ExpressionWrapper(F("duration_minutes"), output_field=IntegerField())
        * Value(timedelta(minutes=1)),
        output_field=DurationField(),
    ),
    output_field=DateTimeField(),
)


def earliest_bookable_start() -> datetime:
    """The soonest start a patient may book: the minimum notice ahead, and never inside
    the self-service cut-off (a booked time can always still be changed online)."""
    notice = timezone.now() + timedelta(hours=settings.CLINIC_BOOKING_MIN_NOTICE_HOURS)
    return max(notice, self_service_cutoff())


def latest_bookable_start() -> datetime:
    """The furthest ahead a patient may book online (CLINIC_BOOKING_HORIZON_DAYS)."""
    return timezone.now() + timedelta(days=settings.CLINIC_BOOKING_HORIZON_DAYS)


class AvailabilitySlotQuerySet(models.QuerySet):
    def upcoming(self):
        return self.filter(starts_at__gt=timezone.now())

    def open_to_patients(self):
        """Open for booking and in the future, whether or not a place is left."""
        return self.upcoming().filter(is_open=True)

    def full(self):
        return self.filter(held__gte=F("capacity"))

    def overlapping(self, *, clinician_id: int, starts_at: datetime, ends_at: datetime):
        """This clinician's slots that share any minute with [starts_at, ends_at)."""
        return self.alias(ends_at=SLOT_ENDS_AT).filter(
            clinician_id=clinician_id, starts_at__lt=ends_at, ends_at__gt=starts_at
        )

    def bookable(self, *, state: str | None = None, by_staff: bool = False):
        """What a patient can book now, under every booking rule (README, "Booking rules"):
        open, a place left, no sooner than the minimum notice and no further ahead than
        the horizon, with an active clinician whose day is not full
        (CLINIC_BOOKING_DAILY_MAX) and who has no consultation within the buffer.

        With `state`, only what a patient there may legally book: video and phone times
        with a clinician licensed in that state, and in-person times at any location.

        `by_staff`: what staff may book for a patient (a move or a re-opened request).
        The notice and the horizon are there for online booking, so staff arranging a
        time by phone are held only to a time still ahead; every other rule holds.
        """
        when = (
            Q(starts_at__gt=timezone.now())
            if by_staff
            else Q(starts_at__gte=earliest_bookable_start(), starts_at__lte=latest_bookable_start())
        )
        slots = self.filter(when, is_open=True, held__lt=F("capacity"), clinician__is_active=True)
        if state is not None:
            licensed = ClinicianState.objects.filter(clinician=OuterRef("clinician"), state=state)
            slots = slots.filter(Q(modality=Modality.IN_PERSON) | Exists(licensed))
        daily_max = settings.CLINIC_BOOKING_DAILY_MAX
        if daily_max is not None:
            day = TruncDate("starts_at", tzinfo=clinic_zone())
            that_day = (
                AvailabilitySlot.objects.alias(day=day)
                .filter(clinician=OuterRef("clinician"), day=OuterRef("day"))
                .values("clinician")
                .annotate(booked=Sum("held"))
                .values("booked")
            )
            slots = slots.alias(day=day, booked_that_day=Coalesce(Subquery(that_day), 0)).filter(
                booked_that_day__lt=daily_max
            )
        buffer = timedelta(minutes=settings.CLINIC_BOOKING_BUFFER_MINUTES)
        if buffer:
            # A booked slot of the same clinician that ends less than the buffer before
            # this one starts, or starts less than the buffer after it ends.
            too_close = (
                AvailabilitySlot.objects.alias(ends_at=SLOT_ENDS_AT)
                .filter(
                    clinician=OuterRef("clinician"),
                    held__gt=0,
                    starts_at__lt=OuterRef("ends_at") + buffer,
                    ends_at__gt=OuterRef("starts_at") - buffer,
                )
                .exclude(pk=OuterRef("pk"))
            )
            slots = slots.alias(ends_at=SLOT_ENDS_AT).filter(~Exists(too_close))
        return slots


class AvailabilitySlot(models.Model):
    clinician = models.ForeignKey(Clinician, on_delete=models.PROTECT, related_name="slots")
    location = models.ForeignKey(
        Location,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="slots",
        help_text="Where, for an in-person time; empty for video and phone.",
    )
    starts_at = models.DateTimeField("starts at")
    duration_minutes = models.PositiveSmallIntegerField("duration (minutes)", default=30)
    modality = models.CharField(max_length=20, choices=Modality.choices, default=Modality.VIDEO)
    capacity = models.PositiveSmallIntegerField(default=1)
    held = models.PositiveSmallIntegerField(
        default=0, help_text="Places taken by requests. Changed only by bookings and cancels."
    )
    is_open = models.BooleanField(
        "open for booking", default=True, help_text="Untick to stop new bookings."
    )

    objects = AvailabilitySlotQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at", "modality"]
        verbose_name = "availability slot"
        constraints = [
            models.CheckConstraint(condition=Q(held__gte=0), name="slot_held_not_negative"),
            models.CheckConstraint(
                condition=Q(held__lte=F("capacity")), name="slot_within_capacity"
            ),
            models.CheckConstraint(
                condition=Q(modality=Modality.IN_PERSON, location__isnull=False)
                | (~Q(modality=Modality.IN_PERSON) & Q(location__isnull=True)),
                name="slot_location_only_in_person",
                violation_error_message="An in-person slot needs a location; video and "
                "phone slots have none.",
            ),
            models.UniqueConstraint(
                fields=["clinician", "starts_at"], name="one_slot_per_clinician_start"
            ),
            # Two slots of one clinician never share a minute (PostgreSQL; on SQLite the
            # service checks: availability_slot_save, availability_slot_series_create).
            PostgreSQLExclusionConstraint(
                name="slot_no_overlap_per_clinician",
                expressions=[
                    ("clinician", RangeOperators.EQUAL),
                    (UTCTimeRange("starts_at", "duration_minutes"), RangeOperators.OVERLAPS),
                ],
            ),
        ]

    def __str__(self) -> str:
        return f"{format_clinic_time(self.starts_at)}, {self.get_modality_display()}"

    @property
    def ends_at(self):
        return self.starts_at + timedelta(minutes=self.duration_minutes)


class PreferredContact(models.TextChoices):
    PHONE = "phone", "Phone call"
    EMAIL = "email", "Email"
    TEXT = "text", "Text message"


class DiscussTopic(models.TextChoices):
    FIT = "fit", "Whether treatment here could be right for me"
    PROCESS = "process", "What treatment involves, step by step"
    COST = "cost", "Cost and insurance"
    OTHER = "other", "Something else"


class TherapistAnswer(models.TextChoices):
    YES = "yes", "Yes"
    NO = "no", "No"
    PREFER_NOT = "prefer_not", "I'd rather not say"


class SelfPayAnswer(models.TextChoices):
    YES = "yes", "Yes, I expect to pay for myself"
    NO = "no", "No, I plan to use insurance"
    UNSURE = "unsure", "Not sure yet"


class HeardAbout(models.TextChoices):
    SEARCH = "search", "Web search"
    CLINICIAN = "clinician", "My doctor or therapist"
    FRIEND = "friend", "Friend or family"
    SOCIAL = "social", "Social media"
    OTHER = "other", "Somewhere else"


class Status(models.TextChoices):
    NEW = "new", "New"
    CONTACTED = "contacted", "Contacted"
    CONFIRMED = "confirmed", "Confirmed"
    COMPLETED = "completed", "Completed"
    NO_SHOW = "no_show", "No-show"
    DECLINED = "declined", "Declined"
    CANCELLED = "cancelled", "Cancelled"


# Requests in these states are still going ahead and keep their place in the slot.
ACTIVE_STATUSES = {Status.NEW, Status.CONTACTED, Status.CONFIRMED}
# Requests in these states are over; the retention command purges them after a while.
CLOSED_STATUSES = {Status.COMPLETED, Status.NO_SHOW, Status.DECLINED, Status.CANCELLED}
# Moving a request into one of these states gives its place in the slot back.
PLACE_FREEING_STATUSES = {Status.DECLINED, Status.CANCELLED}


class EmailStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


def form_token_hash(token: str) -> str:
    """What a request keeps of the one-time form token that made it."""
    return hashlib.sha256(token.encode()).hexdigest()


class ConsultationRequestQuerySet(models.QuerySet):
    def sent_with_email(self, email: str, *, since):
        """Requests sent since `since` from this email address (in any letter case)."""
        return self.filter(email__iexact=email, created_at__gte=since)

    def made_with_form_token(self, token: str):
        """The request that this one-time form token already made, or None."""
        return self.filter(submission_token_hash=form_token_hash(token)).first() if token else None

    def closed_before(self, when):
        return self.filter(status__in=CLOSED_STATUSES, status_changed_at__lt=when)

    def for_days(self, first_day, days: int = 1):
        """Requests for a time on `days` clinic days from `first_day` (in the clinic's zone)."""
        start = clinic_day_start(first_day)
        return self.filter(
            slot__starts_at__gte=start, slot__starts_at__lt=start + timedelta(days=days)
        )

    def today(self):
        """The consultations of today in the clinic's zone that are still going ahead:
        requests for a time today, less those cancelled or declined."""
        return self.for_days(clinic_day_start().date()).exclude(status__in=PLACE_FREEING_STATUSES)

    def reminder_due(self, *, hours_before: int, now: datetime, grace: timedelta):
        """Confirmed consultations whose reminder `hours_before` their start is due at
        `now`: its moment has come, no more than `grace` ago, and the consultation has not
        begun. Left out: a time chosen or confirmed after that moment (booked 3 hours
        ahead: no 24-hour reminder; the patient has just had our email), and a reminder
        for this very time already claimed by a run (ConsultationReminder). A moved
        request has a new time, so its reminders are planned afresh."""
        before = timedelta(hours=hours_before)
        claimed = ConsultationReminder.objects.filter(
            request=OuterRef("pk"), hours_before=hours_before, starts_at=OuterRef("slot__starts_at")
        )
        return (
            self.alias(
                due_at=ExpressionWrapper(
                    F("slot__starts_at") - before, output_field=DateTimeField()
                ),
                # Requests from before slot_chosen_at existed got their time when made.
                chosen_at=Coalesce("slot_chosen_at", "created_at"),
            )
            .filter(
                Q(slot__starts_at__gt=now)
                & Q(slot__starts_at__lte=now + before)
                & Q(slot__starts_at__gt=now - grace + before),
                status=Status.CONFIRMED,
                chosen_at__lte=F("due_at"),
                status_changed_at__lte=F("due_at"),
            )
            .exclude(Exists(claimed))
        )


class ConsultationRequest(models.Model):
    reference = models.CharField(max_length=12, unique=True, default=new_reference, editable=False)
    slot = models.ForeignKey(
        AvailabilitySlot,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="requests",
        help_text="Empty when the patient asked to be contacted to arrange a time.",
    )
    # True while this request occupies one place in `slot.held`.
    holds_place = models.BooleanField(default=False, editable=False)
    preferred_times = models.CharField("preferred days and times", max_length=300, blank=True)

    full_name = models.CharField("name", max_length=100)
    email = models.EmailField(max_length=254)
    phone = PhoneNumberField(max_length=32, region="US")
    preferred_contact = models.CharField(
        "preferred contact", max_length=10, choices=PreferredContact.choices
    )
    state = models.CharField("state of residence", max_length=2, choices=US_STATES)
    is_adult_confirmed = models.BooleanField("confirmed 18 or over", default=False)
    discuss_topics = models.CharField(
        "would like to discuss", max_length=60, blank=True, help_text="Comma-separated codes."
    )
    note = models.CharField(max_length=500, blank=True)
    has_therapist = models.CharField(
        "works with a therapist now", max_length=10, choices=TherapistAnswer.choices
    )
    expects_self_pay = models.CharField(
        "expects to pay for themselves",
        max_length=10,
        choices=SelfPayAnswer.choices,
        blank=True,
        help_text="Yes means: send a Good Faith Estimate (No Surprises Act).",
    )
    heard_about = models.CharField(
        "heard about the clinic from", max_length=10, choices=HeardAbout.choices, blank=True
    )

    contact_consent_at = models.DateTimeField("contact consent given at")
    not_emergency_ack_at = models.DateTimeField("'not for emergencies' acknowledged at")
    consent_policy_version = models.CharField(max_length=20)

    status = models.CharField(max_length=12, choices=Status.choices, default=Status.NEW)
    status_changed_at = models.DateTimeField(default=timezone.now, editable=False)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_consultation_requests",
    )
    created_at = models.DateTimeField("received", default=timezone.now, editable=False)

    confirmation_email_status = models.CharField(
        "email", max_length=10, choices=EmailStatus.choices, default=EmailStatus.PENDING
    )
    # Only the exception's class name: a message text could carry an address.
    confirmation_email_error = models.CharField(max_length=100, blank=True)
    confirmation_email_sent_at = models.DateTimeField(null=True, blank=True)
    staff_notified_at = models.DateTimeField(null=True, blank=True)

    video_link = models.URLField(
        "video link",
        max_length=300,
        blank=True,
        help_text="For a video consultation: the link the patient joins by. The confirmation "
        "email and the reminders give it.",
    )
    # The SEQUENCE the next calendar file for this request carries. Each file sent takes
    # the next number, so a patient's calendar always replaces the event with the newest.
    calendar_sequence = models.PositiveIntegerField(default=0, editable=False)
    # When the request got its current time (booked or moved): reminders that were due
    # before then are not sent.
    slot_chosen_at = models.DateTimeField(null=True, blank=True, editable=False)

    # The random key inside the patient's signed manage link, and a hash of the one-time
    # form token that created the request (so a replayed form finds its first request).
    manage_key = models.CharField(
        max_length=64, unique=True, default=new_manage_key, editable=False
    )
    submission_token_hash = models.CharField(max_length=64, blank=True, editable=False)

    objects = ConsultationRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "consultation request"
        permissions = [("export_consultationrequest", "Can export consultation requests")]
        constraints = [
            models.CheckConstraint(
                condition=Q(holds_place=False) | Q(slot__isnull=False), name="place_needs_slot"
            ),
            models.UniqueConstraint(
                fields=["submission_token_hash"],
                condition=~Q(submission_token_hash=""),
                name="one_request_per_form_token",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    def self_service_closed_reason(self) -> str:
        """Why the patient can no longer cancel or move from their manage link ("closed" or
        "too_late"); empty while they still can."""
        if not self.is_active:
            return "closed"
        if self.slot is not None and self.slot.starts_at < self_service_cutoff():
            return "too_late"
        return ""

    def calendar_uid(self) -> str:
        """One UID for the request's whole life, so every calendar file updates one event."""
        host = urlsplit(settings.CLINIC_SITE_URL).hostname or "localhost"
        return f"{self.reference}@{host}"

    def get_discuss_topics_display(self) -> str:
        labels = dict(DiscussTopic.choices)
        return ", ".join(labels.get(code, code) for code in self.discuss_topics.split(",") if code)


# Bump when the wording of the booking form's "you may contact my therapist" box changes;
# each stored therapist contact keeps the version the patient agreed to.
THERAPIST_CONTACT_POLICY_VERSION = "2026-12"


class TherapistContact(models.Model):
    """The patient's own therapist, stored only because the patient ticked "you may contact
    my therapist" on the booking form (the row is that consent). Seen on the request page
    only by staff with `view_therapistcontact`; deleted with the request."""

    request = models.OneToOneField(
        ConsultationRequest, on_delete=models.CASCADE, related_name="therapist_contact"
    )
    name = models.CharField("therapist's name", max_length=100)
    practice = models.CharField("practice or clinic", max_length=150, blank=True)
    phone = PhoneNumberField(max_length=32, region="US", blank=True)
    email = models.EmailField(max_length=254, blank=True)
    consent_at = models.DateTimeField("contact agreed at", default=timezone.now)
    consent_policy_version = models.CharField(
        max_length=20, default=THERAPIST_CONTACT_POLICY_VERSION
    )

    class Meta:
        verbose_name = "therapist contact"
        constraints = [
            models.CheckConstraint(condition=~Q(name=""), name="therapist_contact_has_name"),
            models.CheckConstraint(
                condition=~Q(phone="") | ~Q(email=""), name="therapist_contact_reachable"
            ),
        ]

    def __str__(self) -> str:
        # Never the therapist's details: this shows in the admin's deletion summary.
        return f"Therapist contact for {self.request_id}"


# Handling a request (its status, who has it, notes) is changing it: the one permission
# the admin checks, and the one that decides who can be assigned a request.
HANDLE_PERMISSION = "consultations.change_consultationrequest"


def request_handlers(*, keeping=None):
    """Active staff whose role may handle requests (superusers included), and `keeping`
    (a user id) whatever their role now: whoever has a request stays a choice for it."""
    app_label, codename = HANDLE_PERMISSION.split(".")
    granted = Permission.objects.filter(content_type__app_label=app_label, codename=codename)
    may = Q(is_active=True, is_staff=True) & (
        Q(is_superuser=True) | Q(user_permissions__in=granted) | Q(groups__permissions__in=granted)
    )
    if keeping is not None:
        may |= Q(pk=keeping)
    return get_user_model().objects.filter(may).distinct()


class StatusChange(models.Model):
    request = models.ForeignKey(
        ConsultationRequest, on_delete=models.CASCADE, related_name="status_changes"
    )
    from_status = models.CharField(max_length=12, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=Status.choices)
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        help_text="Empty when the patient made the change.",
    )
    # A move to another time keeps both times as they were (values, not links: slots
    # change and go, the history stays). Empty for a change of status alone.
    from_starts_at = models.DateTimeField("moved from", null=True, blank=True)
    from_modality = models.CharField(max_length=20, choices=Modality.choices, blank=True)
    to_starts_at = models.DateTimeField("moved to", null=True, blank=True)
    to_modality = models.CharField(max_length=20, choices=Modality.choices, blank=True)
    # What else went with the change: "patient emailed" or "patient not emailed (staff
    # chose)". Never patient data.
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["changed_at", "pk"]

    def __str__(self) -> str:
        status = f"{self.get_from_status_display() or '–'} → {self.get_to_status_display()}"
        if self.to_starts_at is None:
            return f"{status}; {self.note}" if self.note else status
        to = f"{format_clinic_time(self.to_starts_at)} ({self.get_to_modality_display()})"
        if self.from_starts_at is None:
            move = f"chose {to}"
        else:
            was = f"{format_clinic_time(self.from_starts_at)} ({self.get_from_modality_display()})"
            move = f"moved from {was} to {to}"
        text = move if self.from_status == self.to_status else f"{move}; {status}"
        return f"{text}; {self.note}" if self.note else text


class ReminderState(models.TextChoices):
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Not sent"


class ConsultationReminderQuerySet(models.QuerySet):
    def retry_due(self, *, hours_before: int, now: datetime, grace: timedelta):
        """Reminders whose send failed, to try again at `now`: still within the grace of
        their due moment, for a consultation still confirmed at that very time."""
        before = timedelta(hours=hours_before)
        return self.filter(
            Q(starts_at__gt=now)
            & Q(starts_at__lte=now + before)
            & Q(starts_at__gt=now - grace + before),
            state=ReminderState.FAILED,
            hours_before=hours_before,
            request__status=Status.CONFIRMED,
            request__slot__starts_at=F("starts_at"),
        )


class ConsultationReminder(models.Model):
    """One reminder for one consultation time. The row is the claim: it is made (once, by
    the unique constraint) by the run that sends it, so two runs never both send."""

    request = models.ForeignKey(
        ConsultationRequest, on_delete=models.CASCADE, related_name="reminders"
    )
    hours_before = models.PositiveSmallIntegerField()
    # The consultation time it reminds of: a move gives the new time reminders of its own.
    starts_at = models.DateTimeField()
    state = models.CharField(
        max_length=10, choices=ReminderState.choices, default=ReminderState.SENDING
    )
    claimed_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=1)
    # Only the exception's class name, as for the confirmation.
    error = models.CharField(max_length=100, blank=True)

    objects = ConsultationReminderQuerySet.as_manager()

    class Meta:
        ordering = ["-claimed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "hours_before", "starts_at"], name="one_reminder_per_time"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.hours_before} h reminder for {self.request}"


def calendar_feed_token_hash(token: str) -> str:
    """What is kept of a staff calendar feed's token: its address can be checked, never
    rebuilt from the database."""
    return hashlib.sha256(token.encode()).hexdigest()


class StaffCalendarFeedQuerySet(models.QuerySet):
    def for_token(self, token: str):
        """The feed whose address carries `token`, with its staff account, or None."""
        return (
            self.select_related("user").filter(token_hash=calendar_feed_token_hash(token)).first()
        )


class StaffCalendarFeed(models.Model):
    """A staff member's private calendar subscription (consultations/staff_calendar.py):
    an ICS address with a long random token, one per account. Only a hash of the token is
    kept. Making a new address replaces the hash, so the old one stops working; turning
    the feed off deletes the row."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="calendar_feed",
        editable=False,
        verbose_name="staff account",
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField("address made", default=timezone.now, editable=False)

    objects = StaffCalendarFeedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "staff calendar feed"

    def __str__(self) -> str:
        return f"Calendar feed of {self.user.get_username()}"


class StaffNote(models.Model):
    request = models.ForeignKey(
        ConsultationRequest, on_delete=models.CASCADE, related_name="staff_notes"
    )
    text = models.TextField(max_length=2000)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, editable=False
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"Note of {timezone.localtime(self.created_at):%Y-%m-%d %H:%M}"


class AuditAction(models.TextChoices):
    VIEW = "view", "Viewed"
    CHANGE = "change", "Changed"
    EXPORT = "export", "Exported"
    DELETE = "delete", "Deleted"
    LIST = "list", "Searched or filtered the list"
    ADD = "add", "Added"


class AuditEvent(models.Model):
    """One staff access to consultation requests, or one staff change to availability.
    Rows are only ever added."""

    at = models.DateTimeField(default=timezone.now, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, editable=False
    )
    # Kept as text too, so the trail still names the person after their account is gone.
    username = models.CharField(max_length=150, editable=False)
    action = models.CharField(max_length=10, choices=AuditAction.choices, editable=False)
    # A plain id, not a foreign key: the trail outlives purged requests.
    request_id = models.PositiveBigIntegerField("request id", null=True, editable=False)
    reference = models.CharField(max_length=12, blank=True, editable=False)
    slot_id = models.PositiveBigIntegerField("slot id", null=True, editable=False)
    count = models.PositiveIntegerField(null=True, editable=False)
    # Room for a slot changed in time, modality and site at once (about 230 characters).
    detail = models.CharField(max_length=500, blank=True, editable=False)
    source_ip = models.GenericIPAddressField("from", null=True, editable=False)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = "audit event"

    def __str__(self) -> str:
        what = self.reference or (f"slot {self.slot_id}" if self.slot_id else self.count)
        return f"{self.username} {self.get_action_display().lower()} {what}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Audit events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Audit events cannot be deleted.")


# Bump when the wording of the waitlist form's consent box changes; each entry keeps the
# version the patient agreed to.
WAITLIST_POLICY_VERSION = "2026-12"


def new_waitlist_key() -> str:
    return secrets.token_urlsafe(24)


class WaitlistEntryQuerySet(models.QuerySet):
    def due_a_message(self, *, now: datetime):
        """Entries that may be told about an opening now: never told, or told so long ago
        that the link they got has expired (CLINIC_WAITLIST_LINK_HOURS). Oldest first."""
        link_age = timedelta(hours=settings.CLINIC_WAITLIST_LINK_HOURS)
        return self.filter(
            Q(notified_at__isnull=True) | Q(notified_at__lte=now - link_age)
        ).order_by("created_at", "pk")

    def created_before(self, when):
        return self.filter(created_at__lt=when)


class WaitlistEntry(models.Model):
    """A patient who asked to be emailed when a consultation time opens: only the email
    address they chose, where they live (what is legal for them), what they are waiting
    for, and the consent record. Nobody is ever booked from it."""

    email = models.EmailField(max_length=254)
    state = models.CharField("state of residence", max_length=2, choices=US_STATES)
    modality = models.CharField(max_length=20, choices=Modality.choices, blank=True)
    clinician = models.ForeignKey(
        Clinician, on_delete=models.CASCADE, null=True, blank=True, related_name="waitlist"
    )
    # The Monday of the week they want, in the clinic's zone; empty for any week.
    week = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField("joined", default=timezone.now, editable=False)
    consent_at = models.DateTimeField("consent given at", default=timezone.now)
    consent_policy_version = models.CharField(max_length=20, default=WAITLIST_POLICY_VERSION)
    # The random key inside the signed links of the emails (book, leave the waitlist).
    key = models.CharField(max_length=64, unique=True, default=new_waitlist_key, editable=False)
    notified_at = models.DateTimeField("last told of an opening", null=True, blank=True)
    times_notified = models.PositiveSmallIntegerField(default=0)

    objects = WaitlistEntryQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = "waitlist entry"
        verbose_name_plural = "waitlist entries"

    def __str__(self) -> str:
        # Never the address: this shows in logs of deletions and in admin summaries.
        return f"Waitlist entry {self.pk}"

    def fits(self, slot: AvailabilitySlot, licensed_states: set[str]) -> bool:
        """Whether `slot` is one this patient is waiting for and may book from their state
        (`licensed_states`: where the slot's clinician is licensed)."""
        legal = slot.modality == Modality.IN_PERSON or self.state in licensed_states
        return (
            legal
            and self.modality in ("", slot.modality)
            and self.clinician_id in (None, slot.clinician_id)
            and (self.week is None or clinic_week_start(slot.starts_at) == self.week)
        )


def clinic_week_start(when: datetime):
    """The Monday of the clinic-zone week that `when` falls in."""
    day = timezone.localtime(when, clinic_zone()).date()
    return day - timedelta(days=day.weekday())


# The self-check's tables live with it (consultations/self_check/models.py); importing them
# here registers them with this app.
from consultations.self_check.models import ScreenQuestion, SharedSelfCheck  # noqa: E402, F401
