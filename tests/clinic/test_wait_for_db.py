"""The wait_for_db command that the container entrypoint runs before anything else."""

from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.db import connections
from django.db.utils import ConnectionHandler, OperationalError

from clinic.management.commands import wait_for_db


@pytest.mark.django_db
def test_returns_at_once_when_the_database_answers(capsys):
    call_command("wait_for_db", "--timeout", "5")

    assert "Database 'default' is available." in capsys.readouterr().out


def test_retries_until_the_database_answers(capsys):
    connection = connections["default"]
    failures = [OperationalError("connection refused"), OperationalError("connection refused")]

    def ensure_connection():
        if failures:
            raise failures.pop()

    with (
        mock.patch.object(connection, "ensure_connection", side_effect=ensure_connection) as ensure,
        mock.patch.object(wait_for_db.time, "sleep") as sleep,
    ):
        call_command("wait_for_db", "--timeout", "30", "--interval", "0.01")

    assert ensure.call_count == 3
    assert sleep.call_count == 2
    out, err = capsys.readouterr()
    assert "Waiting for database 'default'" in err
    assert "is available" in out


def test_fails_with_a_clear_message_after_the_timeout():
    connection = connections["default"]
    refused = OperationalError('connection to server at "127.0.0.1", port 1 failed: refused')

    with (
        mock.patch.object(connection, "ensure_connection", side_effect=refused) as ensure,
        pytest.raises(CommandError) as excinfo,
    ):
        call_command("wait_for_db", "--timeout", "0.2", "--interval", "0.05")

    message = str(excinfo.value)
    assert "did not accept connections within 0.2 s" in message
    assert "port 1 failed: refused" in message
    assert ensure.call_count >= 2


@pytest.mark.django_db
def test_times_out_against_an_unreachable_postgresql_server():
    """A real connection attempt, to a port where nothing listens."""
    settings_dict = connections["default"].settings_dict
    if connections["default"].vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite always opens")
    unreachable = ConnectionHandler(
        {"default": {**settings_dict, "HOST": "127.0.0.1", "PORT": "1", "NAME": "unreachable"}}
    )

    with (
        mock.patch.object(wait_for_db, "connections", unreachable),
        pytest.raises(CommandError, match="did not accept connections within 0.3 s"),
    ):
        call_command("wait_for_db", "--timeout", "0.3", "--interval", "0.1")
