"""Emails after booking: content, privacy, failure and retry, and a real SMTP round trip."""

import re

import pytest
from django.test import override_settings
from django.urls import reverse
from icalendar import Calendar

from clinic.models import ClinicDetails
from consultations.models import ConsultationRequest, EmailStatus
from tests.consultations.conftest import submit
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PRIVATE = ["Alex", "alex@example.com", "555-0143", "5550143", "SECRET-NOTE-TEXT", "friend"]


@pytest.fixture
def neutral_clinic_name(db):
    details = ClinicDetails.objects.cached()
    details.name = "Harbor Clinic"
    details.save()


def _book(client, slot, django_capture_on_commit_callbacks, **overrides):
    with django_capture_on_commit_callbacks(execute=True):
        assert submit(client, slot, **overrides).status_code == 302
    return ConsultationRequest.objects.get()


@override_settings(CLINIC_NOTIFY_EMAIL="intake@clinic.example")
def test_patient_and_staff_emails(
    client, slot, mailoutbox, django_capture_on_commit_callbacks, neutral_clinic_name
):
    request = _book(client, slot, django_capture_on_commit_callbacks)
    patient, staff = mailoutbox
    assert patient.to == ["alex@example.com"]
    assert patient.subject == "Your consultation request with Harbor Clinic"
    assert "ketamine" not in patient.subject.lower()
    assert request.reference in patient.body
    assert "Eastern time" in patient.body and "Video call, 30 minutes" in patient.body
    manage_link = re.search(r"https://clinic\.example/book/manage/\S+/", patient.body)[0]
    assert client.get(manage_link.removeprefix("https://clinic.example")).status_code == 200
    for private in PRIVATE:
        assert private not in patient.body
    name, content, mimetype = patient.attachments[0]
    assert mimetype == "text/calendar"
    event = Calendar.from_ical(content).walk("VEVENT")[0]
    assert str(event["SUMMARY"]) == "Consultation with Harbor Clinic"
    assert event.decoded("DTSTART") == slot.starts_at
    for private in PRIVATE:
        assert private not in str(content)

    assert staff.to == ["intake@clinic.example"]
    assert staff.subject == f"New consultation request {request.reference}"
    admin_url = "https://clinic.example" + reverse(
        "admin:consultations_consultationrequest_change", args=[request.pk]
    )
    assert admin_url in staff.body
    for private in PRIVATE:
        assert private not in staff.body + staff.subject

    request.refresh_from_db()
    assert request.confirmation_email_status == EmailStatus.SENT
    assert request.confirmation_email_sent_at and request.staff_notified_at


def test_contact_me_email_has_no_calendar(client, mailoutbox, django_capture_on_commit_callbacks):
    _book(client, None, django_capture_on_commit_callbacks)
    assert "contact you to arrange a time" in mailoutbox[0].body
    assert "Weekday mornings" not in mailoutbox[0].body  # their free text stays out
    assert mailoutbox[0].attachments == []


def test_emails_wait_for_commit(client, slot, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        submit(client, slot)
    assert mailoutbox == [] and len(callbacks) == 1


@override_settings(EMAIL_BACKEND="tests.consultations.failing_email_backend.FailingEmailBackend")
def test_send_failure_keeps_request_records_it_and_retry_succeeds(
    client, slot, mailoutbox, django_capture_on_commit_callbacks, caplog
):
    request = _book(client, slot, django_capture_on_commit_callbacks)
    request.refresh_from_db()
    assert request.confirmation_email_status == EmailStatus.FAILED
    assert request.confirmation_email_error == "SMTPException"
    assert request.staff_notified_at is None
    assert "patient@example.com" not in caplog.text and "alex@example.com" not in caplog.text
    assert client.get("/book/requested/").status_code == 200  # the patient saw success

    admin = UserFactory(is_superuser=True)
    client.force_login(admin)
    changelist = reverse("admin:consultations_consultationrequest_changelist")
    assert "Failed" in client.get(changelist).content.decode()
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        with django_capture_on_commit_callbacks(execute=True):
            client.post(
                changelist, {"action": "resend_confirmation", "_selected_action": [request.pk]}
            )
    request.refresh_from_db()
    assert request.confirmation_email_status == EmailStatus.SENT
    assert request.confirmation_email_error == ""
    assert request.staff_notified_at is not None
    assert [m.subject.split()[0] for m in mailoutbox] == ["Your", "New"]


@override_settings(
    TASKS={
        "default": {
            "BACKEND": "tests.consultations.unreachable_task_backend.UnreachableTaskBackend"
        }
    }
)
def test_queue_outage_after_commit_still_confirms_and_keeps_request(
    client, slot, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = submit(client, slot)
    assert response.status_code == 302
    request = ConsultationRequest.objects.get()
    assert request.confirmation_email_status == EmailStatus.PENDING  # staff can resend
    assert client.get(response["Location"]).status_code == 200


def test_real_smtp_server_receives_confirmation(
    client, slot, django_capture_on_commit_callbacks, neutral_clinic_name, smtp_inbox
):
    request = _book(client, slot, django_capture_on_commit_callbacks)
    received = smtp_inbox
    assert len(received) == 2
    patient = received[0]
    assert patient.rcpt_tos == ["alex@example.com"]
    message = patient.content.decode()
    assert "Subject: Your consultation request with Harbor Clinic" in message
    assert request.reference in message and "text/calendar" in message
    request.refresh_from_db()
    assert request.confirmation_email_status == EmailStatus.SENT
