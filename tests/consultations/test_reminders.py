"""Reminders before confirmed consultations (send_consultation_reminders): due at their
moment and within the grace, never for a time that is cancelled, declined, moved away or
booked too late for it, sent once however many runs there are, and neutral."""

import threading
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connections
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from clinic.models import ClinicDetails
from consultations.formatting import format_clinic_time
from consultations.models import ConsultationReminder, ReminderState, Status
from consultations.services import consultation_request_move, consultation_request_set_status
from tests.factories import (
    AvailabilitySlotFactory,
    ConsultationRequestFactory,
    UserFactory,
    role_member,
)

pytestmark = pytest.mark.django_db

# A fixed moment, far from today, when the patients book; their consultation is 3 days on.
BOOKED = datetime(2031, 3, 3, 14, 0, tzinfo=UTC)
START = BOOKED + timedelta(days=3)
FAILING = "tests.consultations.failing_email_backend.FailingEmailBackend"


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(BOOKED, tick=False)
    return time_machine


@pytest.fixture(autouse=True)
def harbor_clinic(db):
    details = ClinicDetails.objects.cached()
    details.name = "Harbor Clinic"
    details.save()


def confirmed(starts_at=START, **fields):
    """A request confirmed now, for a time at `starts_at`, booked now."""
    return ConsultationRequestFactory(
        slot__starts_at=starts_at, status=Status.CONFIRMED, slot_chosen_at=timezone.now(), **fields
    )


def run_at(clock, moment, *options):
    """Run the command as the scheduler would, at `moment`; returns what it printed."""
    clock.move_to(moment, tick=False)
    out = StringIO()
    call_command("send_consultation_reminders", *options, stdout=out, stderr=StringIO())
    return out.getvalue()


def reminders_to(mailoutbox, request):
    return [m for m in mailoutbox if m.to == [request.email] and m.subject.startswith("Reminder")]


def event_of(message):
    ((name, content, mimetype),) = message.attachments
    assert (name, mimetype) == ("consultation.ics", "text/calendar")
    calendar = Calendar.from_ical(content)
    (event,) = calendar.walk("VEVENT")
    return str(calendar["METHOD"]), event


# ------------------------------------------------------------------ when it goes


def test_the_reminder_goes_at_its_moment_once_with_the_next_event_sequence(clock, mailoutbox):
    request = confirmed(calendar_sequence=3, video_link="https://video.example/room-7")
    due = START - timedelta(hours=24)

    run_at(clock, due - timedelta(minutes=1))
    assert mailoutbox == [] and not ConsultationReminder.objects.exists()

    assert "Sent 1 reminder(s)" in run_at(clock, due)
    run_at(clock, due + timedelta(minutes=5))
    run_at(clock, due + timedelta(minutes=60))
    (message,) = mailoutbox
    assert message.to == [request.email]
    assert message.subject == "Reminder: your consultation with Harbor Clinic"
    assert request.reference in message.body
    assert f"When: {format_clinic_time(START)}" in message.body
    assert "Join the video call here: https://video.example/room-7" in message.body
    assert "https://clinic.example/book/manage/" in message.body
    method, event = event_of(message)
    assert method == "REQUEST"
    assert str(event["UID"]) == request.calendar_uid()
    assert event["SEQUENCE"] == 3 and str(event["STATUS"]) == "CONFIRMED"
    assert event.decoded("DTSTART") == START
    request.refresh_from_db()
    assert request.calendar_sequence == 4  # the next file outranks this one
    reminder = ConsultationReminder.objects.get()
    assert (reminder.hours_before, reminder.starts_at, reminder.state) == (24, START, "sent")
    assert reminder.sent_at == due and reminder.attempts == 1


