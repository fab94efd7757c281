"""Profile image processing: hostile inputs are refused, good ones come out upright, cropped,
re-encoded and without metadata."""

from __future__ import annotations

import io
import struct
import time
import zlib

import pytest
from PIL import Image, PngImagePlugin

from kinfolk.infra.images import (
    AVATAR_SIZE,
    HEADER_SIZE,
    InvalidImage,
    missing_avatar_png,
    missing_header_png,
    process_avatar,
    process_header,
)

RED = (255, 0, 0)
BLUE = (0, 0, 255)


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims huge dimensions (a decompression bomb's first bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def halves(width: int, height: int) -> Image.Image:
    """Left half red, right half blue."""
    image = Image.new("RGB", (width, height), RED)
    image.paste(BLUE, (width // 2, 0, width, height))
    return image


def close(a: tuple[int, ...], b: tuple[int, ...], tolerance: int = 40) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=False))


def test_decompression_bomb_is_refused_before_decoding() -> None:
    started = time.monotonic()
    with pytest.raises(InvalidImage, match="too many pixels"):
        process_avatar(png_claiming(100_000, 100_000))
    with pytest.raises(InvalidImage, match="too many pixels"):
        process_avatar(png_claiming(8000, 5000))
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize(
    "data",
    [
        b"<html><body><script>alert(1)</script></body></html>",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b'{"@context": "https://www.w3.org/ns/activitystreams", "type": "Person"}',
        b"%PDF-1.4\n",
        b"\x89PNG\r\n\x1a\n",
    ],
)
def test_non_images_are_refused(data: bytes) -> None:
    with pytest.raises(InvalidImage, match="not a supported image"):
        process_avatar(data)


def test_empty_is_refused() -> None:
    with pytest.raises(InvalidImage, match="empty"):
        process_header(b"")


def test_truncated_image_is_refused() -> None:
    data = encode(halves(300, 300), "PNG")
    with pytest.raises(InvalidImage):
        process_avatar(data[: len(data) // 2])


def test_bmp_and_tiff_are_not_accepted() -> None:
    with pytest.raises(InvalidImage):
        process_avatar(encode(halves(10, 10), "BMP"))
    with pytest.raises(InvalidImage):
        process_avatar(encode(halves(10, 10), "TIFF"))


def test_avatar_is_cropped_to_400_square_and_header_to_1500_by_500() -> None:
    avatar = process_avatar(encode(halves(800, 200), "PNG"))
    header = process_header(encode(halves(300, 300), "PNG"))
    assert (avatar.width, avatar.height) == AVATAR_SIZE
    assert (header.width, header.height) == HEADER_SIZE
    with Image.open(io.BytesIO(avatar.data)) as image:
        assert image.size == AVATAR_SIZE
        # The centre of an 800x200 image is kept: red on the left, blue on the right.
        assert close(image.convert("RGB").getpixel((10, 200)), RED)
        assert close(image.convert("RGB").getpixel((390, 200)), BLUE)


def test_exif_orientation_is_applied() -> None:
    # Stored sideways: 200 wide, 100 high, left red, right blue; EXIF says "rotate 90 clockwise".
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(halves(200, 100), "JPEG", exif=exif.tobytes(), quality=95)
    result = process_avatar(data)
    assert result.content_type == "image/jpeg"
    with Image.open(io.BytesIO(result.data)) as image:
        rgb = image.convert("RGB")
        # Upright it is 100x200 with red on top and blue below.
        assert close(rgb.getpixel((200, 20)), RED)
        assert close(rgb.getpixel((200, 380)), BLUE)
        assert 0x0112 not in image.getexif()


def test_metadata_is_stripped() -> None:
    exif = Image.Exif()
    exif[0x010F] = "SpyCam Inc."  # Make
    exif[0x0110] = "Model 7"  # Model
    jpeg = encode(halves(500, 500), "JPEG", exif=exif.tobytes(), comment=b"secret comment")
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "secret text")
    png = encode(halves(500, 500), "PNG", pnginfo=info)
    for data in (jpeg, png):
        out = process_avatar(data).data
        assert b"SpyCam" not in out
        assert b"secret" not in out
        with Image.open(io.BytesIO(out)) as image:
            assert dict(image.getexif()) == {}
            assert "comment" not in image.info
            assert "Comment" not in image.info


def test_formats_and_transparency() -> None:
    transparent = Image.new("RGBA", (50, 50), (0, 0, 0, 0))
    png = process_avatar(encode(transparent, "PNG"))
    assert (png.content_type, png.extension) == ("image/png", "png")
    with Image.open(io.BytesIO(png.data)) as image:
        assert image.mode == "RGBA"
        assert image.getpixel((200, 200))[3] == 0

    gif = process_avatar(encode(halves(40, 40).convert("P"), "GIF"))
    assert gif.content_type == "image/png"

    webp = process_header(encode(halves(40, 40), "WEBP"))
    assert (webp.content_type, webp.extension) == ("image/webp", "webp")


def test_cmyk_jpeg_becomes_rgb() -> None:
    result = process_avatar(encode(Image.new("CMYK", (60, 60), (0, 255, 255, 0)), "JPEG"))
    with Image.open(io.BytesIO(result.data)) as image:
        assert image.mode == "RGB"


def test_missing_images_are_real_pngs() -> None:
    for data, size in ((missing_avatar_png(), AVATAR_SIZE), (missing_header_png(), HEADER_SIZE)):
        with Image.open(io.BytesIO(data)) as image:
            assert image.format == "PNG"
            assert image.size == size


# -- media attachments ------------------------------------------------------------------------


def test_media_image_sizes_follow_mastodon() -> None:
    from kinfolk.infra.images import process_media_image

    result = process_media_image(encode(halves(600, 600), "JPEG"))
    assert result.meta["original"] == {"width": 600, "height": 600, "size": "600x600", "aspect": 1.0}
    assert result.meta["small"]["size"] == "480x480"
    big = process_media_image(encode(halves(5000, 2000), "PNG"))
    assert big.original.width * big.original.height <= 3840 * 2160
    assert big.original.content_type == "image/png"
    assert len(result.blurhash) == 36  # 4x4 components


def test_media_image_is_upright_and_stripped() -> None:
    from kinfolk.infra.images import process_media_image

    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "SpyCam Inc."
    result = process_media_image(encode(halves(200, 100), "JPEG", exif=exif.tobytes()))
    assert (result.original.width, result.original.height) == (100, 200)
    assert b"SpyCam" not in result.original.data and b"SpyCam" not in result.small.data


def test_media_image_refuses_bombs_and_non_images() -> None:
    from kinfolk.infra.images import inspect_image, process_media_image

    with pytest.raises(InvalidImage, match="too many pixels"):
        process_media_image(png_claiming(100_000, 100_000))
    with pytest.raises(InvalidImage, match="not a supported image"):
        inspect_image(b'<svg xmlns="http://www.w3.org/2000/svg"/>')


@pytest.mark.parametrize("fmt", ["AVIF", "HEIF"])
def test_avif_and_heic_are_read_and_become_jpeg(fmt: str) -> None:
    from kinfolk.infra.images import process_media_image

    result = process_media_image(encode(halves(64, 48), fmt))
    assert result.original.content_type == "image/jpeg"
    assert process_avatar(encode(halves(64, 48), fmt)).content_type == "image/jpeg"


def test_animated_gif_is_detected() -> None:
    from kinfolk.infra.images import inspect_image

    frames = [Image.new("RGB", (10, 10), (i * 60, 0, 0)) for i in range(3)]
    animated = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    assert inspect_image(animated).animated
    assert not inspect_image(encode(frames[0], "GIF")).animated


def test_preview_colors_contrast() -> None:
    from kinfolk.infra.images import colors

    picture = Image.new("RGB", (100, 100), (250, 250, 250))
    picture.paste((10, 10, 10), (0, 0, 30, 30))
    found = colors(picture)
    assert found["background"] == "#fafafa"
    assert found["foreground"] in ("#000000", "#0a0a0a")
