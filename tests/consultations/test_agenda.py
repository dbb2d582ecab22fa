"""The staff agenda (day and week, per clinician) and "at a glance" per clinician, by role."""

from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from consultations.models import AuditAction, AuditEvent
from tests.factories import (
    AvailabilitySlotFactory,
    ClinicianFactory,
    ConsultationRequestFactory,
    UserFactory,
    role_member,
)

pytestmark = pytest.mark.django_db

AGENDA = reverse("admin:consultations_agenda")


@pytest.fixture
def morning(time_machine):
    """Wednesday, December 2, 2026, 9 am in the clinic's zone."""
    zone = timezone.get_current_timezone()
    time_machine.move_to(datetime(2026, 12, 2, 9, 0, tzinfo=zone), tick=False)
    return datetime(2026, 12, 2, 0, 0, tzinfo=zone)


@pytest.fixture
def day(morning):
    """Two clinicians' consultations today, one tomorrow, one on Friday, one cancelled."""
    ana = ClinicianFactory(display_name="Dr. Ana")
    ben = ClinicianFactory(display_name="Dr. Ben", credentials="PMHNP-BC")
    at = morning.replace(hour=14)
    rows = {
        "ana_today": ConsultationRequestFactory(
            slot=AvailabilitySlotFactory(clinician=ana, starts_at=at, held=1),
            full_name="Patricia Private",
            note="NOTE-NEVER-ON-THE-AGENDA",
            status="confirmed",
        ),
        "ben_today": ConsultationRequestFactory(
            slot=AvailabilitySlotFactory(
                clinician=ben, starts_at=at.replace(hour=10), modality="in_person", held=1
            ),
        ),
        "ana_cancelled": ConsultationRequestFactory(
            slot=AvailabilitySlotFactory(clinician=ana, starts_at=at.replace(hour=16)),
            status="cancelled",
            holds_place=False,
        ),
        "ana_tomorrow": ConsultationRequestFactory(
            slot=AvailabilitySlotFactory(clinician=ana, starts_at=at + timedelta(days=1), held=1),
        ),
        "ben_friday": ConsultationRequestFactory(
            slot=AvailabilitySlotFactory(clinician=ben, starts_at=at + timedelta(days=2), held=1),
        ),
    }
    return ana, ben, rows


def test_coordinator_sees_everyones_day_without_patient_free_text(client, day):
    ana, ben, rows = day
    client.force_login(role_member("Intake coordinators"))
    response = client.get(AGENDA)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Wednesday, December 2: 2 consultations" in html
    assert "Times are Eastern time" in html
    assert (
        "<caption>Dr. Ana, MD</caption>" in html and "<caption>Dr. Ben, PMHNP-BC</caption>" in html
    )
    for key in ("ana_today", "ben_today"):
        url = reverse("admin:consultations_consultationrequest_change", args=[rows[key].pk])
        assert f'<a href="{url}">{rows[key].reference}</a>' in html
    assert "2:00 pm" in html and "10:00 am" in html and "in person" in html
    assert "Confirmed" in html and "Site " in html
    for hidden in ("ana_cancelled", "ana_tomorrow", "ben_friday"):
        assert rows[hidden].reference not in html
    assert "Patricia" not in html and "NOTE-NEVER-ON-THE-AGENDA" not in html
    assert "@example.com" not in html and "2025550143" not in html
    event = AuditEvent.objects.get(action=AuditAction.LIST)
    assert event.count == 2 and event.detail.startswith("agenda: day from 2026-12-02")


def test_week_shows_monday_to_sunday_and_earlier_later_links(client, day):
    ana, ben, rows = day
    client.force_login(role_member("Intake coordinators"))
    html = client.get(AGENDA, {"span": "week", "day": "2026-12-03"}).content.decode()
    assert "Week of Monday, November 30: 4 consultations" in html
    for key in ("ana_today", "ben_today", "ana_tomorrow", "ben_friday"):
        assert rows[key].reference in html
    assert "<h3>Sunday, December 6</h3>" in html
    assert "span=week&amp;day=2026-11-23" in html and "span=week&amp;day=2026-12-07" in html
    html = client.get(AGENDA, {"span": "week", "day": "2026-12-07"}).content.decode()
    assert "0 consultations" in html


def test_clinician_sees_their_own_by_default_and_may_choose_all(client, day):
    ana, ben, rows = day
    user = role_member("Clinicians")
    ana.user = user
    ana.save()
    client.force_login(user)
    html = client.get(AGENDA).content.decode()
    assert "1 consultation with Dr. Ana, MD" in html
    assert rows["ana_today"].reference in html and rows["ben_today"].reference not in html
    # Without the request permission, references are plain text, not links.
    assert "consultationrequest/" not in html
    assert "Dr. Ana, MD (you)" in html
    html = client.get(AGENDA, {"clinician": "all"}).content.decode()
    assert rows["ben_today"].reference in html
    assert "Patricia" not in html


def test_agenda_is_refused_to_other_staff(client, day):
    for user in (role_member("Content editors"), UserFactory()):
        client.force_login(user)
        assert client.get(AGENDA).status_code == 403
    # A clinician whose profile is inactive is no longer let in by it.
    ana, _ben, _rows = day
    ana.user, ana.is_active = UserFactory(), False
    ana.save()
    client.force_login(ana.user)
    assert client.get(AGENDA).status_code == 403


def test_bad_day_falls_back_to_today(client, day):
    client.force_login(role_member("Intake coordinators"))
    for value in ("not-a-date", "2026-13-45", "\x00"):
        response = client.get(AGENDA, {"day": value, "span": "year", "clinician": "x"})
        assert response.status_code == 200
        assert "Wednesday, December 2" in response.content.decode()


def test_at_a_glance_counts_today_per_clinician(client, day):
    ana, ben, _rows = day
    client.force_login(role_member("Intake coordinators"))
    response = client.get(reverse("admin:index"))
    glance = {item["label"]: item for item in response.context["at_a_glance"]}
    today = glance["Consultations today"]
    assert today["count"] == 2
    assert [(name, n) for name, n, _url in today["breakdown"]] == [
        ("Dr. Ana, MD", 1),
        ("Dr. Ben, PMHNP-BC", 1),
    ]
    html = response.content.decode()
    assert f"clinician={ana.pk}" in html and "Dr. Ben, PMHNP-BC</a>: 1" in html


def test_at_a_glance_for_a_clinician_is_their_own_day(client, day):
    ana, _ben, _rows = day
    user = role_member("Clinicians")
    ana.user = user
    ana.save()
    client.force_login(user)
    glance = client.get(reverse("admin:index")).context["at_a_glance"]
    assert [(item["label"], item["count"]) for item in glance] == [("Your consultations today", 1)]
