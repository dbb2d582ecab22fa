"""The default cache is shared by every process: the booking rate limit counts there.

gunicorn runs several workers and compose can run several replicas; a count kept in each
process's memory would turn "5 per hour" into 5 per worker. Runs on both databases.
"""

import json
import os
import subprocess
import sys
import threading

import pytest
from django.conf import settings
from django.core.cache import caches
from django.db import connection, connections

from clinic import page_cache

THREADS = 16

# One process of the site: GET the booking page, then POST what it offers `posts` times
# from one address; prints the status codes.
PATIENT = """
import json, re, sys
import django
django.setup()
from django.test import Client
client = Client(REMOTE_ADDR="203.0.113.7")
page = client.get("/book/").content.decode()
offered = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
print(json.dumps([client.post("/book/", offered).status_code for _ in range(int(sys.argv[1]))]))
"""


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _patient_process(posts: int) -> list[int]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "clinic.settings_test",
        "DATABASE_URL": _database_url(),
        # The ceiling on every POST of the form, which counts mistakes too.
        "CLINIC_BOOKING_POST_LIMIT": "3/h",
    }
    result = subprocess.run(
        [sys.executable, "-c", PATIENT, str(posts)],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.django_db(transaction=True)
def test_two_processes_share_one_booking_count():
    assert _patient_process(2) == [200, 200]
    # A second worker sees the first one's two: its second post is the fourth in the hour.
    assert _patient_process(2) == [200, 429]


@pytest.mark.django_db(transaction=True)
def test_simultaneous_counts_are_each_counted_once():
    """django-ratelimit counts with add() then incr(); every caller must get its own number."""
    cache = caches["default"]
    barrier = threading.Barrier(THREADS)
    counts, errors = [], []

    def count_one():
        try:
            barrier.wait()
            counts.append(1 if cache.add("rl:booking", 1, 60) else cache.incr("rl:booking"))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(repr(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=count_one) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(counts) == list(range(1, THREADS + 1))
    assert cache.get("rl:booking") == THREADS


def test_incr_of_a_missing_or_expired_count_raises_as_django_does(db):
    cache = caches["default"]
    with pytest.raises(ValueError):
        cache.incr("never-set")
    cache.set("gone", 1, timeout=-1)
    with pytest.raises(ValueError):
        cache.incr("gone")
    cache.set("kept", 5)
    assert cache.decr("kept", 2) == 3
    assert cache.get("kept") == 3


def test_only_the_per_process_copies_stay_in_process_memory():
    backends = {alias: conf["BACKEND"] for alias, conf in settings.CACHES.items()}
    assert backends == {
        "default": "clinic.cache_backends.DatabaseCache",
        page_cache.STORE: "clinic.cache_backends.ObjectMemoryCache",  # per process
    }
