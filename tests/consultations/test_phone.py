"""The booking form takes US numbers only, as its help text says."""

import pytest
from django.test import override_settings

from consultations.models import ConsultationRequest
from tests.consultations.conftest import submit

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("slot")]


@override_settings(CLINIC_BOOKING_RATE_LIMIT="off")
@pytest.mark.parametrize("phone", ["+44 20 7946 0958", "+33 1 42 68 53 00", "+1 416 555 0199"])
def test_a_number_outside_the_us_is_refused_and_says_why(client, phone):
    response = submit(client, None, phone=phone)
    assert response.status_code == 200
    html = response.content.decode()
    assert "We can only call and text US numbers. Enter a US phone number." in html
    assert "Alex Example" in html  # the other answers are kept
    assert not ConsultationRequest.objects.exists()


@override_settings(CLINIC_BOOKING_RATE_LIMIT="off")
@pytest.mark.parametrize("phone", ["(212) 555-0123", "+1 212 555 0123", "787-555-0123"])
def test_us_and_territory_numbers_are_taken(client, phone):
    assert submit(client, None, phone=phone).status_code == 302
    assert ConsultationRequest.objects.get().phone.country_code == 1
