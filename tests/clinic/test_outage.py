"""Stale-if-error: while the database is unreachable, public pages come from the copies
each worker kept (never a 500), and the booking page says booking is briefly unavailable
and gives the clinic's phone. The test points the connection at a database that is not
there, in-process, on SQLite and PostgreSQL alike."""

import contextlib

import pytest
from django.db import connections

from clinic import page_cache
from clinic.models import ClinicDetails
from tests.factories import ArticleFactory

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = "(555) 010-7777"


@contextlib.contextmanager
def database_unreachable():
    connection = connections["default"]
    reachable = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = "/nonexistent-directory/clinic.sqlite3"
    else:
        connection.settings_dict["PORT"] = "1"  # nothing listens there
    page_cache.content_version_forget()
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(reachable)
        page_cache.content_version_forget()


@pytest.fixture
def article():
    ClinicDetails.objects.update_or_create(pk=1, defaults={"phone": PHONE})
    return ArticleFactory(title="How ketamine works")


def test_public_pages_are_served_from_their_kept_copies(client, article):
    url = article.get_absolute_url()
    before = {path: client.get(path).content for path in ["/", url]}

    with database_unreachable():
        for path in ["/", url]:
            response = client.get(path)
            assert response.status_code == 200, path
            assert response.content == before[path]
            assert response["Clinic-Notice"] == page_cache.STALE_NOTICE
            assert response["Cache-Control"] == "no-store"
            assert int(response["Age"]) >= 0
        # A visitor with a session (mid-booking, or staff) is served the same copy.
        client.cookies["sessionid"] = "anything"
        response = client.get(url)
        assert response.status_code == 200 and "Clinic-Notice" in response
        del client.cookies["sessionid"]

    response = client.get(url)
    assert response.status_code == 200 and "Clinic-Notice" not in response


def test_a_page_without_a_kept_copy_says_it_is_briefly_unavailable(client, article):
    client.get("/")  # reads the clinic details, as every page does

    with database_unreachable():
        response = client.get("/glossary/")

    assert response.status_code == 503
    assert response["Retry-After"] == "60" and response["Cache-Control"] == "no-store"
    html = response.content.decode()
    assert "This page is briefly unavailable" in html
    assert PHONE in html


def test_the_booking_page_says_booking_is_briefly_unavailable_with_the_phone(client, article):
    client.get("/")

    with database_unreachable():
        response = client.get("/book/")

    assert response.status_code == 503
    html = response.content.decode()
    assert "Booking is briefly unavailable" in html
    assert f'href="tel:+15550107777">{PHONE}</a>' in html


def test_a_patient_mid_booking_and_staff_get_the_same_answers_not_a_500(client, article):
    """With a session cookie too: the session can be neither read nor saved."""
    url = article.get_absolute_url()
    client.get(url)
    client.cookies["sessionid"] = "a-session-the-database-holds"

    with database_unreachable():
        booking = client.get("/book/")
        admin = client.get("/admin/")
        article_page = client.get(url)

    assert booking.status_code == 503 and PHONE in booking.content.decode()
    assert admin.status_code == 503
    assert "This page is briefly unavailable" in admin.content.decode()
    assert article_page.status_code == 200 and "Clinic-Notice" in article_page
    for response in (booking, admin, article_page):
        assert "sessionid" not in response.cookies  # neither refreshed nor deleted


def test_never_the_sample_phone_when_the_details_were_never_read(client):
    page_cache.clear()
    with database_unreachable():
        response = client.get("/book/")
    assert response.status_code == 503
    html = response.content.decode()
    assert "Booking is briefly unavailable" in html
    assert "call us at" not in html
