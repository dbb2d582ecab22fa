"""Writes for consultations: holding places, creating and changing requests, the audit trail.

Places in a slot are counted in the database with conditional updates, never by reading
the count into Python first, so concurrent bookings cannot overfill a slot.
"""

import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult
from phonenumber_field.phonenumber import PhoneNumber

from clinic.security import client_ip
from consultations.formatting import clinic_zone
from consultations.models import (
    ACTIVE_STATUSES,
    CONSENT_POLICY_VERSION,
    PLACE_FREEING_STATUSES,
    THERAPIST_CONTACT_POLICY_VERSION,
    AuditAction,
    AuditEvent,
    AvailabilitySlot,
    Clinician,
    ConsultationRequest,
    EmailStatus,
    Location,
    Modality,
    StaffCalendarFeed,
    StaffNote,
    Status,
    StatusChange,
    TherapistAnswer,
    TherapistContact,
    calendar_feed_token_hash,
    form_token_hash,
    new_reference,
)
from consultations.notifications import STAFF_STATUS_EMAILS
from consultations.self_check.services import shared_self_check_save
from consultations.self_check.sharing import SelfCheckAnswers
from consultations.tasks import (
    WorkerLost,
    send_consultation_request_emails,
    send_patient_cancellation_notice,
    send_patient_update,
    send_staff_change_notice,
)
from consultations.waitlist import waitlist_place_opened

logger = logging.getLogger(__name__)


class SlotUnavailable(Exception):
    """The slot is closed, past or full, or a booking rule or the patient's state rules
    it out (AvailabilitySlotQuerySet.bookable)."""


class SlotOverlaps(Exception):
    """The clinician already has a slot at part of that time; `slot` is one of them."""

    def __init__(self, slot: AvailabilitySlot):
        super().__init__("overlaps another slot of the same clinician")
        self.slot = slot


class DuplicateSubmission(Exception):
    """The one-time form token was already used; `existing` is the request it created."""

    def __init__(self, existing: ConsultationRequest):
        super().__init__("form token already used")
        self.existing = existing


class StatusChanged(Exception):
    """The request's status is no longer one the caller saw (a patient cancelled it, or a
    colleague changed it, since the page was shown); `status` is what it is now."""

    def __init__(self, status: str):
        super().__init__(f"status is now {status}")
        self.status = status


class RequestClosed(Exception):
    """The request is cancelled, declined or finished."""


class TooLateToChange(Exception):
    """The appointment is inside the self-service cut-off, or the request is closed."""


@dataclass(frozen=True)
class TherapistDetails:
    """The patient's therapist, as given on the booking form with the box "you may contact
    my therapist" ticked: a name, and a phone number or an email (or both)."""

    name: str
    practice: str = ""
    phone: PhoneNumber | str = ""
    email: str = ""


def availability_slot_hold(
    *, slot_id: int, state: str | None = None, by_staff: bool = False
) -> None:
    """Take one place in a slot that is bookable (for a patient in `state`, if given; by
    staff, if `by_staff`: see AvailabilitySlotQuerySet.bookable), or raise SlotUnavailable."""
    with transaction.atomic():
        # The daily maximum and the buffer read the clinician's other slots. Lock the
        # clinician first, so two bookings with them queue instead of both counting the
        # day before either adds to it. (SQLite: the IMMEDIATE transaction already queues.)
        Clinician.objects.select_for_update(of=("self",)).filter(slots__pk=slot_id).first()
        bookable = AvailabilitySlot.objects.bookable(state=state, by_staff=by_staff)
        bookable = bookable.filter(pk=slot_id)
        if bookable.update(held=F("held") + 1) == 0:
            raise SlotUnavailable


def availability_slot_release(*, slot_id: int) -> None:
    AvailabilitySlot.objects.filter(pk=slot_id, held__gt=0).update(held=F("held") - 1)


def _enqueue_emails(request_id: int) -> None:
    # robust: a failure to queue is logged and leaves the email "pending" for staff to resend;
    # the request itself is already committed and the patient still sees the confirmation.
    transaction.on_commit(lambda: send_consultation_request_emails.enqueue(request_id), robust=True)


