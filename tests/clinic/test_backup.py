"""The database backup (docker/backup/backup.sh, the compose `backup` service and `make
restore-check`), run against the PostgreSQL test database as an operator runs it on a host.
Skipped on SQLite, which it does not back up; .ci/backup-check runs it on real content."""

import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from consultations.models import ConsultationRequest
from tests.factories import ConsultationRequestFactory

SCRIPT = Path(settings.BASE_DIR) / "docker/backup/backup.sh"
DUMP_NAME = re.compile(r"(?P<db>.+)-\d{8}T\d{6}Z\.dump(\.gpg)?")
DAY = 86400

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="backs up PostgreSQL only",
)
# The script connects on its own: it sees only committed rows.
committed = pytest.mark.django_db(transaction=True)


@pytest.fixture
def database_url() -> str:
    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    user = quote(db["USER"] or "postgres", safe="")
    return (
        f"postgres://{user}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )


def run(command: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["sh", str(SCRIPT), command, *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def dumps(folder: Path) -> list[Path]:
    return sorted(path for path in folder.iterdir() if DUMP_NAME.fullmatch(path.name))


def counts_row(stdout: str, table: str) -> list[str]:
    [line] = [line for line in stdout.splitlines() if line.startswith(f"public.{table} ")]
    return line.split()


@committed
def test_a_dump_is_private_named_in_utc_and_restores_with_every_row_count_equal(
    tmp_path, database_url
):
    ConsultationRequestFactory.create_batch(3)
    folder = tmp_path / "backups"

    backup = run("once", DATABASE_URL=database_url, BACKUP_DIR=str(folder))

    assert backup.returncode == 0, backup.stderr
    [dump] = dumps(folder)
    assert DUMP_NAME.fullmatch(dump.name)["db"] == connection.settings_dict["NAME"]
    assert dump.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
    assert dump.stat().st_mode & 0o777 == 0o600
    assert folder.stat().st_mode & 0o777 == 0o700
    assert sorted(folder.iterdir()) == [dump]  # no temporary file left behind
    assert f"wrote {dump.name}" in backup.stderr

    check = run("restore-check", DATABASE_URL=database_url, BACKUP_DIR=str(folder))

    assert check.returncode == 0, check.stdout + check.stderr
    assert counts_row(check.stdout, "consultations_consultationrequest")[1:] == ["3", "3"]
    assert "every row count equal" in check.stderr
    assert "dropped the scratch database" in check.stderr
    # A row written after the dump: the restored database no longer matches.
    ConsultationRequestFactory()
    assert ConsultationRequest.objects.count() == 4

    check = run("restore-check", DATABASE_URL=database_url, BACKUP_DIR=str(folder))

    assert check.returncode == 1
    assert counts_row(check.stdout, "consultations_consultationrequest")[1:] == [
        "4",
        "3",
        "DIFFERS",
    ]
    assert "the restored row counts differ" in check.stderr
    assert "dropped the scratch database" in check.stderr
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_database WHERE datname LIKE 'restore_check_%%'")
        assert cursor.fetchone() == (0,)


@committed
@pytest.mark.skipif(shutil.which("gpg") is None, reason="needs gpg (apt-get install gpg)")
def test_an_encrypted_dump_restores_with_its_private_key_and_without_it_does_not(
    tmp_path, database_url
):
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    gpg = ["gpg", "--batch", "--quiet", "--homedir", str(home)]
    subprocess.run(
        [*gpg, "--passphrase", "", "--quick-generate-key", "Backups", "future-default"],
        check=True,
    )
    public, private = tmp_path / "public.asc", tmp_path / "private.asc"
    public.write_bytes(
        subprocess.run([*gpg, "--armor", "--export"], check=True, capture_output=True).stdout
    )
    private.write_bytes(
        subprocess.run(
            [*gpg, "--armor", "--export-secret-keys"], check=True, capture_output=True
        ).stdout
    )
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], check=False)
    folder = tmp_path / "backups"
    ConsultationRequestFactory()

    backup = run(
        "once",
        DATABASE_URL=database_url,
        BACKUP_DIR=str(folder),
        BACKUP_GPG_PUBLIC_KEY_FILE=str(public),
    )

    assert backup.returncode == 0, backup.stderr
    [dump] = dumps(folder)
    assert dump.name.endswith(".dump.gpg")
    assert b"PGDMP" not in dump.read_bytes()
    assert "encrypted" in backup.stderr

    without_key = run("restore-check", DATABASE_URL=database_url, BACKUP_DIR=str(folder))

    assert without_key.returncode == 1
    assert "set BACKUP_GPG_PRIVATE_KEY_FILE" in without_key.stderr

    check = run(
        "restore-check",
        DATABASE_URL=database_url,
        BACKUP_DIR=str(folder),
        BACKUP_GPG_PRIVATE_KEY_FILE=str(private),
    )

    assert check.returncode == 0, check.stdout + check.stderr
    assert counts_row(check.stdout, "consultations_consultationrequest")[1:] == ["1", "1"]


def test_asked_to_encrypt_with_a_key_it_cannot_read_it_writes_nothing(tmp_path, database_url):
    folder = tmp_path / "backups"

    backup = run(
        "once",
        DATABASE_URL=database_url,
        BACKUP_DIR=str(folder),
        BACKUP_GPG_PUBLIC_KEY_FILE=str(tmp_path / "missing.asc"),
    )

    assert backup.returncode == 1
    assert "BACKUP_GPG_PUBLIC_KEY_FILE is set but cannot be read" in backup.stderr
    assert not folder.exists() or not list(folder.iterdir())


@committed
def test_dumps_older_than_the_kept_days_are_deleted_after_a_backup(tmp_path, database_url):
    folder = tmp_path / "backups"
    folder.mkdir()
    # Ages from the file system's own clock, which the script's `find` reads.
    (folder / "probe").touch()
    now = (folder / "probe").stat().st_mtime
    (folder / "probe").unlink()
    for days in [1, 6, 8, 30]:
        for suffix in [".dump", ".dump.gpg"]:
            path = folder / f"clinic-200001{days:02d}T000000Z{suffix}"
            path.touch()
            os.utime(path, (now - days * DAY - 60, now - days * DAY - 60))
    other = folder / "notes.txt"
    other.touch()
    os.utime(other, (now - 30 * DAY, now - 30 * DAY))

    backup = run("once", DATABASE_URL=database_url, BACKUP_DIR=str(folder), BACKUP_KEEP_DAYS="7")

    assert backup.returncode == 0, backup.stderr
    left = sorted(path.name for path in folder.iterdir())
    assert left == sorted(
        [
            "clinic-20000101T000000Z.dump",
            "clinic-20000101T000000Z.dump.gpg",
            "clinic-20000106T000000Z.dump",
            "clinic-20000106T000000Z.dump.gpg",
            "notes.txt",
            dumps(folder)[-1].name,
        ]
    )
    assert dumps(folder)[-1].name.startswith(connection.settings_dict["NAME"])
    assert backup.stderr.count("older than 7 days") == 4


def test_a_failed_backup_exits_non_zero_logs_why_and_no_password(tmp_path):
    folder = tmp_path / "backups"

    backup = run(
        "once",
        DATABASE_URL="postgres://clinic:s3cret-pass@127.0.0.1:1/clinic",
        BACKUP_DIR=str(folder),
    )

    assert backup.returncode == 1
    assert "ERROR: cannot connect to the database" in backup.stderr
    assert "s3cret-pass" not in backup.stderr + backup.stdout
    assert not folder.exists() or not list(folder.iterdir())


def test_the_health_check_fails_without_a_recent_dump(tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    dump = folder / "clinic-20000101T000000Z.dump"
    dump.touch()
    now = dump.stat().st_mtime

    assert run("check", BACKUP_DIR=str(folder)).returncode == 0

    os.utime(dump, (now - 27 * 3600, now - 27 * 3600))
    stale = run("check", BACKUP_DIR=str(folder))

    assert stale.returncode == 1
    assert "is older than 26 hours" in stale.stderr
    assert run("check", BACKUP_DIR=str(tmp_path / "none")).returncode == 1
