"""The patient's signed manage link: cancel, move, the cut-off, bad and expired links."""

import re
from datetime import timedelta

import pytest
from django.core import signing
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from clinic.models import ClinicDetails
from consultations.formatting import format_clinic_time
from consultations.models import ConsultationRequest, Status
from consultations.tokens import MANAGE_LINK_MAX_AGE, manage_token_make
from tests.factories import AvailabilitySlotFactory, ConsultationRequestFactory
from tests.page_forms import buttons, form_with_button, link_to

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


def _cancel_page(client, url):
    """Follow the manage page's cancel link, as the patient does; the page it opens."""
    manage_page = client.get(url)
    assert manage_page.status_code == 200
    cancel_url = link_to(manage_page.content.decode(), "Cancel my request")
    page = client.get(cancel_url)
    assert page.status_code == 200
    return cancel_url, page.content.decode()


def _yes_cancel_it(client, cancel_url, page_html):
    form = form_with_button(page_html, "Yes, cancel it")
    assert form.method == "post"
    return client.post(form.action or cancel_url, form.submission("Yes, cancel it"))


def test_cancel_asks_first_naming_the_time_and_changes_nothing(client, mailoutbox):
    request = ConsultationRequestFactory()
    url = _url(request)
    cancel_url, html = _cancel_page(client, url)
    assert f"Cancel your consultation on {format_clinic_time(request.slot.starts_at)}?" in html
    assert "Yes, cancel it" in buttons(html)
    assert link_to(html, "No, keep it") == url
    assert request.full_name not in html and request.email not in html
    request.refresh_from_db()
    request.slot.refresh_from_db()
    assert request.status == Status.NEW and request.slot.held == 1
    assert mailoutbox == []


def test_confirmed_cancel_frees_slot_and_tells_clinic_and_patient(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    request = ConsultationRequestFactory()
    url = _url(request)
    cancel_url, html = _cancel_page(client, url)
    with django_capture_on_commit_callbacks(execute=True):
        response = _yes_cancel_it(client, cancel_url, html)
    assert response.status_code == 302 and response["Location"] == url
    request.refresh_from_db()
    request.slot.refresh_from_db()
    assert request.status == Status.CANCELLED and not request.holds_place
    assert request.slot.held == 0
    change = request.status_changes.get()
    assert change.to_status == Status.CANCELLED and change.changed_by is None
    staff = next(m for m in mailoutbox if m.to != [request.email])
    assert staff.subject == f"Consultation request {request.reference} cancelled"
    page = client.get(url).content.decode()
    assert "is cancelled" in page and "Cancel my request" not in page
    assert "We will email you to confirm it" in page


def test_cancellation_email_is_short_neutral_and_private(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    details = ClinicDetails.objects.cached()
    details.name = "Harbor Clinic"
    details.save()
    request = ConsultationRequestFactory()
    cancel_url, html = _cancel_page(client, _url(request))
    with django_capture_on_commit_callbacks(execute=True):
        _yes_cancel_it(client, cancel_url, html)
    (patient,) = [m for m in mailoutbox if m.to == [request.email]]
    assert patient.subject == "Your consultation request with Harbor Clinic is cancelled"
    assert request.reference in patient.body
    assert format_clinic_time(request.slot.starts_at) in patient.body
    assert "/book/" in patient.body  # how to book again
    # The links' random tokens left out: one once held "fit" (CI, December 2026).
    text = re.sub(r"https?://\S+", "", patient.body) + patient.subject
    for private in (request.full_name, request.email, "202", "0143", request.note, "fit"):
        assert private not in text
    assert "ketamine" not in (patient.subject + patient.body).lower()


def test_back_and_send_again_after_cancelling_changes_nothing(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    request = ConsultationRequestFactory()
    url = _url(request)
    cancel_url, html = _cancel_page(client, url)
    with django_capture_on_commit_callbacks(execute=True):
        _yes_cancel_it(client, cancel_url, html)
    sent = len(mailoutbox)
    # Back: the confirm page, asked for again, no longer offers to cancel.
    again = client.get(cancel_url, follow=True).content.decode()
    assert "is cancelled" in again and "Yes, cancel it" not in buttons(again)
    # The page the browser kept, sent again.
    with django_capture_on_commit_callbacks(execute=True):
        response = _yes_cancel_it(client, cancel_url, html)
    assert response.status_code == 302 and response["Location"] == url
    request.refresh_from_db()
    request.slot.refresh_from_db()
    assert request.status == Status.CANCELLED and request.slot.held == 0
    assert request.status_changes.count() == 1
    assert len(mailoutbox) == sent


@override_settings(EMAIL_BACKEND="tests.consultations.failing_email_backend.FailingEmailBackend")
def test_failed_cancellation_email_keeps_the_cancel(
    client, django_capture_on_commit_callbacks, caplog
):
    request = ConsultationRequestFactory()
    url = _url(request)
    cancel_url, html = _cancel_page(client, url)
    with django_capture_on_commit_callbacks(execute=True):
        response = _yes_cancel_it(client, cancel_url, html)
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == Status.CANCELLED
    assert "is cancelled" in client.get(url).content.decode()
    assert f"cancellation email for {request.reference} failed: SMTPException" in caplog.text
    assert "patient@example.com" not in caplog.text and request.email not in caplog.text


def test_a_cancel_sent_from_an_old_manage_page_asks_first(client):
    request = ConsultationRequestFactory()
    url = _url(request)
    response = client.post(url, {"action": "cancel"})
    assert response.status_code == 302
    assert response["Location"] == reverse("consultations:manage_cancel", args=[url.split("/")[3]])
    request.refresh_from_db()
    assert request.status == Status.NEW


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
    cancel_url = reverse("consultations:manage_cancel", args=[url.split("/")[3]])
    page = client.get(cancel_url, follow=True).content.decode()
    assert "can no longer be changed online" in page and "Yes, cancel it" not in buttons(page)
    assert client.post(cancel_url).status_code == 302
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
        assert client.get(reverse("consultations:manage_cancel", args=[bad])).status_code == 404
        assert client.post(reverse("consultations:manage_cancel", args=[bad])).status_code == 404
    request.refresh_from_db()
    assert request.status == Status.NEW


def test_expired_link_gets_clear_page_and_changes_nothing(client, time_machine):
    time_machine.move_to(timezone.now() - timedelta(days=91))
    request = ConsultationRequestFactory(slot__starts_at=timezone.now() + timedelta(days=100))
    url = _url(request)
    time_machine.shift(timedelta(seconds=MANAGE_LINK_MAX_AGE + 60))
    response = client.post(reverse("consultations:manage_cancel", args=[url.split("/")[3]]))
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
    cancel_page = client.get(link_to(client.get(url).content.decode(), "Cancel my request"))
    assert cancel_page["Referrer-Policy"] == "strict-origin"
    assert "no-store" in cancel_page["Cache-Control"]
    request.refresh_from_db()
    assert request.status == Status.NEW
