#!/usr/bin/env python3
"""Boot the production compose shape with podman and check what issue #19 asks of it.

docker-compose.yml's services, as compose would lay them out on one network: the TLS
proxy (the only service with published ports), two `web` replicas behind it (the proxy
reaches them through the name `web`, which resolves to both, as compose's DNS does after
`--scale web=2`), the email worker, the scheduler, and PostgreSQL. Migrations run once, in
the one-shot `release` container, before any replica starts.

Two stand-ins, because no registry can be reached here: PostgreSQL is Debian's own
(15, bookworm's) in a container built on the app's base image, stopped and started as
`docker compose stop db` would; and the clinic's SMTP server is a small one in this
script, which can also hang like a dead mail server for the reaper check.

The checks: only the proxy's ports are published; HTTP redirects to HTTPS and HSTS is
staged; the proxy keeps anonymous public pages and never a request with a cookie; two
patients racing for one time through different replicas give one booking; the booking
rate limit is counted once across replicas and a forged X-Forwarded-For does not reset
it; an admin edit shows on both replicas within seconds; a backup restores with equal row
counts; a worker killed mid-send leaves a task the reaper marks failed, and the request's
email shows failed; with the database stopped public pages are still served (never a
500) and booking says it is briefly unavailable with the clinic's phone; after it starts
again pages are fresh and the worker sends email again.

Run as root by `.ci/compose-check`, after `.ci/container-check` built the app image.
Only the standard library: it runs on the host, and its `client-ratelimit` part inside a
container on the network (a patient with an address of their own).
"""

import concurrent.futures
import contextlib
import http.client
import json
import os
import shutil
import socket
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from booking_load import Patient  # noqa: E402 - the bench's simulated patient

APP_IMAGE = os.environ.get("CONTAINER_CHECK_IMAGE", "localhost/clinic:ci")
PROXY_IMAGE = "localhost/clinic-proxy:ci"
DB_IMAGE = "localhost/clinic-ci-postgres:ci"
NETWORK = "clinic-compose-check"
PREFIX = "172.31.99"
GATEWAY, DB_IP, PROXY_IP, CLIENT_IP = (f"{PREFIX}.{n}" for n in (1, 5, 10, 50))
WEB = {"web1": f"{PREFIX}.21", "web2": f"{PREFIX}.22"}
HOST = "clinic.test"
SMTP_PORT = 2525
HTTP_PUBLISH, HTTPS_PUBLISH = 18080, 18443
POST_LIMIT = 8
MIN_SECONDS = 1
STRANDED_SECONDS = 25
NEW_PHONE, NEW_HOURS = "(212) 555-0123", "Monday to Friday, 8 am to 6 pm"
SAMPLE_PHONE = "(555) 010-0199"
PODMAN = ["podman", "--runtime", "runc"]
LIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]
NAME = "clinic-cc-"


def log(message: str) -> None:
    print(f"compose-check: {message}", file=sys.stderr, flush=True)


class CheckFailed(Exception):
    pass


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)
    log(f"ok: {message}")


def run(*args: str, check: bool = True, quiet: bool = False) -> str:
    done = subprocess.run(args, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise CheckFailed(f"{' '.join(args[:6])} ... failed:\n{done.stdout}{done.stderr}")
    if not quiet and done.returncode != 0:
        log(f"(exit {done.returncode}) {' '.join(args[:6])}")
    return done.stdout


# --- HTTP: a browser with its cookies, over TLS to the proxy or plain to a replica ------


class Browser:
    """One visitor. `address` is where the connection goes; the Host header is always the
    site's. Plain HTTP to a replica says X-Forwarded-Proto https, as the proxy would."""

    def __init__(self, address, port, *, tls_ca=None, host=HOST, persistent=False):
        self.address, self.port, self.host = address, port, host
        self.tls = None
        if tls_ca:
            self.tls = ssl.create_default_context(cafile=tls_ca)
        self.cookies: dict[str, str] = {}
        self.persistent = persistent
        self._conn = None

    def _connect(self):
        if self.tls is None:
            return http.client.HTTPConnection(self.address, self.port, timeout=30)
        conn = http.client.HTTPSConnection(self.host.split(":")[0], self.port, timeout=30)
        sock = socket.create_connection((self.address, self.port), timeout=30)
        conn.sock = self.tls.wrap_socket(sock, server_hostname=self.host.split(":")[0])
        return conn

    def request(self, method, path, body=None, headers=None, cookies=True):
        conn = self._conn if self.persistent and self._conn else self._connect()
        sent = {"Host": self.host, "Accept-Encoding": "identity"}
        if self.tls is None:
            sent["X-Forwarded-Proto"] = "https"
        if cookies and self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
            sent["Origin"] = f"https://{self.host}"
            sent["Referer"] = f"https://{self.host}{path}"
        sent.update(headers or {})
        try:
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
        finally:
            if self.persistent:
                self._conn = conn
            else:
                conn.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";")[0]
        return response.status, response.headers, text


