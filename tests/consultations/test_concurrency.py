"""Many patients submitting for the last place at the same moment: exactly one gets it.

Runs on both databases: PostgreSQL, and SQLite as a file (see settings_test), where
IMMEDIATE transactions make the writers queue.
"""

import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.test import Client, override_settings
from django.utils import timezone

from consultations.models import AvailabilitySlot, ConsultationRequest
from tests.consultations.conftest import VALID_ANSWERS
from tests.factories import AvailabilitySlotFactory, ClinicianFactory

THREADS = 24


@pytest.mark.django_db(transaction=True)
@override_settings(CLINIC_BOOKING_RATE_LIMIT="off")
def test_concurrent_submissions_for_last_place():
    slot = AvailabilitySlotFactory(capacity=3, held=2)  # one place left
    clients = []
    for _ in range(THREADS):
        client = Client()
        form = client.get("/book/").context["form"]
        clients.append((client, {"form_token": form["form_token"].value()}))
    barrier = threading.Barrier(THREADS)
    results, errors = [], []

    def patient(client, tokens, n):
        try:
            data = {**VALID_ANSWERS, **tokens, "slot": str(slot.pk), "email": f"p{n}@example.com"}
            barrier.wait()
            response = client.post("/book/", data)
            results.append((response.status_code, response.content.decode()))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(repr(error))
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=patient, args=(client, tokens, n))
        for n, (client, tokens) in enumerate(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert len(results) == THREADS
    successes = [r for r in results if r[0] == 302]
    taken = [r for r in results if r[0] == 200 and "That time was just taken" in r[1]]
    assert len(successes) == 1
    assert len(taken) == THREADS - 1
    assert ConsultationRequest.objects.count() == 1
    slot.refresh_from_db()
    assert slot.held == slot.capacity == 3
    assert AvailabilitySlot.objects.bookable().filter(pk=slot.pk).count() == 0


@pytest.mark.django_db(transaction=True)
@override_settings(CLINIC_BOOKING_RATE_LIMIT="off")
def test_the_same_form_sent_twice_at_once_books_once_and_names_it_to_both():
    slot = AvailabilitySlotFactory(capacity=1)
    first = Client()
    token = first.get("/book/").context["form"]["form_token"].value()
    second = Client()
    second.cookies = first.cookies  # the same browser, two sends of one form
    data = {**VALID_ANSWERS, "form_token": token, "slot": str(slot.pk)}
    barrier = threading.Barrier(2)
    results, errors = [], []

    def send(client):
        try:
            barrier.wait()
            response = client.post("/book/", data)
            results.append((response.status_code, response.content.decode()))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(repr(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(client,)) for client in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    request = ConsultationRequest.objects.get()
    assert sorted(status for status, _ in results) == [200, 302]
    answer = next(html for status, html in results if status == 200)
    assert f"You already sent this request: {request.reference}" in answer
    assert "just taken" not in answer


def _race(slots):
    """One patient per slot, all submitting at the same moment; returns the outcomes."""
    patients = []
    for slot in slots:
        client = Client()
        form = client.get("/book/").context["form"]
        assert str(slot.pk) in {str(s.pk) for s in form.fields["slot"].slots}  # offered
        patients.append((client, {"form_token": form["form_token"].value()}, slot))
    barrier = threading.Barrier(len(patients))
    results, errors = [], []

    def patient(client, tokens, slot):
        try:
            data = {
                **VALID_ANSWERS,
                **tokens,
                "slot": str(slot.pk),
                "email": f"p{slot.pk}@example.com",
            }
            barrier.wait()
            response = client.post("/book/", data)
            results.append(response.status_code)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(repr(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=patient, args=args) for args in patients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(results) == len(patients)
    return results


def _one_clinicians_day(count=20):
    """`count` back-to-back 30-minute slots of one clinician, from 7 am five days ahead."""
    clinician = ClinicianFactory()
    day = timezone.localtime(timezone.now() + timedelta(days=5)).replace(
        hour=7, minute=0, second=0, microsecond=0
    )
    return [
        AvailabilitySlotFactory(clinician=clinician, starts_at=day + timedelta(minutes=30 * n))
        for n in range(count)
    ]


@pytest.mark.django_db(transaction=True)
@override_settings(CLINIC_BOOKING_RATE_LIMIT="off", CLINIC_BOOKING_DAILY_MAX=3)
def test_twenty_patients_at_once_never_pass_the_daily_maximum():
    slots = _one_clinicians_day()
    results = _race(slots)
    assert results.count(302) == 3
    assert ConsultationRequest.objects.count() == 3
    assert sum(AvailabilitySlot.objects.values_list("held", flat=True)) == 3


@pytest.mark.django_db(transaction=True)
@override_settings(CLINIC_BOOKING_RATE_LIMIT="off", CLINIC_BOOKING_BUFFER_MINUTES=15)
def test_twenty_patients_at_once_keep_the_buffer():
    slots = _one_clinicians_day()
    results = _race(slots)
    booked = list(AvailabilitySlot.objects.filter(held__gt=0).order_by("starts_at"))
    assert results.count(302) == len(booked) == ConsultationRequest.objects.count() >= 1
    for first, second in zip(booked, booked[1:], strict=False):
        assert second.starts_at - first.ends_at >= timedelta(minutes=15)
