"""What staff changes do and leave behind: no confirmation for a closed request, every
move in the request's history, every slot change in the audit trail."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from consultations.models import AuditEvent, EmailStatus, Status
from consultations.tokens import manage_token_make
from tests.factories import ConsultationRequestFactory, UserFactory
from tests.page_forms import form_with_button, link_to

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:consultations_consultationrequest_changelist")


@pytest.fixture
def coordinator(client):
    user = UserFactory()
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="consultations",
            codename__in=[
                "view_consultationrequest",
                "change_consultationrequest",
                "view_availabilityslot",
                "add_availabilityslot",
                "change_availabilityslot",
                "delete_availabilityslot",
            ],
        )
    )
    client.force_login(user)
    return user


def _run_action(client, url, action, selected):
    """Tick `selected` on the list page, choose `action` and press Go, as staff do."""
    form = form_with_button(client.get(url).content.decode(), "Go")
    data = form.submission("Go", action=action, _selected_action=[obj.pk for obj in selected])
    return client.post(url, data, follow=True)


# ------------------------------------------------------------ resend confirmation


def test_resend_confirmation_refuses_closed_requests_and_names_them(
    client, coordinator, mailoutbox, django_capture_on_commit_callbacks
):
    going_ahead = ConsultationRequestFactory(status=Status.CONFIRMED)
    closed = [
        ConsultationRequestFactory(status=status, holds_place=False, slot__held=0)
        for status in (Status.CANCELLED, Status.DECLINED, Status.COMPLETED)
    ]
    with django_capture_on_commit_callbacks(execute=True):
        response = _run_action(client, CHANGELIST, "resend_confirmation", [going_ahead, *closed])
    html = response.content.decode()
    assert "Queued the confirmation email again for 1 request(s)" in html
    assert "Did not resend 3 that are closed" in html
    for request in closed:
        assert request.reference in html
    assert [m.to for m in mailoutbox if m.subject.startswith("Your")] == [[going_ahead.email]]
    for request in closed:
        request.refresh_from_db()
        assert request.confirmation_email_status == EmailStatus.PENDING  # untouched
    resent = AuditEvent.objects.filter(detail="resent the confirmation email")
    assert list(resent.values_list("reference", flat=True)) == [going_ahead.reference]


def test_a_resend_queued_before_the_patient_cancels_sends_nothing(
    client, coordinator, mailoutbox, django_capture_on_commit_callbacks
):
    request = ConsultationRequestFactory()
    with django_capture_on_commit_callbacks(execute=False) as queued:
        _run_action(client, CHANGELIST, "resend_confirmation", [request])
    # The patient cancels from their link before the worker gets to the email.
    patient = client.__class__()
    manage_url = reverse("consultations:manage", args=[manage_token_make(request)])
    cancel_url = link_to(patient.get(manage_url).content.decode(), "Cancel my request")
    form = form_with_button(patient.get(cancel_url).content.decode(), "Yes, cancel it")
    with django_capture_on_commit_callbacks(execute=True):
        patient.post(cancel_url, form.submission("Yes, cancel it"))
    mailoutbox.clear()
    for callback in queued:
        callback()
    assert [m for m in mailoutbox if m.subject.startswith("Your")] == []
