"""The media pipeline's CPU-bound steps, for uploads and remote files alike.

What a file is comes from its first bytes, never from its name or declared type (which must
merely agree with the content); every limit is checked before any heavy decoding; and the
outputs are fresh encodes written under names we generate. Everything here blocks: the
service runs it in a thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from kinfolk.config import Settings
from kinfolk.infra import images, video

Kind = Literal["image", "gif", "av"]

# Extensions of the files we serve, by MIME type.
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "video/mp4": "mp4",
    "audio/mpeg": "mp3",
}
_FTYP_IMAGE = {
    b"avif": "image/avif",
    b"avis": "image/avif",
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"heim": "image/heic",
    b"heis": "image/heic",
    b"hevc": "image/heic",
    b"hevx": "image/heic",
    b"mif1": "image/heic",
    b"msf1": "image/heic",
}
_QUICKTIME_ATOMS = (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")
_ASF = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")


class MediaError(ValueError):
    """The upload is refused; the message completes "Validation failed: File ..." for the client."""


@dataclass(frozen=True)
class MediaLimits:
    image_bytes: int
    video_bytes: int
    image_pixels: int
    av: video.Limits

    @classmethod
    def from_settings(cls, settings: Settings) -> MediaLimits:
        return cls(
            image_bytes=settings.image_size_limit,
            video_bytes=settings.video_size_limit,
            image_pixels=settings.image_matrix_limit,
            av=video.Limits(
                max_pixels=settings.video_matrix_limit,
                max_fps=settings.video_frame_rate_limit,
                max_frames=settings.video_frame_limit,
            ),
        )

    @property
    def any_bytes(self) -> int:
        return max(self.image_bytes, self.video_bytes)


def sniff(head: bytes) -> tuple[Kind, str] | None:
    """The family and type the first bytes prove, or None for anything we do not accept."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image", "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image", "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif", "image/gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image", "image/webp"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "av", "audio/wav"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _FTYP_IMAGE:
            return "image", _FTYP_IMAGE[brand]
        return "av", "video/mp4"
    if head[4:8] in _QUICKTIME_ATOMS:
        return "av", "video/quicktime"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "av", "video/webm"
    if head.startswith(b"OggS"):
        return "av", "audio/ogg"
    if head.startswith(b"fLaC"):
        return "av", "audio/flac"
    if head.startswith(_ASF):
        return "av", "video/x-ms-asf"
    if head.startswith(b"ID3"):
        return "av", "audio/mpeg"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:
        return "av", "audio/aac"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "av", "audio/mpeg"
    return None


def _declared_family(declared: str) -> str | None:
    """image or av for a specific declared type; None when the client did not say."""
    value = declared.split(";", 1)[0].strip().lower()
    if value in ("", "application/octet-stream", "binary/octet-stream"):
        return None
    if value.startswith("image/"):
        return "image"
    if value.startswith(("video/", "audio/")):
        return "av"
    return "other"


@dataclass(frozen=True)
class Source:
    """A checked input file: its family, proven type and, for audio/video, its probe."""

    path: Path
    kind: Kind
    mime: str
    size: int
    animated: bool = False
    probe: video.Probe | None = None

    @property
    def media_type(self) -> str:
        if self.kind == "image" or (self.kind == "gif" and not self.animated):
            return "image"
        if self.kind == "gif":
            return "gifv"
        assert self.probe is not None
        return "video" if self.probe.has_video else "audio"

    @property
    def needs_job(self) -> bool:
        """Video, audio and animations are transcoded off the request path, as Mastodon does."""
        return self.media_type != "image"


def megabytes(limit: int) -> str:
    return f"{limit / (1024 * 1024):g} MB"


def _size_error(limit: int) -> MediaError:
    return MediaError(f"file size must be less than {megabytes(limit)}")


def analyse(path: Path, declared: str, limits: MediaLimits) -> Source:
    """Identify the file and check every limit that can be checked without decoding it."""
    size = path.stat().st_size
    if size == 0:
        raise MediaError("is empty")
    with path.open("rb") as fh:
        head = fh.read(64)
    found = sniff(head)
    if found is None:
        raise MediaError("content type is invalid (not a supported image, video or audio file)")
    kind, mime = found
    family = _declared_family(declared)
    if family is not None and family != ("av" if kind == "av" else "image"):
        raise MediaError("has contents that are not what they are reported to be")
    if kind == "av":
        if size > limits.video_bytes:
            raise _size_error(limits.video_bytes)
        try:
            probe = video.probe(path, limits.av)
        except video.InvalidMedia as exc:
            raise MediaError(str(exc)) from exc
        return Source(path, kind, mime, size, probe=probe)
    # Animated GIFs become videos and get the video size limit, as in Mastodon.
    if size > limits.any_bytes:
        raise _size_error(limits.video_bytes if kind == "gif" else limits.image_bytes)
    try:
        info = images.inspect_image(path.read_bytes(), max_pixels=limits.image_pixels)
    except images.InvalidImage as exc:
        raise MediaError(str(exc)) from exc
    if kind == "gif" and info.animated:
        if size > limits.video_bytes:
            raise _size_error(limits.video_bytes)
        if info.width * info.height > limits.av.max_pixels:
            raise MediaError(f"is too large ({info.width}x{info.height}) for an animation")
        try:
            probe = video.probe(path, limits.av)
        except video.InvalidMedia as exc:
            raise MediaError(str(exc)) from exc
        return Source(path, kind, mime, size, animated=True, probe=probe)
    if size > limits.image_bytes:
        raise _size_error(limits.image_bytes)
    return Source(path, kind, mime, size)


