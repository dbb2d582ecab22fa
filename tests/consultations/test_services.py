"""consultation_request_create and the one-time form token: one form, one request."""

import pytest

from consultations.models import ConsultationRequest
from consultations.services import (
    DuplicateSubmission,
    SlotUnavailable,
    consultation_request_create,
)
from tests.factories import AvailabilitySlotFactory

pytestmark = pytest.mark.django_db

ANSWERS = {
    "full_name": "Alex Example",
    "email": "alex@example.com",
    "phone": "+12025550143",
    "preferred_contact": "phone",
    "state": "NY",
    "has_therapist": "no",
    "notify": False,
}


def test_the_same_token_twice_hits_the_constraint_and_answers_with_the_first():
    # No slot, so nothing stops the second insert but the unique constraint on the
    # token's hash: the IntegrityError path.
    first = consultation_request_create(
        slot=None, preferred_times="Mornings", form_token="one", **ANSWERS
    )
    with pytest.raises(DuplicateSubmission) as duplicate:
        consultation_request_create(
            slot=None, preferred_times="Evenings", form_token="one", **ANSWERS
        )
    assert duplicate.value.existing == first
    assert ConsultationRequest.objects.get().preferred_times == "Mornings"


def test_the_same_token_for_a_slot_with_room_gives_its_place_back():
    slot = AvailabilitySlotFactory(capacity=2)
    first = consultation_request_create(slot=slot, form_token="one", **ANSWERS)
    with pytest.raises(DuplicateSubmission) as duplicate:
        consultation_request_create(slot=slot, form_token="one", **ANSWERS)
    assert duplicate.value.existing == first
    slot.refresh_from_db()
    assert slot.held == 1


def test_the_same_token_for_the_place_it_took_is_a_duplicate_not_unavailable():
    # The form's first send took the last place: the second hears of its request, never
    # "that time was just taken" (which would have the patient book another time).
    slot = AvailabilitySlotFactory(capacity=1)
    first = consultation_request_create(slot=slot, form_token="one", **ANSWERS)
    with pytest.raises(DuplicateSubmission) as duplicate:
        consultation_request_create(slot=slot, form_token="one", **ANSWERS)
    assert duplicate.value.existing == first
    with pytest.raises(SlotUnavailable):
        consultation_request_create(slot=slot, form_token="another", **ANSWERS)
    with pytest.raises(SlotUnavailable):
        consultation_request_create(slot=slot, **ANSWERS)
    assert ConsultationRequest.objects.count() == 1
