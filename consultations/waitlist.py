"""The waitlist: patients who asked to be emailed when a consultation time opens.

- Joining stores only the email address the patient gave, their state, what they wait for
  (optionally a modality, a clinician, a week) and the consent record.
- When a place opens (a cancel, a decline, a move away, a new or re-opened slot), the
  service that opened it calls `waitlist_place_opened(slot_ids=...)`; after the commit a
  task emails the entries that fit one of those times, oldest first, at most
  CLINIC_WAITLIST_BATCH per opening. Nobody is booked: the email links to the booking
  page for their state and week, through a signed link that expires after
  CLINIC_WAITLIST_LINK_HOURS. An entry told once waits for the next opening until that
  link has expired, so the next people in line get the next one.
- Every email carries a link to leave the waitlist, which works as long as the entry
  exists. Entries are deleted after CLINIC_WAITLIST_RETENTION_DAYS by the purge command.

The links carry only a signed random key (never the address, state or wishes), and their
paths are redacted from logs like the manage link's (clinic/log_redaction.py).
"""

import logging
from datetime import date, timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from clinic.models import ClinicDetails
from consultations.models import (
    WAITLIST_POLICY_VERSION,
    AvailabilitySlot,
    Clinician,
    WaitlistEntry,
    clinic_week_start,
)

logger = logging.getLogger(__name__)

OFFER_SALT = "consultations.waitlist-offer"
LEAVE_SALT = "consultations.waitlist-leave"
# The entry whose offer link this session opened: booking from it ends the entry.
OFFER_SESSION_KEY = "consultations_waitlist_offer"
OFFER_SESSION_SALT = "consultations.waitlist-session"
# What the email shows of the times that opened (the link shows them all).
TIMES_IN_EMAIL = 3


# --- the links ---------------------------------------------------------------------------


def offer_token_make(entry: WaitlistEntry) -> str:
    return signing.TimestampSigner(salt=OFFER_SALT).sign(entry.key)


def offer_token_read(token: str) -> tuple[WaitlistEntry | None, bool]:
    """(the entry, whether the link is still valid). An expired link still names its
    entry, so its page can offer to leave the list; a forged one names nothing."""
    signer = signing.TimestampSigner(salt=OFFER_SALT)
    max_age = timedelta(hours=settings.CLINIC_WAITLIST_LINK_HOURS)
    try:
        key, valid = signer.unsign(token, max_age=max_age), True
    except signing.SignatureExpired:
        key, valid = signer.unsign(token), False
    except signing.BadSignature:
        return None, False
    return WaitlistEntry.objects.filter(key=key).first(), valid


def leave_token_make(entry: WaitlistEntry) -> str:
    return signing.Signer(salt=LEAVE_SALT).sign(entry.key)


def leave_token_read(token: str) -> WaitlistEntry | None:
    """The entry a leave link names, for as long as it exists (any email's link works)."""
    try:
        key = signing.Signer(salt=LEAVE_SALT).unsign(token)
    except signing.BadSignature:
        return None
    return WaitlistEntry.objects.filter(key=key).first()


def _absolute(path: str) -> str:
    return settings.CLINIC_SITE_URL.rstrip("/") + path


# --- writes ------------------------------------------------------------------------------


def waitlist_entry_create(
    *,
    email: str,
    state: str,
    modality: str = "",
    clinician: Clinician | None = None,
    week: date | None = None,
) -> WaitlistEntry:
    """Add the patient to the waitlist with their consent, or return the entry they
    already have for the same wishes (which keeps its place in line)."""
    wishes = {"state": state, "modality": modality, "clinician": clinician, "week": week}
    existing = WaitlistEntry.objects.filter(email__iexact=email, **wishes).first()
    if existing is not None:
        return existing
    now = timezone.now()
    return WaitlistEntry.objects.create(
        email=email,
        created_at=now,
        consent_at=now,
        consent_policy_version=WAITLIST_POLICY_VERSION,
        **wishes,
    )


def waitlist_entry_leave(*, entry: WaitlistEntry) -> None:
    """Take the patient off the waitlist: the entry is deleted, nothing of it is kept."""
    WaitlistEntry.objects.filter(pk=entry.pk).delete()


def waitlist_offer_remember(session, entry: WaitlistEntry) -> None:
    """This session came from `entry`'s offer link (kept signed in the session)."""
    session[OFFER_SESSION_KEY] = signing.dumps(entry.key, salt=OFFER_SESSION_SALT)


