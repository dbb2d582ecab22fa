"""The PostgreSQL backend's health check: a quiet connection is usable without a round
trip; one the server has ended is not (tests/outside_in covers it under gunicorn)."""

import time

import pytest
from django.db import connection, connections

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="the backend is PostgreSQL's (CI runs the suite on both databases)",
    ),
]


@pytest.fixture
def other_connection():
    kept = connections.create_connection("default")
    kept.ensure_connection()
    yield kept
    kept.close()


def test_a_quiet_connection_is_usable(other_connection):
    assert other_connection.is_usable()


def test_a_connection_the_server_ended_is_not_usable(other_connection):
    with other_connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + 5
    while other_connection.is_usable() and time.monotonic() < deadline:
        time.sleep(0.01)  # the server's goodbye is on its way
    assert not other_connection.is_usable()
