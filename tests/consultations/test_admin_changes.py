"""What staff changes do and leave behind: no confirmation for a closed request, every
move in the request's history, every slot change in the audit trail."""

import re
from datetime import date, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from consultations.formatting import format_clinic_time
from consultations.models import AuditAction, AuditEvent, AvailabilitySlot, EmailStatus, Status
from consultations.tokens import manage_token_make
from tests.factories import (
    AvailabilitySlotFactory,
    ClinicianFactory,
    ConsultationRequestFactory,
    UserFactory,
)
from tests.page_forms import form_with_button, link_to

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:consultations_consultationrequest_changelist")
SLOTS = reverse("admin:consultations_availabilityslot_changelist")


@pytest.fixture
def coordinator(client):
    user = UserFactory()
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="consultations",
            codename__in=[
                "view_consultationrequest",
                "change_consultationrequest",
                "view_availabilityslot",
                "add_availabilityslot",
                "change_availabilityslot",
                "delete_availabilityslot",
            ],
        )
    )
    client.force_login(user)
    return user


def _run_action(client, url, action, selected):
    """Tick `selected` on the list page, choose `action` and press Go, as staff do."""
    form = form_with_button(client.get(url).content.decode(), "Go")
    data = form.submission("Go", action=action, _selected_action=[obj.pk for obj in selected])
    return client.post(url, data, follow=True)


# ------------------------------------------------------------ resend confirmation


def test_resend_confirmation_refuses_closed_requests_and_names_them(
    client, coordinator, mailoutbox, django_capture_on_commit_callbacks
):
    going_ahead = ConsultationRequestFactory(status=Status.CONFIRMED)
    closed = [
        ConsultationRequestFactory(status=status, holds_place=False, slot__held=0)
        for status in (Status.CANCELLED, Status.DECLINED, Status.COMPLETED)
    ]
    with django_capture_on_commit_callbacks(execute=True):
        response = _run_action(client, CHANGELIST, "resend_confirmation", [going_ahead, *closed])
    html = response.content.decode()
    assert "Queued the confirmation email again for 1 request(s)" in html
    assert "Did not resend 3 that are closed" in html
    for request in closed:
        assert request.reference in html
    assert [m.to for m in mailoutbox if m.subject.startswith("Your")] == [[going_ahead.email]]
    for request in closed:
        request.refresh_from_db()
        assert request.confirmation_email_status == EmailStatus.PENDING  # untouched
    resent = AuditEvent.objects.filter(detail="resent the confirmation email")
    assert list(resent.values_list("reference", flat=True)) == [going_ahead.reference]


def test_a_resend_queued_before_the_patient_cancels_sends_nothing(
    client, coordinator, mailoutbox, django_capture_on_commit_callbacks
):
    request = ConsultationRequestFactory()
    with django_capture_on_commit_callbacks(execute=False) as queued:
        _run_action(client, CHANGELIST, "resend_confirmation", [request])
    # The patient cancels from their link before the worker gets to the email.
    patient = client.__class__()
    manage_url = reverse("consultations:manage", args=[manage_token_make(request)])
    cancel_url = link_to(patient.get(manage_url).content.decode(), "Cancel my request")
    form = form_with_button(patient.get(cancel_url).content.decode(), "Yes, cancel it")
    with django_capture_on_commit_callbacks(execute=True):
        patient.post(cancel_url, form.submission("Yes, cancel it"))
    mailoutbox.clear()
    for callback in queued:
        callback()
    assert [m for m in mailoutbox if m.subject.startswith("Your")] == []


# ---------------------------------------------------------------- moves in history


def _move(client, request, new_slot):
    """The patient picks `new_slot` on their manage page and sends it."""
    url = reverse("consultations:manage", args=[manage_token_make(request)])
    form = form_with_button(client.get(url).content.decode(), "Move my request to this time")
    response = client.post(url, form.submission("Move my request to this time", slot=new_slot.pk))
    assert response.status_code == 302


def _history(client, request) -> str:
    """The status history as the request's admin page shows it, in plain text."""
    url = reverse("admin:consultations_consultationrequest_change", args=[request.pk])
    html = client.get(url).content.decode()
    block = re.search(r"status history.*?<ul>(.*?)</ul>", html, re.S | re.I)
    assert block, "no status history on the request page"
    return " ".join(re.sub(r"<[^>]+>", " ", block.group(1)).split())


def test_each_patient_move_is_in_the_status_history_with_both_times(client, coordinator):
    patient = client.__class__()
    first = AvailabilitySlotFactory(modality="video", held=1)
    request = ConsultationRequestFactory(slot=first, status=Status.CONFIRMED)
    second = AvailabilitySlotFactory(starts_at=first.starts_at + timedelta(days=1))
    third = AvailabilitySlotFactory(starts_at=first.starts_at + timedelta(days=2), modality="phone")
    _move(patient, request, second)
    _move(patient, request, third)
    moves = list(request.status_changes.exclude(to_starts_at=None))
    assert [(m.from_starts_at, m.to_starts_at) for m in moves] == [
        (first.starts_at, second.starts_at),
        (second.starts_at, third.starts_at),
    ]
    assert [(m.from_status, m.to_status) for m in moves] == [
        (Status.CONFIRMED, Status.NEW),
        (Status.NEW, Status.NEW),
    ]
    assert all(m.changed_by is None for m in moves)
    history = _history(client, request)
    first_move = (
        f"moved from {format_clinic_time(first.starts_at)} (video call) "
        f"to {format_clinic_time(second.starts_at)} (video call); Confirmed → New (patient)"
    )
    second_move = (
        f"moved from {format_clinic_time(second.starts_at)} (video call) "
        f"to {format_clinic_time(third.starts_at)} (phone call) (patient)"
    )
    assert first_move in history and second_move in history
    assert history.index(first_move) < history.index(second_move)


