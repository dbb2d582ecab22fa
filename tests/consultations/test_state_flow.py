"""The booking page asks the state first and offers only the times legal from there; the
form and the service refuse the others; a move offers only allowed times."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from consultations.models import AvailabilitySlot, ConsultationRequest, Status
from consultations.services import SlotUnavailable, consultation_request_create
from tests.consultations.conftest import VALID_ANSWERS
from tests.factories import (
    AvailabilitySlotFactory,
    ClinicianFactory,
    ConsultationRequestFactory,
    LocationFactory,
)
from tests.page_forms import form_with_button

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic():
    ny = ClinicianFactory(display_name="Dr. Ana Ruiz", credentials="MD", states=["NY"])
    ca = ClinicianFactory(display_name="", states=["CA"])
    site = LocationFactory(name="Midtown office", address="100 Example Ave\nNew York, NY 10001")
    soon = timezone.now() + timedelta(days=3)
    return {
        "ny_video": AvailabilitySlotFactory(clinician=ny, starts_at=soon),
        "ca_phone": AvailabilitySlotFactory(clinician=ca, starts_at=soon, modality="phone"),
        "in_person": AvailabilitySlotFactory(
            clinician=ca, starts_at=soon + timedelta(hours=2), modality="in_person", location=site
        ),
    }


def offered(html):
    return set(re.findall(r'name="slot" value="(\d+)"', html))


def test_state_step_shows_only_legal_times_with_full_labels(client, clinic):
    html = client.get("/book/?state=NY").content.decode()
    assert offered(html) == {str(clinic["ny_video"].pk), str(clinic["in_person"].pk)}
    assert '<option value="NY" selected>New York</option>' in html
    assert "Show times for my state" in html
    assert "video call with Dr. Ana Ruiz, MD, 30 minutes" in html
    assert (
        "in person with a clinician at Midtown office, 100 Example Ave, New York, NY 10001" in html
    )
    assert "times you can book from New York" in html
    html = client.get("/book/?state=CA").content.decode()
    assert offered(html) == {str(clinic["ca_phone"].pk), str(clinic["in_person"].pk)}
    assert "phone call with a clinician, 30 minutes" in html


def test_a_state_without_clinicians_is_told_kindly_and_offered_in_person(client, clinic):
    html = client.get("/book/?state=TX").content.decode()
    assert "none of our clinicians is licensed in Texas yet" in html
    assert offered(html) == {str(clinic["in_person"].pk)}
    assert "None of these times work for me" in html


def test_crafted_post_for_an_unlicensed_time_is_refused_with_input_kept(client, clinic):
    page = client.get("/book/?state=TX")
    token = page.context["form"]["form_token"].value()
    data = {**VALID_ANSWERS, "state": "TX", "form_token": token, "slot": clinic["ny_video"].pk}
    response = client.post("/book/", data)
    html = response.content.decode()
    assert response.status_code == 200
    assert "not licensed in the state you chose" in html
    assert 'value="Alex Example"' in html and "SECRET-NOTE-TEXT" in html
    assert offered(html) == {str(clinic["in_person"].pk)}
    assert ConsultationRequest.objects.count() == 0
    # The same time is fine from New York.
    data["state"] = "NY"
    assert client.post("/book/", data).status_code == 302


def test_the_service_refuses_an_unlicensed_time_itself(clinic):
    answers = {
        k: v
        for k, v in VALID_ANSWERS.items()
        if k not in ("is_adult", "contact_consent", "not_emergency_ack")
    }
    with pytest.raises(SlotUnavailable):
        consultation_request_create(slot=clinic["ny_video"], **{**answers, "state": "TX"})
    assert ConsultationRequest.objects.count() == 0


def test_move_offers_only_times_legal_for_the_patient(client, clinic):
    from consultations.tokens import manage_token_make

    other_ny = AvailabilitySlotFactory(clinician=clinic["ny_video"].clinician)
    request = ConsultationRequest.objects.create(
        **_request_fields(), slot=clinic["in_person"], holds_place=True
    )
    html = client.get(f"/book/manage/{manage_token_make(request)}/").content.decode()
    moves = offered(html)
    assert str(clinic["ca_phone"].pk) in moves and str(other_ny.pk) not in moves


def _request_fields():
    now = timezone.now()
    return {
        "full_name": "Pat Example",
        "email": "pat@example.com",
        "phone": "+12025550143",
        "preferred_contact": "email",
        "state": "CA",
        "is_adult_confirmed": True,
        "has_therapist": "no",
        "contact_consent_at": now,
        "not_emergency_ack_at": now,
        "consent_policy_version": "test",
    }


def test_crafted_post_for_a_time_beyond_the_horizon_says_so_with_input_kept(client, settings):
    settings.CLINIC_BOOKING_HORIZON_DAYS = 60
    beyond = AvailabilitySlotFactory(starts_at=timezone.now() + timedelta(days=61))
    page = client.get("/book/?state=NY")
    assert str(beyond.pk) not in offered(page.content.decode())
    token = page.context["form"]["form_token"].value()
    data = {**VALID_ANSWERS, "state": "NY", "form_token": token, "slot": beyond.pk}
    html = client.post("/book/", data).content.decode()
    assert "further ahead than we book online" in html and "just taken" not in html
    assert 'value="Alex Example"' in html and "SECRET-NOTE-TEXT" in html
    assert ConsultationRequest.objects.count() == 0


def _save_request_page(client, request, **choices):
    url = reverse("admin:consultations_consultationrequest_change", args=[request.pk])
    form = form_with_button(client.get(url).content.decode(), "Save")
    return client.post(url, form.submission("Save", **choices), follow=True)


def _move_choices(client, request):
    url = reverse("admin:consultations_consultationrequest_change", args=[request.pk])
    return set(form_with_button(client.get(url).content.decode(), "Save").offered["move_to"])


def test_staff_may_give_a_time_inside_the_notice_legal_for_the_patients_state(
    client, coordinator, clinic
):
    # Arranged by phone: staff are held to a time still ahead, not to the online notice.
    request = ConsultationRequestFactory(state="CA", slot=clinic["in_person"])
    tomorrow_morning = AvailabilitySlotFactory(
        clinician=clinic["ca_phone"].clinician,
        modality="phone",
        starts_at=timezone.now() + timedelta(hours=6),
    )
    moves = _move_choices(client, request)
    assert str(tomorrow_morning.pk) in moves and str(clinic["ca_phone"].pk) in moves
    assert str(clinic["ny_video"].pk) not in moves  # its clinician is not licensed in CA
    _save_request_page(client, request, move_to=tomorrow_morning.pk)
    request.refresh_from_db()
    assert request.slot == tomorrow_morning and request.holds_place
    # Online, the same time is too soon.
    assert not AvailabilitySlot.objects.bookable(state="CA").filter(pk=tomorrow_morning.pk)


def test_staff_can_reopen_a_request_inside_the_notice_but_not_a_past_one(client, coordinator):
    soon = AvailabilitySlotFactory(starts_at=timezone.now() + timedelta(hours=6))
    request = ConsultationRequestFactory(
        status=Status.CANCELLED, slot=soon, holds_place=False, slot__held=0
    )
    response = _save_request_page(client, request, status=Status.NEW)
    assert "cannot be re-opened" not in response.content.decode()
    request.refresh_from_db()
    soon.refresh_from_db()
    assert request.status == Status.NEW and request.holds_place and soon.held == 1

    past = ConsultationRequestFactory(
        status=Status.CANCELLED,
        slot__starts_at=timezone.now() - timedelta(hours=1),
        holds_place=False,
        slot__held=0,
    )
    response = _save_request_page(client, past, status=Status.NEW)
    assert "cannot be re-opened" in response.content.decode()
    past.refresh_from_db()
    assert past.status == Status.CANCELLED and not past.holds_place


@pytest.mark.parametrize("rule", ["buffer", "daily maximum"])
def test_crafted_post_against_the_clinicians_day_names_it_with_input_kept(client, settings, rule):
    settings.CLINIC_BOOKING_BUFFER_MINUTES = 15 if rule == "buffer" else 0
    settings.CLINIC_BOOKING_DAILY_MAX = 1 if rule == "daily maximum" else None
    clinician = ClinicianFactory(states=["NY"])
    # 10 am in the clinic's zone, three days on: both times fall on one clinic day.
    start = timezone.localtime(timezone.now() + timedelta(days=3)).replace(hour=10, minute=0)
    AvailabilitySlotFactory(clinician=clinician, starts_at=start, held=1)
    blocked = AvailabilitySlotFactory(clinician=clinician, starts_at=start + timedelta(minutes=40))
    page = client.get("/book/?state=NY")
    assert str(blocked.pk) not in offered(page.content.decode())
    token = page.context["form"]["form_token"].value()
    data = {**VALID_ANSWERS, "state": "NY", "form_token": token, "slot": blocked.pk}
    html = client.post("/book/", data).content.decode()
    assert "That clinician can no longer see anyone at that time" in html
    assert 'value="Alex Example"' in html and "SECRET-NOTE-TEXT" in html
    assert ConsultationRequest.objects.count() == 0
