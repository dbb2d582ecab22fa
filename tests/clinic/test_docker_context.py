"""The image's build context leaves out every local database file."""

from fnmatch import fnmatch
from pathlib import Path

from django.conf import settings


def test_dockerignore_leaves_out_local_databases():
    patterns = [
        line.strip()
        for line in (Path(settings.BASE_DIR) / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for name in [
        "db.sqlite3",
        "db.sqlite3-wal",
        "bench.sqlite3",
        "bench.sqlite3-shm",
        ".pytest-db.sqlite3",
        ".pytest-db.sqlite3-wal",
    ]:
        assert any(fnmatch(name, pattern) for pattern in patterns), name
