"""Video and audio through PyAV (its wheel bundles FFmpeg): probing, limits, poster frames and
transcoding to what every browser plays.

Uploads are hostile. FFmpeg opens them with a whitelist of demuxers (no playlists, no
concatenation, no image sequences, so a file can never pull in another file or a URL) and of
protocols (`file` only), every limit is checked from the headers first and again on each
decoded frame, and frames are streamed one at a time so memory stays bounded. All functions
block: callers run them in a thread.

Encoders: the PyPI wheel of PyAV ships libx264 (H.264), FFmpeg's native AAC encoder and
libmp3lame, which is what Mastodon produces too (H.264/AAC in MP4, MP3 for audio).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

if TYPE_CHECKING:
    import av
    import av.container
else:

    class _LazyAv:
        """PyAV (FFmpeg) adds about 23 MB to every process that imports it, and most processes
        never touch a video: it is imported on first use (bench/RESULTS.md, G6)."""

        def __getattr__(self, name: str) -> Any:
            import av
            import av.container

            globals()["av"] = av
            return getattr(av, name)

    av = _LazyAv()

# Demuxers we read: Mastodon's accepted containers, and GIF for animations.
DEMUXERS = ("mov", "mp4", "m4a", "3gp", "matroska", "webm", "ogg", "mp3", "wav", "flac", "aac", "asf", "gif")
_OPEN_OPTIONS = {"format_whitelist": ",".join(DEMUXERS), "protocol_whitelist": "file"}

VIDEO_ENCODER = "libx264"
AUDIO_ENCODER = "aac"
MP3_ENCODER = "libmp3lame"
# Mastodon's H.264 settings, with a faster preset for two-core machines.
X264_OPTIONS = {"crf": "23", "preset": "veryfast", "maxrate": "1300k", "bufsize": "2600k", "profile": "high"}
WEB_SAFE_AUDIO = ("aac", "mp3")
MAX_PASSTHROUGH_FPS = 60


class InvalidMedia(ValueError):
    """Not a video or audio file we accept, or over a limit; the message is safe to show."""


@dataclass(frozen=True)
class Limits:
    max_pixels: int = 3840 * 2160
    max_fps: float = 120
    max_frames: int = 36_000
    # Audio has no frame limit in Mastodon; this bounds the work a tiny, long file can cause.
    max_audio_seconds: float = 6 * 3600


@dataclass(frozen=True)
class Probe:
    """What the headers say about a file, once they passed the limits."""

    format: str
    duration: float
    bitrate: int
    has_video: bool
    width: int = 0
    height: int = 0
    frame_rate: Fraction | None = None
    frames: int = 0
    video_codec: str | None = None
    pix_fmt: str | None = None
    audio_codec: str | None = None

    @property
    def is_mp4(self) -> bool:
        return "mp4" in self.format.split(",")

    @property
    def is_gif(self) -> bool:
        return self.format == "gif"


def frame_rate_text(rate: Fraction | None) -> str | None:
    return f"{rate.numerator}/{rate.denominator}" if rate else None


def original_meta(probe: Probe) -> dict[str, Any]:
    """Mastodon's `meta.original` for a video (size, rate, length) or audio (length, bitrate)."""
    meta: dict[str, Any] = {}
    if probe.has_video:
        meta.update(width=probe.width, height=probe.height)
        rate = frame_rate_text(probe.frame_rate)
        if rate:
            meta["frame_rate"] = rate
    meta["duration"] = round(probe.duration, 3)
    if probe.bitrate:
        meta["bitrate"] = probe.bitrate
    return meta


def _open(path: Path) -> av.container.InputContainer:
    try:
        return av.open(str(path), "r", options=dict(_OPEN_OPTIONS))
    except (av.FFmpegError, UnicodeDecodeError, ValueError, OSError) as exc:
        raise InvalidMedia("is not a supported video or audio file") from exc


def _video_stream(container: av.container.InputContainer) -> av.VideoStream | None:
    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    return None


def _cover_stream(container: av.container.InputContainer) -> av.VideoStream | None:
    for stream in container.streams.video:
        if stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    return None


def _duration(container: av.container.InputContainer, stream: av.stream.Stream | None) -> float:
    if container.duration:
        return max(0.0, container.duration / av.time_base)
    if stream is not None and stream.duration and stream.time_base:
        return max(0.0, float(stream.duration * stream.time_base))
    return 0.0


def _rate(stream: av.VideoStream) -> Fraction | None:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate and rate > 0:
            return Fraction(rate)
    return None


