"""Many patients submitting for the last place at the same moment: exactly one gets it.

Runs on both databases: PostgreSQL, and SQLite as a file (see settings_test), where
IMMEDIATE transactions make the writers queue.
"""

import threading

import pytest
from django.db import connections
from django.test import Client, override_settings

from consultations.models import AvailabilitySlot, ConsultationRequest
from tests.consultations.conftest import VALID_ANSWERS
from tests.factories import AvailabilitySlotFactory

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
