"""Decoding untrusted images safely and re-encoding them, for profiles and media attachments.

Every byte a client uploads is treated as hostile: the format is sniffed by Pillow from the
content (never from the name or the declared type), dimensions are checked from the header
before any pixel is decoded (decompression bombs), and the output is a fresh encode with no
metadata (EXIF GPS, camera serials, comments). The work is CPU-bound and synchronous: callers
run it in a thread.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass
from functools import cache
from typing import Any

from PIL import Image, ImageCms, ImageDraw, ImageOps, ImageSequence, UnidentifiedImageError

from kinfolk.infra import blurhash

try:  # HEIC/HEIF (phone photos) through libheif, when the wheel is installed
    import pillow_heif

    pillow_heif.register_heif_opener()
    _HEIF: tuple[str, ...] = ("HEIF",)
except ImportError:  # pragma: no cover - pillow-heif is a dependency
    _HEIF = ()

AVATAR_SIZE = (400, 400)
HEADER_SIZE = (1500, 500)
# Custom emojis are drawn at text size; a copy this large stays sharp on dense screens.
EMOJI_SIZE = (128, 128)
EMOJI_MAX_PIXELS = 4096 * 4096
EMOJI_MAX_FRAMES = 200
EMOJI_ANIMATED_MAX_PIXELS = 512 * 512
# Mastodon's ceiling for still images (7680 x 4320); anything larger is refused before decoding.
MAX_PIXELS = 7680 * 4320
# Mastodon's sizes for attachments: the served original and the preview ("small"), as areas.
ORIGINAL_PIXELS = 3840 * 2160
SMALL_PIXELS = 480 * 480
# Formats we decode. SVG, HTML, PDF and the like are never images here.
ACCEPTED_FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "AVIF", *_HEIF)
_NOT_AN_IMAGE = "is not a supported image (PNG, JPEG, GIF, WebP, AVIF or HEIC)"

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
        raise InvalidImage(_NOT_AN_IMAGE) from exc
    width, height = image.size
    if width <= 0 or height <= 0:
        raise InvalidImage(_NOT_AN_IMAGE)
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


def _prepare(data: bytes, max_pixels: int, target: tuple[int, int]) -> tuple[Image.Image, str, bool]:
    """Decoded, upright, sRGB, in RGB or RGBA; with the source format and whether alpha matters."""
    image = _open(data, max_pixels)
    source_format = image.format or "PNG"
    image = _decode(image, target)
    image = _upright(image)
    image = _to_srgb(image)
    alpha = _has_alpha(image)
    image = image.convert("RGBA" if alpha else "RGB")
    image.info.clear()
    return image, source_format, alpha


def _output_format(source_format: str, alpha: bool) -> str:
    """JPEG stays JPEG and WebP stays WebP; AVIF and HEIC become JPEG; the rest (and alpha) PNG."""
    if source_format == "WEBP":
        return "WEBP"
    if source_format in ("JPEG", "AVIF", "HEIF") and not alpha:
        return "JPEG"
    return "PNG"


def _encode(image: Image.Image, out_format: str, *, quality: int = 88) -> ProcessedImage:
    buffer = io.BytesIO()
    if out_format == "JPEG":
        image.save(buffer, "JPEG", quality=quality, optimize=True, progressive=True)
    elif out_format == "WEBP":
        image.save(buffer, "WEBP", quality=quality, method=4)
    else:
        image.save(buffer, "PNG")
    content_type, extension = _OUTPUT[out_format]
    return ProcessedImage(buffer.getvalue(), content_type, extension, image.width, image.height)


def process_image(
    data: bytes,
    size: tuple[int, int],
    *,
    max_pixels: int = MAX_PIXELS,
) -> ProcessedImage:
    """Validate `data` and return it cropped to fill `size` exactly, upright, without metadata.

    JPEG stays JPEG and WebP stays WebP; PNG and GIF become PNG (first frame only), AVIF and
    HEIC become JPEG. Raises InvalidImage for anything that is not a decodable image we accept.
    """
    image, source_format, alpha = _prepare(data, max_pixels, size)
    fitted = ImageOps.fit(image, size, Image.Resampling.LANCZOS, centering=(0.5, 0.5))
    fitted.info.clear()
    return _encode(fitted, _output_format(source_format, alpha))


def process_avatar(data: bytes) -> ProcessedImage:
    return process_image(data, AVATAR_SIZE)


def process_header(data: bytes) -> ProcessedImage:
    return process_image(data, HEADER_SIZE)


@dataclass(frozen=True)
class ProcessedEmoji:
    """A custom emoji's picture as served (an animated WebP when the source moves) and its
    still version (the first frame)."""

    image: ProcessedImage
    still: ProcessedImage


def process_emoji(data: bytes) -> ProcessedEmoji:
    """A custom emoji within `EMOJI_SIZE`, keeping its shape (never enlarged) and transparency,
    without metadata. An animation is kept (as WebP) when it has at most `EMOJI_MAX_FRAMES`
    frames of at most `EMOJI_ANIMATED_MAX_PIXELS`: decoding every frame is the cost, so a
    larger one is shown still."""
    header = _open(data, EMOJI_MAX_PIXELS)
    animated = bool(getattr(header, "is_animated", False))
    frames = int(getattr(header, "n_frames", 1)) if animated else 1
    image, source_format, alpha = _prepare(data, EMOJI_MAX_PIXELS, EMOJI_SIZE)
    image.thumbnail(EMOJI_SIZE, Image.Resampling.LANCZOS)
    image.info.clear()
    still = _encode(image, _output_format(source_format, alpha))
    if frames < 2 or frames > EMOJI_MAX_FRAMES or header.width * header.height > EMOJI_ANIMATED_MAX_PIXELS:
        return ProcessedEmoji(still, still)
    return ProcessedEmoji(_animation(header, image.size), still)


def _animation(source: Image.Image, size: tuple[int, int]) -> ProcessedImage:
    """Every frame of `source` (already checked for count and size) at `size`, as an animated WebP."""
    frames: list[Image.Image] = []
    durations: list[int] = []
    try:
        for frame in ImageSequence.Iterator(source):
            durations.append(max(20, int(frame.info.get("duration", 100) or 100)))
            frames.append(frame.convert("RGBA").resize(size, Image.Resampling.LANCZOS))
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError) as exc:
        raise InvalidImage("is truncated or corrupt") from exc
    buffer = io.BytesIO()
    frames[0].save(
        buffer,
        "WEBP",
        save_all=True,
        append_images=frames[1:],
        duration=durations,
        loop=0,
        quality=88,
        method=4,
    )
    content_type, extension = _OUTPUT["WEBP"]
    return ProcessedImage(buffer.getvalue(), content_type, extension, size[0], size[1])


# -- media attachments ------------------------------------------------------------------------


def geometry(width: int, height: int) -> dict[str, Any]:
    """Mastodon's `meta.original` / `meta.small` for a picture."""
    return {"width": width, "height": height, "size": f"{width}x{height}", "aspect": width / height}