def test_choosing_a_time_after_asking_to_be_contacted_is_in_the_history(client, coordinator):
    request = ConsultationRequestFactory(slot=None, preferred_times="Evenings")
    slot = AvailabilitySlotFactory()
    _move(client.__class__(), request, slot)
    history = _history(client, request)
    assert f"chose {format_clinic_time(slot.starts_at)} (video call) (patient)" in history


# -------------------------------------------------------------- slot audit trail


def _slot_events():
    return list(
        AuditEvent.objects.filter(slot_id__isnull=False)
        .order_by("pk")
        .values_list("action", "slot_id", "detail")
    )


def test_adding_and_editing_a_slot_is_audited(client, coordinator):
    clinician = ClinicianFactory(display_name="Dr. Audit")
    add_url = reverse("admin:consultations_availabilityslot_add")
    form = form_with_button(client.get(add_url).content.decode(), "Save")
    day = timezone.localdate() + timedelta(days=10)
    data = form.submission(
        "Save",
        typed={"starts_at_0": day.isoformat(), "starts_at_1": "09:30", "capacity": "2"},
        clinician=str(clinician.pk),
        modality="phone",
    )
    assert client.post(add_url, data).status_code == 302
    slot = AvailabilitySlot.objects.get()
    when = format_clinic_time(slot.starts_at)
    assert _slot_events() == [
        (AuditAction.ADD, slot.pk, f"added {when}, phone call, 30 minutes, 2 places, open")
    ]
    event = AuditEvent.objects.get()
    assert event.user == coordinator and event.username == coordinator.username

    change_url = reverse("admin:consultations_availabilityslot_change", args=[slot.pk])
    form = form_with_button(client.get(change_url).content.decode(), "Save")
    data = form.submission("Save", typed={"capacity": "3"}, is_open=None)
    assert client.post(change_url, data).status_code == 302
    assert _slot_events()[-1] == (
        AuditAction.CHANGE,
        slot.pk,
        f"{when}, phone call: capacity 2 → 3; open for booking yes → no",
    )
    # Saving it unchanged records nothing.
    form = form_with_button(client.get(change_url).content.decode(), "Save")
    client.post(change_url, form.submission("Save"))
    assert len(_slot_events()) == 2


def test_closing_and_opening_slots_is_audited_for_each_slot_changed(client, coordinator):
    open_slot = AvailabilitySlotFactory()
    closed_slot = AvailabilitySlotFactory(is_open=False)
    _run_action(client, SLOTS, "close_slots", [open_slot, closed_slot])
    when = format_clinic_time(open_slot.starts_at)
    assert _slot_events() == [
        (AuditAction.CHANGE, open_slot.pk, f"{when}, video call: closed to new bookings")
    ]
    _run_action(client, SLOTS, "open_slots", [open_slot, closed_slot])
    assert {event[1] for event in _slot_events()[1:]} == {open_slot.pk, closed_slot.pk}
    assert all(event[2].endswith("opened for booking") for event in _slot_events()[1:])


def test_closing_a_slot_with_its_box_in_the_list_is_audited(client, coordinator):
    slot = AvailabilitySlotFactory()
    form = form_with_button(client.get(SLOTS).content.decode(), "Save")
    assert (
        client.post(SLOTS, form.submission("Save", **{"form-0-is_open": None})).status_code == 302
    )
    slot.refresh_from_db()
    assert not slot.is_open
    when = format_clinic_time(slot.starts_at)
    assert _slot_events() == [
        (AuditAction.CHANGE, slot.pk, f"{when}, video call: open for booking yes → no")
    ]


def test_deleting_a_slot_is_audited(client, coordinator):
    slot = AvailabilitySlotFactory()
    when = format_clinic_time(slot.starts_at)
    url = reverse("admin:consultations_availabilityslot_delete", args=[slot.pk])
    form = form_with_button(client.get(url).content.decode(), "Yes, I’m sure")
    assert client.post(url, form.submission("Yes, I’m sure")).status_code == 302
    assert _slot_events() == [(AuditAction.DELETE, slot.pk, f"{when}, video call")]


def test_a_generated_series_is_audited(client, coordinator):
    clinician = ClinicianFactory(display_name="Dr. Audit")
    url = reverse("admin:consultations_availabilityslot_generate")
    form = form_with_button(client.get(url).content.decode(), "Generate slots")
    start = date(2030, 1, 7)  # a Monday
    data = form.submission(
        "Generate slots",
        typed={
            "start_date": start.isoformat(),
            "end_date": (start + timedelta(days=6)).isoformat(),
            "start_times": "09:00, 14:30",
            "duration_minutes": "45",
            "capacity": "2",
        },
        weekdays=["0", "2"],
        clinician=str(clinician.pk),
        modality="phone",
    )
    assert client.post(url, data).status_code == 302
    event = AuditEvent.objects.get()
    assert (event.action, event.count, event.user) == (AuditAction.ADD, 4, coordinator)
    assert event.detail == (
        "generated a series for Dr. Audit, MD: Monday, Wednesday at 09:00, 14:30 from "
        "2030-01-07 to 2030-01-13, phone call, 45 minutes, 2 places; created 4, skipped 0"
    )
    reader = UserFactory()
    reader.user_permissions.set(Permission.objects.filter(codename="view_auditevent"))
    client.force_login(reader)
    audit_list = client.get(reverse("admin:consultations_auditevent_changelist"))
    assert "generated a series" in audit_list.content.decode()