def probe(path: Path, limits: Limits) -> Probe:
    """Read the headers and check them against `limits`; InvalidMedia otherwise."""
    with _open(path) as container:
        video = _video_stream(container)
        audio = container.streams.audio[0] if container.streams.audio else None
        if video is None and audio is None:
            raise InvalidMedia("contains no video or audio")
        duration = _duration(container, video or audio)
        bitrate = int(container.bit_rate or 0)
        fmt = container.format.name
        audio_codec = audio.codec_context.name if audio is not None else None
        if video is None:
            if duration > limits.max_audio_seconds:
                raise InvalidMedia(f"is longer than {limits.max_audio_seconds / 3600:g} hours")
            return Probe(fmt, duration, bitrate, False, audio_codec=audio_codec)
        width, height = video.codec_context.width, video.codec_context.height
        if width <= 0 or height <= 0:
            raise InvalidMedia("is not a supported video or audio file")
        if width * height > limits.max_pixels:
            raise InvalidMedia(f"is too large ({width}x{height}); the limit is {limits.max_pixels} pixels")
        rate = _rate(video)
        if rate is not None and rate > limits.max_fps and fmt != "gif":
            raise InvalidMedia(
                f"has too high a frame rate ({float(rate):g} fps; the limit is {limits.max_fps:g})"
            )
        frames = int(video.frames or 0)
        if not frames and rate is not None:
            frames = math.ceil(duration * rate)
        if frames > limits.max_frames:
            raise InvalidMedia(f"has too many frames ({frames}; the limit is {limits.max_frames})")
        return Probe(
            fmt,
            duration,
            bitrate,
            True,
            width=width,
            height=height,
            frame_rate=rate,
            frames=frames,
            video_codec=video.codec_context.name,
            pix_fmt=video.codec_context.pix_fmt,
            audio_codec=audio_codec,
        )


def _check_frame(frame: av.VideoFrame, count: int, limits: Limits) -> None:
    if frame.width * frame.height > limits.max_pixels:
        raise InvalidMedia(
            f"is too large ({frame.width}x{frame.height}); the limit is {limits.max_pixels} pixels"
        )
    if count > limits.max_frames:
        raise InvalidMedia(f"has too many frames (the limit is {limits.max_frames})")


def _upright(image: Image.Image, rotation: int) -> Image.Image:
    """Apply the display matrix's rotation (counter-clockwise degrees), as players do."""
    return image.rotate(rotation, expand=True) if rotation % 360 else image


def poster(path: Path, limits: Limits) -> Image.Image | None:
    """The first frame of a video, or the cover art of an audio file, upright; None if neither."""
    try:
        with _open(path) as container:
            stream = _video_stream(container) or _cover_stream(container)
            if stream is None:
                return None
            stream.thread_type = "AUTO"
            for frame in container.decode(stream):
                _check_frame(frame, 1, limits)
                return _upright(frame.to_image(), frame.rotation)
    except av.FFmpegError as exc:
        raise InvalidMedia("is truncated or corrupt") from exc
    return None


def is_web_safe(probe: Probe) -> bool:
    """MP4 with H.264 in 4:2:0 and AAC/MP3 (or no sound) plays everywhere as it is."""
    return (
        probe.is_mp4
        and probe.video_codec == "h264"
        and probe.pix_fmt in ("yuv420p", "yuvj420p")
        and (probe.audio_codec is None or probe.audio_codec in WEB_SAFE_AUDIO)
        and (probe.frame_rate is None or probe.frame_rate <= MAX_PASSTHROUGH_FPS)
    )


def _mp4_output(path: Path) -> av.container.OutputContainer:
    return av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"})


def remux_mp4(src: Path, dst: Path, limits: Limits) -> None:
    """Copy the first video and audio streams into a fresh MP4 without any metadata."""
    try:
        with _open(src) as container, _mp4_output(dst) as out:
            video = _video_stream(container)
            if video is None:
                raise InvalidMedia("contains no video")
            audio = container.streams.audio[0] if container.streams.audio else None
            mapping: dict[int, Any] = {video.index: out.add_stream_from_template(video)}
            if audio is not None:
                mapping[audio.index] = out.add_stream_from_template(audio)
            for stream in mapping.values():
                stream.metadata.clear()
            count = 0
            for packet in container.demux([s for s in (video, audio) if s is not None]):
                if packet.dts is None:
                    continue
                if packet.stream.index == video.index:
                    count += 1
                    if count > limits.max_frames:
                        raise InvalidMedia(f"has too many frames (the limit is {limits.max_frames})")
                packet.stream = mapping[packet.stream.index]
                out.mux(packet)
    except av.FFmpegError as exc:
        raise InvalidMedia("is truncated or corrupt") from exc


def _even(value: int) -> int:
    return max(2, value - value % 2)


def _audio_frames(
    container: av.container.InputContainer,
    stream: av.AudioStream,
    resampler: av.AudioResampler,
    limits: Limits,
) -> Iterator[av.AudioFrame]:
    for frame in container.decode(stream):
        if frame.time is not None and frame.time > limits.max_audio_seconds:
            raise InvalidMedia(f"is longer than {limits.max_audio_seconds / 3600:g} hours")
        yield from resampler.resample(frame)
    yield from resampler.resample(None)


def _output_rate(rate: int) -> int:
    return rate if rate in (44100, 48000) else 48000