def fit_area(width: int, height: int, pixels: int) -> tuple[int, int]:
    """The largest size with the same aspect whose area is at most `pixels` (never enlarged)."""
    if width * height <= pixels:
        return width, height
    scale = math.sqrt(pixels / (width * height))
    return max(1, math.floor(width * scale)), max(1, math.floor(height * scale))


@dataclass(frozen=True)
class ImageInfo:
    format: str
    width: int
    height: int
    animated: bool


def inspect_image(data: bytes, *, max_pixels: int = MAX_PIXELS) -> ImageInfo:
    """What the header says, without decoding pixels; InvalidImage for bombs and non-images."""
    image = _open(data, max_pixels)
    animated = bool(getattr(image, "is_animated", False)) if image.format == "GIF" else False
    return ImageInfo(image.format or "", image.width, image.height, animated)


@dataclass(frozen=True)
class MediaImage:
    """A processed attachment picture: the served file, its preview, and the placeholder."""

    original: ProcessedImage
    small: ProcessedImage
    blurhash: str

    @property
    def meta(self) -> dict[str, Any]:
        return {
            "original": geometry(self.original.width, self.original.height),
            "small": geometry(self.small.width, self.small.height),
        }


def process_media_image(
    data: bytes,
    *,
    max_pixels: int = MAX_PIXELS,
    original_pixels: int = ORIGINAL_PIXELS,
    small_pixels: int = SMALL_PIXELS,
) -> MediaImage:
    """An attachment picture: upright, metadata stripped, at most `original_pixels` in area,
    with a preview of at most `small_pixels` and its BlurHash. Animated GIFs keep one frame
    here; callers turn those into video first."""
    header = _open(data, max_pixels)
    target = fit_area(header.width, header.height, original_pixels)
    image, source_format, alpha = _prepare(data, max_pixels, target)
    out_format = _output_format(source_format, alpha)
    size = fit_area(image.width, image.height, original_pixels)
    original = image if size == image.size else image.resize(size, Image.Resampling.LANCZOS)
    small_size = fit_area(original.width, original.height, small_pixels)
    small = original.resize(small_size, Image.Resampling.LANCZOS) if small_size != original.size else original
    return MediaImage(
        original=_encode(original, out_format, quality=90),
        small=_encode(small, out_format, quality=85),
        blurhash=blurhash.encode(small),
    )


