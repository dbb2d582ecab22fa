"""Pages that are rendered for one visitor (booking, the manage link, the admin) are
compressed too, by Django's GZipMiddleware, whose random padding ("Heal the Breach") with
Django's masked CSRF tokens guards against BREACH. Public pages carry their own gzip copy
(clinic/page_cache.py) and static files whitenoise's; neither is compressed twice."""

import gzip

import pytest
from django.urls import reverse

from tests.factories import ConsultationRequestFactory

pytestmark = pytest.mark.django_db


def test_the_booking_page_is_sent_compressed_to_a_browser_that_accepts_gzip(client):
    plain = client.get(reverse("consultations:book"))
    squeezed = client.get(reverse("consultations:book"), HTTP_ACCEPT_ENCODING="gzip, br")
    assert "Content-Encoding" not in plain
    assert squeezed["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in squeezed["Vary"]
    page = gzip.decompress(squeezed.content).decode()
    assert "Request this consultation" in page
    assert len(squeezed.content) < len(plain.content) / 2


def test_the_form_sent_back_with_errors_is_compressed_and_keeps_the_answers(client):
    client.get(reverse("consultations:book"))
    response = client.post(
        reverse("consultations:book"),
        {"full_name": "Ada Example", "email": "not-an-address"},
        HTTP_ACCEPT_ENCODING="gzip",
    )
    assert response["Content-Encoding"] == "gzip"
    assert 'value="Ada Example"' in gzip.decompress(response.content).decode()


def test_the_manage_page_is_compressed(client):
    from consultations.tokens import manage_token_make

    request = ConsultationRequestFactory()
    url = reverse("consultations:manage", args=[manage_token_make(request)])
    response = client.get(url, HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert request.reference in gzip.decompress(response.content).decode()


def test_a_public_page_keeps_its_own_single_gzip_copy(client):
    first = client.get(reverse("home"), HTTP_ACCEPT_ENCODING="gzip")
    again = client.get(reverse("home"), HTTP_ACCEPT_ENCODING="gzip")
    # Compressed once: it opens with one gzip layer, and the kept copy is byte-identical
    # (GZipMiddleware's random padding would make every answer differ).
    assert "<html" in gzip.decompress(again.content).decode()
    assert first.content == again.content
