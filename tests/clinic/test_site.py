"""The site frame, health check, error pages and security headers, seen over HTTP."""

import os
import re
import subprocess
import sys
from datetime import timedelta

import pytest
import time_machine
from django.db import OperationalError, connection
from django.test import override_settings
from django.urls import include, path, reverse, set_script_prefix
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from clinic.models import ClinicDetails
from clinic.services import heartbeat_record
from consultations.tasks import send_consultation_request_emails
from tests.factories import ConsultationRequestFactory, UserFactory

pytestmark = pytest.mark.django_db


def _boom(request):
    raise RuntimeError("deliberate failure for the 500 page")


handler500 = "clinic.views.server_error"
urlpatterns = [path("boom/", _boom), path("", include("clinic.urls"))]


def test_home_has_frame_crisis_notice_and_disclaimer(client):
    response = client.get(reverse("home"))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'href="#main"' in html and 'id="main"' in html
    assert "<header" in html and "<footer" in html and 'aria-label="Main"' in html
    assert "call or text 988" in html and "911" in html and "not for emergencies" in html
    assert "education, not medical advice" in html
    assert "<title>Ketamine treatment for depression, explained – " in html


def test_the_frame_links_follow_the_address_the_site_is_mounted_at(client):
    # The frame's addresses are looked up once per process, so also once per mount point.
    html = client.get(reverse("education:glossary")).content.decode()
    assert 'href="/articles/"' in html and 'action="/search/"' in html
    url = reverse("education:article_list")
    set_script_prefix("/clinic/")  # as gunicorn's SCRIPT_NAME sets it for a request
    try:
        response = client.get(url)
    finally:
        set_script_prefix("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'href="/clinic/articles/"' in html and 'action="/clinic/search/"' in html
    assert 'href="/articles/"' not in html and 'href="/clinic/feed/"' in html
    html = client.get(reverse("home")).content.decode()
    assert 'href="/articles/"' in html


def test_clinic_details_edited_in_admin_show_on_next_page(admin_client, client):
    client.get(reverse("home"))  # warms the cache
    glossary = client.get(reverse("education:glossary")).content.decode()
    assert "(555) 010-0199" in glossary.split("<footer")[1]
    url = reverse("admin:clinic_clinicdetails_change", args=[1])
    form = admin_client.get(url).context["adminform"].form
    notice = "Call or text 988, or call 911, at any hour."
    data = {**form.initial, "phone": "(555) 010-4242", "name": "Harbor Clinic"}
    response = admin_client.post(url, data | {"crisis_notice": notice})
    assert response.status_code == 302
    html = client.get(reverse("home")).content.decode()
    assert "(555) 010-4242" in html and "Harbor Clinic" in html
    # The footer and the crisis notice, the same on every page, change everywhere.
    glossary = client.get(reverse("education:glossary")).content.decode()
    footer = glossary.split("<footer")[1]
    assert "(555) 010-4242" in footer and "(555) 010-0199" not in footer
    assert "tel:+15550104242" in footer and "Contact Harbor Clinic" in footer
    assert f"<strong>In crisis?</strong> {notice}" in glossary


def test_clinic_details_cannot_be_deleted_or_duplicated(admin_client):
    ClinicDetails.objects.cached()
    assert admin_client.get(reverse("admin:clinic_clinicdetails_add")).status_code == 403
    assert admin_client.get(reverse("admin:clinic_clinicdetails_changelist")).status_code == 200
    delete = reverse("admin:clinic_clinicdetails_delete", args=[1])
    assert admin_client.get(delete).status_code == 403


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "worker_last_seen_seconds": None,
        "scheduler_last_seen_seconds": None,
        "oldest_pending_email_seconds": None,
    }
    assert "no-cache" in response["Cache-Control"]