def _enqueue_staff_change_notice(request_id: int, change: str) -> None:
    transaction.on_commit(lambda: send_staff_change_notice.enqueue(request_id, change), robust=True)


def _enqueue_patient_cancellation_notice(request_id: int) -> None:
    # robust, as above: the cancel is committed whether or not its email can be queued.
    transaction.on_commit(lambda: send_patient_cancellation_notice.enqueue(request_id), robust=True)


def _enqueue_patient_update(request_id: int, change: str) -> None:
    from consultations.tasks import send_patient_update

    # robust, as above: the change is committed whether or not its email can be queued.
    transaction.on_commit(lambda: send_patient_update.enqueue(request_id, change), robust=True)


def _email_note(email_patient: bool) -> str:
    return "patient emailed" if email_patient else "patient not emailed (staff chose)"


def consultation_request_create(
    *,
    slot: AvailabilitySlot | None,
    full_name: str,
    email: str,
    phone: PhoneNumber | str,
    preferred_contact: str,
    state: str,
    discuss_topics: Iterable[str] = (),
    note: str = "",
    has_therapist: str,
    heard_about: str = "",
    expects_self_pay: str = "",
    preferred_times: str = "",
    self_check: SelfCheckAnswers | None = None,
    therapist: TherapistDetails | None = None,
    form_token: str = "",
    notify: bool = True,
) -> ConsultationRequest:
    """Hold a place (if a slot was chosen) and create the request, in one transaction,
    with the self-check answers the patient chose to share, if any, and their therapist's
    details if they agreed that the clinic may contact them (`therapist`: only with
    `has_therapist` "yes", else ValueError).

    Raises DuplicateSubmission if `form_token` already made a request, even when that
    request took the slot's last place (the same form sent twice, or again after a lost
    response, never books a second time), and SlotUnavailable if the slot cannot take
    another request.
    """
    if therapist is not None and has_therapist != TherapistAnswer.YES:
        raise ValueError("therapist details need has_therapist 'yes'")
    token_hash = form_token_hash(form_token) if form_token else ""
    for _attempt in range(3):
        try:
            with transaction.atomic():
                if slot is not None:
                    availability_slot_hold(slot_id=slot.pk, state=state)
                now = timezone.now()
                consultation_request = ConsultationRequest.objects.create(
                    reference=new_reference(),
                    slot=slot,
                    holds_place=slot is not None,
                    preferred_times=preferred_times if slot is None else "",
                    full_name=full_name,
                    email=email,
                    phone=phone,
                    preferred_contact=preferred_contact,
                    state=state,
                    is_adult_confirmed=True,
                    discuss_topics=",".join(discuss_topics),
                    note=note,
                    has_therapist=has_therapist,
                    heard_about=heard_about,
                    expects_self_pay=expects_self_pay,
                    contact_consent_at=now,
                    not_emergency_ack_at=now,
                    consent_policy_version=CONSENT_POLICY_VERSION,
                    status=Status.NEW,
                    status_changed_at=now,
                    created_at=now,
                    slot_chosen_at=now if slot is not None else None,
                    submission_token_hash=token_hash,
                )
                StatusChange.objects.create(
                    request=consultation_request, to_status=Status.NEW, changed_at=now
                )
                if self_check is not None:
                    shared_self_check_save(
                        consultation_request=consultation_request, answers=self_check
                    )
                if therapist is not None:
                    TherapistContact.objects.create(
                        request=consultation_request,
                        name=therapist.name,
                        practice=therapist.practice,
                        phone=therapist.phone,
                        email=therapist.email,
                        consent_at=now,
                        consent_policy_version=THERAPIST_CONTACT_POLICY_VERSION,
                    )
                if notify:
                    _enqueue_emails(consultation_request.pk)
                return consultation_request
        except (IntegrityError, SlotUnavailable) as refused:
            # The token's first request commits before this one can hold its place or
            # insert its row: answer with it. Read after the rollback, so it is visible.
            existing = ConsultationRequest.objects.made_with_form_token(form_token)
            if existing is not None:
                raise DuplicateSubmission(existing) from None
            if isinstance(refused, SlotUnavailable):
                raise
            # Otherwise a reference collided (about one in a billion): try a new one.
    raise RuntimeError("could not allocate a unique reference")


