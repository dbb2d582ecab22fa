"""Public pages: cacheable by anyone, kept per worker, and fresh after every content change."""

import datetime
import gzip
import os
import subprocess
import sys

import pytest
import time_machine
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.core.cache import caches
from django.db import OperationalError, connection
from django.db.models import F
from django.http import HttpResponse
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic import page_cache
from clinic.models import ClinicDetails
from clinic.page_cache import ContentVersion, content_version, content_version_forget
from education.models import Article, Contributor, GlossaryTerm, Topic
from tests.factories import AvailabilitySlotFactory, UserFactory

pytestmark = pytest.mark.django_db


def kept_pages() -> int:
    """How many pages this process keeps (Django's local-memory cache, looked into)."""
    return len(caches[page_cache.STORE]._cache)


def make_article(*, slug="how-it-works", title="How ketamine works", **fields) -> Article:
    topic, _ = Topic.objects.get_or_create(
        slug="basics", defaults={"name": "Basics", "description": "Where to start."}
    )
    person, _ = Contributor.objects.get_or_create(
        slug="dr-lee", defaults={"name": "Dr Lee", "credentials": "MD", "role": "Psychiatrist"}
    )
    values = {
        "title": title,
        "summary": "A short summary.",
        "body": "Ketamine acts on glutamate.",
        "body_html": "<p>Ketamine acts on glutamate.</p>",
        "topic": topic,
        "author": person,
        "reviewer": person,
        "status": Article.Status.PUBLISHED,
        "review_state": Article.ReviewState.APPROVED,
        "publish_at": timezone.now() - datetime.timedelta(days=1),
        "last_reviewed": timezone.localdate(),
    }
    return Article.objects.create(slug=slug, **(values | fields))


@pytest.fixture
def article():
    ClinicDetails.objects.cached()  # created on first use, which changes the version
    GlossaryTerm.objects.create(term="BDNF", slug="bdnf", definition="A growth protein.")
    return make_article()


def public_urls(article):
    return [
        reverse("home"),
        reverse("education:article_list"),
        reverse("education:topic_detail", args=[article.topic.slug]),
        article.get_absolute_url(),
        reverse("education:glossary"),
        reverse("education:feed"),
        reverse("education:sitemap"),
        reverse("education:robots_txt"),
        f"{reverse('education:search')}?q=ketamine",
    ]


def test_public_pages_are_publicly_cacheable_without_cookies(client, article):
    for url in public_urls(article):
        for _ in range(2):  # the first answer is rendered, the second is the kept copy
            response = client.get(url)
            assert response.status_code == 200, url
            assert response["Cache-Control"] == "public, max-age=60", url
            assert response["ETag"].startswith('"'), url
            assert "Cookie" not in response.get("Vary", ""), url
            assert not response.cookies, url


def test_browsers_that_accept_gzip_get_the_same_page_compressed(client, article):
    compressed = []
    for url in public_urls(article):
        plain = client.get(url)
        packed = client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
        assert "Accept-Encoding" in plain["Vary"] and "Accept-Encoding" in packed["Vary"], url
        assert not plain.has_header("Content-Encoding"), url
        if len(plain.content) < page_cache.GZIP_MIN_BYTES:
            assert not packed.has_header("Content-Encoding"), url
            continue
        assert packed["Content-Encoding"] == "gzip", url
        compressed.append(url)
        assert gzip.decompress(packed.content) == plain.content, url
        assert int(packed["Content-Length"]) == len(packed.content) < len(plain.content), url
        assert packed["ETag"] == f"W/{plain['ETag']}", url
        revalidate = {"Accept-Encoding": "gzip", "If-None-Match": packed["ETag"]}
        assert client.get(url, headers=revalidate).status_code == 304, url
    assert len(compressed) == len(public_urls(article)) - 1  # all but robots.txt


