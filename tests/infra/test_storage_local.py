"""LocalStorage: generated keys only, atomic writes, nothing outside its root."""

from __future__ import annotations

from pathlib import Path

import pytest

from kinfolk.infra.storage import LocalStorage, content_type_for


async def test_round_trip(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "media", base_url="https://social.example/media/")
    await storage.put("a/b-original.png", b"png", "image/png")
    assert await storage.exists("a/b-original.png")
    assert await storage.get("a/b-original.png") == b"png"
    source = tmp_path / "src"
    source.write_bytes(b"video")
    await storage.put_file("a/c-original.mp4", source, "video/mp4")
    await storage.download("a/c-original.mp4", tmp_path / "back")
    assert (tmp_path / "back").read_bytes() == b"video"
    assert storage.url("a/b-original.png") == "https://social.example/media/a/b-original.png"
    await storage.delete("a/b-original.png")
    await storage.delete("a/b-original.png")
    assert not await storage.exists("a/b-original.png")
    assert not list((tmp_path / "media").rglob("*.tmp"))


@pytest.mark.parametrize(
    "key", ["../x.png", "/etc/passwd.png", "a/../../b.png", "a/.work/b.png", "x", "A.PNG"]
)
async def test_unsafe_keys_are_refused(tmp_path: Path, key: str) -> None:
    storage = LocalStorage(tmp_path / "media", base_url="https://social.example/media")
    with pytest.raises(ValueError):
        await storage.put(key, b"x", "image/png")
    assert not (tmp_path / "x.png").exists()


def test_types_follow_the_extension() -> None:
    assert content_type_for("a/b.mp4") == "video/mp4"
    assert content_type_for("a/b.jpg") == "image/jpeg"
    assert content_type_for("a/b.bin") is None
