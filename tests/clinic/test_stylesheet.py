"""The site's CSS: inlined in every page under a CSP hash, and only the rules it uses."""

import base64
import hashlib
import re
from pathlib import Path

import pytest
from csp.middleware import CSPMiddleware
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from clinic.stylesheet import InlineStylesheetCSPMiddleware
from tests.clinic.test_site import PUBLIC_PAGES
from tests.factories import ArticleFactory

pytestmark = pytest.mark.django_db

STYLE = re.compile(r"<style>(.*?)</style>", re.S)
FULL_BOOTSTRAP = settings.BASE_DIR / "assets/bootstrap/bootstrap.min.css"
SHIPPED_BOOTSTRAP = settings.BASE_DIR / "static/vendor/bootstrap/bootstrap.purged.css"


def style_src(response) -> list[str]:
    policy = dict(
        part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";")
    )
    return policy["style-src"].split()


HTML_PAGES = [url for url in PUBLIC_PAGES if url not in {"/feed/", "/sitemap.xml"}]


@pytest.mark.parametrize("url", HTML_PAGES)
def test_every_page_inlines_its_css_allowed_by_its_hash_alone(client, url):
    ArticleFactory(slug="security-check", topic__slug="security-topic")
    response = client.get(url)
    html = response.content.decode()
    # Nothing render-blocking: the only linked stylesheet is the print one.
    links = re.findall(r"<link[^>]+rel=\"stylesheet\"[^>]*>", html)
    assert all('media="print"' in link for link in links), links
    (css,) = STYLE.findall(html)
    assert ".site-header" in css and ".btn-primary" in css
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    sources = style_src(response)
    assert f"'sha256-{digest}'" in sources
    assert "'unsafe-inline'" not in sources


def test_a_style_element_that_is_not_ours_is_not_allowed(client):
    response = client.get("/")
    css = STYLE.findall(response.content.decode())[0]
    tampered = base64.b64encode(hashlib.sha256((css + "x").encode()).digest()).decode()
    assert f"'sha256-{tampered}'" not in style_src(response)


def test_pages_download_no_font(client):
    # The system's own font: nothing to fetch on a first visit, nothing to swap in late.
    html = client.get("/").content.decode()
    (css,) = STYLE.findall(html)
    assert "@font-face" not in css and "system-ui" in css
    assert 'rel="preload"' not in html and ".woff" not in html


def _template_classes() -> set[str]:
    classes = set()
    for template in Path(settings.BASE_DIR / "templates").rglob("*.html"):
        for value in re.findall(r'class="([^"]*)"', template.read_text()):
            value = re.sub(r"{[{%].*?[}%]}", " ", value)  # template tags build no class here
            classes.update(value.split())
    return classes


def test_every_bootstrap_class_a_template_uses_is_shipped():
    # A template that starts using another Bootstrap class needs `make css` run again.
    full, shipped = FULL_BOOTSTRAP.read_text(), SHIPPED_BOOTSTRAP.read_text()
    selector = r"\.{}(?![\w-])"
    missing = [
        name
        for name in sorted(_template_classes())
        if re.search(selector.format(re.escape(name)), full)
        and not re.search(selector.format(re.escape(name)), shipped)
    ]
    assert missing == [], f"run `make css`: {missing}"


def test_shipped_bootstrap_is_a_fraction_of_the_full_one():
    assert SHIPPED_BOOTSTRAP.stat().st_size < FULL_BOOTSTRAP.stat().st_size / 5


def _policy_as_django_csp_builds_it(path: str) -> str:
    request = HttpRequest()
    request.path_info = path
    probe = CSPMiddleware.process_response(
        InlineStylesheetCSPMiddleware(HttpResponse), request, HttpResponse()
    )
    return probe["Content-Security-Policy"]


def test_a_page_nothing_changed_gets_the_policy_django_csp_would_build(client, settings):
    settings.DEBUG = False
    for _ in range(2):  # the second answer comes from the policy built once
        response = client.get("/")
        assert response["Content-Security-Policy"] == _policy_as_django_csp_builds_it("/")


def test_a_view_that_changes_its_policy_still_gets_its_change(admin_client, settings):
    settings.DEBUG = False
    article = ArticleFactory()
    admin_client.get("/")  # the unchanged policy is built and kept first
    response = admin_client.get(f"/admin/education/article/{article.pk}/history/")
    assert response.status_code == 200
    assert "'unsafe-hashes'" in style_src(response)
    assert "'unsafe-hashes'" not in style_src(admin_client.get("/"))