@dataclass(frozen=True)
class Preview:
    """The still shown for a video or an audio file: a poster frame, cover art or a thumbnail."""

    image: ProcessedImage
    blurhash: str
    colors: dict[str, str]

    @property
    def meta(self) -> dict[str, Any]:
        return geometry(self.image.width, self.image.height)


def preview_from_image(image: Image.Image, *, pixels: int = SMALL_PIXELS) -> Preview:
    """A preview from an already decoded picture (a video frame): RGB, fitted, JPEG or PNG."""
    alpha = _has_alpha(image)
    image = image.convert("RGBA" if alpha else "RGB")
    size = fit_area(image.width, image.height, pixels)
    if size != image.size:
        image = image.resize(size, Image.Resampling.LANCZOS)
    image.info.clear()
    return Preview(
        _encode(image, "PNG" if alpha else "JPEG", quality=85), blurhash.encode(image), colors(image)
    )


def process_preview(data: bytes, *, max_pixels: int = MAX_PIXELS, pixels: int = SMALL_PIXELS) -> Preview:
    """A client-supplied thumbnail, checked and re-encoded like any upload."""
    header = _open(data, max_pixels)
    image, _, _ = _prepare(data, max_pixels, fit_area(header.width, header.height, pixels))
    return preview_from_image(image, pixels=pixels)


def _luminance(rgb: tuple[int, int, int]) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = rgb
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def _contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def colors(image: Image.Image) -> dict[str, str]:
    """Mastodon's `meta.colors` for players: the dominant colour as background, and the most
    contrasting palette colours as foreground and accent."""
    sample = image.convert("RGB")
    sample.thumbnail((64, 64))
    palette_image = sample.quantize(colors=8, method=Image.Quantize.MEDIANCUT)
    palette = palette_image.getpalette() or []
    counts = sorted(palette_image.getcolors() or [], reverse=True)
    indices = [int(i) for _, i in counts if isinstance(i, int)]
    swatches: list[tuple[int, int, int]] = [
        (palette[i * 3], palette[i * 3 + 1], palette[i * 3 + 2]) for i in indices if i * 3 + 2 < len(palette)
    ]
    if not swatches:
        swatches = [(0, 0, 0)]
    background = swatches[0]
    ranked = sorted(swatches[1:], key=lambda c: _contrast(c, background), reverse=True)
    fallback = (255, 255, 255) if _luminance(background) < 0.5 else (0, 0, 0)
    foreground = ranked[0] if ranked and _contrast(ranked[0], background) >= 3 else fallback
    accent_choices = [c for c in ranked[1:] if _contrast(c, background) >= 2]
    accent = accent_choices[0] if accent_choices else foreground
    return {"background": _hex(background), "foreground": _hex(foreground), "accent": _hex(accent)}


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
