"""Small synthetic media files for the media tests, made on the spot with Pillow and PyAV.

Imported as `tests.domain.media.samples` by the API, infra and domain tests alike.
"""

from __future__ import annotations

import io
import math
import struct
import zlib
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image


def image_bytes(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def halves(width: int, height: int) -> Image.Image:
    """Left half red, right half blue."""
    image = Image.new("RGB", (width, height), (255, 0, 0))
    image.paste((0, 0, 255), (width // 2, 0, width, height))
    return image


def jpeg_rotated() -> bytes:
    """Stored 200 wide and 100 high with EXIF "rotate 90 clockwise": upright it is 100x200."""
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "SpyCam Inc."
    return image_bytes(halves(200, 100), "JPEG", exif=exif.tobytes(), quality=95)


def png(width: int = 600, height: int = 400) -> bytes:
    return image_bytes(halves(width, height), "PNG")


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


def animated_gif(frames: int = 5, size: tuple[int, int] = (40, 30)) -> bytes:
    images = [Image.new("RGB", size, ((i * 50) % 256, 0, 255 - (i * 40) % 256)) for i in range(frames)]
    return image_bytes(images[0], "GIF", save_all=True, append_images=images[1:], duration=100, loop=0)


def _tone(samples: int, rate: int) -> av.AudioFrame:
    data = b"".join(struct.pack("<f", 0.2 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(samples))
    frame = av.AudioFrame(format="fltp", layout="stereo", samples=samples)
    frame.sample_rate = rate
    for plane in frame.planes:
        plane.update(data)
    return frame


def video(
    path: Path,
    *,
    width: int = 64,
    height: int = 48,
    fps: int = 30,
    frames: int = 10,
    codec: str = "libx264",
    audio: str | None = "aac",
    container: str | None = None,
    rotation: int = 0,
) -> Path:
    """A small synthetic video (H.264/AAC MP4 unless told otherwise) written to `path`."""
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if rotation:
            stream.set_display_rotation(rotation)
        rate = 48000 if audio == "libopus" else 44100
        sound = out.add_stream(audio, rate=rate, layout="stereo") if audio else None
        for i in range(frames):
            frame = av.VideoFrame.from_image(Image.new("RGB", (width, height), ((i * 30) % 256, 120, 200)))
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
        if sound is not None:
            size = sound.codec_context.frame_size or 1024
            total, pts = int(rate * frames / fps), 0
            while pts < total:
                chunk = _tone(size, rate)
                chunk.pts, chunk.time_base = pts, Fraction(1, rate)
                pts += size
                for packet in sound.encode(chunk):
                    out.mux(packet)
            for packet in sound.encode(None):
                out.mux(packet)
    return path


def audio(path: Path, *, seconds: float = 1.0, codec: str = "libmp3lame", container: str = "mp3") -> Path:
    """A sine tone: MP3 by default, WAV with codec="pcm_s16le", container="wav"."""
    rate = 44100
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate, layout="stereo")
        size = stream.codec_context.frame_size or 1152
        resampler = av.AudioResampler(format=stream.codec_context.format.name, layout="stereo", rate=rate)
        total, pts = int(rate * seconds), 0
        while pts < total:
            for chunk in resampler.resample(_tone(size, rate)):
                chunk.pts, chunk.time_base = pts, Fraction(1, rate)
                for packet in stream.encode(chunk):
                    out.mux(packet)
            pts += size
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def files_under(root: Path) -> list[Path]:
    """Every file stored under a media root, scratch space included."""
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []
