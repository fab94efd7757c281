"""Media processing speed on this machine: pictures per second through the upload pipeline, and
video/audio transcoding speed as a multiple of the source's duration (2.0 = twice real time).

Standalone: `python -m bench.media [--quick]` prints JSON. The benchmark harness imports it and
calls `run(quick)`. Sources are synthetic (drawn with Pillow, encoded with PyAV) so the numbers
compare across runs; the anchor is plain Pillow decoding and resizing the same photo, measured
before and after, so a busy machine shows up as a lower anchor rather than a slower pipeline.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from PIL import Image, ImageDraw, ImageFilter

from kinfolk.infra import images, video

LIMITS = video.Limits()
X264 = video.X264_OPTIONS


def _photo(width: int, height: int, seed: int = 7) -> bytes:
    """A photo-like JPEG: gradients, shapes and noise, so the codecs have real work to do."""
    rng = random.Random(seed)
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(60):
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randrange(20, max(21, width // 6))
        draw.ellipse(
            (x - r, y - r, x + r, y + r), fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256))
        )
    image = image.filter(ImageFilter.GaussianBlur(2))
    noise = Image.effect_noise((width, height), 24).convert("RGB")
    image = Image.blend(image, noise, 0.15)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _frames(width: int, height: int, count: int) -> list[Image.Image]:
    base = Image.open(io.BytesIO(_photo(width * 2, height * 2, seed=3))).convert("RGB")
    frames = []
    for i in range(count):  # a slow pan across a larger picture, as a camera would
        x = int((width * i) / max(1, count - 1))
        frames.append(base.crop((x, height // 2, x + width, height // 2 + height)))
    return frames


def _source_video(path: Path, width: int, height: int, seconds: float, fps: int = 30) -> Path:
    """An MPEG-4 Part 2 + PCM file: not web-safe, so the pipeline must transcode it."""
    count = int(seconds * fps)
    pictures = _frames(width, height, min(count, 60))
    with av.open(str(path), "w", format="matroska") as out:
        stream = out.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.bit_rate = 4_000_000
        for i in range(count):
            frame = av.VideoFrame.from_image(pictures[i % len(pictures)])
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def _source_audio(path: Path, seconds: float) -> Path:
    rate = 44100
    with av.open(str(path), "w", format="wav") as out:
        stream = out.add_stream("pcm_s16le", rate=rate, layout="stereo")
        rng = random.Random(5)
        chunk = 4410
        for start in range(0, int(rate * seconds), chunk):
            frame = av.AudioFrame(format="s16", layout="stereo", samples=chunk)
            frame.sample_rate = rate
            frame.planes[0].update(rng.randbytes(chunk * 4))
            frame.pts, frame.time_base = start, Fraction(1, rate)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def _rate(fn: Callable[[], Any], repeat: int) -> list[float]:
    """Operations per second, one sample per run."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(1.0 / (time.perf_counter() - started))
    return samples


def _anchor(data: bytes) -> Callable[[], None]:
    def decode_and_resize() -> None:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            image.resize((image.width // 4, image.height // 4))

    return decode_and_resize


def _speed(seconds: float, fn: Callable[[], Any], repeat: int) -> list[float]:
    """Source seconds processed per wall-clock second."""
    return [seconds * rate for rate in _rate(fn, repeat)]


def run(quick: bool = False) -> dict[str, Any]:
    repeat = 3
    photo_12mp = _photo(4000, 3000)
    photo_2mp = _photo(1920, 1080, seed=11)
    anchor = _anchor(photo_12mp)
    anchor_before = _rate(anchor, repeat)
    image_12mp = _rate(lambda: images.process_media_image(photo_12mp), repeat)
    image_2mp = _rate(lambda: images.process_media_image(photo_2mp), repeat if quick else 5)
    anchor_after = _rate(anchor, repeat)
    a = statistics.median(anchor_before + anchor_after)

    video_seconds = 2.0 if quick else 10.0
    audio_seconds = 10.0 if quick else 60.0
    with tempfile.TemporaryDirectory(prefix="kinfolk-bench-media-") as tmp:
        work = Path(tmp)
        source = _source_video(work / "source.mkv", 1280, 720, video_seconds)
        transcode = _speed(
            video_seconds,
            lambda: video.transcode_mp4(source, work / "out.mp4", LIMITS),
            1 if quick else repeat,
        )
        remux = _speed(
            video_seconds, lambda: video.remux_mp4(work / "out.mp4", work / "copy.mp4", LIMITS), repeat
        )
        wav = _source_audio(work / "source.wav", audio_seconds)
        mp3 = _speed(audio_seconds, lambda: video.transcode_mp3(wav, work / "out.mp3", LIMITS), repeat)

    def summary(values: list[float]) -> dict[str, float]:
        return {
            "median": round(statistics.median(values), 2),
            "min": round(min(values), 2),
            "max": round(max(values), 2),
        }

    images_per_s = statistics.median(image_12mp)
    return {
        "anchors": {"pillow_decode_resize_12mp_per_s": round(a, 2)},
        "goals": {
            "images_12mp_per_s": round(images_per_s, 2),
            "images_12mp_ratio_to_anchor": round(images_per_s / a, 3),
            "images_2mp_per_s": round(statistics.median(image_2mp), 2),
            "video_720p30_transcode_x_realtime": round(statistics.median(transcode), 2),
            "video_remux_x_realtime": round(statistics.median(remux), 1),
            "audio_mp3_x_realtime": round(statistics.median(mp3), 1),
        },
        "details": {
            "anchor_before": summary(anchor_before),
            "anchor_after": summary(anchor_after),
            "images_12mp_per_s": summary(image_12mp),
            "images_2mp_per_s": summary(image_2mp),
            "video_transcode": {
                "source": f"1280x720 30 fps MPEG-4 Part 2, {video_seconds:g} s",
                "encoder": f"{video.VIDEO_ENCODER} {X264['preset']} crf {X264['crf']}",
                **summary(transcode),
            },
            "video_remux": summary(remux),
            "audio_mp3": {"source": f"{audio_seconds:g} s WAV", **summary(mp3)},
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    json.dump(run(args.quick), sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
