"""Management commands: sample slots and requests, and the retention purge."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from consultations.models import AvailabilitySlot, ConsultationRequest, Status
from tests.factories import ConsultationRequestFactory

pytestmark = pytest.mark.django_db


def test_load_sample_slots_is_idempotent_and_has_dry_run(capsys):
    call_command("load_sample_slots", "--dry-run")
    assert "Would create" in capsys.readouterr().out
    assert AvailabilitySlot.objects.count() == 0 and ConsultationRequest.objects.count() == 0

    call_command("load_sample_slots")
    slots = AvailabilitySlot.objects.count()
    assert slots >= 30  # ten weekdays, four times a day
    assert AvailabilitySlot.objects.bookable().exists()
    local_days = {timezone.localtime(s.starts_at).weekday() for s in AvailabilitySlot.objects.all()}
    assert local_days <= {0, 1, 2, 3, 4}
    requests = ConsultationRequest.objects.all()
    assert requests.count() == 4
    assert all(r.full_name.startswith("Sample Patient") for r in requests)
    assert all(r.email.endswith("@example.com") for r in requests)
    assert {r.status for r in requests} == {Status.NEW, Status.CONTACTED, Status.CONFIRMED}

    call_command("load_sample_slots")
    assert "Created 0 slot(s) and 0 sample request(s)" in capsys.readouterr().out
    assert AvailabilitySlot.objects.count() == slots
    held = sum(AvailabilitySlot.objects.values_list("held", flat=True))
    assert held == 3  # one place for each sample request with a time


def _closed(days_ago, status=Status.CANCELLED):
    request = ConsultationRequestFactory(status=status, holds_place=False)
    ConsultationRequest.objects.filter(pk=request.pk).update(
        status_changed_at=timezone.now() - timedelta(days=days_ago)
    )
    return request


def test_purge_deletes_only_requests_closed_long_ago(capsys, settings):
    settings.CLINIC_RETENTION_DAYS = 365
    old = [_closed(400), _closed(400, Status.COMPLETED), _closed(366, Status.NO_SHOW)]
    recent = _closed(10)
    active = ConsultationRequestFactory()
    ConsultationRequest.objects.filter(pk=active.pk).update(
        status_changed_at=timezone.now() - timedelta(days=900)
    )
    old[0].staff_notes.create(text="note")

    call_command("purge_consultation_requests", "--dry-run")
    assert "Would delete 3 consultation request(s)" in capsys.readouterr().out
    assert ConsultationRequest.objects.count() == 5

    call_command("purge_consultation_requests")
    assert "Deleted 3 consultation request(s) closed more than 365 days ago" in (
        capsys.readouterr().out
    )
    assert set(ConsultationRequest.objects.all()) == {recent, active}

    call_command("purge_consultation_requests", "--days", "5")
    assert set(ConsultationRequest.objects.all()) == {active}


def test_purge_refuses_nonsense_days():
    with pytest.raises(CommandError):
        call_command("purge_consultation_requests", "--days", "0")
