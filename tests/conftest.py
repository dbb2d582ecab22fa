import asyncio
import os
import socket

import pytest
import time_machine
from aiosmtpd.controller import Controller
from django.core.cache import caches
from django.test import override_settings

from clinic import page_cache


@pytest.fixture(autouse=True, scope="session")
def _moved_clock():
    """CLINIC_TEST_NOW="2028-02-29T23:30-05:00" runs the whole suite as if started then.

    No test may depend on the day or the hour it runs; CI runs the suite at awkward
    moments (a Friday night turning into a new year's Saturday, the daylight-saving
    changes, February 29) to prove it. The clock keeps ticking from there.
    """
    moment = os.environ.get("CLINIC_TEST_NOW")
    if not moment:
        yield
        return
    with time_machine.travel(moment, tick=True):
        yield


@pytest.fixture(autouse=True)
def _clear_cache(request):
    """Each test starts with empty caches, so cached details and pages never leak across.

    The shared default cache is a database table: a test's transaction rolls it back, but
    the flush after a transactional test leaves it alone, so those tests empty it.
    """
    marker = request.node.get_closest_marker("django_db")
    transactional = bool(
        {"transactional_db", "live_server"} & set(request.fixturenames)
        or (marker and marker.kwargs.get("transaction"))
    )
    if transactional:
        request.getfixturevalue("transactional_db")  # set up first, so torn down after
    page_cache.clear()
    yield
    page_cache.clear()
    if transactional:
        caches["default"].clear()


@pytest.fixture
def smtp_inbox():
    """A real SMTP server on 127.0.0.1 that the app sends through (the SMTP backend, as in
    production); yields the list of envelopes it received, in order."""
    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append(envelope)
            return "250 OK"

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=port,
            EMAIL_USE_TLS=False,
            EMAIL_HOST_USER="",
            EMAIL_HOST_PASSWORD="",
        ):
            yield received
    finally:
        controller.stop()
        asyncio.set_event_loop(None)