def consultation_request_set_status(
    *,
    consultation_request: ConsultationRequest,
    status: str,
    by=None,
    seen: Iterable[str] | None = None,
    email_patient: bool = False,
) -> bool:
    """Move a request to `status`, recording who and when; frees or re-takes its place.

    Staff (`by`) confirming, declining or cancelling tell the patient by email, with the
    calendar file that updates or removes the event, unless `email_patient` is False;
    either way the choice is kept in the request's history. (The patient's own cancel
    sends its email itself.)

    Cancelling or declining frees the place. Re-opening a cancelled or declined request
    takes a place again and raises SlotUnavailable if there is none. Returns False when
    the request already had that status. With `seen` (the statuses the caller acted on),
    a request whose status has since become another one raises StatusChanged instead:
    staff working from a page shown before the patient cancelled never re-open it.
    """
    with transaction.atomic():
        current = ConsultationRequest.objects.select_for_update().get(pk=consultation_request.pk)
        if current.status == status:
            return False
        if seen is not None and current.status not in set(seen):
            raise StatusChanged(current.status)
        updates = {"status": status, "status_changed_at": timezone.now()}
        if status in PLACE_FREEING_STATUSES and current.holds_place:
            availability_slot_release(slot_id=current.slot_id)
            updates["holds_place"] = False
            waitlist_place_opened(slot_ids=[current.slot_id])
        elif status in ACTIVE_STATUSES and current.slot_id and not current.holds_place:
            availability_slot_hold(
                slot_id=current.slot_id, state=current.state, by_staff=by is not None
            )
            updates["holds_place"] = True
        ConsultationRequest.objects.filter(pk=current.pk).update(**updates)
        patient_email = STAFF_STATUS_EMAILS.get(status) if by is not None else None
        StatusChange.objects.create(
            request=current,
            from_status=current.status,
            to_status=status,
            changed_at=updates["status_changed_at"],
            changed_by=by,
            note=_email_note(email_patient) if patient_email else "",
        )
        if patient_email and email_patient:
            _enqueue_patient_update(current.pk, patient_email)
    for field, value in updates.items():
        setattr(consultation_request, field, value)
    return True


def _check_self_service_allowed(consultation_request: ConsultationRequest) -> None:
    if consultation_request.self_service_closed_reason():
        raise TooLateToChange


def consultation_request_cancel_by_patient(*, consultation_request: ConsultationRequest) -> None:
    """The patient cancels from their manage link; frees the place, tells the clinic and
    emails the patient. Raises TooLateToChange if it is too soon or the request is closed
    (a second cancel among them: it changes nothing and sends nothing)."""
    with transaction.atomic():
        _check_self_service_allowed(consultation_request)
        if not consultation_request_set_status(
            consultation_request=consultation_request, status=Status.CANCELLED
        ):
            raise TooLateToChange
        _enqueue_staff_change_notice(consultation_request.pk, "cancelled")
        _enqueue_patient_cancellation_notice(consultation_request.pk)