def test_healthz_reports_heartbeats_and_the_oldest_pending_email(client, settings):
    """Numbers for monitoring, never patient data; a stopped worker does not make the web
    replica unhealthy (the status stays 200)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    now = timezone.now()
    request = ConsultationRequestFactory()
    heartbeat_record(name="worker", at=now - timedelta(seconds=40))
    heartbeat_record(name="worker", at=now - timedelta(seconds=20))
    heartbeat_record(name="scheduler", at=now - timedelta(minutes=3))
    with time_machine.travel(now - timedelta(minutes=5)):
        send_consultation_request_emails.enqueue(request.pk)
    with time_machine.travel(now, tick=False):
        response = client.get("/healthz")

    assert response.status_code == 200
    report = response.json()
    assert report["worker_last_seen_seconds"] == 20
    assert report["scheduler_last_seen_seconds"] == 180
    assert report["oldest_pending_email_seconds"] == 300
    text = response.content.decode()
    assert request.reference not in text and request.email not in text


def test_healthz_counts_a_delayed_email_from_when_it_fell_due(client, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    now = timezone.now()
    with time_machine.travel(now - timedelta(minutes=5)):
        send_consultation_request_emails.using(run_after=now - timedelta(minutes=1)).enqueue(1)
        send_consultation_request_emails.using(run_after=now + timedelta(hours=1)).enqueue(2)
    with time_machine.travel(now, tick=False):
        report = client.get("/healthz").json()
    assert report["oldest_pending_email_seconds"] == 60


def test_the_tasks_healthz_counts_are_indexed():
    """/healthz and fail_stranded_tasks read only waiting and running tasks, through an
    index of their own (migration clinic 0006), never every finished task."""
    with connection.cursor() as cursor:
        indexes = connection.introspection.get_constraints(cursor, DBTaskResult._meta.db_table)
    assert indexes["clinic_pending_task_idx"]["columns"] == ["enqueued_at"]


def test_healthz_503_when_database_unreachable(client, monkeypatch):
    def unreachable():
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", unreachable)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


PUBLIC_PAGES = [
    "/",
    "/articles/",
    "/articles/security-check/",
    "/topics/security-topic/",
    "/glossary/",
    "/search/?q=BDNF",
    "/feed/",
    "/sitemap.xml",
    "/book/",
    "/no-such-page/",
]


@pytest.mark.parametrize("url", PUBLIC_PAGES)
def test_security_headers_on_every_public_page(client, url):
    from tests.factories import ArticleFactory

    ArticleFactory(slug="security-check", topic__slug="security-topic")
    response = client.get(url)
    assert response.status_code == (404 if url == "/no-such-page/" else 200)
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert "camera=()" in response["Permissions-Policy"]


@override_settings(SECURE_SSL_REDIRECT=True, SECURE_HSTS_SECONDS=31536000)
def test_https_redirect_and_hsts(client):
    assert client.get(reverse("home")).status_code == 301
    assert client.get("/healthz").status_code == 200  # probes speak plain HTTP
    secure = client.get(reverse("home"), secure=True)
    assert "max-age=31536000" in secure["Strict-Transport-Security"]


def test_pages_reference_no_other_origin(client):
    html = client.get(reverse("home")).content.decode()
    urls = re.findall(r'(?:src|href|action)="([^"]+)"', html)
    assert urls
    # Absolute links to this same site (canonical URL) are fine; other origins are not.
    others = [u for u in urls if re.match(r"(https?:)?//", u)]
    assert [u for u in others if not u.startswith("http://testserver/")] == []


def test_styled_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
    assert "988" in response.content.decode()


@override_settings(ROOT_URLCONF=__name__)
def test_styled_500_keeps_crisis_notice(client):
    client.raise_request_exception = False
    response = client.get("/boom/")
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()
    assert "988" in response.content.decode()


def test_error_templates_403_429_render(rf):
    from django.template.loader import render_to_string

    from clinic.views import rate_limited

    assert "Not allowed" in render_to_string("403.html", {"clinic": ClinicDetails()})
    response = rate_limited(rf.get("/"))
    assert response.status_code == 429 and "Too many tries" in response.content.decode()


def test_create_local_staff_is_idempotent(capsys):
    from django.core.management import call_command

    call_command("create_local_staff")
    first = capsys.readouterr().out
    assert "password:" in first
    call_command("create_local_staff")
    assert "already exists" in capsys.readouterr().out
    assert UserFactory._meta.model.objects.filter(is_superuser=True).count() == 1


def test_production_refuses_to_start_without_secret_key():
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env |= {"DJANGO_SETTINGS_MODULE": "clinic.settings", "DJANGO_DEBUG": "0"}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://clinic@db:5432/clinic", 3),
        ("postgres://clinic@db:5432/clinic?connect_timeout=10", 10),
    ],
)
def test_postgresql_connections_give_up_on_a_database_host_that_is_gone(url, expected):
    """Found booting the compose shape: with the db container stopped, pages hung for ever
    on connect instead of being served from their kept copies (README, "While the
    database is down")."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    env |= {"DJANGO_SETTINGS_MODULE": "clinic.settings", "DJANGO_DEBUG": "1", "DATABASE_URL": url}
    code = "from django.conf import settings; print(settings.DATABASES['default']['OPTIONS'])"
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"'connect_timeout': {expected}" in result.stdout


def test_footer_leads_to_feed_sitemap_glossary_and_search(client):
    from tests.factories import ArticleFactory

    ArticleFactory()
    html = client.get(reverse("home")).content.decode()
    for name in ["feed", "sitemap", "glossary", "search", "article_list"]:
        url = reverse(f"education:{name}")
        assert f'href="{url}"' in html, name
        assert client.get(url).status_code == 200, name
