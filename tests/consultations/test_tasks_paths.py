"""Queued emails about a request that is gone by the time the worker runs (staff deleted it,
or the purge removed it): nothing is sent and the task ends quietly."""

import pytest

from consultations.tasks import (
    send_consultation_request_emails,
    send_patient_cancellation_notice,
    send_patient_update,
    send_staff_change_notice,
)
from tests.factories import ConsultationRequestFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def deleted_request_id() -> int:
    request = ConsultationRequestFactory(status="confirmed")
    request_id = request.pk
    request.delete()
    return request_id


def test_a_deleted_requests_queued_emails_send_nothing(deleted_request_id, mailoutbox):
    assert send_consultation_request_emails.call(deleted_request_id) == "gone"
    assert send_staff_change_notice.call(deleted_request_id, "cancelled") is False
    assert send_patient_update.call(deleted_request_id, "confirmed") is False
    assert send_patient_cancellation_notice.call(deleted_request_id) is False
    assert mailoutbox == []


def test_the_same_emails_go_out_while_the_request_exists(mailoutbox):
    # The check above is only meaningful if these tasks do send for a request that exists.
    request = ConsultationRequestFactory(status="confirmed")
    assert send_staff_change_notice.call(request.pk, "cancelled") is True
    assert send_patient_update.call(request.pk, "confirmed") is True
    assert len(mailoutbox) == 2
