"""Service paths no page test reaches: a booking reference that collides (about one in a
billion), and a slot series whose dates hold none of the chosen weekdays."""

from datetime import date, timedelta
from itertools import chain, repeat

import pytest
from django.urls import reverse

from consultations import services
from consultations.models import AuditEvent, AvailabilitySlot, ConsultationRequest
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


def test_a_series_on_days_without_a_chosen_weekday_makes_no_slots(client):
    client.force_login(role_member("Intake coordinators"))
    clinician = ClinicianFactory(display_name="Dr. Audit")
    url = reverse("admin:consultations_availabilityslot_generate")
    form = form_with_button(client.get(url).content.decode(), "Generate slots")
    monday = date(2030, 1, 7)
    data = form.submission(
        "Generate slots",
        typed={
            "start_date": monday.isoformat(),
            "end_date": (monday + timedelta(days=1)).isoformat(),
            "start_times": "09:00",
            "duration_minutes": "45",
            "capacity": "1",
        },
        weekdays=["4"],  # Friday
        clinician=str(clinician.pk),
        modality="phone",
    )
    response = client.post(url, data, follow=True)
    assert "Created 0 slot(s) for Dr. Audit, MD; skipped 0" in response.content.decode()
    assert not AvailabilitySlot.objects.exists()
    assert AuditEvent.objects.get().detail.endswith("created 0, skipped 0")
