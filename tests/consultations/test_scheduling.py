"""Clinicians, their licensed states and locations; one clinician's slots never overlap;
the booking rules (notice, horizon, buffer, daily maximum), each at its edge, in the slot
queryset and in the service."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone

from consultations.models import AvailabilitySlot, Clinician, Location
from consultations.services import (
    SlotOverlaps,
    SlotUnavailable,
    availability_slot_hold,
    availability_slot_save,
    availability_slot_series_create,
)
from tests.factories import (
    AvailabilitySlotFactory,
    ClinicianFactory,
    LocationFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

# A Wednesday noon in New York; the rules count from here.
NOW = datetime(2026, 12, 2, 17, 0, tzinfo=UTC)
SLOTS = reverse("admin:consultations_availabilityslot_changelist")


@pytest.fixture(autouse=True)
def _clock(time_machine):
    time_machine.move_to(NOW, tick=False)


def bookable_ids(**kwargs):
    return set(AvailabilitySlot.objects.bookable(**kwargs).values_list("pk", flat=True))


def slot_at(delta, **fields):
    return AvailabilitySlotFactory(starts_at=NOW + delta, **fields)


# -- clinicians and locations ------------------------------------------------------------


def test_clinician_without_a_name_reads_a_clinician():
    assert ClinicianFactory(display_name="").name_for_patients == "a clinician"
    named = ClinicianFactory(display_name="Dr. Ana Ruiz", credentials="MD")
    assert named.name_for_patients == "Dr. Ana Ruiz, MD"


def test_licensed_in_lists_active_clinicians_of_that_state():
    ny = ClinicianFactory(states=["NY", "NJ"])
    ClinicianFactory(states=["CA"])
    ClinicianFactory(states=["NY"], is_active=False)
    assert list(Clinician.objects.licensed_in("NJ")) == [ny]


def test_in_person_slot_needs_a_location_and_others_have_none():
    with pytest.raises(IntegrityError), transaction.atomic():
        AvailabilitySlotFactory(modality="in_person", location=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        AvailabilitySlotFactory(modality="video", location=LocationFactory())
    assert AvailabilitySlotFactory(modality="in_person").location is not None


# -- no overlap per clinician --------------------------------------------------------------


def test_service_refuses_an_overlapping_slot_of_the_same_clinician():
    first = slot_at(timedelta(days=3), duration_minutes=60)
    clash = AvailabilitySlot(
        clinician=first.clinician, starts_at=first.starts_at + timedelta(minutes=59)
    )
    with pytest.raises(SlotOverlaps) as refused:
        availability_slot_save(slot=clash)
    assert refused.value.slot == first
    # Back to back is fine, and so is another clinician at the same time.
    availability_slot_save(
        slot=AvailabilitySlot(clinician=first.clinician, starts_at=first.ends_at, modality="phone")
    )
    availability_slot_save(
        slot=AvailabilitySlot(clinician=ClinicianFactory(), starts_at=first.starts_at)
    )
    assert AvailabilitySlot.objects.count() == 3


def test_moving_a_slot_onto_another_is_refused():
    first = slot_at(timedelta(days=3))
    second = slot_at(timedelta(days=3, hours=2), clinician=first.clinician)
    second.starts_at = first.starts_at + timedelta(minutes=15)
    with pytest.raises(SlotOverlaps):
        availability_slot_save(slot=second)
    second.starts_at = first.starts_at + timedelta(minutes=30)
    availability_slot_save(slot=second)  # changing a slot does not clash with itself


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's constraint")
def test_postgresql_refuses_overlap_even_past_the_service():
    first = slot_at(timedelta(days=3), duration_minutes=45)
    with pytest.raises(IntegrityError), transaction.atomic():
        AvailabilitySlot.objects.bulk_create(
            [
                AvailabilitySlot(
                    clinician=first.clinician, starts_at=first.starts_at + timedelta(minutes=30)
                )
            ]
        )
    AvailabilitySlot.objects.bulk_create(
        [
            AvailabilitySlot(
                clinician=first.clinician, starts_at=first.starts_at + timedelta(minutes=45)
            )
        ]
    )


@pytest.mark.django_db(transaction=True)
def test_simultaneous_overlapping_saves_keep_one():
    """Both databases: PostgreSQL's constraint, SQLite's check in the IMMEDIATE
    transaction. Eight staff save overlapping times for one clinician at once."""
    clinician = ClinicianFactory()
    start = NOW + timedelta(days=5)
    barrier = threading.Barrier(8)
    outcomes, errors = [], []

    def save(n):
        try:
            barrier.wait()
            slot = AvailabilitySlot(clinician=clinician, starts_at=start + timedelta(minutes=n))
            availability_slot_save(slot=slot)
            outcomes.append("saved")
        except SlotOverlaps:
            outcomes.append("refused")
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(repr(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=save, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(outcomes) == ["refused"] * 7 + ["saved"]
    assert AvailabilitySlot.objects.filter(clinician=clinician).count() == 1


def test_series_skips_times_that_overlap_the_clinicians_slots():
    clinician = ClinicianFactory()
    monday = datetime(2026, 12, 7).date()
    # An existing 10:00-11:00 phone slot on that Monday (New York time).
    slot_at(timedelta(days=5, hours=-2), clinician=clinician, modality="phone", duration_minutes=60)
    created, skipped = availability_slot_series_create(
        clinician=clinician,
        start_date=monday,
        end_date=monday,
        weekdays=[0],
        start_times=[datetime(2026, 1, 1, h, m).time() for h, m in [(9, 30), (10, 30), (11, 0)]],
        duration_minutes=45,
        modality="video",
    )
    # 9:30-10:15 overlaps 10:00; 10:30 overlaps too; 11:00 is free.
    assert (created, skipped) == (1, 2)
    other = ClinicianFactory()
    location = LocationFactory()
    created, skipped = availability_slot_series_create(
        clinician=other,
        location=location,
        start_date=monday,
        end_date=monday,
        weekdays=[0],
        start_times=[datetime(2026, 1, 1, 10, 0).time()],
        duration_minutes=60,
        modality="in_person",
    )
    assert (created, skipped) == (1, 0)
    assert AvailabilitySlot.objects.get(clinician=other).location == location


# -- the booking rules, each at its edge --------------------------------------------------


def test_minimum_notice_default_24_hours():
    too_soon = slot_at(timedelta(hours=23, minutes=59))
    just_enough = slot_at(timedelta(hours=24))
    assert bookable_ids() == {just_enough.pk}
    with pytest.raises(SlotUnavailable):
        availability_slot_hold(slot_id=too_soon.pk)


def test_notice_is_never_inside_the_self_service_cutoff(settings):
    settings.CLINIC_BOOKING_MIN_NOTICE_HOURS = 2
    settings.CLINIC_SELF_SERVICE_CUTOFF_HOURS = 48
    slot_at(timedelta(hours=47))
    later = slot_at(timedelta(hours=48))
    assert bookable_ids() == {later.pk}


def test_shorter_notice_when_set(settings):
    settings.CLINIC_BOOKING_MIN_NOTICE_HOURS = 4
    settings.CLINIC_SELF_SERVICE_CUTOFF_HOURS = 4
    slot_at(timedelta(hours=3, minutes=59))
    soon = slot_at(timedelta(hours=4))
    assert bookable_ids() == {soon.pk}


def test_horizon_default_60_days():
    last = slot_at(timedelta(days=60))
    beyond = slot_at(timedelta(days=60, minutes=1))
    assert bookable_ids() == {last.pk}
    with pytest.raises(SlotUnavailable):
        availability_slot_hold(slot_id=beyond.pk)


def test_buffer_keeps_time_free_around_a_booked_consultation(settings):
    settings.CLINIC_BOOKING_BUFFER_MINUTES = 15
    clinician = ClinicianFactory()
    booked = slot_at(timedelta(days=3), clinician=clinician, held=1)  # ends at +30 min
    # One-minute slots 14 minutes from it, and 30-minute ones 15 minutes from it.
    too_close_after = slot_at(
        timedelta(days=3, minutes=44), clinician=clinician, duration_minutes=1
    )
    after = slot_at(timedelta(days=3, minutes=45), clinician=clinician)
    too_close_before = slot_at(
        timedelta(days=3, minutes=-15), clinician=clinician, duration_minutes=1
    )
    before = slot_at(timedelta(days=3, minutes=-45), clinician=clinician)
    others = slot_at(timedelta(days=3, minutes=30))  # another clinician's time
    assert booked.held == 1
    assert bookable_ids() == {after.pk, before.pk, others.pk}
    for slot in (too_close_after, too_close_before):
        with pytest.raises(SlotUnavailable):
            availability_slot_hold(slot_id=slot.pk)


def test_no_buffer_by_default_back_to_back_is_fine():
    clinician = ClinicianFactory()
    slot_at(timedelta(days=3), clinician=clinician, held=1)
    next_one = slot_at(timedelta(days=3, minutes=30), clinician=clinician)
    assert bookable_ids() == {next_one.pk}


def test_daily_maximum_per_clinician_in_the_clinics_day(settings):
    settings.CLINIC_BOOKING_DAILY_MAX = 2
    clinician = ClinicianFactory()
    # Saturday, December 5, in New York: 9 am and 10 am booked, 11 am and 11:30 pm open.
    day = datetime(2026, 12, 5, 14, 0, tzinfo=UTC)
    AvailabilitySlotFactory(clinician=clinician, starts_at=day, held=1)
    AvailabilitySlotFactory(clinician=clinician, starts_at=day + timedelta(hours=1), held=1)
    same_day = AvailabilitySlotFactory(clinician=clinician, starts_at=day + timedelta(hours=2))
    late_same_day = AvailabilitySlotFactory(
        clinician=clinician, starts_at=day + timedelta(hours=14, minutes=30)
    )
    next_day = AvailabilitySlotFactory(clinician=clinician, starts_at=day + timedelta(hours=15))
    colleague = AvailabilitySlotFactory(starts_at=day + timedelta(hours=2))
    assert bookable_ids() == {next_day.pk, colleague.pk}
    for slot in (same_day, late_same_day):
        with pytest.raises(SlotUnavailable):
            availability_slot_hold(slot_id=slot.pk)
    settings.CLINIC_BOOKING_DAILY_MAX = 3
    assert same_day.pk in bookable_ids()


def test_inactive_clinicians_times_are_not_offered():
    slot = slot_at(timedelta(days=3), clinician=ClinicianFactory(is_active=False))
    assert bookable_ids() == set()
    with pytest.raises(SlotUnavailable):
        availability_slot_hold(slot_id=slot.pk)


def test_state_offers_video_and_phone_only_with_clinicians_licensed_there():
    ny = ClinicianFactory(states=["NY"])
    ca = ClinicianFactory(states=["CA"])
    ny_video = slot_at(timedelta(days=3), clinician=ny)
    ca_phone = slot_at(timedelta(days=3), clinician=ca, modality="phone")
    ca_in_person = slot_at(timedelta(days=4), clinician=ca, modality="in_person")
    assert bookable_ids(state="NY") == {ny_video.pk, ca_in_person.pk}
    assert bookable_ids(state="CA") == {ca_phone.pk, ca_in_person.pk}
    assert bookable_ids(state="TX") == {ca_in_person.pk}
    with pytest.raises(SlotUnavailable):
        availability_slot_hold(slot_id=ny_video.pk, state="CA")
    availability_slot_hold(slot_id=ny_video.pk, state="NY")


# -- staff pages ---------------------------------------------------------------------------


@pytest.fixture
def superuser(client):
    client.force_login(UserFactory(is_superuser=True))
    return client


def test_clinician_and_location_admin_pages_open(superuser):
    clinician = ClinicianFactory(states=["NY", "NJ"])
    location = LocationFactory()
    for name, obj in [("clinician", clinician), ("location", location)]:
        for url in [
            reverse(f"admin:consultations_{name}_changelist"),
            reverse(f"admin:consultations_{name}_add"),
            reverse(f"admin:consultations_{name}_change", args=[obj.pk]),
        ]:
            assert superuser.get(url).status_code == 200, url
    html = superuser.get(reverse("admin:consultations_clinician_changelist")).content.decode()
    assert "NJ, NY" in html
    html = superuser.get(reverse("admin:consultations_location_changelist")).content.decode()
    assert 'href="tel:+12125550123">(212) 555-0123</a>' in html


def test_add_a_clinician_with_states(superuser):
    url = reverse("admin:consultations_clinician_add")
    data = {
        "display_name": "Dr. New",
        "credentials": "DO",
        "bio": "",
        "offers_video": "on",
        "offers_phone": "on",
        "is_active": "on",
        "states-TOTAL_FORMS": "2",
        "states-INITIAL_FORMS": "0",
        "states-0-state": "OR",
        "states-1-state": "WA",
    }
    assert superuser.post(url, data).status_code == 302
    clinician = Clinician.objects.get(display_name="Dr. New")
    assert sorted(clinician.states.values_list("state", flat=True)) == ["OR", "WA"]
    assert not clinician.offers_in_person


def test_slot_list_filters_by_clinician_and_location(superuser):
    ana = ClinicianFactory(display_name="Dr. Ana")
    ben = ClinicianFactory(display_name="Dr. Ben")
    north, south = LocationFactory(name="North site"), LocationFactory(name="South site")
    slot_at(timedelta(days=3), clinician=ana, modality="in_person", location=north)
    slot_at(timedelta(days=4), clinician=ben, modality="in_person", location=south)
    slot_at(timedelta(days=5), clinician=ben)
    listed = superuser.get(SLOTS, {"clinician__id__exact": ben.pk}).context["cl"].result_count
    assert listed == 2
    listed = superuser.get(SLOTS, {"location__id__exact": north.pk}).context["cl"].result_count
    assert listed == 1
    html = superuser.get(SLOTS).content.decode()
    assert "By clinician" in html and "By location" in html and "North site" in html


def _slot_form(clinician, **changes):
    local = NOW + timedelta(days=3)
    return {
        "clinician": str(clinician.pk),
        "location": "",
        "starts_at_0": timezone.localtime(local).strftime("%Y-%m-%d"),
        "starts_at_1": "10:00",
        "duration_minutes": "30",
        "modality": "video",
        "capacity": "1",
        "is_open": "on",
        **changes,
    }


def test_slot_add_refuses_an_overlap_with_a_clear_message(superuser, settings):
    clinician = ClinicianFactory(display_name="Dr. Busy")
    url = reverse("admin:consultations_availabilityslot_add")
    assert superuser.post(url, _slot_form(clinician)).status_code == 302
    response = superuser.post(url, _slot_form(clinician, starts_at_1="10:15", modality="phone"))
    assert response.status_code == 200
    assert "Dr. Busy, MD already has a slot then" in response.content.decode()
    assert AvailabilitySlot.objects.count() == 1


def test_slot_add_in_person_needs_a_location_and_an_offered_modality(superuser):
    clinician = ClinicianFactory(offers_in_person=False)
    url = reverse("admin:consultations_availabilityslot_add")
    response = superuser.post(url, _slot_form(clinician, modality="in_person"))
    html = response.content.decode()
    assert "does not offer in person consultations" in html
    assert "Choose where this in-person time is." in html
    location = LocationFactory()
    other = ClinicianFactory()
    data = _slot_form(other, modality="in_person", location=str(location.pk))
    assert superuser.post(url, data).status_code == 302
    # A location sent with a video time is dropped, not refused.
    data = _slot_form(other, starts_at_1="12:00", location=str(location.pk))
    assert superuser.post(url, data).status_code == 302
    assert AvailabilitySlot.objects.get(modality="video").location is None


def test_series_form_creates_for_the_chosen_clinician_and_location(superuser):
    clinician = ClinicianFactory(display_name="Dr. Series")
    location = LocationFactory(name="East site")
    url = reverse("admin:consultations_availabilityslot_generate")
    html = superuser.get(url).content.decode()
    assert "Dr. Series, MD" in html and "East site" in html
    data = {
        "clinician": str(clinician.pk),
        "location": "",
        "start_date": "2026-12-07",
        "end_date": "2026-12-08",
        "weekdays": ["0", "1"],
        "start_times": "09:00",
        "duration_minutes": "60",
        "modality": "in_person",
        "capacity": "1",
    }
    assert "Choose where the in-person slots are." in superuser.post(url, data).content.decode()
    data["location"] = str(location.pk)
    assert superuser.post(url, data).status_code == 302
    slots = AvailabilitySlot.objects.filter(clinician=clinician)
    assert slots.count() == 2 and {s.location for s in slots} == {location}


# -- sample data ---------------------------------------------------------------------------


def test_sample_slots_make_two_sample_clinicians_in_different_states():
    call_command("load_sample_slots")
    clinicians = list(Clinician.objects.all())
    assert len(clinicians) == 2 and all(c.is_sample for c in clinicians)
    states = [set(c.states.values_list("state", flat=True)) for c in clinicians]
    assert states[0] and states[1] and not states[0] & states[1]
    assert 1 <= Location.objects.count() <= 2
    assert AvailabilitySlot.objects.filter(modality="in_person", location__isnull=False).exists()
    for state in ("NY", "PA"):
        offered = AvailabilitySlot.objects.bookable(state=state)
        assert offered.exclude(modality="in_person").exists(), state
    assert not AvailabilitySlot.objects.bookable(state="TX").exclude(modality="in_person").exists()


# -- the migration keeps existing slots working -------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_migration_gives_existing_slots_a_clinician_and_in_person_a_location():
    before = [
        ("consultations", "0006_patient_messages_and_reminders"),
        ("clinic", "0002_fees_offered_treatments_privacy_notice"),
    ]
    after = [("consultations", "0009_slot_rules_in_the_database")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    old_slot = old.get_model("consultations", "AvailabilitySlot")
    video = old_slot.objects.create(starts_at=NOW + timedelta(days=3), modality="video")
    visit = old_slot.objects.create(starts_at=NOW + timedelta(days=3), modality="in_person")
    later = old_slot.objects.create(starts_at=NOW + timedelta(days=3, hours=1), modality="phone")
    old.get_model("clinic", "ClinicDetails").objects.update_or_create(
        pk=1, defaults={"name": "Main Street Clinic", "address": "1 Main St\nAlbany, NY 12207"}
    )
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(after)
    new = executor.loader.project_state(after).apps
    slots = new.get_model("consultations", "AvailabilitySlot").objects
    # Two slots at once were two people: two clinicians, licensed nowhere yet.
    clinicians = new.get_model("consultations", "Clinician").objects.all()
    assert [c.display_name for c in clinicians] == ["", ""]
    assert not any(c.states.exists() for c in clinicians)
    assert set(slots.values_list("clinician", flat=True)) == {c.pk for c in clinicians}
    assert slots.get(pk=video.pk).location is None
    assert slots.get(pk=later.pk).clinician_id == slots.get(pk=video.pk).clinician_id
    location = slots.get(pk=visit.pk).location
    assert (location.name, location.address) == (
        "Main Street Clinic",
        "1 Main St\nAlbany, NY 12207",
    )
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
