"""US conventions on every page and email: "Wednesday, December 2" and (212) 555-0123."""

import datetime
import re

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from consultations.formatting import clinic_zone
from tests.consultations.conftest import submit
from tests.factories import (
    ArticleFactory,
    AvailabilitySlotFactory,
    ConsultationRequestFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

# Every public page type (the browser tests' list, plus the booking flow's pages).
PUBLIC_URLS = [
    "/",
    "/articles/",
    "/topics/how-ketamine-works/",
    "/articles/how-ketamine-works-glutamate-cascade/",
    "/glossary/",
    "/paths/during-and-after-your-series/",
    "/planner/",
    "/integration-support/",
    "/search/?q=BDNF",
    "/search/?q=zzzqqq",
    "/search/",
    "/costs/",
    "/privacy/",
    "/self-check/",
    "/book/",
    "/book/manage/not-a-real-token/",
    "/no-such-page/",
]


@pytest.fixture
def slot():
    return AvailabilitySlotFactory()


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _us_day(moment: datetime.datetime) -> str:
    local = timezone.localtime(moment, clinic_zone())
    return f"{local:%A}, {local:%B} {local.day}"


def test_booking_page_and_emails_write_the_month_before_the_day(
    client, slot, mailoutbox, django_capture_on_commit_callbacks
):
    day = _us_day(slot.starts_at)  # e.g. "Wednesday, December 2"
    html = client.get("/book/").content.decode()
    assert f"<legend>{day}</legend>" in html
    assert f"{day}, " in _text(html)
    with django_capture_on_commit_callbacks(execute=True):
        assert submit(client, slot).status_code == 302
    confirmation = client.get("/book/requested/").content.decode()
    assert day in _text(confirmation)
    patient, staff = mailoutbox
    assert f"Requested time: {day}, " in patient.body


def test_article_review_dates_write_the_month_before_the_day(client):
    article = ArticleFactory(
        last_reviewed=datetime.date(2026, 6, 1), next_review_due=datetime.date(2027, 6, 1)
    )
    html = client.get(article.get_absolute_url()).content.decode()
    assert "</strong> on June 1, 2026" in html
    assert "Page last reviewed: June 1, 2026" in html
    assert "Next review due: June 1, 2027" in html
    assert "1 June" not in html


def test_every_public_page_dials_the_clinic_in_e164_and_shows_it_readably(client):
    call_command("load_sample_content", verbosity=0)
    for url in PUBLIC_URLS:
        html = client.get(url).content.decode()
        dialled = re.findall(r'href="tel:([^"]*)"', html)
        assert dialled, f"{url} has no phone link"
        bad = [number for number in dialled if not re.fullmatch(r"\+1\d{10}|911|988", number)]
        assert not bad, f"{url} dials {bad}"
        assert '<a href="tel:+15550100199">(555) 010-0199</a>' in html, url


def test_the_admin_shows_a_patients_phone_readably_as_a_tel_link(client):
    user = UserFactory()
    user.user_permissions.set(Permission.objects.filter(codename__in=["view_consultationrequest"]))
    client.force_login(user)
    request = ConsultationRequestFactory(phone="+12125550187")
    url = reverse("admin:consultations_consultationrequest_change", args=[request.pk])
    html = client.get(url).content.decode()
    assert '<a href="tel:+12125550187">(212) 555-0187</a>' in html
    assert "+12125550187<" not in html


@pytest.mark.usefixtures("slot")
@pytest.mark.parametrize("phone", ["12345", "+44 20 7946 0958"])
def test_the_phone_error_says_what_is_wrong_without_repeating_the_help_text(client, phone):
    html = submit(client, None, phone=phone).content.decode()
    help_text = "A US number, for example (212) 555-0123."
    assert help_text in html
    (error,) = re.findall(r'id="error_1_id_phone"[^>]*>\s*(?:<strong>)?(.*?)<', html, re.S)
    assert error.strip()
    assert "(212) 555-0123" not in error and "for example" not in error
    assert html.count("(212) 555-0123") == 1  # only in the help text
