"""Compare Kinfolk's JSON with Mastodon's, field by field, using the suite's cassettes.

The sdist's tests/cassettes/*.yaml hold real Mastodon 4.x request/response pairs. `make compat
COMPAT_RECORD=1` runs the suite in recording mode, which writes Kinfolk's own responses to
.compat/run/suite/tests/cassettes/. This pairs the interactions of the same test by method and path
(ids replaced by `{id}`, n-th with n-th) and reports, per endpoint, the status codes that differ and the
keys that Mastodon sends and Kinfolk does not (`missing`), the reverse (`extra`), and values whose JSON
type differs when neither is null (`type`).

    .venv/bin/python compat/shapes.py [--mastodon DIR] [--kinfolk DIR] [--only test_status]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parent.parent
_ID = re.compile(r"/\d+(?=/|$)")
_KIND = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}


def normalize(method: str, uri: str) -> str:
    path = urlsplit(uri).path.rstrip("/") or "/"
    return f"{method.upper()} {_ID.sub('/{id}', path)}"


def load_cassette(path: Path) -> list[tuple[str, int, Any]]:
    """(endpoint, status code, parsed JSON body or None) per interaction."""
    try:
        data = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError):
        return []
    out = []
    for interaction in (data or {}).get("interactions", []):
        request, response = interaction["request"], interaction["response"]
        body = (response.get("body") or {}).get("string") or ""
        if isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        out.append((normalize(request["method"], request["uri"]), int(response["status"]["code"]), parsed))
    return out


# How an object is recognised as one of Mastodon's entities (keys Mastodon always sends), so that a
# field missing from every Account is reported once, not once per endpoint that embeds accounts.
ENTITIES: list[tuple[str, frozenset[str]]] = [
    ("Notification", frozenset({"type", "account", "created_at", "group_key"})),
    ("Status", frozenset({"content", "visibility", "spoiler_text", "account"})),
    ("StatusEdit", frozenset({"content", "spoiler_text", "account", "created_at", "emojis"})),
    ("Account", frozenset({"username", "acct", "display_name"})),
    ("Relationship", frozenset({"following", "followed_by", "blocking"})),
    ("MediaAttachment", frozenset({"type", "url", "preview_url", "meta"})),
    ("Poll", frozenset({"options", "expires_at", "multiple"})),
    ("PreviewCard", frozenset({"url", "title", "description", "provider_name"})),
    ("Tag", frozenset({"name", "url", "history"})),
    ("Filter", frozenset({"title", "context", "filter_action"})),
    ("List", frozenset({"title", "replies_policy"})),
    ("Role", frozenset({"permissions", "color", "name"})),
    ("CustomEmoji", frozenset({"shortcode", "static_url"})),
]
ENTITY_NAMES = frozenset(name for name, _ in ENTITIES)


def entity_of(value: dict[str, Any]) -> str | None:
    keys = value.keys()
    return next((name for name, needed in ENTITIES if needed <= keys), None)


def compare(mastodon: Any, kinfolk: Any, where: str = "") -> list[tuple[str, str]]:
    """(kind, path) for each difference; arrays compare their first elements.

    Inside a recognised entity the path restarts at its name (`Account.avatar_description`).
    """
    if mastodon is None or kinfolk is None:
        return []
    kind_m, kind_k = _KIND.get(type(mastodon), "?"), _KIND.get(type(kinfolk), "?")
    if kind_m != kind_k:
        return [("type", f"{where or '.'} ({kind_m} vs {kind_k})")]
    if isinstance(mastodon, dict):
        where = entity_of(mastodon) or where
        diffs = []
        for key in mastodon.keys() - kinfolk.keys():
            diffs.append(("missing", f"{where}.{key}".lstrip(".")))
        for key in kinfolk.keys() - mastodon.keys():
            diffs.append(("extra", f"{where}.{key}".lstrip(".")))
        for key in mastodon.keys() & kinfolk.keys():
            diffs += compare(mastodon[key], kinfolk[key], f"{where}.{key}")
        return diffs
    if isinstance(mastodon, list) and mastodon and kinfolk:
        return compare(mastodon[0], kinfolk[0], f"{where}[]")
    return []


def pair(
    mastodon: list[tuple[str, int, Any]], kinfolk: list[tuple[str, int, Any]]
) -> list[tuple[str, Any, Any]]:
    """Interactions of one test matched n-th to n-th per endpoint."""
    seen: dict[str, int] = defaultdict(int)
    ours: dict[str, list[tuple[int, Any]]] = defaultdict(list)
    for endpoint, code, body in kinfolk:
        ours[endpoint].append((code, body))
    pairs = []
    for endpoint, code, body in mastodon:
        index = seen[endpoint]
        seen[endpoint] += 1
        if index < len(ours[endpoint]):
            pairs.append((endpoint, (code, body), ours[endpoint][index]))
    return pairs


def report(mastodon_dir: Path, kinfolk_dir: Path, only: str = "") -> str:
    codes: dict[str, set[str]] = defaultdict(set)
    by_entity: dict[tuple[str, str], set[str]] = defaultdict(set)
    by_endpoint: dict[str, dict[tuple[str, str], set[str]]] = defaultdict(lambda: defaultdict(set))
    compared = 0
    for ours in sorted(kinfolk_dir.glob("*.yaml")):
        theirs = mastodon_dir / ours.name
        test = ours.stem
        if not theirs.is_file() or (only and not test.startswith(only)) or ours.name.endswith(".ws.yaml"):
            continue
        for endpoint, (code_m, body_m), (code_k, body_k) in pair(load_cassette(theirs), load_cassette(ours)):
            compared += 1
            if code_m != code_k:
                codes[endpoint].add(f"Mastodon {code_m}, Kinfolk {code_k} ({test})")
            elif 200 <= code_m < 300:
                for kind, path in compare(body_m, body_k):
                    if path.split(".", 1)[0] in ENTITY_NAMES:
                        by_entity[(kind, path)].add(endpoint)
                    else:
                        by_endpoint[endpoint][(kind, path)].add(test)
    lines = [f"{compared} interactions compared", "", "== entities, wherever they appear =="]
    for (kind, path), endpoints in sorted(by_entity.items(), key=lambda item: (item[0][1], item[0][0])):
        lines.append(f"  {kind:<7} {path}  ({_some(endpoints)})")
    lines += ["", "== endpoints: status codes, and fields outside those entities =="]
    for endpoint in sorted(set(codes) | set(by_endpoint)):
        lines.append(endpoint)
        lines += [f"  status: {item}" for item in sorted(codes.get(endpoint, ()))]
        for (kind, path), tests in sorted(by_endpoint.get(endpoint, {}).items()):
            lines.append(f"  {kind:<7} {path}  ({_some(tests)})")
    return "\n".join(lines)


def _some(names: set[str], shown: int = 3) -> str:
    return ", ".join(sorted(names)[:shown]) + (f", +{len(names) - shown}" if len(names) > shown else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    suites = sorted((ROOT / ".compat").glob("mastodon_py-*/tests/cassettes"))
    parser.add_argument("--mastodon", type=Path, default=suites[-1] if suites else None)
    parser.add_argument(
        "--kinfolk", type=Path, default=ROOT / ".compat" / "run" / "suite" / "tests" / "cassettes"
    )
    parser.add_argument("--only", default="", help="only cassettes whose test name starts with this")
    args = parser.parse_args(argv)
    if args.mastodon is None or not args.kinfolk.is_dir():
        print("compat: run `make compat COMPAT_RECORD=1` first", file=sys.stderr)
        return 1
    print(report(args.mastodon, args.kinfolk, args.only))
    return 0


if __name__ == "__main__":
    sys.exit(main())