class CheckPatient(Patient):
    """The bench's patient (form fetched for New York, fields filled), through a Browser."""

    def __init__(self, browser: Browser, number: int):
        super().__init__("http://unused:1", number)
        self.browser = browser

    def _request(self, method, path, body=None):
        status, headers, text = self.browser.request(method, path, body)
        return status, headers.get("Location", ""), text


class FormFields(HTMLParser):
    """The fields a browser would send for the first form with method POST."""

    def __init__(self, form_id=None):
        super().__init__()
        self.form_id = form_id
        self.fields: list[tuple[str, str]] = []
        self._in_form = self._done = False
        self._textarea = self._select = None
        self._text = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if self._done:
            return
        if (
            tag == "form"
            and (a.get("method") or "").lower() == "post"
            and (self.form_id is None or a.get("id") == self.form_id)
        ):
            self._in_form = True
        if not self._in_form or "name" not in a and tag not in ("option",):
            return
        if tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "button", "image", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.append((a["name"], a.get("value") or ("on" if kind == "checkbox" else "")))
        elif tag == "textarea":
            self._textarea, self._text = a["name"], ""
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select and "selected" in a:
            self.fields.append((self._select, a.get("value", "")))

    def handle_data(self, data):
        if self._textarea:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "textarea" and self._textarea:
            self.fields.append((self._textarea, self._text.removeprefix("\n")))
            self._textarea = None
        elif tag == "select":
            self._select = None
        elif tag == "form" and self._in_form:
            self._in_form, self._done = False, True


def form_fields(page: str, form_id=None) -> list[tuple[str, str]]:
    parser = FormFields(form_id)
    parser.feed(page)
    return parser.fields


# --- the clinic's SMTP server, which can also hang -------------------------------------


class MailServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, port):
        super().__init__(("0.0.0.0", port), MailHandler)
        self.received = 0
        self.hang = threading.Event()  # set: greet no one, like a mail server that died
        self.hung = threading.Event()