@dataclass(frozen=True)
class Output:
    """A file to store: bytes in memory or a file in the work directory."""

    role: Literal["file", "small", "original"]
    content_type: str
    extension: str
    data: bytes | None = None
    path: Path | None = None

    @property
    def size(self) -> int:
        if self.data is not None:
            return len(self.data)
        assert self.path is not None
        return self.path.stat().st_size


@dataclass
class Processed:
    """What processing made: files to store and the row's fields. `pending` means the served
    file is still to be made by the job (the upload itself is then kept as `original`)."""

    media_type: str
    outputs: list[Output] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    blurhash: str | None = None
    pending: bool = False

    def output(self, role: str) -> Output | None:
        return next((o for o in self.outputs if o.role == role), None)


def _image_output(role: Literal["file", "small"], image: images.ProcessedImage) -> Output:
    return Output(role, image.content_type, image.extension, data=image.data)


def process_image(source: Source, limits: MediaLimits) -> Processed:
    try:
        result = images.process_media_image(source.path.read_bytes(), max_pixels=limits.image_pixels)
    except images.InvalidImage as exc:
        raise MediaError(str(exc)) from exc
    return Processed(
        "image",
        outputs=[_image_output("file", result.original), _image_output("small", result.small)],
        meta=result.meta,
        blurhash=result.blurhash,
    )


def process_thumbnail(data: bytes, limits: MediaLimits) -> images.Preview:
    if not data:
        raise MediaError("thumbnail is empty")
    if len(data) > limits.image_bytes:
        raise MediaError(f"thumbnail size must be less than {megabytes(limits.image_bytes)}")
    try:
        return images.process_preview(data, max_pixels=limits.image_pixels)
    except images.InvalidImage as exc:
        raise MediaError(f"thumbnail {exc}") from exc


def _poster(source: Source, limits: MediaLimits) -> images.Preview | None:
    try:
        frame = video.poster(source.path, limits.av)
    except video.InvalidMedia as exc:
        raise MediaError(str(exc)) from exc
    return images.preview_from_image(frame) if frame is not None else None


def _display_meta(meta: dict[str, Any], small: images.Preview | None) -> dict[str, Any]:
    """Width and height as shown: a phone video's rotation swaps them, as its poster shows."""
    if small is None or "width" not in meta:
        return meta
    width, height = meta["width"], meta["height"]
    if width != height and (small.image.width > small.image.height) != (width > height):
        meta = dict(meta, width=height, height=width)
    return meta


def prepare_av(source: Source, limits: MediaLimits) -> Processed:
    """What an audio/video upload shows while it is transcoded: its poster (or cover art), the
    sizes and length from its headers; the upload itself is kept for the job."""
    assert source.probe is not None
    small = _poster(source, limits)
    processed = Processed(source.media_type, pending=True)
    processed.meta["original"] = _display_meta(video.original_meta(source.probe), small)
    if small is not None:
        processed.outputs.append(_image_output("small", small.image))
        processed.meta["small"] = small.meta
        processed.blurhash = small.blurhash
        if source.media_type == "audio":
            processed.meta["colors"] = small.colors
    processed.outputs.append(Output("original", "application/octet-stream", "bin", path=source.path))
    return processed


def finish_av(source: Source, limits: MediaLimits, work: Path) -> Processed:
    """Transcode (or, when already web-safe, re-wrap without metadata) into the served file."""
    assert source.probe is not None
    media_type = source.media_type
    try:
        if media_type == "audio":
            out = work / "out.mp3"
            video.transcode_mp3(source.path, out, limits.av)
            content_type = "audio/mpeg"
        else:
            out = work / "out.mp4"
            content_type = "video/mp4"
            if media_type == "video" and video.is_web_safe(source.probe):
                video.remux_mp4(source.path, out, limits.av)
            else:
                video.transcode_mp4(source.path, out, limits.av, with_audio=media_type == "video")
        result = video.probe(out, limits.av)
    except video.InvalidMedia as exc:
        raise MediaError(str(exc)) from exc
    processed = Processed(media_type)
    processed.outputs.append(Output("file", content_type, EXTENSIONS[content_type], path=out))
    processed.meta["original"] = video.original_meta(result)
    return processed


def fix_rotation(meta: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any]:
    """Keep the displayed orientation found at upload for the transcoded file's sizes."""
    before = previous.get("original") or {}
    after = meta.get("original") or {}
    sized = {"width", "height"} <= before.keys() and {"width", "height"} <= after.keys()
    if sized and (before["width"], before["height"]) == (after["height"], after["width"]):
        meta = dict(meta, original=dict(after, width=before["width"], height=before["height"]))
    return meta
