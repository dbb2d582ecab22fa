import os

import pytest
import time_machine
from django.core.cache import caches

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
