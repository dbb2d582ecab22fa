"""Database-enforced rules and the way times are written for patients."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError
from django.db.models import F

from consultations.formatting import clinic_zone_name, format_clinic_time
from consultations.models import AvailabilitySlot
from consultations.services import (
    SlotUnavailable,
    availability_slot_hold,
    availability_slot_release,
)
from tests.factories import AvailabilitySlotFactory, ConsultationRequestFactory

pytestmark = pytest.mark.django_db


def test_check_constraint_stops_overfilling():
    slot = AvailabilitySlotFactory(held=1)
    with pytest.raises(IntegrityError):
        AvailabilitySlot.objects.filter(pk=slot.pk).update(held=F("held") + 1)


def test_check_constraint_stops_negative_held():
    slot = AvailabilitySlotFactory()
    with pytest.raises(IntegrityError):
        AvailabilitySlot.objects.filter(pk=slot.pk).update(held=-1)


def test_hold_and_release_are_conditional():
    slot = AvailabilitySlotFactory(capacity=1)
    availability_slot_hold(slot_id=slot.pk)
    with pytest.raises(SlotUnavailable):
        availability_slot_hold(slot_id=slot.pk)
    availability_slot_release(slot_id=slot.pk)
    availability_slot_release(slot_id=slot.pk)  # never below zero
    slot.refresh_from_db()
    assert slot.held == 0


def test_request_str_is_only_the_reference():
    request = ConsultationRequestFactory()
    assert str(request) == request.reference
    assert (
        request.get_discuss_topics_display()
        == "Whether treatment here could be right for me, Cost and insurance"
    )


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("America/New_York", "Tuesday, March 3, 2:30 pm Eastern time"),
        ("America/Los_Angeles", "Tuesday, March 3, 11:30 am Pacific time"),
        ("Europe/Berlin", "Tuesday, March 3, 8:30 pm CET"),
    ],
)
def test_times_are_shown_in_clinic_zone_with_zone_named(settings, zone, expected):
    settings.TIME_ZONE = zone
    assert format_clinic_time(datetime(2037, 3, 3, 19, 30, tzinfo=UTC)) == expected


def test_midnight_and_noon(settings):
    settings.TIME_ZONE = "America/Chicago"
    assert clinic_zone_name() == "Central time"
    midnight = datetime(2037, 3, 4, 6, 0, tzinfo=UTC)
    assert "12:00 am" in format_clinic_time(midnight)
    assert "12:00 pm" in format_clinic_time(midnight + timedelta(hours=12))
