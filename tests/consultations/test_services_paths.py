"""Paths no other test takes: a booking reference that collides (about one in a billion), a
slot series whose dates hold none of the chosen weekdays or whose clinician does not offer
the modality, and a patient's move sent without a time."""

from datetime import date, timedelta
from itertools import chain, repeat

import pytest
from django.urls import reverse

from consultations import services
from consultations.models import AuditEvent, AvailabilitySlot, ConsultationRequest, Status
from consultations.tokens import manage_token_make
from tests.consultations.test_services import ANSWERS
from tests.factories import (
    AvailabilitySlotFactory,
    ClinicianFactory,
    ConsultationRequestFactory,
    role_member,
)
from tests.page_forms import form_with_button

pytestmark = pytest.mark.django_db


def test_a_colliding_reference_is_drawn_again(monkeypatch):
    taken = ConsultationRequestFactory(reference="CR-TAKEN1", slot=None)
    slot = AvailabilitySlotFactory(capacity=1)
    drawn = chain(["CR-TAKEN1"], repeat("CR-FRESH2"))
    monkeypatch.setattr(services, "new_reference", lambda: next(drawn))
    made = services.consultation_request_create(slot=slot, form_token="one", **ANSWERS)
    assert made.reference == "CR-FRESH2" and made.holds_place
    slot.refresh_from_db()
    assert slot.held == 1  # the failed attempt's hold was rolled back
    assert ConsultationRequest.objects.exclude(pk=taken.pk).get() == made


def test_a_reference_that_keeps_colliding_books_nothing(monkeypatch):
    ConsultationRequestFactory(reference="CR-TAKEN1", slot=None)
    slot = AvailabilitySlotFactory(capacity=1)
    monkeypatch.setattr(services, "new_reference", lambda: "CR-TAKEN1")
    with pytest.raises(RuntimeError, match="could not allocate a unique reference"):
        services.consultation_request_create(slot=slot, form_token="one", **ANSWERS)
    slot.refresh_from_db()
    assert slot.held == 0 and ConsultationRequest.objects.count() == 1


GENERATE = reverse("admin:consultations_availabilityslot_generate")
MONDAY = date(2030, 1, 7)


def generate(client, clinician, *, weekdays, modality):
    """Fill in the Generate a series page for Monday and Tuesday, and send it."""
    client.force_login(role_member("Intake coordinators"))
    form = form_with_button(client.get(GENERATE).content.decode(), "Generate slots")
    data = form.submission(
        "Generate slots",
        typed={
            "start_date": MONDAY.isoformat(),
            "end_date": (MONDAY + timedelta(days=1)).isoformat(),
            "start_times": "09:00",
            "duration_minutes": "45",
            "capacity": "1",
        },
        weekdays=weekdays,
        clinician=str(clinician.pk),
        modality=modality,
    )
    return client.post(GENERATE, data, follow=True)


def test_a_series_on_days_without_a_chosen_weekday_makes_no_slots(client):
    clinician = ClinicianFactory(display_name="Dr. Audit")
    response = generate(client, clinician, weekdays=["4"], modality="phone")  # Fridays
    assert "Created 0 slot(s) for Dr. Audit, MD; skipped 0" in response.content.decode()
    assert not AvailabilitySlot.objects.exists()
    assert AuditEvent.objects.get().detail.endswith("created 0, skipped 0")


def test_a_series_in_a_modality_the_clinician_does_not_offer_is_refused(client):
    clinician = ClinicianFactory(display_name="Dr. Audit", offers_phone=False)
    response = generate(client, clinician, weekdays=["0"], modality="phone")
    assert "Dr. Audit, MD does not offer phone call consultations" in response.content.decode()
    assert not AvailabilitySlot.objects.exists() and not AuditEvent.objects.exists()


def test_a_patients_move_sent_without_a_time_changes_nothing(client, mailoutbox):
    request = ConsultationRequestFactory(status=Status.CONFIRMED)
    url = reverse("consultations:manage", args=[manage_token_make(request)])
    # The move form offers only times; "none" (be contacted instead) is the booking form's.
    response = client.post(url, {"action": "move", "slot": "none"})
    assert response.status_code == 200
    assert "Choose one of the times shown." in response.content.decode()
    request.refresh_from_db()
    assert request.status == Status.CONFIRMED and request.holds_place
    assert mailoutbox == []
