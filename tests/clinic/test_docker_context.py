"""The image's build context and the compose deployment: facts read from the files.

No container engine runs the compose file in the test suite; these hold it to the safe
defaults the README promises (issue 19): mail catcher only in development, on loopback;
no start without a real EMAIL_URL; only the TLS proxy published; migrations once, before
every replica; images pinned by tag; the worker given time to finish an email.
"""

import ipaddress
import re
from fnmatch import fnmatch
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.test import override_settings

from clinic.checks import hsts_staging

BASE = Path(settings.BASE_DIR)
APP_SERVICES = ["web", "worker", "scheduler"]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((BASE / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def test_dockerignore_leaves_out_local_databases():
    patterns = [
        line.strip()
        for line in (BASE / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for name in [
        "db.sqlite3",
        "db.sqlite3-wal",
        "bench.sqlite3",
        "bench.sqlite3-shm",
        ".pytest-db.sqlite3",
        ".pytest-db.sqlite3-wal",
        "backups",
        "clinic-20260101T023000Z.dump",
        "clinic-20260101T023000Z.dump.gpg",
        "backup-key",
    ]:
        assert any(fnmatch(name, pattern) for pattern in patterns), name


def test_the_mail_catcher_runs_only_in_the_dev_profile_and_on_loopback(services):
    assert services["mail"]["profiles"] == ["dev"]
    assert services["mail"]["ports"] == ["127.0.0.1:8025:8025"]
    for name, service in services.items():
        if name != "mail":
            assert "profiles" not in service, name
            assert "mail" not in service.get("depends_on", {}), name


def test_compose_refuses_to_start_without_a_real_email_url(services):
    for name in [*APP_SERVICES, "migrate"]:
        email_url = services[name]["environment"]["EMAIL_URL"]
        # ${VAR:?message}: compose stops with the message when it is unset or empty.
        assert re.fullmatch(r"\$\{EMAIL_URL:\?set EMAIL_URL in \.env[^}]*\}", email_url), name


def published_host_addresses(service: dict) -> list[str]:
    """The host address each published port binds to ("" when it names none: every
    interface), after compose's ${VAR:-default} with its default."""
    addresses = []
    for port in service.get("ports", []):
        port = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(port))
        parts = port.split(":")
        addresses.append(parts[0] if len(parts) == 3 else "")
    return addresses


def test_only_the_tls_proxy_is_published_on_every_interface(services):
    for name, service in services.items():
        if name != "proxy":
            for address in published_host_addresses(service):
                assert address == "127.0.0.1", (name, address)
    assert published_host_addresses(services["proxy"]) == ["", ""]  # 80 and 443
    for name in ["db", "web", "worker", "scheduler"]:
        assert not services[name].get("ports"), name


def test_the_app_trusts_exactly_the_proxys_fixed_address(compose, services):
    address = services["proxy"]["networks"]["default"]["ipv4_address"]
    assert services["web"]["environment"]["DJANGO_TRUSTED_PROXIES"] == address
    assert services["web"]["environment"]["DJANGO_SECURE_PROXY_SSL_HEADER"] == "1"
    (subnet,) = compose["networks"]["default"]["ipam"]["config"]
    assert ipaddress.ip_address(address) in ipaddress.ip_network(subnet["subnet"])
    # The web service keeps the shared settings it overrides beside.
    assert "DATABASE_URL" in services["web"]["environment"]
    assert services["proxy"]["depends_on"] == {"web": {"condition": "service_healthy"}}


def test_migrations_run_once_in_a_release_service_every_app_service_waits_for(services):
    migrate = services["migrate"]
    assert migrate["command"] == ["release"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"] == {"db": {"condition": "service_healthy"}}
    for name in APP_SERVICES:
        service = services[name]
        assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert "DJANGO_MIGRATE_ON_START" not in service["environment"], name
    entrypoint = (BASE / "docker" / "entrypoint.sh").read_text()
    assert re.search(r'if \[ "\$\{1:-\}" = "release" \]; then\s+release\s+exit 0', entrypoint)
    assert "python manage.py migrate --noinput" in entrypoint


def test_registry_images_are_pinned_by_tag_and_the_production_ones_by_digest(services):
    for name, service in services.items():
        if "build" in service:
            continue  # built here from the Dockerfile
        image = service["image"]
        reference, _, digest = image.partition("@sha256:")
        _, _, tag = reference.partition(":")
        assert re.match(r"v?\d+\.\d+", tag), (name, image)  # a version, never latest
        if "dev" not in service.get("profiles", []):
            assert re.fullmatch(r"[0-9a-f]{64}", digest), (name, image)
    # db and backup run one image, so pg_dump is always the server's own version.
    assert services["db"]["image"] == services["backup"]["image"]
    readme = (BASE / "README.md").read_text()
    assert "imagetools inspect" in readme


def test_the_long_running_services_restart_and_finish_their_work(services):
    for name in APP_SERVICES:
        assert services[name]["restart"] == "unless-stopped", name
    # The worker finishes the email it is sending on SIGTERM: two email timeouts and more.
    grace = int(services["worker"]["stop_grace_period"].removesuffix("s"))
    assert grace > 2 * settings.EMAIL_TIMEOUT
    assert services["worker"]["command"][:3] == ["python", "manage.py", "db_worker"]
    assert services["scheduler"]["command"] == ["python", "manage.py", "run_scheduled_jobs"]


def test_the_backup_service_runs_the_databases_own_pg_dump_and_keeps_its_dumps(compose, services):
    backup = services["backup"]
    assert backup["image"] == services["db"]["image"]  # pg_dump of the server's major version
    assert backup["restart"] == "unless-stopped"
    assert backup["entrypoint"] == ["sh", "/opt/backup/backup.sh"]
    assert backup["command"] == ["daily"]
    assert "./docker/backup:/opt/backup:ro" in backup["volumes"]
    assert "${CLINIC_BACKUP_DIR:-backups}:/backups" in backup["volumes"]
    assert "backups" in compose["volumes"]
    assert backup["environment"]["BACKUP_DIR"] == "/backups"
    assert backup["environment"]["PGHOST"] == "db"
    assert backup["healthcheck"]["test"] == ["CMD", "sh", "/opt/backup/backup.sh", "check"]
    assert backup["depends_on"] == {
        "db": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }
    example = (BASE / ".env.example").read_text()
    for name in [
        "BACKUP_TIME",
        "BACKUP_KEEP_DAYS",
        "CLINIC_BACKUP_DIR",
        "BACKUP_GPG_PUBLIC_KEY_FILE",
    ]:
        assert f"# {name}=" in example, name


def test_hsts_is_staged_by_default_and_both_settings_are_documented():
    # Tests run with DEBUG off, as production does.
    assert settings.SECURE_HSTS_SECONDS == 3600
    assert settings.SECURE_HSTS_INCLUDE_SUBDOMAINS is False
    assert settings.SECURE_HSTS_PRELOAD is False
    for path in ["README.md", ".env.example"]:
        text = (BASE / path).read_text()
        for name in [
            "DJANGO_SECURE_HSTS_SECONDS",
            "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS",
            "DJANGO_SECURE_HSTS_PRELOAD",
        ]:
            assert name in text, (path, name)


def test_the_deploy_check_says_where_hsts_staging_stands():
    [message] = hsts_staging(None)
    assert message.id == "clinic.I001"
    assert message.msg == "HSTS is staged: max-age 3600 s, includeSubDomains off, preload off."
    with override_settings(
        SECURE_HSTS_SECONDS=31536000,
        SECURE_HSTS_INCLUDE_SUBDOMAINS=True,
        SECURE_HSTS_PRELOAD=True,
    ):
        assert hsts_staging(None) == []