@pytest.mark.parametrize(
    "heads",
    [
        ["<style>a{}</style>", "<style>a{}</style>", "<style>b{}</style>", "<style>a{}</style>"],
        ["<p>no style</p>", "<style>a{}</style>", "<p>no style</p>"],
    ],
    ids=["heads that change", "pages without a stylesheet"],
)
def test_every_page_compresses_to_itself_whatever_its_head(rf, heads):
    # A head is compressed once and reused for the pages that share it.
    @page_cache.public_page
    def page(request):
        return HttpResponse(f"{heads[int(request.GET['n'])]}<main>{request.GET['n'] * 300}</main>")

    for n, head in enumerate(heads):
        response = page(rf.get("/", {"n": n}, HTTP_ACCEPT_ENCODING="gzip"))
        assert response["Content-Encoding"] == "gzip"
        assert gzip.decompress(response.content).decode() == f"{head}<main>{str(n) * 300}</main>"


@pytest.mark.parametrize(
    "parts",
    [
        [b"<head>" * 50, b"<p>page</p>"],
        [b"", b"x" * 70_000, b""],
        [b"<a>" * 30, b"<b>" * 30, b"<a>" * 30, b"\xe2\x80\x9cquoted\xe2\x80\x9d"],
    ],
    ids=["head and page", "empty and long parts", "parts compressed apart in between"],
)
def test_parts_compressed_apart_join_into_one_gzip_stream(parts):
    for kept in ((), (0,), (0, 2), range(len(parts))):
        mixed = [page_cache.deflated(p) if n in kept else p for n, p in enumerate(parts)]
        assert gzip.decompress(page_cache.gzip_joined(mixed)) == b"".join(parts)


def test_head_requests_get_the_same_headers_without_a_body(client, article):
    # Link checkers, uptime monitors and proxies ask with HEAD.
    for url in public_urls(article):
        response = client.head(url)
        assert response.status_code == 200, url
        assert response.content == b"", url
        assert response["Cache-Control"] == "public, max-age=60", url