def consultation_request_move(
    *,
    consultation_request: ConsultationRequest,
    new_slot: AvailabilitySlot,
    by=None,
    email_patient: bool = True,
) -> None:
    """Move a request to another slot: hold the new place and free the old one, atomically.

    From the patient's link (`by` None): only before the self-service cut-off; the request
    goes back to "new" so staff confirm the new time, the patient gets a fresh
    confirmation and the clinic a notice. By staff (`by`): any request still going ahead
    (else RequestClosed), keeping its status; the patient is emailed the new time unless
    `email_patient` is False, and the choice is kept in the history. Either way the
    calendar file sent updates the patient's one event, reminders follow the new time, and
    the status history keeps both times.
    """
    with transaction.atomic():
        current = (
            ConsultationRequest.objects.select_for_update(of=("self",))
            .select_related("slot")
            .get(pk=consultation_request.pk)
        )
        if by is None:
            _check_self_service_allowed(current)
        elif not current.is_active:
            raise RequestClosed
        if current.slot_id == new_slot.pk:
            return
        # Free the old place first, so it counts neither against the clinician's day nor
        # the buffer; if the new time cannot be held, the transaction puts it back.
        if current.holds_place:
            availability_slot_release(slot_id=current.slot_id)
            waitlist_place_opened(slot_ids=[current.slot_id])
        availability_slot_hold(slot_id=new_slot.pk, state=current.state, by_staff=by is not None)
        now = timezone.now()
        status = Status.NEW if by is None else current.status
        updates = {
            "slot": new_slot,
            "holds_place": True,
            "preferred_times": "",
            "slot_chosen_at": now,
        }
        if by is None:
            updates.update(
                confirmation_email_status=EmailStatus.PENDING, confirmation_email_error=""
            )
        if status != current.status:
            updates.update(status=status, status_changed_at=now)
        ConsultationRequest.objects.filter(pk=current.pk).update(**updates)
        old_slot = current.slot
        StatusChange.objects.create(
            request=current,
            from_status=current.status,
            to_status=status,
            changed_at=now,
            changed_by=by,
            from_starts_at=old_slot.starts_at if old_slot else None,
            from_modality=old_slot.modality if old_slot else "",
            to_starts_at=new_slot.starts_at,
            to_modality=new_slot.modality,
            note=_email_note(email_patient) if by is not None else "",
        )
        if by is None:
            _enqueue_emails(current.pk)
            _enqueue_staff_change_notice(current.pk, "moved")
        elif email_patient:
            _enqueue_patient_update(current.pk, "moved")
    consultation_request.refresh_from_db()


def consultation_request_calendar_sequence_take(*, request_id: int) -> int:
    """The SEQUENCE for the calendar file about to be sent, and one higher for the next:
    every file a patient gets outranks the ones before it."""
    with transaction.atomic():
        ConsultationRequest.objects.filter(pk=request_id).update(
            calendar_sequence=F("calendar_sequence") + 1
        )
        taken = ConsultationRequest.objects.values_list("calendar_sequence", flat=True)
        return taken.get(pk=request_id) - 1


def consultation_request_resend_confirmation(*, consultation_request: ConsultationRequest) -> None:
    """Send the patient's confirmation again (and the staff notice, if it never went).

    Raises RequestClosed for a cancelled, declined or finished request: there is no
    booking left to confirm.
    """
    queued = ConsultationRequest.objects.filter(
        pk=consultation_request.pk, status__in=ACTIVE_STATUSES
    ).update(confirmation_email_status=EmailStatus.PENDING, confirmation_email_error="")
    if not queued:
        raise RequestClosed
    _enqueue_emails(consultation_request.pk)


def staff_note_add(*, consultation_request: ConsultationRequest, text: str, author) -> StaffNote:
    return StaffNote.objects.create(request=consultation_request, text=text, author=author)


def audit_event_record(
    *,
    http_request: HttpRequest | None,
    action: str,
    consultation_request: ConsultationRequest | None = None,
    slot: AvailabilitySlot | None = None,
    count: int | None = None,
    detail: str = "",
    user=None,
) -> AuditEvent:
    """Add one row to the append-only audit trail: a staff access to a request, or a
    staff change to a slot. `detail` must carry no patient data. `user` names the staff
    member when the request itself is not signed in (a calendar app fetching their feed)."""
    user = user or getattr(http_request, "user", None)
    authenticated = user is not None and user.is_authenticated
    return AuditEvent.objects.create(
        user=user if authenticated else None,
        username=user.get_username() if authenticated else "",
        action=action,
        request_id=consultation_request.pk if consultation_request else None,
        reference=consultation_request.reference if consultation_request else "",
        slot_id=slot.pk if slot else None,
        count=count,
        detail=detail[: AuditEvent._meta.get_field("detail").max_length],
        source_ip=(client_ip(http_request) or None) if http_request else None,
    )


def _first_overlap(*, clinician_id: int, starts_at, ends_at, exclude_pk=None):
    overlapping = AvailabilitySlot.objects.overlapping(
        clinician_id=clinician_id, starts_at=starts_at, ends_at=ends_at
    )
    if exclude_pk is not None:
        overlapping = overlapping.exclude(pk=exclude_pk)
    return overlapping.order_by("starts_at").first()


