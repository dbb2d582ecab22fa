"""The email worker (`db_worker`, clinic/worker.py): it sends what is queued, records its
heartbeat, and rides out a database outage instead of exiting."""

import logging
import signal

import pytest
from django.core.management import call_command, get_commands
from django.db import connections

from clinic import worker
from clinic.models import Heartbeat
from consultations.models import EmailStatus
from consultations.tasks import send_consultation_request_emails
from tests.factories import ConsultationRequestFactory

BATCH = ["db_worker", "--batch", "--no-startup-delay", "--no-reload"]


@pytest.fixture(autouse=True)
def database_queue(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture(autouse=True)
def _signals_restored():
    """The worker takes SIGINT and SIGTERM for its graceful stop; give them back."""
    saved = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    yield
    for number, handler in saved.items():
        signal.signal(number, handler)


@pytest.fixture(autouse=True)
def _no_endless_retries(monkeypatch):
    """A worker that keeps meeting database errors would retry for ever: fail instead."""
    pauses = []

    def sleep(seconds):
        pauses.append(seconds)
        assert len(pauses) < 5, "the worker kept retrying"

    monkeypatch.setattr(worker.time, "sleep", sleep)


def test_db_worker_is_the_clinics_loop():
    assert get_commands()["db_worker"] == "clinic"


# Transactional: the worker's loop closes old connections, as upstream's does, which
# would close the connection a test transaction lives on.
@pytest.mark.django_db(transaction=True)
def test_the_worker_sends_what_is_queued_and_records_its_heartbeat(mailoutbox):
    request = ConsultationRequestFactory()
    send_consultation_request_emails.enqueue(request.pk)

    call_command(*BATCH, verbosity=0)

    request.refresh_from_db()
    assert request.confirmation_email_status == EmailStatus.SENT
    assert len(mailoutbox) == 2  # the patient's confirmation and the staff notice
    assert Heartbeat.objects.filter(name=Heartbeat.WORKER).exists()


def make_unreachable(connection) -> None:
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = "/nonexistent-directory/clinic.sqlite3"
    else:
        connection.settings_dict["PORT"] = "1"  # nothing listens there


@pytest.mark.django_db(transaction=True)
def test_the_worker_waits_out_a_database_outage_then_sends(monkeypatch, caplog, mailoutbox):
    """Upstream's worker exits on the first error; this one tries again, 1 s, then 2 s
    later, and sends the email once the database is back."""
    request = ConsultationRequestFactory()
    send_consultation_request_emails.enqueue(request.pk)
    connection = connections["default"]
    reachable = dict(connection.settings_dict)
    connection.close()
    make_unreachable(connection)
    pauses = []

    def sleep(seconds):
        pauses.append(seconds)
        if len(pauses) == 2:
            connection.settings_dict.update(reachable)  # the database is back

    monkeypatch.setattr(worker.time, "sleep", sleep)
    try:
        with caplog.at_level(logging.INFO, logger="clinic.worker"):
            call_command(*BATCH, verbosity=0)
    finally:
        connection.close()
        connection.settings_dict.update(reachable)

    assert pauses == [1, 2]
    assert "database unavailable (OperationalError); worker tries again in 1 s" in caplog.text
    assert "worker resumes" in caplog.text
    request.refresh_from_db()
    assert request.confirmation_email_status == EmailStatus.SENT
    assert [message.to for message in mailoutbox][0] == [request.email]
    assert request.email not in caplog.text


def test_reconnect_pauses_grow_to_half_a_minute():
    assert [worker.reconnect_delay(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]
