"""Article images beyond the usual photo: formats Pillow reads but the site does not serve,
transparency, an image's text edited, and deleting an image nobody uses."""

import io

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from education.models import ArticleImage
from tests.education.browser_form import submitted_fields
from tests.education.test_images import editor, photo, upload  # noqa: F401 - a fixture
from tests.factories import ArticleFactory
from tests.page_forms import form_with_button

pytestmark = pytest.mark.django_db


def encoded(image: Image.Image, fmt: str, name: str) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return SimpleUploadedFile(name, buffer.getvalue())


def test_an_image_pillow_reads_but_the_site_does_not_serve_is_refused(editor):  # noqa: F811
    gif = encoded(Image.new("RGB", (800, 600), "teal"), "GIF", "animation.jpg")
    response = upload(editor, gif)
    assert response.status_code == 200
    assert "This file is not a JPEG, PNG or WebP image." in response.content.decode()
    assert not ArticleImage.objects.exists()


def test_a_transparent_image_is_laid_on_white_not_black(editor):  # noqa: F811
    # A transparent canvas with an opaque dark-red square in the middle.
    image = Image.new("RGBA", (600, 400), (0, 0, 0, 0))
    image.paste((120, 0, 0, 255), (250, 150, 350, 250))
    assert upload(editor, encoded(image, "PNG", "logo.png")).status_code == 302
    stored = ArticleImage.objects.get()
    with default_storage.open(stored.rendition_name(600, "jpg")) as file:
        jpeg = Image.open(file).convert("RGB")
        corner, middle = jpeg.getpixel((5, 5)), jpeg.getpixel((300, 200))
    assert min(corner) > 245  # white where it was transparent
    assert middle[0] > 100 and middle[1] < 30  # the square kept its colour


def test_deleting_an_unused_image_removes_every_file_it_served(editor):  # noqa: F811
    assert upload(editor, photo()).status_code == 302
    image = ArticleImage.objects.get()
    names = image.rendition_names()
    assert len(names) == 6 and all(default_storage.exists(name) for name in names)
    url = reverse("admin:education_articleimage_delete", args=[image.pk])
    form = form_with_button(editor.get(url).content.decode(), "Yes, I’m sure")
    response = editor.post(url, form.submission("Yes, I’m sure"))
    assert response.status_code == 302
    assert not ArticleImage.objects.exists()
    assert not any(default_storage.exists(name) for name in names)


def test_a_stored_images_text_is_edited_without_touching_its_files(editor):  # noqa: F811
    assert upload(editor, photo()).status_code == 302
    image = ArticleImage.objects.get()
    files = image.rendition_names()
    url = reverse("admin:education_articleimage_change", args=[image.pk])
    form = form_with_button(editor.get(url).content.decode(), "Save")
    data = form.submission("Save", typed={"alt_text": "A bright waiting room."})
    assert editor.post(url, data).status_code == 302
    image.refresh_from_db()
    assert image.alt_text == "A bright waiting room."
    assert image.rendition_names() == files
    assert all(default_storage.exists(name) for name in files)


def test_an_image_set_from_another_site_is_named_and_refused(editor):  # noqa: F811
    article = ArticleFactory(draft=True)
    body = '<img src="/static/a.png" srcset="https://evil.example/a.png 2x" alt="">'
    url = reverse("admin:education_article_change", args=[article.pk])
    response = editor.post(url, submitted_fields(editor.get(url).content.decode(), body=body))
    assert response.status_code == 200
    html = response.content.decode()
    assert "an image from another site (https://evil.example/a.png 2x)" in html
    article.refresh_from_db()
    assert article.body != body


@pytest.mark.parametrize(
    "name", ["calm-room-0123456789ab-480.webp", "calm-room.webp", "..%2Fsettings.py"]
)
def test_an_image_file_that_is_not_stored_is_not_found(client, name):
    assert client.get(f"/media/article-images/{name}").status_code == 404
