"""Static assets as production serves them: hashed names, brotli, cached for a year."""

import re

import pytest
from django.core.management import call_command
from django.test import RequestFactory, override_settings
from whitenoise.middleware import WhiteNoiseMiddleware

from tests.factories import ArticleFactory

PRODUCTION_STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("staticfiles")
    with override_settings(
        STATIC_ROOT=tmp_path, STORAGES=PRODUCTION_STORAGES, WHITENOISE_AUTOREFRESH=False
    ):
        call_command("collectstatic", "--noinput", verbosity=0)
        yield tmp_path


def test_collectstatic_hashes_and_compresses_css(collected):
    css = [p.name for p in (collected / "css").iterdir()]
    hashed = [n for n in css if re.fullmatch(r"site\.[0-9a-f]{12}\.css", n)]
    assert hashed and f"{hashed[0]}.br" in css and f"{hashed[0]}.gz" in css


def test_whitenoise_serves_brotli_with_a_year_of_caching(collected):
    name = next(
        p.name for p in (collected / "css").iterdir() if re.match(r"site\.\w+\.css$", p.name)
    )
    with override_settings(STATIC_ROOT=collected, WHITENOISE_AUTOREFRESH=False):
        middleware = WhiteNoiseMiddleware(lambda request: None)
        request = RequestFactory().get(f"/static/css/{name}", HTTP_ACCEPT_ENCODING="gzip, br")
        response = middleware(request)
    assert response.status_code == 200
    assert response["Content-Encoding"] == "br"
    max_age = int(re.search(r"max-age=(\d+)", response["Cache-Control"]).group(1))
    assert max_age >= 365 * 24 * 3600 and "immutable" in response["Cache-Control"]


def _served(collected, url: str):
    with override_settings(STATIC_ROOT=collected, WHITENOISE_AUTOREFRESH=False):
        middleware = WhiteNoiseMiddleware(lambda request: None)
        return middleware(RequestFactory().get(url, HTTP_ACCEPT_ENCODING="gzip, br"))


def _cached_for_good(response) -> bool:
    max_age = int(re.search(r"max-age=(\d+)", response["Cache-Control"]).group(1))
    return max_age >= 365 * 24 * 3600 and "immutable" in response["Cache-Control"]


@pytest.mark.django_db
def test_diagrams_on_a_page_are_hashed_and_cached_for_good(collected, client):
    article = ArticleFactory(
        slug="diagram", body="![Four steps](static:education/diagrams/glutamate-cascade.svg)"
    )
    with override_settings(STATIC_ROOT=collected, STORAGES=PRODUCTION_STORAGES):
        html = client.get(article.get_absolute_url()).content.decode()
    images = re.findall(r'<img [^>]*src="(/static/[^"]+)"', html)
    assert images == ["/static/" + _hashed(collected, "education/diagrams/glutamate-cascade.svg")]
    for url in images:
        assert re.search(r"\.[0-9a-f]{12}\.\w+$", url), url
        response = _served(collected, url)
        assert response.status_code == 200 and _cached_for_good(response), url


def _hashed(collected, name: str) -> str:
    import json

    return json.loads((collected / "staticfiles.json").read_text())["paths"][name]