def test_the_email_carries_nothing_the_patient_typed(clock, mailoutbox):
    request = confirmed(full_name="Rosalind Quill", email="rquill@example.com", note="PRIVATE")
    run_at(clock, START - timedelta(hours=24))
    (message,) = mailoutbox
    text = message.subject + message.body + str(message.attachments[0][1])
    for private in ("Rosalind", "Quill", "rquill", "PRIVATE", "5550143", "555-0143", "therapist"):
        assert private not in text
    assert "ketamine" not in text.lower()
    assert request.reference in text


@pytest.mark.parametrize(("minutes_late", "sent"), [(119, True), (120, False), (180, False)])
def test_a_run_late_within_the_grace_still_sends_after_it_never(
    clock, mailoutbox, minutes_late, sent
):
    confirmed()
    run_at(clock, START - timedelta(hours=24) + timedelta(minutes=minutes_late))
    assert len(mailoutbox) == int(sent)
    assert ConsultationReminder.objects.count() == int(sent)


@override_settings(CLINIC_REMINDER_HOURS=[24, 2], CLINIC_REMINDER_GRACE_MINUTES=30)
def test_a_second_reminder_two_hours_before(clock, mailoutbox):
    request = confirmed()
    for moment in (START - timedelta(hours=24), START - timedelta(hours=2)):
        run_at(clock, moment)
        run_at(clock, moment + timedelta(minutes=5))
    assert len(reminders_to(mailoutbox, request)) == 2
    sequences = [event_of(m)[1]["SEQUENCE"] for m in mailoutbox]
    assert sequences == [0, 1]
    assert sorted(request.reminders.values_list("hours_before", "state")) == [
        (2, "sent"),
        (24, "sent"),
    ]


@override_settings(CLINIC_REMINDER_HOURS=[24, 2])
def test_booked_inside_the_notice_gets_only_the_reminders_still_ahead(clock, mailoutbox):
    """Booked 23 hours ahead: the 24-hour reminder was due before the booking."""
    clock.move_to(START - timedelta(hours=23), tick=False)
    request = confirmed()
    run_at(clock, START - timedelta(hours=23) + timedelta(minutes=5))
    assert mailoutbox == [] and not request.reminders.exists()
    run_at(clock, START - timedelta(hours=2))
    assert request.reminders.get().hours_before == 2
    assert len(mailoutbox) == 1


def test_confirmed_after_the_reminder_was_due_gets_none_for_that_moment(clock, mailoutbox):
    """The confirmation the patient has just been emailed says everything a reminder would."""
    request = ConsultationRequestFactory(slot__starts_at=START, slot_chosen_at=timezone.now())
    clock.move_to(START - timedelta(hours=23), tick=False)
    consultation_request_set_status(consultation_request=request, status=Status.CONFIRMED)
    run_at(clock, START - timedelta(hours=23) + timedelta(minutes=5))
    assert mailoutbox == [] and not request.reminders.exists()


@pytest.mark.parametrize(
    "status", [Status.NEW, Status.CONTACTED, Status.CANCELLED, Status.DECLINED]
)
def test_only_a_confirmed_consultation_is_reminded(clock, mailoutbox, status):
    ConsultationRequestFactory(slot__starts_at=START, status=status, slot_chosen_at=BOOKED)
    assert "Would send 0 reminder(s)." in run_at(clock, START - timedelta(hours=24), "--dry-run")
    run_at(clock, START - timedelta(hours=24))
    assert mailoutbox == [] and not ConsultationReminder.objects.exists()


def test_cancelled_after_the_reminder_it_gets_no_other(clock, mailoutbox):
    request = confirmed()
    run_at(clock, START - timedelta(hours=24))
    consultation_request_set_status(consultation_request=request, status=Status.CANCELLED)
    with override_settings(CLINIC_REMINDER_HOURS=[24, 2]):
        run_at(clock, START - timedelta(hours=2))
    assert len(mailoutbox) == 1


def test_a_move_reminds_of_the_new_time_once_and_never_of_the_old(clock, mailoutbox):
    request = confirmed()
    later = AvailabilitySlotFactory(starts_at=START + timedelta(days=1))
    staff = UserFactory()
    clock.move_to(START - timedelta(hours=30), tick=False)
    consultation_request_move(
        consultation_request=request, new_slot=later, by=staff, email_patient=False
    )
    run_at(clock, START - timedelta(hours=24))  # the old time's moment: nothing
    assert reminders_to(mailoutbox, request) == []

    run_at(clock, later.starts_at - timedelta(hours=24))
    run_at(clock, later.starts_at - timedelta(hours=23))
    (message,) = reminders_to(mailoutbox, request)
    assert f"When: {format_clinic_time(later.starts_at)}" in message.body
    assert event_of(message)[1].decoded("DTSTART") == later.starts_at
    assert list(request.reminders.values_list("starts_at", flat=True)) == [later.starts_at]


def test_moved_after_its_reminder_the_new_time_gets_its_own(clock, mailoutbox):
    request = confirmed()
    run_at(clock, START - timedelta(hours=24))
    later = AvailabilitySlotFactory(starts_at=START + timedelta(days=2))
    clock.move_to(START - timedelta(hours=23), tick=False)
    consultation_request_move(
        consultation_request=request, new_slot=later, by=UserFactory(), email_patient=False
    )
    run_at(clock, later.starts_at - timedelta(hours=24))
    first, second = reminders_to(mailoutbox, request)
    assert f"When: {format_clinic_time(START)}" in first.body
    assert f"When: {format_clinic_time(later.starts_at)}" in second.body
    assert sorted(request.reminders.values_list("starts_at", flat=True)) == [
        START,
        later.starts_at,
    ]


def test_a_patients_own_move_waits_for_staff_to_confirm_the_new_time(clock, mailoutbox):
    request = confirmed()
    later = AvailabilitySlotFactory(starts_at=START + timedelta(days=1))
    consultation_request_move(consultation_request=request, new_slot=later)  # back to "new"
    run_at(clock, later.starts_at - timedelta(hours=24))
    assert reminders_to(mailoutbox, request) == []


@override_settings(CLINIC_REMINDER_HOURS=[3, 2], CLINIC_REMINDER_GRACE_MINUTES=90)
def test_two_due_together_send_only_the_nearest(clock, mailoutbox):
    """A worker down through the 3-hour reminder's moment and back at the 2-hour one."""
    request = confirmed()
    output = run_at(clock, START - timedelta(hours=2))
    assert "Sent 1 reminder(s)" in output and "1 not sent" in output
    assert len(mailoutbox) == 1
    assert dict(request.reminders.values_list("hours_before", "state")) == {
        2: "sent",
        3: "skipped",
    }
    run_at(clock, START - timedelta(hours=2) + timedelta(minutes=10))
    assert len(mailoutbox) == 1


def test_a_dry_run_lists_and_sends_nothing(clock, mailoutbox):
    request = confirmed()
    output = run_at(clock, START - timedelta(hours=24), "--dry-run")
    assert output.strip() == f"Would send 1 reminder(s): {request.reference} (24 h)"
    assert mailoutbox == [] and not ConsultationReminder.objects.exists()


@override_settings(CLINIC_REMINDER_HOURS=[])
def test_no_hours_no_reminders(clock, mailoutbox):
    confirmed()
    run_at(clock, START - timedelta(hours=24))
    assert mailoutbox == []


# ------------------------------------------------------------- exactly once


def test_a_run_that_died_after_its_claim_is_not_repeated(clock, mailoutbox):
    """The row was claimed, then the worker stopped: whether the email left is unknown,
    so no later run sends it again (at most once); staff see it "Sending"."""
    request = confirmed()
    ConsultationReminder.objects.create(
        request=request, hours_before=24, starts_at=START, claimed_at=START - timedelta(hours=24)
    )
    run_at(clock, START - timedelta(hours=24) + timedelta(minutes=5))
    assert mailoutbox == []
    assert request.reminders.get().state == ReminderState.SENDING


