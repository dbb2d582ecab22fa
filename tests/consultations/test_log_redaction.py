"""Manage-link and calendar-feed tokens never reach a log line, whichever logger writes it."""

import logging
import re
from datetime import timedelta

import pytest
from django.test import Client

from consultations.models import ConsultationRequest
from consultations.services import staff_calendar_feed_issue
from tests.consultations.conftest import submit
from tests.factories import AvailabilitySlotFactory, role_member

pytestmark = pytest.mark.django_db


def _manage_path(mail):
    return re.search(r"https?://[^/\s]+(/book/manage/[^\s]+/)", mail.body).group(1)


def test_self_service_journey_logs_no_token(
    client, slot, mailoutbox, caplog, django_capture_on_commit_callbacks
):
    with caplog.at_level(logging.DEBUG):
        with django_capture_on_commit_callbacks(execute=True):
            assert submit(client, slot).status_code == 302
        path = _manage_path(next(m for m in mailoutbox if "/book/manage/" in m.body))
        token = path.split("/")[3]
        key = ConsultationRequest.objects.get().manage_key
        other = AvailabilitySlotFactory(starts_at=slot.starts_at + timedelta(days=1))
        assert client.get(path).status_code == 200
        assert client.head(path).status_code == 200
        assert client.put(path).status_code == 405  # Django logs "Method Not Allowed"
        assert client.post(path, {"action": "explode"}).status_code == 400  # "Bad Request"
        assert client.get(path[:-2] + "/").status_code == 404  # a cut-off link: "Not Found"
        strict = Client(enforce_csrf_checks=True)
        assert strict.post(path, {"action": "cancel"}).status_code == 403  # "Forbidden (CSRF"
        with django_capture_on_commit_callbacks(execute=True):
            client.post(path, {"action": "move", "slot": other.pk})
            assert client.get(path + "cancel/").status_code == 200
            assert client.post(path + "cancel/").status_code == 302
        assert ConsultationRequest.objects.get().status == "cancelled"
    assert len(caplog.records) >= 4  # the lines above were logged, with the token taken out
    logged = caplog.text + "".join(record.getMessage() for record in caplog.records)
    assert "/book/manage/[redacted]" in logged
    for secret in (token, key, token[:-2]):
        assert secret not in logged


def test_traceback_text_is_redacted_too(caplog):
    try:
        raise ValueError("failed at /book/manage/abc:def:ghi/")
    except ValueError:
        logging.getLogger("tests").exception("boom")
    assert "abc:def" not in caplog.text and "/book/manage/[redacted]/" in caplog.text


def test_a_decoded_newline_in_a_path_cannot_forge_a_log_line(client, caplog):
    client.get("/articles/x%0a2026-01-01 INFO forged line/")
    logged = [record.getMessage() for record in caplog.records]
    assert any("\\n2026-01-01 INFO forged line" in message for message in logged), logged
    assert not any("\n" in message for message in logged)


def test_a_calendar_feed_token_never_reaches_a_log_line(client, caplog):
    token = staff_calendar_feed_issue(user=role_member("Intake coordinators"))
    path = f"/staff-calendar/{token}.ics"
    with caplog.at_level(logging.DEBUG):
        assert client.get(path).status_code == 200
        assert client.get(path.replace(".ics", "x.ics")).status_code == 404  # "Not Found"
        assert client.post(path).status_code == 405  # "Method Not Allowed"
        logging.getLogger("tests").warning("fetched %s", path)
    assert len(caplog.records) >= 3
    logged = caplog.text + "".join(record.getMessage() for record in caplog.records)
    assert "/staff-calendar/[redacted]" in logged
    assert token not in logged and token[:20] not in logged