def test_conditional_get_answers_304_and_a_changed_page_a_new_etag(client, article):
    for url in public_urls(article):
        etag = client.get(url)["ETag"]
        response = client.get(url, headers={"If-None-Match": etag})
        assert response.status_code == 304, url
        assert response.content == b""
        assert response["ETag"] == etag
        assert response["Cache-Control"] == "public, max-age=60"
    etag = client.get(article.get_absolute_url())["ETag"]
    article.title = "How ketamine works, revised"
    article.save()
    response = client.get(article.get_absolute_url(), headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert response["ETag"] != etag
    assert "How ketamine works, revised" in response.content.decode()


def test_kept_copy_costs_at_most_the_version_read(client, article, django_assert_num_queries):
    for url in public_urls(article):
        client.get(url)
        content_version_forget()
        with django_assert_num_queries(1):  # the content version, once a second
            assert client.get(url).status_code == 200, url
        with django_assert_num_queries(0):
            assert client.get(url).status_code == 200, url


def test_admin_edit_shows_on_the_next_request(admin_client, client, article):
    assert "BDNF" in client.get("/glossary/").content.decode()
    term = GlossaryTerm.objects.get(slug="bdnf")
    url = reverse("admin:education_glossaryterm_change", args=[term.pk])
    data = {"term": "BDNF", "slug": "bdnf", "definition": "A protein that helps nerve cells grow."}
    assert admin_client.post(url, data).status_code == 302
    assert "helps nerve cells grow" in client.get("/glossary/").content.decode()


def test_a_change_made_by_another_process_shows_within_a_second(client, article):
    # Another worker's save reaches this one only through the database: the same row
    # updates, with no signal run in this process.
    url = article.get_absolute_url()
    client.get(url)
    Article.objects.filter(pk=article.pk).update(title="Changed elsewhere")
    ContentVersion.objects.filter(pk=1).update(value=F("value") + 1)
    with time_machine.travel(timezone.now() + datetime.timedelta(seconds=1.5)):
        assert "Changed elsewhere" in client.get(url).content.decode()


@override_settings(CLINIC_CONTENT_VERSION_SECONDS=0)
def test_with_no_delay_another_process_change_shows_on_the_next_request(client, article):
    client.get(article.get_absolute_url())
    Article.objects.filter(pk=article.pk).update(title="Changed elsewhere")
    ContentVersion.objects.filter(pk=1).update(value=F("value") + 1)
    assert "Changed elsewhere" in client.get(article.get_absolute_url()).content.decode()


def test_every_content_change_raises_the_version(article):
    before = content_version()
    article.related.add(make_article(slug="second", title="Second"))
    after_link = content_version()
    ClinicDetails.objects.cached().save()
    after_details = content_version()
    GlossaryTerm.objects.get(slug="bdnf").delete()
    assert before < after_link < after_details < content_version()


def test_the_version_row_is_recreated_if_missing(article):
    ContentVersion.objects.all().delete()
    assert content_version() == 0
    ContentVersion.objects.bump()
    assert content_version() == 1


def test_clinic_details_change_shows_on_every_page(client, article):
    client.get("/articles/")
    ClinicDetails.objects.filter(pk=1).update(phone="(555) 010-7777")
    ContentVersion.objects.bump()  # what the admin's save does
    assert "(555) 010-7777" in client.get("/articles/").content.decode()


def test_scheduled_article_appears_within_a_minute_of_its_time(client, article):
    when = timezone.now() + datetime.timedelta(seconds=30)
    make_article(slug="later", title="Coming later", publish_at=when)
    assert "Coming later" not in client.get("/articles/").content.decode()
    with time_machine.travel(when + datetime.timedelta(seconds=page_cache.COPY_SECONDS)):
        assert "Coming later" in client.get("/articles/").content.decode()


def test_visitor_with_a_session_gets_a_private_fresh_page(client, article):
    client.get(article.get_absolute_url())
    client.cookies["sessionid"] = "anything"
    response = client.get(article.get_absolute_url())
    assert response["Cache-Control"] == "private, no-cache"
    assert "ETag" not in response


def test_visitor_with_a_message_gets_a_private_page(client, article):
    client.cookies["messages"] = "anything"
    assert client.get("/").headers["Cache-Control"] == "private, no-cache"


def test_staff_preview_is_never_cacheable_nor_kept(client, article):
    draft = make_article(slug="draft", title="Draft", status=Article.Status.DRAFT)
    client.force_login(UserFactory(is_superuser=True))
    assert client.get(draft.get_absolute_url()).status_code == 404  # public: never a draft
    response = client.get(reverse("admin:education_article_preview", args=[draft.pk]))
    assert response.status_code == 200
    assert "private" in response["Cache-Control"] and "no-store" in response["Cache-Control"]
    client.logout()
    client.cookies.clear()
    assert client.get(draft.get_absolute_url()).status_code == 404
    assert kept_pages() == 0


def test_missing_pages_are_not_kept(client, article):
    assert client.get("/articles/no-such-article/").status_code == 404
    assert kept_pages() == 0


def test_each_host_gets_its_own_copy(client, article):
    # Canonical links name the host, so a copy made for one host must not serve another.
    first = client.get("/", headers={"Host": "127.0.0.1"}).content.decode()
    second = client.get("/", headers={"Host": "localhost"}).content.decode()
    assert "http://127.0.0.1/" in first and "http://localhost/" in second


def test_copies_are_bounded_and_the_least_recently_used_goes_first(
    client, article, settings, django_assert_num_queries
):
    store = settings.CACHES[page_cache.STORE]
    settings.CACHES = {**settings.CACHES, page_cache.STORE: {**store, "OPTIONS": {
        "MAX_ENTRIES": 3, "CULL_FREQUENCY": 3
    }}}  # fmt: skip
    for word in ["ketamine", "glutamate", "sleep"]:
        client.get(f"/search/?q={word}")
    client.get("/search/?q=ketamine")  # read again: now the most recently used
    client.get("/search/?q=nausea")  # one too many: "glutamate" goes
    assert kept_pages() == 3
    content_version()
    with django_assert_num_queries(0):
        assert client.get("/search/?q=ketamine").status_code == 200
    with CaptureQueriesContext(connection) as rendered:
        assert client.get("/search/?q=glutamate").status_code == 200
    assert len(rendered) > 0  # rendered again


def test_the_page_store_keeps_values_as_given_not_copies():
    # Django's local-memory cache unpickles a new copy on every get; a kept page is never
    # changed once stored, so the store hands back the very object it was given.
    store, page = caches[page_cache.STORE], object()
    store.set("page", page)
    assert store.get("page") is page and store.get("page") is page


def test_the_page_store_expires_adds_and_counts_as_django_local_memory_does():
    store = caches[page_cache.STORE]
    store.set("gone", b"page", timeout=-1)
    assert store.get("gone", "default") == "default"
    assert store.add("new", 1) and not store.add("new", 2)
    assert store.incr("new", 4) == 5 and store.get("new") == 5
    with pytest.raises(ValueError, match="not found"):
        store.incr("absent")


@override_settings(CLINIC_PAGE_CACHE=False)
def test_switched_off_pages_keep_their_headers_but_no_copy(client, article):
    response = client.get("/")
    assert response["Cache-Control"] == "public, max-age=60" and response["ETag"]
    assert kept_pages() == 0


def test_without_a_database_the_version_is_unknown(monkeypatch):
    def unreachable():
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", unreachable)
    assert content_version() is None


def test_serving_public_pages_never_imports_textstat():
    """textstat costs a web worker ~100 MB; only saving an article may import it."""
    script = """
import sys
import django
from django.conf import settings
from django.test.utils import setup_test_environment
django.setup()
setup_test_environment()
from django.core.management import call_command
from django.test import Client
call_command("migrate", verbosity=0, run_syncdb=True)
from tests.clinic.test_page_cache import make_article, public_urls
article = make_article()
client = Client()
for url in public_urls(article):
    assert client.get(url).status_code == 200, url
print("textstat" in sys.modules)
"""
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "clinic.settings_test",
        "DATABASE_URL": "sqlite://:memory:",
    }
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_version_is_read_once_per_second(client, article):
    content_version_forget()
    with CaptureQueriesContext(connection) as queries:
        client.get("/glossary/")  # rendered: the page and the clinic details both need it
        client.get("/articles/")
    reads = [q for q in queries.captured_queries if "clinic_contentversion" in q["sql"]]
    assert len(reads) == 1
    before = content_version()
    ContentVersion.objects.filter(pk=1).update(value=F("value") + 1)
    assert content_version() == before
    with time_machine.travel(timezone.now() + datetime.timedelta(seconds=1.5)):
        assert content_version() == before + 1