def availability_slot_save(*, slot: AvailabilitySlot) -> AvailabilitySlot:
    """Save a new or changed slot, unless it overlaps another of its clinician's slots
    (SlotOverlaps). PostgreSQL's exclusion constraint backs the check; on SQLite the
    check runs inside the saving transaction, which writers take in turn."""
    try:
        with transaction.atomic():
            other = _first_overlap(
                clinician_id=slot.clinician_id,
                starts_at=slot.starts_at,
                ends_at=slot.ends_at,
                exclude_pk=slot.pk,
            )
            if other is not None:
                raise SlotOverlaps(other)
            was_open = (
                not slot._state.adding
                and AvailabilitySlot.objects.filter(pk=slot.pk, is_open=True).exists()
            )
            slot.save()
            if slot.is_open and not was_open:
                waitlist_place_opened(slot_ids=[slot.pk])
    except IntegrityError:
        # A colleague saved an overlapping slot in the same moment (PostgreSQL).
        other = _first_overlap(
            clinician_id=slot.clinician_id, starts_at=slot.starts_at, ends_at=slot.ends_at
        )
        if other is None:
            raise
        raise SlotOverlaps(other) from None
    return slot


def availability_slot_series_create(
    *,
    clinician: Clinician,
    location: Location | None = None,
    start_date: date,
    end_date: date,
    weekdays: Iterable[int],
    start_times: Iterable[time],
    duration_minutes: int,
    modality: str,
    capacity: int = 1,
) -> tuple[int, int]:
    """Create a slot with `clinician` (at `location`, for in person) on each chosen
    weekday (0 = Monday) at each start time, in the clinic's zone, from start_date to
    end_date inclusive. Times that would overlap one of the clinician's slots, existing
    or made earlier in the series, are skipped.

    Returns (created, skipped).
    """
    weekdays = set(weekdays)
    start_times = sorted(set(start_times))
    zone = clinic_zone()
    length = timedelta(minutes=duration_minutes)
    wanted: list[datetime] = []
    day = start_date
    while day <= end_date:
        if day.weekday() in weekdays:
            wanted.extend(datetime.combine(day, at, tzinfo=zone) for at in start_times)
        day += timedelta(days=1)
    if not wanted:
        return 0, 0
    with transaction.atomic():
        # Inside the transaction, so on SQLite no other writer adds a slot between this
        # read and the insert; on PostgreSQL the exclusion constraint refuses one.
        taken = [
            (slot.starts_at, slot.ends_at)
            for slot in AvailabilitySlot.objects.overlapping(
                clinician_id=clinician.pk, starts_at=wanted[0], ends_at=wanted[-1] + length
            )
        ]
        new = []
        for at in wanted:
            if any(start < at + length and at < end for start, end in taken):
                continue
            taken.append((at, at + length))
            new.append(
                AvailabilitySlot(
                    clinician=clinician,
                    location=location if modality == Modality.IN_PERSON else None,
                    starts_at=at,
                    duration_minutes=duration_minutes,
                    modality=modality,
                    capacity=capacity,
                )
            )
        AvailabilitySlot.objects.bulk_create(new)
        waitlist_place_opened(slot_ids=[slot.pk for slot in new])
    return len(new), len(wanted) - len(new)


def consultation_requests_purge(*, older_than_days: int, dry_run: bool = False) -> int:
    """Delete requests that closed more than `older_than_days` ago, with their notes,
    history, shared self-check answers and therapist contact (they cascade). The audit
    trail keeps only ids and references. Returns how many."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    with transaction.atomic():
        old = ConsultationRequest.objects.closed_before(cutoff)
        count = old.count()
        if not dry_run:
            # Closed requests hold no place, except completed and no-show ones, whose
            # slots are in the past; the held count stays as the slot's history.
            old.delete()
    return count


@dataclass(frozen=True)
class StrandedTask:
    """A task found RUNNING past CLINIC_TASK_STRANDED_SECONDS, and the request whose
    email is now marked failed because of it (its reference; empty if none)."""

    name: str
    started_at: datetime
    email_failed_for: str = ""


# Patient emails whose loss staff can repair with "Resend confirmation email", which sends
# the request's current state: the booking's own, and a staff confirm or move.
_RESENDABLE_UPDATES = {"confirmed", "moved"}


def _request_email_lost(task: DBTaskResult) -> int | None:
    """The id of the active request whose patient email `task` was sending, if staff can
    send it again; None for a staff notice or a cancel's email (nothing to resend)."""
    args = task.args_kwargs.get("args", [])
    kwargs = task.args_kwargs.get("kwargs", {})
    request_id = args[0] if args else kwargs.get("request_id")
    change = args[1] if len(args) > 1 else kwargs.get("change")
    if task.task_path == send_consultation_request_emails.module_path:
        return request_id
    if task.task_path == send_patient_update.module_path and change in _RESENDABLE_UPDATES:
        return request_id
    return None


