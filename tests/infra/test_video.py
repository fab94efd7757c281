"""PyAV probing and transcoding: limits from the headers, demuxer whitelist, web-safe output."""

from __future__ import annotations

from pathlib import Path

import av
import pytest
from tests.domain.media import samples

from kinfolk.infra import video

LIMITS = video.Limits()


def codecs(path: Path) -> tuple[str | None, str | None, str]:
    with av.open(str(path)) as c:
        v = c.streams.video[0].codec_context.name if c.streams.video else None
        a = c.streams.audio[0].codec_context.name if c.streams.audio else None
        pix = c.streams.video[0].codec_context.pix_fmt if c.streams.video else ""
        return v, a, pix or ""


def test_the_wheel_has_the_encoders_we_use() -> None:
    for name in (video.VIDEO_ENCODER, video.AUDIO_ENCODER, video.MP3_ENCODER):
        assert name in av.codecs_available


def test_probe_reads_sizes_rate_and_length(tmp_path: Path) -> None:
    probe = video.probe(samples.video(tmp_path / "a.mp4", frames=30), LIMITS)
    assert (probe.width, probe.height, probe.frames) == (64, 48, 30)
    assert probe.frame_rate == 30 and probe.has_video and video.is_web_safe(probe)
    meta = video.original_meta(probe)
    assert meta["frame_rate"] == "30/1" and 0.9 < meta["duration"] < 1.2 and meta["bitrate"] > 0
    sound = video.probe(samples.audio(tmp_path / "a.mp3"), LIMITS)
    assert not sound.has_video and set(video.original_meta(sound)) == {"duration", "bitrate"}


@pytest.mark.parametrize(
    ("options", "limits", "message"),
    [
        ({"width": 4000, "height": 2200, "frames": 1, "audio": None}, LIMITS, "too large"),
        ({"fps": 240, "frames": 8, "audio": None}, LIMITS, "frame rate"),
        ({"frames": 30, "audio": None}, video.Limits(max_frames=10), "too many frames"),
    ],
    ids=["resolution", "fps", "frames"],
)
def test_limits_are_checked_from_the_headers(
    tmp_path: Path, options: dict[str, object], limits: video.Limits, message: str
) -> None:
    path = samples.video(tmp_path / "v.mp4", **options)  # type: ignore[arg-type]
    with pytest.raises(video.InvalidMedia, match=message):
        video.probe(path, limits)


def test_the_frame_limit_also_holds_while_decoding(tmp_path: Path) -> None:
    """A container that under-reports its frames is still stopped at the limit."""
    path = samples.video(tmp_path / "v.webm", codec="libvpx-vp9", audio=None, container="webm", frames=30)
    with pytest.raises(video.InvalidMedia, match="too many frames"):
        video.transcode_mp4(path, tmp_path / "out.mp4", video.Limits(max_frames=10))


@pytest.mark.parametrize(
    "data",
    [
        b"#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:10.0,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n",
        b"ffconcat version 1.0\nfile /etc/passwd\n",
        b"<html></html>",
        b"",
    ],
    ids=["hls", "concat", "html", "empty"],
)
def test_only_whitelisted_demuxers_open(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "evil.mp4"
    path.write_bytes(data)
    with pytest.raises(video.InvalidMedia):
        video.probe(path, LIMITS)


def test_transcoding_makes_h264_aac_mp4(tmp_path: Path) -> None:
    source = samples.video(tmp_path / "a.webm", codec="libvpx-vp9", audio="libopus", container="webm")
    video.transcode_mp4(source, tmp_path / "out.mp4", LIMITS)
    assert codecs(tmp_path / "out.mp4") == ("h264", "aac", "yuv420p")


def test_odd_sizes_become_even(tmp_path: Path) -> None:
    source = samples.video(
        tmp_path / "a.webm", width=65, height=49, codec="libvpx-vp9", audio=None, container="webm"
    )
    video.transcode_mp4(source, tmp_path / "out.mp4", LIMITS)
    probe = video.probe(tmp_path / "out.mp4", LIMITS)
    assert (probe.width, probe.height) == (64, 48)


def test_web_safe_video_is_rewrapped_without_metadata(tmp_path: Path) -> None:
    source = samples.video(tmp_path / "a.mp4")
    with av.open(str(source)) as c:
        assert c.streams.video
    video.remux_mp4(source, tmp_path / "out.mp4", LIMITS)
    assert codecs(tmp_path / "out.mp4")[:2] == ("h264", "aac")
    with av.open(str(tmp_path / "out.mp4")) as c:
        assert "encoder" not in c.streams.video[0].metadata


def test_animated_gif_becomes_silent_mp4(tmp_path: Path) -> None:
    gif = tmp_path / "a.gif"
    gif.write_bytes(samples.animated_gif(frames=5))
    probe = video.probe(gif, LIMITS)
    assert probe.is_gif and probe.has_video
    video.transcode_mp4(gif, tmp_path / "out.mp4", LIMITS, with_audio=False)
    assert codecs(tmp_path / "out.mp4")[:2] == ("h264", None)


def test_audio_becomes_mp3(tmp_path: Path) -> None:
    wav = samples.audio(tmp_path / "a.wav", codec="pcm_s16le", container="wav")
    video.transcode_mp3(wav, tmp_path / "out.mp3", LIMITS)
    assert codecs(tmp_path / "out.mp3")[1] in ("mp3", "mp3float")
    assert not (tmp_path / "out.mp3").read_bytes().startswith(b"ID3")  # no tags


def test_poster_is_upright(tmp_path: Path) -> None:
    path = samples.video(tmp_path / "p.mp4", width=64, height=48, rotation=90)
    frame = video.poster(path, LIMITS)
    assert frame is not None and frame.size == (48, 64)
    assert video.poster(samples.audio(tmp_path / "a.mp3"), LIMITS) is None
