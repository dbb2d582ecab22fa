"""Article images: editors upload them in the admin; the site checks each file by its
content, strips its metadata (GPS included), makes WebP and JPEG at a few widths once, at
upload, and articles show them with srcset, width and height."""

import io

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from education.models import ArticleImage
from tests.education.browser_form import submitted_fields
from tests.factories import ArticleFactory, role_member

pytestmark = pytest.mark.django_db

ADD = reverse("admin:education_articleimage_add")
GPS_IFD = 0x8825


@pytest.fixture
def editor():
    client = Client()
    client.force_login(role_member("Content editors"))
    return client


def photo(width=2000, height=1200, fmt="JPEG", *, gps=True, name="photo.jpg") -> SimpleUploadedFile:
    image = Image.new("RGB", (width, height), (40, 120, 90))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # camera make
    if gps:
        exif[GPS_IFD] = {1: "N", 2: (40.0, 44.0, 54.0), 3: "W", 4: (73.0, 59.0, 9.0)}
    buffer = io.BytesIO()
    image.save(buffer, fmt, exif=exif.tobytes()) if fmt != "PNG" else image.save(buffer, fmt)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def upload(client, file, **fields):
    page = client.get(ADD).content.decode()
    typed = {
        "key": "calm-room",
        "alt_text": "A quiet treatment room with a reclining chair and a window.",
        "caption": "One of our treatment rooms.",
        "credit": "Clinic staff",
    }
    data = submitted_fields(page, **(typed | fields))
    return client.post(ADD, {**data, "upload": file})


def test_an_upload_is_stored_at_a_few_widths_as_webp_and_jpeg_without_metadata(editor):
    response = upload(editor, photo())
    assert response.status_code == 302, response.context["adminform"].form.errors
    image = ArticleImage.objects.get()
    assert (image.width, image.height) == (1440, 864)
    assert image.widths == [480, 960, 1440]
    for width in image.widths:
        for fmt, kind in [("webp", "WEBP"), ("jpg", "JPEG")]:
            with default_storage.open(image.rendition_name(width, fmt)) as file:
                stored = Image.open(file)
                assert stored.format == kind and stored.width == width
                exif = stored.getexif()
                assert GPS_IFD not in exif and 0x010F not in exif
                assert "exif" not in stored.info


def test_a_small_image_is_never_enlarged(editor):
    assert upload(editor, photo(600, 400)).status_code == 302
    image = ArticleImage.objects.get()
    assert image.widths == [480, 600] and (image.width, image.height) == (600, 400)


@pytest.mark.parametrize(
    ("file", "message"),
    [
        (
            SimpleUploadedFile("scan.jpg", b"%PDF-1.4 not an image", content_type="image/jpeg"),
            "is not a JPEG, PNG or WebP image",
        ),
        (
            SimpleUploadedFile("big.jpg", b"\xff\xd8" + b"0" * (10 * 1024 * 1024)),
            "at most 10 MB",
        ),
        (photo(6001, 20, gps=False), "at most 6,000 pixels on each side"),
    ],
    ids=["pretends-to-be-an-image", "too-large-a-file", "too-many-pixels"],
)
def test_uploads_that_are_not_usable_images_are_refused_clearly(editor, file, message):
    response = upload(editor, file)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ArticleImage.objects.exists()
    # What was typed stays in the form.
    assert "One of our treatment rooms." in response.content.decode()


def test_alt_text_is_required_unless_the_image_is_decorative(editor):
    response = upload(editor, photo(), alt_text="")
    assert response.status_code == 200
    assert "Describe the image for someone who cannot see it" in response.content.decode()
    response = upload(editor, photo(), alt_text="", decorative="on")
    assert response.status_code == 302
    assert ArticleImage.objects.get().decorative


def test_an_article_shows_the_image_with_srcset_size_caption_and_credit(editor, client):
    upload(editor, photo())
    article = ArticleFactory(body="Our rooms are quiet.\n\n![](image:calm-room)\n\nMore words.")
    html = client.get(article.get_absolute_url()).content.decode()
    image = ArticleImage.objects.get()
    webp = [f"{default_storage.url(image.rendition_name(w, 'webp'))} {w}w" for w in image.widths]
    assert f'srcset="{", ".join(webp)}" type="image/webp">' in html
    assert 'height="864" loading="lazy"' in html and 'width="1440"' in html
    assert 'alt="A quiet treatment room with a reclining chair and a window."' in html
    assert "<figcaption>One of our treatment rooms. Credit: Clinic staff</figcaption>" in html

    served = client.get(default_storage.url(image.rendition_name(480, "webp")))
    assert served.status_code == 200 and served["Content-Type"] == "image/webp"
    assert "immutable" in served["Cache-Control"]
    assert client.get("/media/article-images/../../clinic/settings.py").status_code == 404


def test_a_decorative_image_has_empty_alt_text(editor, client):
    upload(editor, photo(), alt_text="", decorative="on")
    article = ArticleFactory(body="Words.\n\n![](image:calm-room)")
    assert 'alt=""' in client.get(article.get_absolute_url()).content.decode()


def test_an_unknown_image_reference_is_refused_on_save(admin_client):
    article = ArticleFactory(draft=True)
    url = reverse("admin:education_article_change", args=[article.pk])
    page = admin_client.get(url).content.decode()
    response = admin_client.post(url, submitted_fields(page, body="![](image:no-such)"))
    assert response.status_code == 200
    assert "image:no-such” is not one of the uploaded images" in response.content.decode()


def test_an_image_an_article_uses_cannot_be_deleted(editor, admin_client):
    upload(editor, photo())
    ArticleFactory(title="Rooms", body="![](image:calm-room)")
    image = ArticleImage.objects.get()
    delete = reverse("admin:education_articleimage_delete", args=[image.pk])
    response = admin_client.post(delete, {"post": "yes"}, follow=True)
    assert ArticleImage.objects.exists()
    assert "used by Rooms" in response.content.decode()
