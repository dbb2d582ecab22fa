"""Settings for the test suite: production settings with faster hashing and plain storage.

Tests run with DEBUG off, as production does; DATABASE_URL picks PostgreSQL or SQLite.
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")

from clinic.settings import *  # noqa: E402, F403
from clinic.settings import BASE_DIR, DATABASES  # noqa: E402

ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
WHITENOISE_AUTOREFRESH = True  # no collectstatic before tests
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
CLINIC_BOOKING_MIN_SECONDS = 0  # tests that check the minimum set their own
CLINIC_BOOKING_EMAIL_LIMIT = 0  # the same address books many times; its test sets one
CLINIC_SITE_URL = "https://clinic.example"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file rather than shared memory, so concurrent-booking tests see SQLite's real
    # locking (IMMEDIATE transactions queue on the write lock) instead of table locks.
    # CLINIC_TEST_DB_SUFFIX names another file, so `make test-clock` can run two at once.
    suffix = os.environ.get("CLINIC_TEST_DB_SUFFIX", "")
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / f".pytest-db{suffix}.sqlite3")}
