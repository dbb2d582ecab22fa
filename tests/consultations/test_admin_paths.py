"""Staff pages on paths no other test takes: a slot moved to another time and place, a
slot form missing its time, slots deleted from the list, and a request the patient
cancelled while its page was open."""

from datetime import timedelta

import pytest
from django.urls import reverse

from consultations.admin import ConsultationRequestAdminForm
from consultations.formatting import clinic_zone, format_clinic_time
from consultations.models import AuditAction, AuditEvent, AvailabilitySlot, Status
from consultations.services import consultation_request_cancel_by_patient
from tests.factories import (
    AvailabilitySlotFactory,
    ConsultationRequestFactory,
    LocationFactory,
    role_member,
)
from tests.page_forms import form_with_button

pytestmark = pytest.mark.django_db

SLOTS = reverse("admin:consultations_availabilityslot_changelist")


@pytest.fixture
def intake_coordinator(client):
    user = role_member("Intake coordinators")
    client.force_login(user)
    return user


def slot_events() -> list[tuple[str, int, str]]:
    return list(AuditEvent.objects.order_by("pk").values_list("action", "slot_id", "detail"))


def request_url(request) -> str:
    return reverse("admin:consultations_consultationrequest_change", args=[request.pk])


# -- slots -----------------------------------------------------------------------------


def change_slot(client, slot, typed=None, **choices):
    url = reverse("admin:consultations_availabilityslot_change", args=[slot.pk])
    form = form_with_button(client.get(url).content.decode(), "Save")
    assert client.post(url, form.submission("Save", typed, **choices)).status_code == 302
    slot.refresh_from_db()


def test_moving_an_unbooked_slot_to_another_time_and_site_is_audited(client, intake_coordinator):
    slot = AvailabilitySlotFactory(modality="in_person", location__name="Downtown")
    before = slot.starts_at
    later = before + timedelta(days=1, hours=2)
    local = later.astimezone(clinic_zone())
    midtown = LocationFactory(name="Midtown")
    typed = {"starts_at_0": local.date().isoformat(), "starts_at_1": f"{local:%H:%M}"}
    change_slot(client, slot, typed, location=str(midtown.pk))
    assert slot.starts_at == later and slot.location == midtown
    assert slot_events() == [
        (
            AuditAction.CHANGE,
            slot.pk,
            f"{format_clinic_time(before)}, in person: location Downtown → Midtown; "
            f"starts at {format_clinic_time(before)} → {format_clinic_time(later)}",
        )
    ]


def test_a_slot_changed_in_time_modality_and_site_at_once_is_audited_in_full(
    client, intake_coordinator
):
    # About 230 characters: the trail once kept the first 200 ("modality video c").
    slot = AvailabilitySlotFactory()
    before = slot.starts_at
    later = before + timedelta(days=1, hours=2)
    local = later.astimezone(clinic_zone())
    # A long site name: the detail passes 200 characters whatever the dates' names are.
    midtown = LocationFactory(name="Midtown office on Example Avenue")
    typed = {"starts_at_0": local.date().isoformat(), "starts_at_1": f"{local:%H:%M}"}
    change_slot(client, slot, typed, modality="in_person", location=str(midtown.pk))
    assert slot_events() == [
        (
            AuditAction.CHANGE,
            slot.pk,
            f"{format_clinic_time(before)}, video call: location none → "
            "Midtown office on Example Avenue; "
            f"starts at {format_clinic_time(before)} → {format_clinic_time(later)}; "
            "modality video call → in person",
        )
    ]
    assert len(slot_events()[0][2]) > 200


def test_changing_how_a_slot_is_held_is_audited(client, intake_coordinator):
    slot = AvailabilitySlotFactory()
    change_slot(client, slot, modality="phone")
    assert slot.modality == "phone"
    assert slot_events() == [
        (
            AuditAction.CHANGE,
            slot.pk,
            f"{format_clinic_time(slot.starts_at)}, video call: modality video call → phone call",
        )
    ]


