"""The app as production runs it, for the outside-in suite: gunicorn with production
settings (debug off, compressed hashed static files, PBKDF2 passwords) and two workers,
on 127.0.0.1 only, with its own database of the suite's kind and its own email files.

Requests from 127.0.0.2 stand for the TLS proxy (the only listed trusted proxy);
requests from 127.0.0.1 stand for someone who reaches port 8000 directly.
"""

import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.db import connection

BASE_DIR = Path(settings.BASE_DIR)
PROXY = "127.0.0.2"
STAFF_USER, STAFF_PASSWORD = "outside-in-manager", secrets.token_urlsafe(18)
MIN_SECONDS = 1


@dataclass
class Response:
    status: int
    headers: dict
    text: str


@dataclass
class Browser:
    """A tiny HTTP client with a cookie jar, sending from a chosen loopback address."""

    port: int
    source: str = "127.0.0.1"
    cookies: dict = field(default_factory=dict)

    def request(self, method, path, *, data=None, headers=None) -> Response:
        body = urlencode(data, doseq=True) if isinstance(data, dict) else data
        sent = {"Host": f"127.0.0.1:{self.port}", **(headers or {})}
        if body is not None:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
            sent["Origin"] = f"http://127.0.0.1:{self.port}"
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=60, source_address=(self.source, 0)
        )
        try:
            conn.request(method, path, body=body, headers=sent)
            raw = conn.getresponse()
            text = raw.read().decode("utf-8", "replace")
            for header in raw.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    self.cookies[name] = morsel.value
            return Response(raw.status, dict(raw.headers), text)
        finally:
            conn.close()

    def get(self, path, **kwargs) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path, data, **kwargs) -> Response:
        return self.request("POST", path, data=data, **kwargs)


def hidden_fields(html: str) -> dict:
    fields = {}
    for tag in re.findall(r"<input[^>]*>", html):
        if 'type="hidden"' in tag and (name := re.search(r'name="([^"]+)"', tag)):
            value = re.search(r'value="([^"]*)"', tag)
            fields[name.group(1)] = value.group(1) if value else ""
    return fields


@dataclass
class RunningApp:
    port: int
    env: dict
    log_path: Path
    mail_dir: Path

    def browser(self, source="127.0.0.1") -> Browser:
        return Browser(self.port, source)

    def python(self, code: str) -> str:
        result = subprocess.run(
            [sys.executable, "-c", code],
            cwd=BASE_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        with self.log_path.open("a") as log:  # the worker's lines are scanned too
            log.write(result.stdout + result.stderr)
        return result.stdout

    def log(self) -> str:
        return self.log_path.read_text()

    def manage_link_for(self, reference: str) -> str:
        """The manage link in the confirmation email of `reference`, once the worker sent it."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            text = "".join(path.read_text() for path in sorted(self.mail_dir.glob("*")))
            for message in text.split("-" * 79):
                link = re.search(r"http://[^/\s]+(/book/manage/[^\s]+/)", message)
                if reference in message and link:
                    return link.group(1)
            time.sleep(0.3)
        pytest.fail(f"no email for {reference}")

    def manage_links(self, at_least: int) -> list[str]:
        """The manage links in the emails the worker has sent, waiting for `at_least`."""
        deadline = time.monotonic() + 60
        while True:
            text = "".join(path.read_text() for path in sorted(self.mail_dir.glob("*")))
            links = sorted(set(re.findall(r"http://[^/\s]+(/book/manage/[^\s]+/)", text)))
            if len(links) >= at_least or time.monotonic() > deadline:
                return links
            time.sleep(0.3)


def _database_url(tmp_path) -> tuple[str, callable]:
    if connection.vendor != "postgresql":
        return f"sqlite:///{tmp_path / 'outside-in.sqlite3'}", lambda: None
    db = connection.settings_dict
    name = f"{db['NAME']}_outside_in"[:63]

    def drop():
        with connection._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    drop()
    with connection._nodb_cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}", drop


@pytest.fixture(scope="session")
def running_app(tmp_path_factory, django_db_setup, django_db_blocker):
    tmp_path = tmp_path_factory.mktemp("outside-in")
    with django_db_blocker.unblock():
        database_url, drop_database = _database_url(tmp_path)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mail_dir = tmp_path / "mail"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "CLINIC_", "GUNICORN_", "COV_"))
    } | {
        "DJANGO_SETTINGS_MODULE": "clinic.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_SECURE_COOKIES": "0",
        "DJANGO_TRUSTED_PROXIES": PROXY,
        "DATABASE_URL": database_url,
        "EMAIL_URL": f"filemail:///{mail_dir}",  # four slashes: an absolute path
        "CLINIC_BOOKING_RATE_LIMIT": "5/h",
        "CLINIC_BOOKING_MIN_SECONDS": str(MIN_SECONDS),
        "CLINIC_SIGN_IN_ADDRESS_FAILURE_LIMIT": "4",
        "DJANGO_SUPERUSER_USERNAME": STAFF_USER,
        "DJANGO_SUPERUSER_EMAIL": "manager@clinic.example",
        "DJANGO_SUPERUSER_PASSWORD": STAFF_PASSWORD,
        "PORT": str(port),
    }
    log_path = tmp_path / "server.log"
    app = RunningApp(port, env, log_path, mail_dir)
    # The release steps in one process: each Django start-up costs seconds.
    app.python(
        "import django; django.setup()\n"
        "from django.core.management import call_command as run\n"
        "run('migrate', interactive=False, verbosity=0); run('createcachetable')\n"
        "run('load_sample_slots'); run('createsuperuser', interactive=False)\n"
        "run('collectstatic', interactive=False, verbosity=0)\n"
    )
    with log_path.open("a") as log:
        # The email worker, as compose runs it beside the web service.
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", "--interval", "0.2", "--no-startup-delay"],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        server = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("gunicorn")),
                "--config",
                "docker/gunicorn.conf.py",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "clinic.wsgi:application",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        for _ in range(120):
            try:
                if app.browser().get("/healthz").status == 200:
                    break
            except OSError:
                pass
            if server.poll() is not None:
                pytest.fail("gunicorn did not start:\n" + app.log())
            time.sleep(0.25)
        yield app
    finally:
        for process in (server, worker):
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        with django_db_blocker.unblock():
            drop_database()