def transcode_mp4(src: Path, dst: Path, limits: Limits, *, with_audio: bool = True) -> None:
    """Decode and re-encode as H.264 (yuv420p, even sizes) with AAC sound, frame by frame.

    Timestamps are kept, so variable frame rates (GIFs) play at their own pace; the display
    rotation of phone videos is carried over instead of rotating every frame.
    """
    try:
        with _open(src) as container, _mp4_output(dst) as out:
            video = _video_stream(container)
            if video is None:
                raise InvalidMedia("contains no video")
            video.thread_type = "AUTO"
            rate = _rate(video) or Fraction(30)
            if rate > limits.max_fps:
                rate = Fraction(limits.max_fps).limit_denominator(1001)
            width, height = _even(video.codec_context.width), _even(video.codec_context.height)
            vout: Any = out.add_stream(VIDEO_ENCODER, rate=rate)
            vout.width, vout.height, vout.pix_fmt = width, height, "yuv420p"
            vout.codec_context.time_base = video.time_base or Fraction(1, 1000)
            vout.options = dict(X264_OPTIONS)
            audio = container.streams.audio[0] if with_audio and container.streams.audio else None
            aout: Any = None
            if audio is not None:
                sample_rate = _output_rate(audio.codec_context.sample_rate or 48000)
                layout = "mono" if audio.codec_context.channels == 1 else "stereo"
                aout = out.add_stream(AUDIO_ENCODER, rate=sample_rate, layout=layout)
                aout.bit_rate = 128_000
            _encode_video_and_audio(container, out, video, vout, audio, aout, width, height, limits)
    except av.FFmpegError as exc:
        raise InvalidMedia("is truncated or corrupt") from exc


def _encode_video_and_audio(
    container: av.container.InputContainer,
    out: av.container.OutputContainer,
    video: av.VideoStream,
    vout: Any,
    audio: av.AudioStream | None,
    aout: Any,
    width: int,
    height: int,
    limits: Limits,
) -> None:
    streams: list[Any] = [video] if audio is None else [video, audio]
    resampler = None
    if audio is not None and aout is not None:
        resampler = av.AudioResampler(
            format="fltp",
            layout=aout.layout,
            rate=aout.rate,
            frame_size=aout.codec_context.frame_size or 1024,
        )
    count = 0
    samples = 0
    rotation_set = False
    last_pts: int | None = None
    for packet in container.demux(streams):
        for frame in packet.decode():
            if isinstance(frame, av.VideoFrame):
                count += 1
                _check_frame(frame, count, limits)
                if not rotation_set:
                    rotation_set = True
                    if frame.rotation % 360:
                        vout.set_display_rotation(frame.rotation)
                if frame.pts is None or (last_pts is not None and frame.pts <= last_pts):
                    continue  # duplicate or missing timestamps would make the muxer fail
                last_pts = frame.pts
                converted = frame.reformat(width=width, height=height, format="yuv420p")
                converted.pts = frame.pts
                converted.time_base = frame.time_base
                for encoded in vout.encode(converted):
                    out.mux(encoded)
            elif isinstance(frame, av.AudioFrame) and resampler is not None:
                if frame.time is not None and frame.time > limits.max_audio_seconds:
                    raise InvalidMedia(f"is longer than {limits.max_audio_seconds / 3600:g} hours")
                for chunk in resampler.resample(frame):
                    chunk.pts = samples
                    chunk.time_base = Fraction(1, aout.rate)
                    samples += chunk.samples
                    for encoded in aout.encode(chunk):
                        out.mux(encoded)
    if count == 0:
        raise InvalidMedia("contains no decodable video frames")
    if resampler is not None:
        for chunk in resampler.resample(None):
            chunk.pts = samples
            chunk.time_base = Fraction(1, aout.rate)
            samples += chunk.samples
            for encoded in aout.encode(chunk):
                out.mux(encoded)
        for encoded in aout.encode(None):
            out.mux(encoded)
    for encoded in vout.encode(None):
        out.mux(encoded)


def transcode_mp3(src: Path, dst: Path, limits: Limits) -> None:
    """Any accepted audio (or the sound of a video) as MP3 without tags, as Mastodon serves it."""
    try:
        with (
            _open(src) as container,
            av.open(str(dst), "w", format="mp3", options={"id3v2_version": "0"}) as out,
        ):
            if not container.streams.audio:
                raise InvalidMedia("contains no audio")
            audio = container.streams.audio[0]
            sample_rate = _output_rate(audio.codec_context.sample_rate or 48000)
            layout = "mono" if audio.codec_context.channels == 1 else "stereo"
            aout: Any = out.add_stream(MP3_ENCODER, rate=sample_rate, layout=layout)
            aout.bit_rate = 192_000
            resampler = av.AudioResampler(format="s16p", layout=layout, rate=sample_rate, frame_size=1152)
            samples = 0
            for chunk in _audio_frames(container, audio, resampler, limits):
                chunk.pts = samples
                chunk.time_base = Fraction(1, sample_rate)
                samples += chunk.samples
                for encoded in aout.encode(chunk):
                    out.mux(encoded)
            for encoded in aout.encode(None):
                out.mux(encoded)
            if samples == 0:
                raise InvalidMedia("contains no decodable audio")
    except av.FFmpegError as exc:
        raise InvalidMedia("is truncated or corrupt") from exc
