"""The cassette comparison: Mastodon's recorded JSON against Kinfolk's, field by field."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

ACCOUNT = {"id": "1", "username": "a", "acct": "a", "display_name": "", "avatar_description": ""}
STATUS = {"id": "9", "content": "<p>x</p>", "visibility": "public", "spoiler_text": "", "account": ACCOUNT}


def _cassette(path: Path, *pairs: tuple[str, str, int, Any]) -> None:
    interactions = [
        {
            "request": {"method": method, "uri": f"http://localhost:3000{uri}", "body": None, "headers": {}},
            "response": {"status": {"code": code}, "body": {"string": json.dumps(body)}, "headers": {}},
        }
        for method, uri, code, body in pairs
    ]
    path.write_text(yaml.safe_dump({"interactions": interactions, "version": 1}))


def test_entities_are_reported_once_and_endpoints_by_status(
    compat_shapes: ModuleType, tmp_path: Path
) -> None:
    mastodon, kinfolk = tmp_path / "m", tmp_path / "k"
    mastodon.mkdir()
    kinfolk.mkdir()
    ours_account = {k: v for k, v in ACCOUNT.items() if k != "avatar_description"}
    ours_status = {**STATUS, "account": ours_account, "pinned": False}
    _cassette(
        mastodon / "test_a.yaml",
        ("GET", "/api/v1/statuses/123", 200, STATUS),
        ("GET", "/api/v1/timelines/home?limit=1", 200, [STATUS]),
        ("GET", "/api/v1/directory", 200, [ACCOUNT]),
        ("GET", "/api/v2/instance", 200, {"thumbnail": {"url": "x", "description": "d"}}),
    )
    _cassette(
        kinfolk / "test_a.yaml",
        ("GET", "/api/v1/statuses/456", 200, ours_status),
        ("GET", "/api/v1/timelines/home?limit=1", 200, [ours_status]),
        ("GET", "/api/v1/directory", 404, {"error": "Record not found"}),
        ("GET", "/api/v2/instance", 200, {"thumbnail": {"url": 3}}),
    )
    text = compat_shapes.report(mastodon, kinfolk)
    assert "4 interactions compared" in text
    assert (
        "missing Account.avatar_description  (GET /api/v1/statuses/{id}, GET /api/v1/timelines/home)" in text
    )
    assert "extra   Status.pinned" in text
    assert "GET /api/v1/directory\n  status: Mastodon 200, Kinfolk 404 (test_a)" in text
    assert "missing thumbnail.description  (test_a)" in text
    assert "type    .thumbnail.url (string vs number)  (test_a)" in text
    assert text.count("avatar_description") == 1
