"""The patient's signed manage link: cancel, move, the cut-off, bad and expired links."""

from datetime import timedelta

import pytest
from django.core import signing
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from consultations.models import ConsultationRequest, Status
from consultations.tokens import MANAGE_LINK_MAX_AGE, manage_token_make
from tests.factories import AvailabilitySlotFactory, ConsultationRequestFactory

pytestmark = pytest.mark.django_db


def _url(request):
    return reverse("consultations:manage", args=[manage_token_make(request)])


def test_token_carries_no_patient_detail():
    request = ConsultationRequestFactory()
    token = manage_token_make(request)
    key, timestamp, signature = token.split(":")
    assert key == request.manage_key  # a random key, nothing else
    for private in (request.full_name, request.email, request.reference):
        assert private not in token


def test_get_shows_options_and_changes_nothing(client):
    request = ConsultationRequestFactory()
    response = client.get(_url(request))
    html = response.content.decode()
    assert response.status_code == 200
    assert request.reference in html and "Cancel my request" in html
    assert request.full_name not in html and request.email not in html
    request.refresh_from_db()
    assert request.status == Status.NEW


def test_cancel_frees_slot_and_tells_clinic(client, mailoutbox, django_capture_on_commit_callbacks):
    request = ConsultationRequestFactory()
    url = _url(request)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"action": "cancel"})
    assert response.status_code == 302
    request.refresh_from_db()
    request.slot.refresh_from_db()
    assert request.status == Status.CANCELLED and not request.holds_place
    assert request.slot.held == 0
    change = request.status_changes.get()
    assert change.to_status == Status.CANCELLED and change.changed_by is None
    assert mailoutbox[0].subject == f"Consultation request {request.reference} cancelled"
    page = client.get(url).content.decode()
    assert "is cancelled" in page and "Cancel my request" not in page
    # A second cancel changes nothing.
    client.post(url, {"action": "cancel"})
    request.slot.refresh_from_db()
    assert request.slot.held == 0


def test_move_holds_new_frees_old_and_reconfirms(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    request = ConsultationRequestFactory(status=Status.CONFIRMED)
    old = request.slot
    new = AvailabilitySlotFactory(starts_at=old.starts_at + timedelta(days=1))
    url = _url(request)
    assert f'value="{new.pk}"' in client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"action": "move", "slot": new.pk})
    assert response.status_code == 302
    request.refresh_from_db()
    old.refresh_from_db()
    new.refresh_from_db()
    assert request.slot == new and request.status == Status.NEW
    assert (old.held, new.held) == (0, 1)
    subjects = sorted(m.subject for m in mailoutbox)
    assert f"Consultation request {request.reference} moved" in subjects
    assert any(s.startswith("Your consultation request") for s in subjects)


def test_move_to_a_full_slot_says_taken_and_changes_nothing(client):
    request = ConsultationRequestFactory()
    full = AvailabilitySlotFactory()
    url = _url(request)
    # The slot fills between showing the page and sending it.
    response_page = client.get(url)
    assert response_page.status_code == 200
    type(full).objects.filter(pk=full.pk).update(held=1)
    response = client.post(url, {"action": "move", "slot": full.pk})
    assert "That time was just taken" in response.content.decode()
    request.refresh_from_db()
    assert request.slot_id != full.pk
    assert request.slot.held == 1


@pytest.mark.parametrize("value", ["", "abc", "999999"])
def test_move_with_bad_slot_changes_nothing(client, value):
    request = ConsultationRequestFactory()
    response = client.post(_url(request), {"action": "move", "slot": value})
    assert response.status_code == 200
    assert "alert-danger" in response.content.decode()
    assert ConsultationRequest.objects.get().slot == request.slot


def test_unknown_action_is_a_bad_request(client):
    request = ConsultationRequestFactory()
    assert client.post(_url(request), {"action": "explode"}).status_code == 400


@override_settings(CLINIC_SELF_SERVICE_CUTOFF_HOURS=24)
def test_inside_cutoff_says_call_the_clinic_and_changes_nothing(client):
    soon = AvailabilitySlotFactory(starts_at=timezone.now() + timedelta(hours=23), held=1)
    request = ConsultationRequestFactory(slot=soon)
    url = _url(request)
    html = client.get(url).content.decode()
    assert "can no longer be changed online" in html and "call us" in html
    assert "Cancel my request" not in html
    assert client.post(url, {"action": "cancel"}).status_code == 200
    request.refresh_from_db()
    assert request.status == Status.NEW


@pytest.mark.parametrize(
    "token",
    ["nonsense", "abc:def:ghi", "x" * 3000],
)
def test_tampered_link_gets_clear_page(client, token):
    response = client.get(reverse("consultations:manage", args=[token]))
    assert response.status_code == 404
    assert "This link does not work" in response.content.decode()


def test_altered_signature_and_other_salt_are_refused(client):
    request = ConsultationRequestFactory()
    token = manage_token_make(request)
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")
    forged = signing.TimestampSigner(salt="other").sign(request.manage_key)
    for bad in (altered, forged):
        assert (
            client.post(
                reverse("consultations:manage", args=[bad]), {"action": "cancel"}
            ).status_code
            == 404
        )
    request.refresh_from_db()
    assert request.status == Status.NEW


def test_expired_link_gets_clear_page_and_changes_nothing(client, time_machine):
    time_machine.move_to(timezone.now() - timedelta(days=91))
    request = ConsultationRequestFactory(slot__starts_at=timezone.now() + timedelta(days=100))
    url = _url(request)
    time_machine.shift(timedelta(seconds=MANAGE_LINK_MAX_AGE + 60))
    response = client.post(url, {"action": "cancel"})
    assert response.status_code == 404
    assert "too old" in response.content.decode()
    request.refresh_from_db()
    assert request.status == Status.NEW


def test_contact_me_request_can_pick_a_time(client):
    request = ConsultationRequestFactory(slot=None, preferred_times="Evenings")
    slot = AvailabilitySlotFactory()
    client.post(_url(request), {"action": "move", "slot": slot.pk})
    request.refresh_from_db()
    slot.refresh_from_db()
    assert request.slot == slot and request.holds_place and slot.held == 1


def test_head_answers_like_get_and_no_page_hands_the_token_on(client):
    request = ConsultationRequestFactory()
    url = _url(request)
    head = client.head(url)
    assert head.status_code == 200 and head["Referrer-Policy"] == "strict-origin"
    invalid = client.get(reverse("consultations:manage", args=["nonsense"]))
    assert invalid["Referrer-Policy"] == "strict-origin"
    request.refresh_from_db()
    assert request.status == Status.NEW
