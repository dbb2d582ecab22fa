"""The site's CSS: inlined in every page under a CSP hash, and only the rules it uses."""

import base64
import hashlib
import re
from pathlib import Path

import pytest
from django.conf import settings

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
    assert ".site-header" in css and ".btn-primary" in css and "@font-face" in css
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    sources = style_src(response)
    assert f"'sha256-{digest}'" in sources
    assert "'unsafe-inline'" not in sources


def test_a_style_element_that_is_not_ours_is_not_allowed(client):
    response = client.get("/")
    css = STYLE.findall(response.content.decode())[0]
    tampered = base64.b64encode(hashlib.sha256((css + "x").encode()).digest()).decode()
    assert f"'sha256-{tampered}'" not in style_src(response)


def test_fonts_are_preloaded_and_never_swapped_in_late():
    site_css = (settings.BASE_DIR / "static/css/site.css").read_text()
    faces = re.findall(r"@font-face\s*{[^}]*}", site_css)
    assert len(faces) == 2 and all("font-display: optional" in face for face in faces)


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