class MailHandler(socketserver.StreamRequestHandler):
    def handle(self):
        if self.server.hang.is_set():
            self.server.hung.set()
            while self.server.hang.is_set():
                time.sleep(0.2)
            return
        self.wfile.write(b"220 compose-check ESMTP\r\n")
        while line := self.rfile.readline():
            verb = line[:4].upper()
            if verb == b"DATA":
                self.wfile.write(b"354 go on\r\n")
                while self.rfile.readline() not in (b".\r\n", b""):
                    pass
                self.server.received += 1
                self.wfile.write(b"250 ok\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


# --- the deployment --------------------------------------------------------------------


class Deployment:
    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.secret = os.urandom(24).hex()
        self.mail = MailServer(SMTP_PORT)
        threading.Thread(target=self.mail.serve_forever, daemon=True).start()
        self.admin_password = os.urandom(12).hex()

    # PostgreSQL
    def pg(self, action: str) -> None:
        """Stop or start the database container, as `docker compose stop db` would."""
        run(*PODMAN, action, NAME + "db")
        if action == "start":
            self.wait_for_database()

    def wait_for_database(self) -> None:
        deadline = time.monotonic() + 60
        while subprocess.run(["pg_isready", "-q", "-h", DB_IP, "-p", "5432"]).returncode != 0:
            if time.monotonic() > deadline:
                raise CheckFailed("PostgreSQL did not answer within 60 s")
            time.sleep(0.5)

    def sql(self, query: str) -> str:
        return run("psql", "-h", DB_IP, "-U", "postgres", "-d", "clinic", "-tAc", query).strip()

    def database_up(self) -> None:
        self.start("db", DB_IP, image=DB_IMAGE)
        self.wait_for_database()
        run("createdb", "-h", DB_IP, "-U", "postgres", "clinic")

    # containers
    def app_env(self) -> list[str]:
        values = {
            "DATABASE_URL": f"postgres://postgres@{DB_IP}:5432/clinic",
            "DJANGO_SECRET_KEY": self.secret,
            "DJANGO_DEBUG": "0",
            "DJANGO_ALLOWED_HOSTS": HOST,
            "DJANGO_TRUSTED_PROXIES": PROXY_IP,
            "DJANGO_SECURE_PROXY_SSL_HEADER": "1",
            "EMAIL_URL": f"smtp://{GATEWAY}:{SMTP_PORT}",
            "CLINIC_SITE_URL": f"https://{HOST}",
            "CLINIC_BOOKING_MIN_SECONDS": str(MIN_SECONDS),
            "CLINIC_BOOKING_POST_LIMIT": f"{POST_LIMIT}/h",
            "CLINIC_BOOKING_RATE_LIMIT": "50/h",
            "CLINIC_TASK_STRANDED_SECONDS": str(STRANDED_SECONDS),
        }
        return [arg for key, value in values.items() for arg in ("-e", f"{key}={value}")]

    def one_shot(self, *command: str) -> str:
        return run(
            *PODMAN,
            "run",
            "--rm",
            "--network",
            NETWORK,
            *LIMITS,
            *self.app_env(),
            APP_IMAGE,
            *command,
        )

    def start(self, name: str, ip: str, *args: str, image: str = APP_IMAGE, command=()) -> None:
        run(
            *PODMAN,
            "run",
            "-d",
            "--name",
            NAME + name,
            "--network",
            NETWORK,
            "--ip",
            ip,
            *LIMITS,
            *args,
            image,
            *command,
        )

    def start_worker(self) -> None:
        command = ["python", "manage.py", "db_worker", "--no-reload"]
        self.start("worker", f"{PREFIX}.30", *self.app_env(), command=command)

    def logs(self, name: str) -> str:
        done = subprocess.run([*PODMAN, "logs", NAME + name], capture_output=True, text=True)
        return done.stdout + done.stderr

    def boot(self, tls_dir: Path) -> None:
        self.remove_containers()  # a run that was killed may have left its own
        run("podman", "network", "create", "--subnet", f"{PREFIX}.0/24", NETWORK)
        self.database_up()
        log("release: migrate, cache table, roles (once, before any replica)")
        self.one_shot("release")
        self.one_shot("python", "manage.py", "load_sample_content")
        self.one_shot("python", "manage.py", "load_sample_slots")
        self.one_shot(
            "python",
            "manage.py",
            "shell",
            "-c",
            "from django.contrib.auth import get_user_model;"
            "from clinic.models import ClinicDetails;"
            "ClinicDetails.objects.get_or_create(pk=1);"
            "get_user_model().objects.create_superuser("
            f"'check-admin', 'admin@clinic.test', '{self.admin_password}')",
        )
        for name, ip in WEB.items():
            self.start(name, ip, *self.app_env())
        self.start_worker()
        self.start(
            "scheduler",
            f"{PREFIX}.31",
            *self.app_env(),
            command=["python", "manage.py", "run_scheduled_jobs"],
        )
        hosts = [arg for ip in WEB.values() for arg in ("--add-host", f"web:{ip}")]
        self.start(
            "proxy",
            PROXY_IP,
            *hosts,
            "-e",
            f"CLINIC_SERVER_NAME={HOST}",
            "-p",
            f"127.0.0.1:{HTTP_PUBLISH}:8080",
            "-p",
            f"127.0.0.1:{HTTPS_PUBLISH}:8443",
            "-v",
            f"{tls_dir}:/etc/clinic/tls:ro",
            image=PROXY_IMAGE,
        )
        deadline = time.monotonic() + 120
        for name, ip in WEB.items():
            while True:
                with contextlib.suppress(OSError):
                    if Browser(ip, 8000).request("GET", "/healthz")[0] == 200:
                        break
                if time.monotonic() > deadline:
                    raise CheckFailed(f"{name} not healthy within 120 s")
                time.sleep(1)
        while True:
            with contextlib.suppress(OSError, ssl.SSLError):
                if self.site().request("GET", "/healthz")[0] == 200:
                    break
            if time.monotonic() > deadline:
                raise CheckFailed("the proxy did not answer within 120 s")
            time.sleep(1)
        log("booted: proxy, web1, web2, worker, scheduler, PostgreSQL")

    def site(self, **kwargs) -> Browser:
        """A visitor on the internet: TLS to the proxy's published port."""
        return Browser(
            "127.0.0.1",
            HTTPS_PUBLISH,
            tls_ca=str(self.workdir / "tls" / "fullchain.pem"),
            host=f"{HOST}:{HTTPS_PUBLISH}",
            **kwargs,
        )

    def remove_containers(self) -> None:
        for name in ("proxy", "web1", "web2", "worker", "scheduler", "db"):
            subprocess.run([*PODMAN, "rm", "-f", "-t", "2", NAME + name], capture_output=True)
        subprocess.run(["podman", "network", "rm", "-f", NETWORK], capture_output=True)

    def teardown(self) -> None:
        self.remove_containers()
        self.mail.shutdown()


def make_certificate(tls_dir: Path) -> None:
    tls_dir.mkdir()
    run(
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "2",
        "-subj",
        f"/CN={HOST}",
        "-addext",
        f"subjectAltName=DNS:{HOST}",
        "-keyout",
        str(tls_dir / "privkey.pem"),
        "-out",
        str(tls_dir / "fullchain.pem"),
    )
    # The proxy runs as uid 33: a throwaway key it can read.
    for path in (tls_dir, *tls_dir.iterdir()):
        path.chmod(0o755 if path.is_dir() else 0o644)


# --- the checks ------------------------------------------------------------------------


def check_ports_and_tls(d: Deployment) -> None:
    for name in ("web1", "web2", "worker", "scheduler"):
        expect(run(*PODMAN, "port", NAME + name).strip() == "", f"{name} publishes no port")
    published = run(*PODMAN, "port", NAME + "proxy")
    expect(
        f":{HTTP_PUBLISH}" in published
        and f":{HTTPS_PUBLISH}" in published
        and len(published.strip().splitlines()) == 2,
        "only the proxy publishes, 80 and 443",
    )
    status, headers, _ = Browser("127.0.0.1", HTTP_PUBLISH, host=HOST).request("GET", "/articles/")
    expect(
        status == 308 and headers["Location"] == f"https://{HOST}/articles/",
        "plain HTTP redirects to HTTPS",
    )
    status, headers, _ = d.site().request("GET", "/")
    expect(
        status == 200 and headers["Strict-Transport-Security"] == "max-age=3600",
        "HTTPS answers with HSTS staged at an hour",
    )
    first = d.site().request("GET", "/glossary/")[1]["X-Cache"]
    second = d.site().request("GET", "/glossary/")[1]["X-Cache"]
    expect(second == "HIT", f"the proxy keeps an anonymous public page ({first}, then {second})")
    visitor = d.site()
    visitor.cookies["sessionid"] = "x"
    kept = visitor.request("GET", "/glossary/")[1]["X-Cache"]
    expect(kept != "HIT", f"a request with a cookie never gets the kept copy ({kept})")


def check_booking_race(d: Deployment) -> None:
    outcomes = []
    for round_ in range(3):
        patients = [
            CheckPatient(Browser(ip, 8000), 100 + 2 * round_ + n)
            for n, ip in enumerate(WEB.values())
        ]
        for patient in patients:
            expect(patient.fetch_form() == 200 and patient.slots, "the booking form offers times")
        slot = patients[0].slots[0]
        time.sleep(MIN_SECONDS + 0.2)
        barrier = threading.Barrier(2)

        def send(patient, slot=slot, barrier=barrier):
            barrier.wait()
            return patient.submit(slot)[0]

        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            results = list(pool.map(send, patients))
        outcomes.append(sorted(results))
    expect(
        all(o == ["booked", "taken"] for o in outcomes),
        f"two patients racing for one time through two replicas: one booked ({outcomes})",
    )
    over = d.sql(
        "SELECT count(*) FROM consultations_availabilityslot s WHERE "
        "(SELECT count(*) FROM consultations_consultationrequest r WHERE r.slot_id = s.id "
        "AND r.status IN ('new', 'confirmed')) > s.capacity"
    )
    expect(over == "0", "no time holds more patients than its places")


def client_ratelimit() -> None:
    """Inside a container at CLIENT_IP: post the booking form through the proxy until it
    refuses, each time with another forged X-Forwarded-For. Prints the statuses."""
    browser = Browser(PROXY_IP, 8443, tls_ca="/check-tls/fullchain.pem", persistent=True)
    patient = CheckPatient(browser, 900)
    assert patient.fetch_form() == 200
    statuses = []
    for i in range(POST_LIMIT + 2):
        body = urlencode(patient.fields | {"full_name": ""})
        forged = {"X-Forwarded-For": f"203.0.113.{i + 1}"}
        statuses.append(browser.request("POST", "/book/", body, headers=forged)[0])
    print(json.dumps(statuses))


def check_rate_limit(d: Deployment) -> None:
    before = {name: d.logs(name).count('"POST /book/"') for name in WEB}
    out = run(
        *PODMAN,
        "run",
        "--rm",
        "--network",
        NETWORK,
        "--ip",
        CLIENT_IP,
        *LIMITS,
        # As root: the app image's user could not read a checkout in a private folder
        # (a clone in `mktemp -d`, mode 700); this container is only the test's client.
        "--user",
        "0",
        "-v",
        f"{ROOT}:/check:ro",
        "-v",
        f"{d.workdir / 'tls'}:/check-tls:ro",
        "--entrypoint",
        "python",
        APP_IMAGE,
        "/check/.ci/compose_check.py",
        "client-ratelimit",
    )
    statuses = json.loads(out.strip().splitlines()[-1])
    after = {name: d.logs(name).count('"POST /book/"') for name in WEB}
    served = {name: after[name] - before[name] for name in WEB}
    expect(
        statuses[:POST_LIMIT] == [200] * POST_LIMIT and set(statuses[POST_LIMIT:]) == {429},
        f"the limit of {POST_LIMIT} posts is counted once across replicas and forged "
        f"X-Forwarded-For headers ({statuses})",
    )
    expect(all(served.values()), f"both replicas took part in it (posts served: {served})")


def check_admin_edit(d: Deployment) -> None:
    page = "/costs/"
    for ip in WEB.values():  # every worker of each replica keeps a copy with the old details
        prime(ip, page)
    staff = d.site()
    status, _, text = staff.request("GET", "/admin/login/?next=/admin/")
    fields = dict(form_fields(text, "login-form")) | {
        "username": "check-admin",
        "password": d.admin_password,
    }
    status, headers, _ = staff.request("POST", "/admin/login/?next=/admin/", urlencode(fields))
    expect(status == 302, "staff sign in through the proxy")
    change = "/admin/clinic/clinicdetails/1/change/"
    status, _, text = staff.request("GET", change)
    expect(status == 200, "the clinic details change page opens")
    fields = [
        (k, v) for k, v in form_fields(text, "clinicdetails_form") if k not in ("phone", "hours")
    ]
    fields += [("phone", NEW_PHONE), ("hours", NEW_HOURS), ("_save", "Save")]
    status, _, text = staff.request("POST", change, urlencode(fields))
    expect(status == 302, f"the edit is saved ({status})")
    saved = time.monotonic()
    for name, ip in WEB.items():
        while NEW_HOURS not in Browser(ip, 8000).request("GET", page)[2]:
            if time.monotonic() - saved > 5:
                raise CheckFailed(f"{name} still shows the old clinic details after 5 s")
            time.sleep(0.1)
        log(f"{name} shows the edit {time.monotonic() - saved:.1f} s after it was saved")
    expect(time.monotonic() - saved < 3, "both replicas show the admin edit within seconds")
    for ip in WEB.values():
        prime(ip, page)


def check_backup_restore(d: Deployment) -> None:
    """compose's backup service runs docker/backup/backup.sh in the db's own image."""
    script = ROOT / "docker" / "backup" / "backup.sh"
    if not script.exists():
        log("SKIPPED: no docker/backup/backup.sh in this tree")
        return
    backups = d.workdir / "backups"
    backups.mkdir()
    database_url = f"postgres://postgres@{DB_IP}:5432/clinic"
    # restore-check compares the dump with the live database: nothing may write between
    # the two (the scheduler records its runs), as in the README's runbook.
    run(*PODMAN, "stop", "-t", "30", NAME + "scheduler", NAME + "worker")
    run(*PODMAN, "run", "--rm", "--network", NETWORK, *LIMITS, "--user", "0",
        "-e", f"DATABASE_URL={database_url}", "-e", "BACKUP_DIR=/backups",
        "-v", f"{script}:/usr/local/bin/backup.sh:ro", "-v", f"{backups}:/backups",
        DB_IMAGE, "sh", "/usr/local/bin/backup.sh", "once")  # fmt: skip
    dumps = sorted(backups.iterdir())
    expect(len(dumps) == 1, f"the backup service made a dump ({dumps[0].name if dumps else '-'})")
    env = os.environ | {"DATABASE_URL": database_url, "BACKUP_DIR": str(backups)}
    done = subprocess.run(["make", "-s", "-C", str(ROOT), "restore-check"], env=env)
    expect(done.returncode == 0, "make restore-check: it restores with every table's row count")
    run(*PODMAN, "start", NAME + "scheduler")
    restart_worker(d)


def check_reaper(d: Deployment) -> None:
    d.mail.hang.set()
    patient = CheckPatient(Browser(WEB["web1"], 8000), 300)
    patient.fetch_form()
    time.sleep(MIN_SECONDS + 0.2)
    expect(
        patient.submit(patient.slots[0])[0] == "booked", "a patient books (the mail server hangs)"
    )
    expect(d.mail.hung.wait(30), "the worker is sending that booking's emails")
    task = d.sql("SELECT id FROM django_tasks_database_dbtaskresult WHERE status = 'RUNNING'")
    expect(bool(task), "its task is running")
    run(*PODMAN, "kill", "--signal", "KILL", NAME + "worker")
    d.mail.hang.clear()
    request = d.sql("SELECT id FROM consultations_consultationrequest ORDER BY id DESC LIMIT 1")
    time.sleep(STRANDED_SECONDS + 1)
    out = run(*PODMAN, "exec", NAME + "scheduler", "python", "manage.py", "fail_stranded_tasks")
    log(out.strip().splitlines()[-1])
    status = d.sql(f"SELECT status FROM django_tasks_database_dbtaskresult WHERE id = '{task}'")
    email = d.sql(
        f"SELECT confirmation_email_status FROM consultations_consultationrequest "
        f"WHERE id = {request}"
    )
    expect(
        status == "FAILED" and email == "failed",
        f"the reaper marks the killed worker's task failed, and the request's email ({email})",
    )
    restart_worker(d)


def restart_worker(d: Deployment) -> None:
    """As compose's `restart: unless-stopped` would: a new worker, waited for until it has
    started (the next check stops the database)."""
    run(*PODMAN, "rm", "-f", NAME + "worker")
    d.start_worker()
    deadline = time.monotonic() + 60
    while "Starting worker" not in d.logs("worker"):
        if time.monotonic() > deadline:
            raise CheckFailed("the worker started again did not start within 60 s")
        time.sleep(0.5)


def prime(ip: str, *paths: str) -> None:
    """Each gunicorn worker keeps its own copies and its own last-read clinic details:
    requests sent at once reach every worker of a replica, not only the idle one."""
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda path: Browser(ip, 8000).request("GET", path), paths * 6))


