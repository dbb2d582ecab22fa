"""The clinic's answer reaches the patient: staff confirming, declining, cancelling or
moving a request (list actions and the request's page) and the patient's own moves and
cancels each email the patient, with a calendar file that updates or removes one event."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.test import override_settings
from django.urls import reverse
from icalendar import Calendar

from clinic.models import ClinicDetails
from consultations.formatting import format_clinic_time
from consultations.models import AuditEvent, ConsultationRequest, Modality, Status
from consultations.tokens import manage_token_make
from tests.consultations.conftest import submit
from tests.factories import AvailabilitySlotFactory, ConsultationRequestFactory, UserFactory
from tests.page_forms import form_with_button, link_to

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:consultations_consultationrequest_changelist")
NOT_EMAILED = "patient not emailed (staff chose)"


@pytest.fixture(autouse=True)
def harbor_clinic(db):
    details = ClinicDetails.objects.cached()
    details.name = "Harbor Clinic"
    details.address = "12 Harbor Road\nSpringfield, NY 10001"
    details.save()


def _change_url(request):
    return reverse("admin:consultations_consultationrequest_change", args=[request.pk])


def _manage_url(request):
    return reverse("consultations:manage", args=[manage_token_make(request)])


def _run_action(client, action, selected, **choices):
    """Tick `selected` on the list page, choose `action` (and any other choice the page
    offers) and press Go, as staff do."""
    form = form_with_button(client.get(CHANGELIST).content.decode(), "Go")
    data = form.submission(
        "Go", action=action, _selected_action=[obj.pk for obj in selected], **choices
    )
    return client.post(CHANGELIST, data, follow=True)


def _save_change_page(client, request, **choices):
    """Open the request's page, change what `choices` say among what it offers, and Save."""
    page = client.get(_change_url(request)).content.decode()
    form = form_with_button(page, "Save")
    data = form.submission("Save", **{k: v for k, v in choices.items() if k != "video_link"})
    if "video_link" in choices:  # a text box: anything can be typed in it
        data["video_link"] = [choices["video_link"]]
    return client.post(_change_url(request), data, follow=True)


def _to_patient(mailoutbox, request):
    return [m for m in mailoutbox if m.to == [request.email]]


def _event(message):
    """(METHOD, the VEVENT) of the message's one calendar file."""
    ((name, content, mimetype),) = message.attachments
    assert (name, mimetype) == ("consultation.ics", "text/calendar")
    calendar = Calendar.from_ical(content)
    (event,) = calendar.walk("VEVENT")
    return str(calendar["METHOD"]), event


def _private(request):
    return [request.full_name, request.email, "5550143", "555-0143", request.note, "therapist"]


def _assert_neutral(message, request):
    text = message.subject + message.body + str(message.attachments[0][1])
    for private in _private(request):
        assert private not in text
    assert "ketamine" not in text.lower()
    assert "https://clinic.example/book/manage/" in message.body


# ----------------------------------------------------------- staff: list actions


def test_confirming_from_the_list_emails_the_confirmed_time_with_a_request_event(
    client, coordinator, mailoutbox, django_capture_on_commit_callbacks
):
    request = ConsultationRequestFactory(slot__clinician__display_name="")
    with django_capture_on_commit_callbacks(execute=True):
        _run_action(client, "mark_confirmed", [request])
    (message,) = _to_patient(mailoutbox, request)
    assert message.subject == "Your consultation with Harbor Clinic is confirmed"
    assert request.reference in message.body
    assert f"When: {format_clinic_time(request.slot.starts_at)}" in message.body
    assert "Video call, 30 minutes, with a clinician." in message.body
    assert "We will email you the link for the video call" in message.body
    _assert_neutral(message, request)
    method, event = _event(message)
    assert method == "REQUEST"
    assert str(event["UID"]) == request.calendar_uid()
    assert event["SEQUENCE"] == 0 and str(event["STATUS"]) == "CONFIRMED"
    assert event.decoded("DTSTART") == request.slot.starts_at
    assert request.status_changes.get().note == "patient emailed"


@pytest.mark.parametrize(
    ("action", "subject", "wording"),
    [
        (
            "mark_declined",
            "About your consultation request with Harbor Clinic",
            "we cannot offer you the time you asked for",
        ),
        (
            "mark_cancelled",
            "Your consultation with Harbor Clinic is cancelled",
            "we had to cancel your consultation",
        ),
    ],
)
def test_declining_or_cancelling_for_the_clinic_sends_a_kind_email_that_removes_the_event(
    client, coordinator, mailoutbox, django_capture_on_commit_callbacks, action, subject, wording
):
    request = ConsultationRequestFactory()
    with django_capture_on_commit_callbacks(execute=True):
        _run_action(client, action, [request])
    (message,) = _to_patient(mailoutbox, request)
    assert message.subject == subject
    assert wording in message.body
    assert "Choose another time: https://clinic.example/book/" in message.body
    assert ClinicDetails.objects.cached().crisis_notice in message.body
    _assert_neutral(message, request)
    method, event = _event(message)
    assert method == "CANCEL" and str(event["STATUS"]) == "CANCELLED"
    assert str(event["UID"]) == request.calendar_uid()


