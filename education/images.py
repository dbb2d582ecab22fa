"""Checking an uploaded article image and making the files the site serves (Pillow).

The file is judged by its content, never its name: Pillow must read it as JPEG, PNG or
WebP, at most 10 MB and 6,000 pixels on a side. The renditions are re-encoded from the
pixels alone, so nothing of the original's metadata (camera, GPS position, comments)
survives; the camera's rotation is applied first.
"""

import hashlib
import io
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 10 * 1024 * 1024
MAX_SIDE = 6000
FORMATS = {"JPEG", "PNG", "WEBP"}
# Article images are at most 32rem (512 CSS px) wide (rendering.SIZES): phones to 3x.
WIDTHS = (480, 960, 1440)
NOT_AN_IMAGE = "This file is not a JPEG, PNG or WebP image. Save it as one of those and try again."


@dataclass
class Renditions:
    digest: str
    width: int  # of the largest rendition
    height: int
    files: dict[tuple[int, str], bytes]  # (width, "webp" | "jpg") -> content

    @property
    def widths(self) -> list[int]:
        return sorted({width for width, _ in self.files})


def checked_image(upload) -> Image.Image:
    """The upload as a loaded image, or a ValidationError that says what is wrong."""
    if upload.size > MAX_BYTES:
        raise ValidationError(
            f"This file is {upload.size / 1024 / 1024:.1f} MB; images can be at most 10 MB."
        )
    try:
        image = Image.open(upload)
        if image.format not in FORMATS:
            raise ValidationError(NOT_AN_IMAGE)
        if max(image.size) > MAX_SIDE:
            raise ValidationError(
                f"This image is {image.width:,} × {image.height:,} pixels; images can be at "
                "most 6,000 pixels on each side."
            )
        image.load()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError) as error:
        raise ValidationError(NOT_AN_IMAGE) from error
    return image


def renditions(upload) -> Renditions:
    image = checked_image(upload)
    upload.seek(0)
    digest = hashlib.sha256(upload.read()).hexdigest()[:12]
    image = ImageOps.exif_transpose(image)
    # JPEG has no transparency: lay a transparent image on white, not on black.
    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        flat = Image.new("RGB", image.size, "white")
        flat.paste(image, mask=image.getchannel("A"))
        image = flat
    else:
        image = image.convert("RGB")
    widths = [w for w in WIDTHS if w < image.width] + [min(image.width, WIDTHS[-1])]
    files = {}
    for width in widths:
        height = round(image.height * width / image.width)
        resized = image.resize((width, height), Image.Resampling.LANCZOS)
        for extension, fmt, options in (
            ("webp", "WEBP", {"quality": 80, "method": 6}),
            ("jpg", "JPEG", {"quality": 82, "optimize": True, "progressive": True}),
        ):
            buffer = io.BytesIO()
            resized.save(buffer, fmt, **options)
            files[(width, extension)] = buffer.getvalue()
    largest = widths[-1]
    return Renditions(
        digest=digest,
        width=largest,
        height=round(image.height * largest / image.width),
        files=files,
    )