def waitlist_entry_leave_after_booking(session) -> None:
    """The patient booked after opening their offer link: they got a time, so the entry
    ends and no further opening emails them."""
    value = session.pop(OFFER_SESSION_KEY, None)
    if not value:
        return
    try:
        key = signing.loads(value, salt=OFFER_SESSION_SALT)
    except signing.BadSignature:
        return
    WaitlistEntry.objects.filter(key=key).delete()


def waitlist_entries_purge(*, older_than_days: int, dry_run: bool = False) -> int:
    """Delete entries that joined more than `older_than_days` ago. Returns how many."""
    old = WaitlistEntry.objects.created_before(timezone.now() - timedelta(days=older_than_days))
    count = old.count()
    if not dry_run:
        old.delete()
    return count


def waitlist_place_opened(*, slot_ids) -> None:
    """A place opened in these slots: once the change commits, tell who waits for it."""
    from consultations.tasks import notify_waitlist

    slot_ids = sorted({int(pk) for pk in slot_ids if pk is not None})
    if slot_ids:
        # robust: the opening itself stands whether or not the emails can be queued.
        transaction.on_commit(lambda: notify_waitlist.enqueue(slot_ids), robust=True)


# --- telling the waitlist ------------------------------------------------------------


def _opened_slots(slot_ids) -> list[tuple[AvailabilitySlot, set[str]]]:
    """The slots among `slot_ids` still bookable now, with their clinician's states."""
    slots = (
        AvailabilitySlot.objects.bookable()
        .filter(pk__in=slot_ids)
        .select_related("clinician")
        .prefetch_related("clinician__states")
        .order_by("starts_at")
    )
    return [(slot, {s.state for s in slot.clinician.states.all()}) for slot in slots]


def fitting_slots(entry: WaitlistEntry, opened) -> list[AvailabilitySlot]:
    return [slot for slot, states in opened if entry.fits(slot, states)]


def waitlist_notify(*, slot_ids) -> int:
    """Email the waitlisted patients who fit one of these (still bookable) slots, oldest
    first, at most CLINIC_WAITLIST_BATCH. Each is claimed by a conditional update before
    its email goes, so two workers never email the same patient for one opening. Returns
    how many were emailed."""
    opened = _opened_slots(slot_ids)
    if not opened:
        return 0
    now = timezone.now()
    sent = 0
    for entry in WaitlistEntry.objects.due_a_message(now=now).iterator():
        if sent >= settings.CLINIC_WAITLIST_BATCH:
            break
        fitting = fitting_slots(entry, opened)
        if not fitting:
            continue
        claimed = (
            WaitlistEntry.objects.due_a_message(now=now)
            .filter(pk=entry.pk)
            .update(notified_at=now, times_notified=F("times_notified") + 1)
        )
        if not claimed:
            continue  # another worker told them, or they left
        try:
            waitlist_offer_message(entry, fitting).send()
        except Exception as error:  # noqa: BLE001 - logged by id only; the next opening tries again
            WaitlistEntry.objects.filter(pk=entry.pk).update(
                notified_at=entry.notified_at, times_notified=F("times_notified") - 1
            )
            logger.warning("waitlist email for entry %s failed: %s", entry.pk, type(error).__name__)
            continue
        sent += 1
    return sent


def waitlist_offer_message(entry: WaitlistEntry, fitting: list[AvailabilitySlot]) -> EmailMessage:
    """A neutral email: a time has opened, the link to book (it expires), the times, and
    the link to leave the waitlist. No treatment name, nothing the patient gave us."""
    clinic = ClinicDetails.objects.cached()
    offer = reverse("consultations:waitlist_offer", args=[offer_token_make(entry)])
    leave = reverse("consultations:waitlist_leave", args=[leave_token_make(entry)])
    body = render_to_string(
        "emails/waitlist_offer.txt",
        {
            "clinic": clinic,
            "slots": fitting[:TIMES_IN_EMAIL],
            "more": max(0, len(fitting) - TIMES_IN_EMAIL),
            "offer_url": _absolute(offer),
            "leave_url": _absolute(leave),
            "link_hours": settings.CLINIC_WAITLIST_LINK_HOURS,
        },
    )
    return EmailMessage(
        subject=f"A consultation time has opened at {clinic.name}",
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[entry.email],
    )


def offer_week(entry: WaitlistEntry) -> date | None:
    """The week the booking page opens at for this entry: the week they asked for, else
    the first week with a time that fits them (None: the page's own first week)."""
    if entry.week is not None:
        return entry.week
    slots = (
        AvailabilitySlot.objects.bookable(state=entry.state)
        .select_related("clinician")
        .prefetch_related("clinician__states")
        .order_by("starts_at")
    )
    for slot in slots[:200]:
        if entry.fits(slot, {s.state for s in slot.clinician.states.all()}):
            return clinic_week_start(slot.starts_at)
    return None
