"""Decoding untrusted images safely and re-encoding them for profiles.

Every byte a client uploads is treated as hostile: the format is sniffed by Pillow from the
content (never from the name or the declared type), dimensions are checked from the header
before any pixel is decoded (decompression bombs), and the output is a fresh encode with no
metadata (EXIF GPS, camera serials, comments). The work is CPU-bound and synchronous: callers
run it in a thread.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from functools import cache

from PIL import Image, ImageCms, ImageDraw, ImageOps, UnidentifiedImageError

AVATAR_SIZE = (400, 400)
HEADER_SIZE = (1500, 500)
# Mastodon's ceiling for still images (7680 x 4320); anything larger is refused before decoding.
MAX_PIXELS = 7680 * 4320
# Formats we decode. SVG, HTML, PDF and the like are never images here.
ACCEPTED_FORMATS = ("PNG", "JPEG", "GIF", "WEBP")

_OUTPUT = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}


class InvalidImage(ValueError):
    """The bytes are not an image we accept; the message is safe to show to the uploader."""


@dataclass(frozen=True)
class ProcessedImage:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


def _open(data: bytes, max_pixels: int) -> Image.Image:
    if not data:
        raise InvalidImage("is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidImage("has too many pixels") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise InvalidImage("is not a supported image (PNG, JPEG, GIF or WebP)") from exc
    width, height = image.size
    if width <= 0 or height <= 0:
        raise InvalidImage("is not a supported image (PNG, JPEG, GIF or WebP)")
    if width * height > max_pixels:
        raise InvalidImage(f"has too many pixels ({width}x{height})")
    return image


def _decode(image: Image.Image, target: tuple[int, int]) -> Image.Image:
    """Decode the first frame; JPEGs are decoded straight at a reduced scale when that suffices."""
    if image.format == "JPEG":
        side = max(target)
        image.draft("RGB", (side, side))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidImage("has too many pixels") from exc
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError) as exc:
        raise InvalidImage("is truncated or corrupt") from exc
    return image


def _upright(image: Image.Image) -> Image.Image:
    try:
        return ImageOps.exif_transpose(image) or image
    except Exception:  # a malformed EXIF block must not sink an otherwise fine image
        return image


def _to_srgb(image: Image.Image) -> Image.Image:
    """Colour-manage to sRGB before the profile is dropped, so colours survive metadata removal."""
    icc = image.info.get("icc_profile")
    if not icc or image.mode not in ("RGB", "RGBA", "CMYK"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        target = ImageCms.createProfile("sRGB")
        mode = "RGBA" if image.mode == "RGBA" else "RGB"
        converted = ImageCms.profileToProfile(image, source, target, outputMode=mode)
        return converted if converted is not None else image
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info


def process_image(
    data: bytes,
    size: tuple[int, int],
    *,
    max_pixels: int = MAX_PIXELS,
) -> ProcessedImage:
    """Validate `data` and return it cropped to fill `size` exactly, upright, without metadata.

    JPEG stays JPEG and WebP stays WebP; PNG and GIF become PNG (first frame only).
    Raises InvalidImage for anything that is not a decodable PNG, JPEG, GIF or WebP.
    """
    image = _open(data, max_pixels)
    source_format = image.format or "PNG"
    image = _decode(image, size)
    image = _upright(image)
    image = _to_srgb(image)
    alpha = _has_alpha(image)
    image = image.convert("RGBA" if alpha else "RGB")
    fitted = ImageOps.fit(image, size, Image.Resampling.LANCZOS, centering=(0.5, 0.5))
    fitted.info.clear()
    if source_format == "JPEG" and not alpha:
        out_format = "JPEG"
    elif source_format == "WEBP":
        out_format = "WEBP"
    else:
        out_format = "PNG"
    buffer = io.BytesIO()
    if out_format == "JPEG":
        fitted.save(buffer, "JPEG", quality=88, optimize=True, progressive=True)
    elif out_format == "WEBP":
        fitted.save(buffer, "WEBP", quality=85, method=4)
    else:
        fitted.save(buffer, "PNG")
    content_type, extension = _OUTPUT[out_format]
    return ProcessedImage(buffer.getvalue(), content_type, extension, fitted.width, fitted.height)


def process_avatar(data: bytes) -> ProcessedImage:
    return process_image(data, AVATAR_SIZE)


def process_header(data: bytes) -> ProcessedImage:
    return process_image(data, HEADER_SIZE)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


@cache
def missing_avatar_png() -> bytes:
    """The avatar shown for accounts without one: a neutral silhouette, drawn once per process."""
    scale = 4  # drawn large and scaled down for smooth edges
    side = AVATAR_SIZE[0] * scale
    image = Image.new("RGB", (side, side), (198, 203, 212))
    draw = ImageDraw.Draw(image)
    figure = (142, 150, 163)
    head = side * 0.19
    cx, cy = side / 2, side * 0.39
    draw.ellipse((cx - head, cy - head, cx + head, cy + head), fill=figure)
    body_w, body_top = side * 0.36, side * 0.66
    draw.ellipse((cx - body_w, body_top, cx + body_w, body_top + side * 0.7), fill=figure)
    return _png(image.resize(AVATAR_SIZE, Image.Resampling.LANCZOS))


@cache
def missing_header_png() -> bytes:
    """The header shown for accounts without one: a plain neutral banner."""
    return _png(Image.new("RGB", HEADER_SIZE, (214, 218, 225)))