def test_booking_pages_are_never_publicly_cacheable(client):
    response = client.get(reverse("consultations:book"))
    assert response.status_code == 200
    assert "private" in response["Cache-Control"] and "no-store" in response["Cache-Control"]
    assert "public" not in response["Cache-Control"]


def test_only_the_models_public_pages_show_raise_the_version(article):
    before = content_version()
    AvailabilitySlotFactory()
    assert content_version() == before


def _anonymous_request(rf):
    request = rf.get("/")
    SessionMiddleware(lambda r: None).process_request(request)
    AuthenticationMiddleware(lambda r: None).process_request(request)
    return request


@pytest.mark.parametrize(
    "use",
    [
        lambda request: request.session.get("seen"),
        lambda request: request.session.__setitem__("seen", True),
        lambda request: "seen" in request.session,
        lambda request: request.user.is_authenticated,
    ],
    ids=["read", "write", "look-up", "signed-in user"],
)
def test_a_public_page_that_uses_the_session_fails_loudly(rf, use):
    @page_cache.public_page
    def page(request):
        use(request)
        return HttpResponse("Hello")

    request = _anonymous_request(rf)
    with pytest.raises(page_cache.PublicPageUsedSession, match="page is a public page"):
        page(request)
    request.session["after"] = True  # the real session is back for the middleware
