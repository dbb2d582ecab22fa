"""Staff input that once broke pages: control characters, missing images, read-only
inlines, ids that clash with the page frame, and image addresses that leave the site."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils.html import escape

from education.rendering import PAGE_IDS, render_markdown, sanitize
from tests.education.browser_form import submitted_fields
from tests.factories import ArticleFactory

pytestmark = pytest.mark.django_db


def change_url(article):
    return reverse("admin:education_article_change", args=[article.pk])


def save(client, article, **changes):
    page = client.get(change_url(article)).content.decode()
    return client.post(change_url(article), submitted_fields(page, **changes))


@pytest.mark.parametrize("field", ["title", "summary", "key_takeaways", "body"])
def test_control_characters_are_refused_with_a_message(admin_client, field):
    article = ArticleFactory(draft=True)
    response = save(admin_client, article, **{field: "Plain words\x0bwith a control character"})
    assert response.status_code == 200
    assert "invisible control character" in response.content.decode()
    assert admin_client.get(reverse("education:feed")).status_code == 200


def test_feed_survives_a_control_character_saved_before_the_rule(client):
    ArticleFactory(summary="Saved long ago\x0c with a form feed.")
    response = client.get(reverse("education:feed"))
    assert response.status_code == 200
    assert "Saved long ago with a form feed." in response.content.decode()


def test_a_missing_static_image_is_refused_with_a_message(admin_client):
    article = ArticleFactory(draft=True)
    response = save(admin_client, article, body="Words.\n\n![x](static:missing.svg)")
    assert response.status_code == 200
    assert "static:missing.svg" in response.content.decode()
    assert "is not one of the site&#x27;s images" in response.content.decode()


def test_a_missing_image_renders_without_failing_under_the_production_manifest(settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    settings.STATIC_ROOT = settings.BASE_DIR / "no-collected-files-here"
    rendered = render_markdown("![x](static:missing.svg)")
    assert rendered.missing_images == ["static:missing.svg"]
    assert "missing.svg" not in rendered.html


@pytest.mark.parametrize(
    "src",
    ["/\\evil.example/x", "//evil.example/x", "/\t/evil.example/x", "https://evil.example/x"],
)
def test_images_cannot_leave_the_site(src):
    assert "evil.example" not in sanitize(f'<img src="{src}" alt="x">')


def test_own_images_stay():
    assert sanitize('<img src="/static/education/x.svg" alt="x">') == (
        '<img src="/static/education/x.svg" alt="x">'
    )


@pytest.mark.parametrize("page_id", ["main", "article-faq", "footer-site"])
def test_body_ids_never_clash_with_the_page_frame(page_id):
    raw = render_markdown(f'<h2 id="{page_id}">Raw</h2>\n\n# {page_id.replace("-", " ")}').html
    assert f'id="{page_id}"' not in raw


def test_page_ids_list_every_id_the_templates_use():
    """The article page: the site frame and the education templates."""
    templates = Path(settings.BASE_DIR) / "templates"
    paths = [templates / "base.html", *templates.glob("includes/*.html")]
    paths += (templates / "education").rglob("*.html")
    used = {
        match
        for path in paths
        for match in re.findall(r'\bid="([a-z][a-z0-9_-]*)"', path.read_text())
    }
    assert "main" in used
    assert used <= PAGE_IDS, used - PAGE_IDS


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ("Words.\n\n![A scan](https://evil.example/scan.png)", "an image from another site"),
        ("Words.\n\n<script>alert(1)</script>", "a &lt;script&gt; element"),
        ('<p style="color: red">In red.</p>', "the style attribute of &lt;p&gt;"),
        ('<p onclick="steal()">Click</p>', "the onclick attribute of &lt;p&gt;"),
        ("[Click](javascript:alert(1))", "a link to javascript:"),
        ('<iframe src="https://video.example/x"></iframe>', "a &lt;iframe&gt; element"),
    ],
)
def test_what_the_sanitizer_would_remove_is_named_and_refused(admin_client, body, named):
    article = ArticleFactory(draft=True)
    response = save(admin_client, article, body=body)
    html = response.content.decode()
    assert response.status_code == 200, "saved although the page would differ"
    assert "would not appear on the page" in html and named in html
    article.refresh_from_db()
    assert article.body != body
    assert escape(body) in html  # what was typed stays in the box


def test_markdown_the_site_allows_is_saved(admin_client):
    article = ArticleFactory(draft=True)
    body = (
        "## Heading\n\nSome *words* and a [link](https://www.fda.gov/).\n\n"
        "| Left | Right |\n|:-----|------:|\n| a | b |\n\n"
        "![A diagram](static:education/diagrams/glutamate-cascade.svg)"
    )
    response = save(admin_client, article, body=body)
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.body == body.replace("\n", "\r\n") or article.body == body