def test_a_slot_without_a_start_time_is_refused_without_an_overlap_check(
    client, intake_coordinator
):
    AvailabilitySlotFactory()
    add_url = reverse("admin:consultations_availabilityslot_add")
    form = form_with_button(client.get(add_url).content.decode(), "Save")
    clinician = form.offered["clinician"][-1]
    response = client.post(add_url, form.submission("Save", clinician=clinician))
    assert response.status_code == 200
    assert "starts_at" in response.context["adminform"].form.errors
    assert AvailabilitySlot.objects.count() == 1 and not AuditEvent.objects.exists()


def test_a_slot_with_no_places_is_refused(client, intake_coordinator):
    slot = AvailabilitySlotFactory()
    url = reverse("admin:consultations_availabilityslot_change", args=[slot.pk])
    form = form_with_button(client.get(url).content.decode(), "Save")
    response = client.post(url, form.submission("Save", typed={"capacity": "0"}))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["capacity"] == ["Capacity must be at least 1."]
    slot.refresh_from_db()
    assert slot.capacity == 1 and not AuditEvent.objects.exists()


def test_deleting_slots_from_the_list_audits_each_one(client, intake_coordinator):
    first, second = AvailabilitySlotFactory(), AvailabilitySlotFactory()
    kept = AvailabilitySlotFactory()
    form = form_with_button(client.get(SLOTS).content.decode(), "Go")
    chosen = form.submission("Go", action="delete_selected", _selected_action=[first.pk, second.pk])
    confirm = client.post(SLOTS, chosen)
    assert confirm.status_code == 200
    form = form_with_button(confirm.content.decode(), "Yes, I’m sure")
    assert client.post(SLOTS, form.submission("Yes, I’m sure")).status_code == 302
    assert list(AvailabilitySlot.objects.all()) == [kept]
    assert sorted(slot_events()) == sorted(
        (AuditAction.DELETE, slot.pk, str(slot)) for slot in (first, second)
    )


# -- a patient's cancel landing between the page's checks and the save ---------------------


@pytest.fixture
def cancel_after_the_form_is_checked(monkeypatch):
    """The patient cancels from their link just after the staff form passed its checks
    (which refuse a change over a cancel that came earlier) and before it is saved."""
    checked = ConsultationRequestAdminForm.clean

    def clean(form):
        cleaned = checked(form)
        consultation_request_cancel_by_patient(consultation_request=form.instance)
        return cleaned

    monkeypatch.setattr(ConsultationRequestAdminForm, "clean", clean)


def test_a_status_change_over_a_patients_cancel_is_refused(
    client, intake_coordinator, cancel_after_the_form_is_checked
):
    request = ConsultationRequestFactory()
    form = form_with_button(client.get(request_url(request)).content.decode(), "Save")
    response = client.post(
        request_url(request), form.submission("Save", status=Status.CONFIRMED), follow=True
    )
    html = response.content.decode()
    assert "The status was not changed: while this page was open it became “Cancelled”." in html
    request.refresh_from_db()
    assert request.status == Status.CANCELLED and not request.holds_place
    assert not request.status_changes.filter(to_status=Status.CONFIRMED).exists()
    assert not AuditEvent.objects.filter(action=AuditAction.CHANGE).exists()


def test_a_move_over_a_patients_cancel_says_the_request_closed(
    client, intake_coordinator, cancel_after_the_form_is_checked
):
    request = ConsultationRequestFactory()
    other = AvailabilitySlotFactory(starts_at=request.slot.starts_at + timedelta(days=1))
    form = form_with_button(client.get(request_url(request)).content.decode(), "Save")
    response = client.post(
        request_url(request), form.submission("Save", move_to=str(other.pk)), follow=True
    )
    html = response.content.decode()
    assert "The request was not moved: while this page was open it became “Cancelled”." in html
    request.refresh_from_db()
    other.refresh_from_db()
    assert request.status == Status.CANCELLED and request.slot_id != other.pk
    assert other.held == 0 and not request.holds_place
    assert not AuditEvent.objects.filter(action=AuditAction.CHANGE).exists()
