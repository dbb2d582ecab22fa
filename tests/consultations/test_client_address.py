"""Booking limits and the audit trail see the client's real address, whatever header a
client sends (clinic/security.py reads X-Forwarded-For only from listed proxies)."""

import pytest
from django.test import override_settings
from django.urls import reverse

from consultations.models import AuditEvent
from tests.consultations.conftest import submit
from tests.factories import ConsultationRequestFactory

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.2"


def submit_from(client, *, forwarded, peer="127.0.0.1"):
    client.defaults.update(REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=forwarded)
    return submit(client, None).status_code


@override_settings(CLINIC_BOOKING_RATE_LIMIT="5/h", CLINIC_TRUSTED_PROXIES=[PROXY])
def test_a_fresh_forged_header_per_booking_does_not_escape_the_rate_limit(client):
    statuses = [submit_from(client, forwarded=f"203.0.113.{n}") for n in range(12)]
    assert statuses == [302] * 5 + [429] * 7


@override_settings(CLINIC_BOOKING_RATE_LIMIT="5/h", CLINIC_TRUSTED_PROXIES=[PROXY])
def test_behind_the_listed_proxy_each_patient_has_their_own_limit(client):
    statuses = [submit_from(client, peer=PROXY, forwarded=f"203.0.113.{n}") for n in range(7)]
    assert statuses == [302] * 7
    # Garbage counts against the proxy's own address, and is never an error.
    assert submit_from(client, peer=PROXY, forwarded="not-an-ip") == 302


@override_settings(CLINIC_TRUSTED_PROXIES=[PROXY])
@pytest.mark.parametrize(
    ("peer", "forwarded", "recorded"),
    [
        ("198.51.100.4", "203.0.113.66", "198.51.100.4"),  # forged from outside: ignored
        (PROXY, "not-an-ip", PROXY),  # once a 500: inet refused the value
        (PROXY, "203.0.113.66", "203.0.113.66"),
    ],
)
def test_audit_trail_records_the_real_address(admin_client, peer, forwarded, recorded):
    request = ConsultationRequestFactory()
    url = reverse("admin:consultations_consultationrequest_change", args=[request.pk])
    response = admin_client.get(url, REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=forwarded)
    assert response.status_code == 200
    assert AuditEvent.objects.get().source_ip == recorded