def test_dont_email_from_the_list_sends_nothing_and_is_kept_in_the_history(
    client, coordinator, mailoutbox, django_capture_on_commit_callbacks
):
    request = ConsultationRequestFactory()
    with django_capture_on_commit_callbacks(execute=True):
        _run_action(client, "mark_confirmed", [request], dont_email_patient="on")
    assert _to_patient(mailoutbox, request) == []
    request.refresh_from_db()
    assert request.status == Status.CONFIRMED
    assert request.status_changes.get().note == NOT_EMAILED
    assert NOT_EMAILED in client.get(_change_url(request)).content.decode()
    assert AuditEvent.objects.get(action="change").detail.endswith("; patient not emailed")


def test_marking_contacted_emails_nobody(
    client, coordinator, mailoutbox, django_capture_on_commit_callbacks
):
    request = ConsultationRequestFactory()
    with django_capture_on_commit_callbacks(execute=True):
        _run_action(client, "mark_contacted", [request])
    assert _to_patient(mailoutbox, request) == []
    assert request.status_changes.get().note == ""


# ---------------------------------------------------------- staff: request page


def test_confirming_on_the_request_page_gives_the_video_link(
    client, coordinator, mailoutbox, django_capture_on_commit_callbacks
):
    request = ConsultationRequestFactory()
    link = "https://video.example/room/abc"
    with django_capture_on_commit_callbacks(execute=True):
        _save_change_page(client, request, status=Status.CONFIRMED, video_link=link)
    (message,) = _to_patient(mailoutbox, request)
    assert f"Join the video call here: {link}" in message.body
    _, event = _event(message)
    assert str(event["LOCATION"]) == link


def test_a_video_link_must_be_secure(client, coordinator):
    request = ConsultationRequestFactory()
    response = _save_change_page(client, request, video_link="http://video.example/room")
    assert "Use a secure link that starts with https://." in response.content.decode()
    request.refresh_from_db()
    assert request.video_link == ""


@pytest.mark.parametrize(
    ("modality", "how"),
    [
        (Modality.IN_PERSON, "Come to: 12 Harbor Road, Springfield, NY 10001 (the location's)"),
        (Modality.PHONE, "We will call you at the number you gave us"),
    ],
)
def test_the_confirmation_says_how_to_attend(
    client, coordinator, mailoutbox, django_capture_on_commit_callbacks, modality, how
):
    request = ConsultationRequestFactory(
        slot__modality=modality,
        slot__location__address="12 Harbor Road\nSpringfield, NY 10001 (the location's)",
    )
    with django_capture_on_commit_callbacks(execute=True):
        _save_change_page(client, request, status=Status.CONFIRMED)
    (message,) = _to_patient(mailoutbox, request)
    assert how in message.body


def test_moving_on_the_request_page_frees_the_old_time_and_updates_the_event(
    client, coordinator, mailoutbox, django_capture_on_commit_callbacks
):
    request = ConsultationRequestFactory(status=Status.CONFIRMED)
    old = request.slot
    new = AvailabilitySlotFactory(starts_at=old.starts_at + timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=True):
        response = _save_change_page(client, request, move_to=new.pk)
    assert response.status_code == 200
    request.refresh_from_db()
    old.refresh_from_db()
    new.refresh_from_db()
    assert request.slot == new and request.status == Status.CONFIRMED
    assert (old.held, new.held) == (0, 1)
    (message,) = _to_patient(mailoutbox, request)
    assert message.subject == "Your consultation with Harbor Clinic has a new time"
    assert f"When: {format_clinic_time(new.starts_at)}" in message.body
    assert "This new time is confirmed." in message.body
    _assert_neutral(message, request)
    method, event = _event(message)
    assert method == "REQUEST" and str(event["UID"]) == request.calendar_uid()
    assert event.decoded("DTSTART") == new.starts_at
    move = request.status_changes.get()
    assert (move.from_starts_at, move.to_starts_at) == (old.starts_at, new.starts_at)
    assert move.changed_by == coordinator and move.note == "patient emailed"
    assert str(move).endswith("; patient emailed")
    assert str(move) in client.get(_change_url(request)).content.decode()