def test_a_failed_send_is_recorded_and_tried_again_within_the_grace(clock, mailoutbox, caplog):
    request = confirmed(email="fails@example.com")
    due = START - timedelta(hours=24)
    with override_settings(EMAIL_BACKEND=FAILING):
        output = run_at(clock, due)
    assert "1 failed" in output
    reminder = request.reminders.get()
    assert (reminder.state, reminder.error, reminder.attempts) == ("failed", "SMTPException", 1)
    assert f"24 h reminder for {request.reference} failed: SMTPException" in caplog.text
    assert "patient@example.com" not in caplog.text and request.email not in caplog.text

    run_at(clock, due + timedelta(minutes=5))
    reminder.refresh_from_db()
    assert (reminder.state, reminder.error, reminder.attempts) == ("sent", "", 2)
    assert len(mailoutbox) == 1
    run_at(clock, due + timedelta(minutes=10))
    assert len(mailoutbox) == 1


def test_a_failure_past_the_grace_stays_failed(clock, mailoutbox):
    request = confirmed()
    due = START - timedelta(hours=24)
    with override_settings(EMAIL_BACKEND=FAILING):
        run_at(clock, due + timedelta(minutes=100))
    run_at(clock, due + timedelta(minutes=121))
    assert mailoutbox == []
    assert request.reminders.get().state == ReminderState.FAILED


def test_a_cancel_after_a_failure_stops_the_retries(clock, mailoutbox):
    request = confirmed()
    due = START - timedelta(hours=24)
    with override_settings(EMAIL_BACKEND=FAILING):
        run_at(clock, due)
    consultation_request_set_status(consultation_request=request, status=Status.CANCELLED)
    run_at(clock, due + timedelta(minutes=5))
    assert mailoutbox == []


@pytest.mark.django_db(transaction=True)
def test_runs_at_the_same_moment_send_each_reminder_once(clock, mailoutbox):
    """Four workers run the command at once (SQLite and PostgreSQL alike: see
    settings_test): every due reminder is sent by exactly one of them."""
    requests = [confirmed(starts_at=START + timedelta(minutes=5 * n)) for n in range(8)]
    clock.move_to(START - timedelta(hours=23), tick=False)  # all eight are due
    workers = 4
    barrier = threading.Barrier(workers)
    outputs, errors = [], []

    def worker():
        try:
            barrier.wait()
            out = StringIO()
            call_command("send_consultation_reminders", stdout=out, stderr=StringIO())
            outputs.append(out.getvalue())
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(repr(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert len(outputs) == workers
    assert sorted(m.to[0] for m in mailoutbox) == sorted(r.email for r in requests)
    assert ConsultationReminder.objects.filter(state="sent").count() == len(requests)
    sent_counts = [int(out.split("Sent ")[1].split(" ")[0]) for out in outputs]
    assert sum(sent_counts) == len(requests)


# ---------------------------------------------------------------- staff see them


def test_staff_see_reminders_read_only(clock, client, mailoutbox):
    request = confirmed()
    run_at(clock, START - timedelta(hours=24))
    client.force_login(role_member("Intake coordinators"))
    changelist = reverse("admin:consultations_consultationreminder_changelist")
    html = client.get(changelist + "?state__exact=sent").content.decode()
    assert request.reference in html and "Sent" in html
    reminder = request.reminders.get()
    change = reverse("admin:consultations_consultationreminder_change", args=[reminder.pk])
    assert client.get(change).status_code == 200
    assert client.post(change, {"state": "failed"}).status_code == 403
    add = reverse("admin:consultations_consultationreminder_add")
    assert client.get(add).status_code == 403
    page = reverse("admin:consultations_consultationrequest_change", args=[request.pk])
    html = client.get(page).content.decode()
    sent = format_clinic_time(START - timedelta(hours=24))
    assert f"24 h before {format_clinic_time(START)}: Sent, {sent}" in html
