"""Tasks whose worker stopped mid-send (django-tasks issue #46) are marked failed, and so is
the patient email staff can resend: `fail_stranded_tasks` and its service."""

import os
import subprocess
import sys
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from consultations.models import EmailStatus, Status
from consultations.services import stranded_tasks_fail
from consultations.tasks import (
    send_consultation_request_emails,
    send_patient_cancellation_notice,
    send_patient_update,
    send_staff_change_notice,
)
from tests.factories import ConsultationRequestFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("database_queue"),
]

LIMIT = 600
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def database_queue(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.CLINIC_TASK_STRANDED_SECONDS = LIMIT


def running(task, *args, seconds_ago: float) -> DBTaskResult:
    """`task` queued and taken by a worker `seconds_ago`, which then vanished."""
    result = DBTaskResult.objects.get(pk=task.enqueue(*args).id)
    result.claim("worker-that-was-killed")
    DBTaskResult.objects.filter(pk=result.pk).update(
        started_at=timezone.now() - timedelta(seconds=seconds_ago)
    )
    return result


def test_a_booking_email_stranded_past_the_limit_fails_and_staff_see_it(
    admin_client, mailoutbox, django_capture_on_commit_callbacks
):
    request = ConsultationRequestFactory()
    stranded = running(send_consultation_request_emails, request.pk, seconds_ago=LIMIT + 60)
    recent = running(send_consultation_request_emails, request.pk, seconds_ago=LIMIT - 60)

    out = call_command_output("fail_stranded_tasks")

    stranded.refresh_from_db()
    assert stranded.status == TaskResultStatus.FAILED
    assert stranded.exception_class_path == "consultations.tasks.WorkerLost"
    assert stranded.finished_at is not None
    recent.refresh_from_db()
    assert recent.status == TaskResultStatus.RUNNING  # may still be sending
    request.refresh_from_db()
    assert request.confirmation_email_status == EmailStatus.FAILED
    assert request.confirmation_email_error == "WorkerLost"
    assert f"email of {request.reference} marked failed" in out
    assert "Marked 1 task(s) failed" in out
    assert request.email not in out and request.full_name not in out

    # Staff see it in the list's Email filter and resend it from there.
    changelist = reverse("admin:consultations_consultationrequest_changelist")
    page = admin_client.get(changelist, {"confirmation_email_status__exact": "failed"})
    assert request.reference in page.content.decode()
    with override_settings(TASKS=IMMEDIATE), django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            changelist, {"action": "resend_confirmation", "_selected_action": [request.pk]}
        )
    request.refresh_from_db()
    assert request.confirmation_email_status == EmailStatus.SENT
    assert [message.to for message in mailoutbox][0] == [request.email]


def test_a_confirmation_recorded_as_sent_stays_sent():
    """The worker died after the patient's email went out (during the staff notice)."""
    request = ConsultationRequestFactory(
        confirmation_email_status=EmailStatus.SENT, confirmation_email_sent_at=timezone.now()
    )
    running(send_consultation_request_emails, request.pk, seconds_ago=LIMIT + 1)

    [found] = stranded_tasks_fail()

    assert found.email_failed_for == ""
    request.refresh_from_db()
    assert request.confirmation_email_status == EmailStatus.SENT


def test_a_lost_confirm_or_move_email_of_an_open_request_is_marked_for_resending():
    confirmed = ConsultationRequestFactory(
        status=Status.CONFIRMED, confirmation_email_status=EmailStatus.SENT
    )
    running(send_patient_update, confirmed.pk, "confirmed", seconds_ago=LIMIT + 1)

    stranded_tasks_fail()

    confirmed.refresh_from_db()
    assert confirmed.confirmation_email_status == EmailStatus.FAILED


def test_lost_emails_with_nothing_to_resend_only_fail_their_task():
    cancelled = ConsultationRequestFactory(
        status=Status.CANCELLED, holds_place=False, confirmation_email_status=EmailStatus.SENT
    )
    declined = ConsultationRequestFactory(
        status=Status.DECLINED, holds_place=False, confirmation_email_status=EmailStatus.SENT
    )
    tasks = [
        running(send_patient_cancellation_notice, cancelled.pk, seconds_ago=LIMIT + 1),
        running(send_patient_update, declined.pk, "declined", seconds_ago=LIMIT + 1),
        running(send_staff_change_notice, cancelled.pk, "cancelled", seconds_ago=LIMIT + 1),
    ]

    found = stranded_tasks_fail()

    assert len(found) == 3 and all(task.email_failed_for == "" for task in found)
    for task in tasks:
        task.refresh_from_db()
        assert task.status == TaskResultStatus.FAILED
    for request in (cancelled, declined):
        request.refresh_from_db()
        assert request.confirmation_email_status == EmailStatus.SENT


def test_dry_run_changes_nothing_and_a_second_run_finds_nothing():
    request = ConsultationRequestFactory()
    task = running(send_consultation_request_emails, request.pk, seconds_ago=LIMIT + 1)

    out = call_command_output("fail_stranded_tasks", "--dry-run")
    assert "Would mark 1 task(s) failed" in out
    task.refresh_from_db()
    request.refresh_from_db()
    assert task.status == TaskResultStatus.RUNNING
    assert request.confirmation_email_status == EmailStatus.PENDING

    assert len(stranded_tasks_fail()) == 1
    assert stranded_tasks_fail() == []


def test_a_task_that_finished_meanwhile_is_left_alone():
    request = ConsultationRequestFactory()
    task = running(send_consultation_request_emails, request.pk, seconds_ago=LIMIT + 1)
    task.set_successful("sent")  # the slow worker finished after all

    assert stranded_tasks_fail() == []
    task.refresh_from_db()
    assert task.status == TaskResultStatus.SUCCESSFUL


def test_the_limit_must_outlast_two_email_timeouts():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CLINIC_"))}
    env |= {
        "DJANGO_SETTINGS_MODULE": "clinic.settings",
        "DJANGO_SECRET_KEY": "x" * 50,
        "CLINIC_TASK_STRANDED_SECONDS": "20",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "CLINIC_TASK_STRANDED_SECONDS must be more than two email timeouts" in result.stderr


def call_command_output(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()