def test_moving_and_confirming_at_once_sends_one_email_with_the_new_time(
    client, coordinator, mailoutbox, django_capture_on_commit_callbacks
):
    request = ConsultationRequestFactory()
    new = AvailabilitySlotFactory(starts_at=request.slot.starts_at + timedelta(days=2))
    with django_capture_on_commit_callbacks(execute=True):
        _save_change_page(client, request, move_to=new.pk, status=Status.CONFIRMED)
    (message,) = _to_patient(mailoutbox, request)
    assert message.subject.endswith("is confirmed")
    assert _event(message)[1].decoded("DTSTART") == new.starts_at


def test_moving_without_email_sends_nothing_and_is_kept_in_the_history(
    client, coordinator, mailoutbox, django_capture_on_commit_callbacks
):
    request = ConsultationRequestFactory(status=Status.CONFIRMED)
    new = AvailabilitySlotFactory(starts_at=request.slot.starts_at + timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=True):
        _save_change_page(client, request, move_to=new.pk, dont_email_patient="on")
    assert _to_patient(mailoutbox, request) == []
    assert request.status_changes.get().note == NOT_EMAILED
    assert AuditEvent.objects.get(action="change").detail.endswith("; patient not emailed")


def test_a_closed_request_cannot_move(client, coordinator):
    request = ConsultationRequestFactory(status=Status.DECLINED, holds_place=False, slot__held=0)
    new = AvailabilitySlotFactory()
    response = _save_change_page(client, request, move_to=new.pk)
    assert "Only a request that is going ahead can move" in response.content.decode()
    request.refresh_from_db()
    assert request.slot_id != new.pk


def test_view_only_staff_see_the_page_without_choices(client):
    user = UserFactory()
    user.user_permissions.set(Permission.objects.filter(codename="view_consultationrequest"))
    client.force_login(user)
    request = ConsultationRequestFactory()
    html = client.get(_change_url(request)).content.decode()
    assert request.reference in html and "Move to another time" not in html


@override_settings(EMAIL_BACKEND="tests.consultations.failing_email_backend.FailingEmailBackend")
def test_a_failed_send_keeps_the_change(
    client, coordinator, django_capture_on_commit_callbacks, caplog
):
    request = ConsultationRequestFactory(slot__clinician__display_name="")
    with django_capture_on_commit_callbacks(execute=True):
        _run_action(client, "mark_confirmed", [request])
    request.refresh_from_db()
    assert request.status == Status.CONFIRMED
    assert f"confirmed email for {request.reference} failed: SMTPException" in caplog.text
    assert request.email not in caplog.text and "patient@example.com" not in caplog.text


def test_a_confirmation_queued_before_the_patient_cancels_is_not_sent(
    client, coordinator, mailoutbox, django_capture_on_commit_callbacks
):
    request = ConsultationRequestFactory()
    with django_capture_on_commit_callbacks(execute=False) as queued:
        _run_action(client, "mark_confirmed", [request])
    patient = client.__class__()
    cancel_url = link_to(patient.get(_manage_url(request)).content.decode(), "Cancel my request")
    form = form_with_button(patient.get(cancel_url).content.decode(), "Yes, cancel it")
    with django_capture_on_commit_callbacks(execute=True):
        patient.post(cancel_url, form.submission("Yes, cancel it"))
    for callback in queued:
        callback()
    (message,) = _to_patient(mailoutbox, request)
    assert _event(message)[0] == "CANCEL"


# -------------------------------------------------- one event, start to finish


def test_one_event_from_booking_to_confirm_move_and_cancel(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    """Every file has the request's UID and a higher SEQUENCE than the one before."""
    first = AvailabilitySlotFactory()
    with django_capture_on_commit_callbacks(execute=True):
        submit(client, first)
    request = ConsultationRequest.objects.get()
    seen = []

    def latest():
        method, event = _event(_to_patient(mailoutbox, request)[-1])
        assert str(event["UID"]) == request.calendar_uid()
        seen.append(event["SEQUENCE"])
        return method, event

    method, event = latest()
    assert method == "REQUEST" and str(event["STATUS"]) == "TENTATIVE"

    staff = client.__class__()
    staff.force_login(UserFactory(is_superuser=True))
    with django_capture_on_commit_callbacks(execute=True):
        _save_change_page(staff, request, status=Status.CONFIRMED)
    method, event = latest()
    assert method == "REQUEST" and str(event["STATUS"]) == "CONFIRMED"

    second = AvailabilitySlotFactory(starts_at=first.starts_at + timedelta(days=1))
    manage = _manage_url(request)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(manage, {"action": "move", "slot": second.pk})
    method, event = latest()
    assert method == "REQUEST" and event.decoded("DTSTART") == second.starts_at

    cancel_url = link_to(client.get(manage).content.decode(), "Cancel my request")
    form = form_with_button(client.get(cancel_url).content.decode(), "Yes, cancel it")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(cancel_url, form.submission("Yes, cancel it"))
    method, event = latest()
    assert method == "CANCEL" and event.decoded("DTSTART") == second.starts_at
    assert seen == sorted(set(seen)) and len(seen) == 4
