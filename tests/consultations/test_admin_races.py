"""Staff never re-open a request the patient cancelled meanwhile, from the list or from the
request's own page, and are told so."""

import threading

import pytest
from django.db import connection
from django.test import Client

from consultations.models import ConsultationRequest, Status
from consultations.services import consultation_request_cancel_by_patient
from tests.consultations.test_admin import CHANGELIST, _action, _change_url
from tests.consultations.test_admin import coordinator as coordinator  # noqa: F401 - fixture
from tests.factories import ConsultationRequestFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("action", ["mark_contacted", "mark_confirmed"])
def test_a_stale_list_skips_the_request_the_patient_cancelled(client, coordinator, action):
    cancelled, going_ahead = ConsultationRequestFactory(), ConsultationRequestFactory()
    client.get(CHANGELIST)  # the list staff look at shows both as new
    consultation_request_cancel_by_patient(consultation_request=cancelled)
    response = _action(client, action, cancelled, going_ahead)
    cancelled.refresh_from_db()
    cancelled.slot.refresh_from_db()
    going_ahead.refresh_from_db()
    assert cancelled.status == Status.CANCELLED and not cancelled.holds_place
    assert cancelled.slot.held == 0
    assert going_ahead.status != Status.NEW
    message = next(iter(response.wsgi_request._messages)).message
    assert "Marked 1 request(s)" in message
    assert "Skipped 1 that are closed" in message and cancelled.reference in message


def test_the_change_page_notices_a_cancel_made_while_it_was_open(client, coordinator):
    request = ConsultationRequestFactory()
    page = client.get(_change_url(request)).content.decode()
    assert 'name="initial-status" value="new"' in page
    consultation_request_cancel_by_patient(consultation_request=request)
    response = client.post(
        _change_url(request),
        {
            "status": Status.CONTACTED,
            "initial-status": Status.NEW,
            "assigned_to": "",
            "staff_notes-TOTAL_FORMS": "0",
            "staff_notes-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "While this page was open, the status became “Cancelled”" in response.content.decode()
    request.refresh_from_db()
    assert request.status == Status.CANCELLED and not request.holds_place


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="row locks race on PostgreSQL")
def test_racing_cancel_and_bulk_confirm_never_reopen(coordinator):
    staff = Client()
    staff.force_login(coordinator)
    for _ in range(8):
        request = ConsultationRequestFactory()
        barrier = threading.Barrier(2)
        told_cancelled = []

        def patient(pk=request.pk, barrier=barrier, told_cancelled=told_cancelled):
            barrier.wait()
            consultation_request_cancel_by_patient(
                consultation_request=ConsultationRequest.objects.get(pk=pk)
            )
            told_cancelled.append(True)
            connection.close()

        thread = threading.Thread(target=patient)
        thread.start()
        barrier.wait()
        _action(staff, "mark_confirmed", request)
        thread.join()
        request.refresh_from_db()
        request.slot.refresh_from_db()
        assert told_cancelled
        assert request.status == Status.CANCELLED, request.status_changes.all()
        assert not request.holds_place and request.slot.held == 0
