"""The TLS proxy compose runs in front of the app (docker/proxy): its real nginx, started by
its own entrypoint, in front of a small upstream that answers as the app's pages do and
reports what reached it. Skipped where nginx is missing, except in CI (.ci/run installs
it)."""

import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.conf import settings

ENTRYPOINT = Path(settings.BASE_DIR) / "docker/proxy/entrypoint.sh"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)

if NGINX is None and os.environ.get("CI") != "true":
    pytest.skip("nginx is not installed (apt-get install nginx-light)", allow_module_level=True)

# What each path answers with, as the app's pages do.
ANSWERS = {
    "/articles/kept/": {"Cache-Control": "public, max-age=60"},
    "/articles/stale/": {"Cache-Control": "public, max-age=1"},
    "/articles/cookie/": {"Cache-Control": "public, max-age=60", "Set-Cookie": "csrftoken=x"},
    "/book/": {"Cache-Control": "public, max-age=60"},  # wrongly public: never kept anyway
    "/private/": {"Cache-Control": "private, max-age=60"},
}


class Upstream(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen: list[dict] = []
        self.down = False


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the http.server name
        self.server.seen.append({"path": self.path, **dict(self.headers.items())})
        if self.server.down:
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = json.dumps({"answer": len(self.server.seen)}).encode()
        self.send_response(200)
        for name, value in ANSWERS.get(self.path.split("?")[0], {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run_dir() -> Path:
    # Run as root (CI), nginx's workers drop to nobody: they must reach this folder, which
    # pytest's own tmp_path (mode 0700) does not allow. The image runs as www-data.
    run = Path(tempfile.mkdtemp(prefix="clinic-proxy-"))
    run.chmod(0o755)
    return run


def _proxy_env(tmp_path, upstream_port, **extra) -> dict:
    return {
        **os.environ,
        "PATH": f"{os.environ.get('PATH', '')}:/usr/sbin",
        "CLINIC_SERVER_NAME": "127.0.0.1",
        "CLINIC_UPSTREAM": f"127.0.0.1:{upstream_port}",
        "CLINIC_PROXY_RUN": str(_run_dir()),
        "CLINIC_TLS_DIR": str(tmp_path / "tls"),
        **extra,
    }


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("proxy")
    tls = tmp_path / "tls"
    tls.mkdir()
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", "/CN=127.0.0.1", "-keyout", tls / "privkey.pem", "-out", tls / "fullchain.pem"],
        check=True,
        capture_output=True,
    )
    upstream = Upstream()
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    http_port, https_port = _free_port(), _free_port()
    env = _proxy_env(
        tmp_path,
        upstream.server_port,
        CLINIC_PROXY_HTTP_PORT=str(http_port),
        CLINIC_PROXY_HTTPS_PORT=str(https_port),
        CLINIC_HTTPS_ORIGIN=f"https://127.0.0.1:{https_port}",
    )
    nginx = subprocess.Popen(
        ["sh", str(ENTRYPOINT)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", https_port), timeout=1).close()
                break
            except OSError:
                assert nginx.poll() is None, nginx.stdout.read().decode()
                time.sleep(0.05)
        yield {"http": http_port, "https": https_port, "upstream": upstream, "nginx": nginx}
    finally:
        os.killpg(nginx.pid, signal.SIGTERM)
        log = nginx.communicate(timeout=10)[0].decode()
        upstream.shutdown()
        shutil.rmtree(env["CLINIC_PROXY_RUN"], ignore_errors=True)
        # The access log never carries a path or a query (manage links, searches).
        assert "/articles" not in log and "/book" not in log and "q=" not in log, log


def _get(proxy, path, *, tls=True, headers=None):
    if tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection("127.0.0.1", proxy["https"], context=context)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", proxy["http"])
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def _upstream_calls(proxy, path) -> int:
    return sum(1 for seen in proxy["upstream"].seen if seen["path"] == path)


def test_plain_http_is_redirected_to_https(proxy):
    status, headers, _ = _get(proxy, "/articles/kept/?page=2", tls=False)
    assert status == 308
    assert headers["Location"] == f"https://127.0.0.1:{proxy['https']}/articles/kept/?page=2"


def test_the_app_sees_the_client_address_and_https_never_a_forged_address(proxy):
    status, _, _ = _get(
        proxy, "/private/?who", headers={"X-Forwarded-For": "203.0.113.9", "Host": "clinic.test"}
    )
    assert status == 200
    seen = proxy["upstream"].seen[-1]
    assert seen["X-Forwarded-For"] == "127.0.0.1"  # replaced, not appended to
    assert seen["X-Forwarded-Proto"] == "https"
    assert seen["Host"] == "clinic.test"


def test_anonymous_public_pages_are_kept_as_their_cache_control_allows(proxy):
    first = _get(proxy, "/articles/kept/")
    second = _get(proxy, "/articles/kept/")
    assert (first[1]["X-Cache"], second[1]["X-Cache"]) == ("MISS", "HIT")
    assert first[2] == second[2] and _upstream_calls(proxy, "/articles/kept/") == 1
    # A browser that takes gzip has its own copy (the app compresses for it).
    gzip = _get(proxy, "/articles/kept/", headers={"Accept-Encoding": "gzip"})
    assert gzip[1]["X-Cache"] == "MISS"


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/articles/kept/?with-cookie", {"Cookie": "sessionid=staff"}),  # a visitor's session
        ("/articles/cookie/", {}),  # a response that sets a cookie
        ("/book/", {}),  # pages with patient data, whatever they say
        ("/private/", {}),  # private, as the app marks pages rendered for one person
    ],
)
def test_pages_with_a_cookie_a_session_or_patient_data_are_never_kept(proxy, path, headers):
    for _ in range(2):
        status, response_headers, _ = _get(proxy, path, headers=headers)
        assert status == 200 and response_headers["X-Cache"] in {"BYPASS", "MISS"}
    assert _upstream_calls(proxy, path) == 2


def test_a_kept_page_is_served_while_the_app_cannot_answer(proxy):
    status, _, body = _get(proxy, "/articles/stale/")
    assert status == 200
    proxy["upstream"].down = True
    try:
        # Past the copy's lifetime (here a second; nginx counts whole seconds), every
        # answer is still the kept page: fresh at first, then stale, never the 503.
        deadline = time.monotonic() + 4
        while True:
            status, headers, kept = _get(proxy, "/articles/stale/")
            assert (status, kept) == (200, body)
            if headers["X-Cache"] == "STALE" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        proxy["upstream"].down = False
    assert headers["X-Cache"] == "STALE"
    assert proxy["upstream"].seen[-1]["path"] == "/articles/stale/"  # it asked the app first


def test_the_proxy_refuses_to_start_without_a_certificate_unless_told_plain(tmp_path):
    env = _proxy_env(tmp_path, 9, CLINIC_PROXY_HTTP_PORT=str(_free_port()))
    refused = subprocess.run(["sh", str(ENTRYPOINT)], env=env, capture_output=True, text=True)
    assert refused.returncode == 1 and "CLINIC_PROXY_PLAIN_HTTP=1" in refused.stderr
    plain = subprocess.Popen(
        ["sh", str(ENTRYPOINT)],
        env={**env, "CLINIC_PROXY_PLAIN_HTTP": "1"},
        start_new_session=True,
    )
    try:
        time.sleep(0.5)
        assert plain.poll() is None  # serving
        site = (Path(env["CLINIC_PROXY_RUN"]) / "site.conf").read_text()
        assert "ssl" not in site and "return 308" not in site
    finally:
        os.killpg(plain.pid, signal.SIGTERM)
        plain.wait(timeout=10)
        shutil.rmtree(env["CLINIC_PROXY_RUN"], ignore_errors=True)