def stranded_tasks_fail(*, dry_run: bool = False) -> list[StrandedTask]:
    """Mark failed every task still RUNNING CLINIC_TASK_STRANDED_SECONDS after it started
    (its worker was killed or lost the database mid-send, django-tasks issue #46), and
    mark the request's confirmation email failed when it is a patient email staff can
    resend (the request still open), so the admin's Email column shows it.

    Each task is marked with a conditional update, so a task that finished meanwhile, or
    that another run of this already marked, is left alone; a booking email already
    recorded as sent stays sent. `dry_run` only lists them.
    """
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.CLINIC_TASK_STRANDED_SECONDS)
    stranded = DBTaskResult.objects.running().filter(started_at__lt=cutoff).order_by("started_at")
    found = []
    for task in stranded:
        request_id = _request_email_lost(task)
        reference = ""
        if dry_run:
            found.append(StrandedTask(task.task_name, task.started_at))
            continue
        with transaction.atomic():
            marked = DBTaskResult.objects.filter(
                pk=task.pk, status=TaskResultStatus.RUNNING, started_at=task.started_at
            ).update(
                status=TaskResultStatus.FAILED,
                finished_at=now,
                exception_class_path=f"{WorkerLost.__module__}.{WorkerLost.__qualname__}",
                traceback=(
                    f"Still running {int((now - task.started_at).total_seconds())} s after it "
                    "started: its worker stopped. Marked failed by fail_stranded_tasks."
                ),
            )
            if not marked:
                continue
            if request_id is not None:
                requests = ConsultationRequest.objects.filter(
                    pk=request_id, status__in=ACTIVE_STATUSES
                )
                if task.task_path == send_consultation_request_emails.module_path:
                    # The patient's confirmation went out if the task recorded it.
                    requests = requests.exclude(confirmation_email_status=EmailStatus.SENT)
                if requests.update(
                    confirmation_email_status=EmailStatus.FAILED,
                    confirmation_email_error=WorkerLost.__name__,
                ):
                    reference = (
                        ConsultationRequest.objects.filter(pk=request_id)
                        .values_list("reference", flat=True)
                        .first()
                    )
        logger.warning(
            "task %s stranded in RUNNING since %s: marked failed%s",
            task.task_name,
            task.started_at.isoformat(timespec="seconds"),
            f"; email of {reference} marked failed" if reference else "",
        )
        found.append(StrandedTask(task.task_name, task.started_at, reference))
    return found


def staff_calendar_feed_issue(*, user, http_request: HttpRequest | None = None) -> str:
    """Give `user` a new calendar feed address and return its token, to show them once:
    only its hash is kept. An earlier address of theirs stops working at once. Recorded
    in the audit trail."""
    token = secrets.token_urlsafe(32)  # 256 random bits
    with transaction.atomic():
        _feed, created = StaffCalendarFeed.objects.update_or_create(
            user=user,
            defaults={"token_hash": calendar_feed_token_hash(token), "created_at": timezone.now()},
        )
        audit_event_record(
            http_request=http_request,
            action=AuditAction.ADD if created else AuditAction.CHANGE,
            detail=f"calendar feed of {user.get_username()}: "
            + ("address made" if created else "new address, the old one stopped"),
        )
    return token


def staff_calendar_feed_revoke(
    *, feed: StaffCalendarFeed, http_request: HttpRequest | None = None
) -> None:
    """Turn a calendar feed off: its address answers 404 from now on. Recorded in the
    audit trail (its owner, or a manager, did it)."""
    with transaction.atomic():
        audit_event_record(
            http_request=http_request,
            action=AuditAction.DELETE,
            detail=f"calendar feed of {feed.user.get_username()}: turned off",
        )
        feed.delete()