def check_database_outage(d: Deployment) -> None:
    article = "/articles/how-ketamine-works-glutamate-cascade/"
    for ip in WEB.values():
        prime(ip, "/", article)
    for path in ("/", article, "/glossary/"):
        d.site().request("GET", path)
    d.pg("stop")
    log("PostgreSQL stopped")
    for name, ip in WEB.items():
        answers = [Browser(ip, 8000).request("GET", article) for _ in range(4)]
        kept = [a for a in answers if a[0] == 200 and a[1]["Clinic-Notice"]]
        # A worker that never rendered the page has no copy: 503, never a 500.
        expect(
            kept and all(a[0] in (200, 503) for a in answers),
            f"{name} serves its kept article with the notice ({[a[0] for a in answers]})",
        )
        answers = [Browser(ip, 8000).request("GET", "/book/") for _ in range(3)]
        expect(
            all(a[0] == 503 and "Booking is briefly unavailable" in a[2] for a in answers)
            and any(NEW_PHONE in a[2] for a in answers)
            and not any(SAMPLE_PHONE in a[2] for a in answers),
            f"{name}: booking says it is briefly unavailable and gives the phone",
        )
        expect(Browser(ip, 8000).request("GET", "/healthz")[0] == 503, f"{name} /healthz is 503")
    statuses = [d.site().request("GET", path)[0] for path in ("/", article, "/glossary/")]
    expect(statuses == [200] * 3, f"through the proxy public pages are served ({statuses})")
    d.pg("start")
    log("PostgreSQL started")
    deadline = time.monotonic() + 60
    while Browser(WEB["web1"], 8000).request("GET", "/healthz")[0] != 200:
        if time.monotonic() > deadline:
            raise CheckFailed("web1 did not reconnect within 60 s")
        time.sleep(1)
    answers = [Browser(WEB["web2"], 8000).request("GET", article)[1] for _ in range(4)]
    expect(
        not any(h["Clinic-Notice"] for h in answers), "pages are fresh once the database answers"
    )
    sent = d.mail.received
    patient = CheckPatient(Browser(WEB["web2"], 8000), 400)
    patient.fetch_form()
    time.sleep(MIN_SECONDS + 0.2)
    expect(patient.submit(patient.slots[0])[0] == "booked", "booking works again")
    deadline = time.monotonic() + 90
    while d.mail.received < sent + 2 and time.monotonic() < deadline:
        time.sleep(1)
    expect(
        d.mail.received >= sent + 2,
        "the worker rode out the restart: it sent that booking's emails",
    )


def main() -> int:
    if sys.argv[1:] == ["client-ratelimit"]:
        client_ratelimit()
        return 0
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="clinic-compose-"))
    workdir.chmod(0o755)
    make_certificate(workdir / "tls")
    d = Deployment(workdir)
    ok = False
    try:
        d.boot(workdir / "tls")
        check_ports_and_tls(d)
        check_booking_race(d)
        check_rate_limit(d)
        check_admin_edit(d)
        check_backup_restore(d)
        check_reaper(d)
        check_database_outage(d)
        ok = True
    except CheckFailed as failure:
        log(f"FAIL: {failure}")
    finally:
        if not ok:
            for name in ("proxy", "web1", "web2", "worker", "scheduler"):
                log(f"--- {name} log (last 30 lines)")
                print("\n".join(d.logs(name).splitlines()[-30:]), file=sys.stderr)
        d.teardown()
        shutil.rmtree(workdir, ignore_errors=True)
    log(f"{'ok' if ok else 'FAILED'} in {time.monotonic() - started:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
