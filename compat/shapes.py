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


def compare(mastodon: Any, kinfolk: Any, where: str = "") -> list[tuple[str, str]]:
    """(kind, dotted path) for each difference; arrays compare their first elements."""
    if mastodon is None or kinfolk is None:
        return []
    kind_m, kind_k = _KIND.get(type(mastodon), "?"), _KIND.get(type(kinfolk), "?")
    if kind_m != kind_k:
        return [("type", f"{where or '.'} ({kind_m} vs {kind_k})")]
    if isinstance(mastodon, dict):
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
    fields: dict[str, dict[tuple[str, str], set[str]]] = defaultdict(lambda: defaultdict(set))
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
                for diff in compare(body_m, body_k):
                    fields[endpoint][diff].add(test)
    lines = [f"{compared} interactions compared"]
    for endpoint in sorted(set(codes) | set(fields)):
        lines.append(f"\n{endpoint}")
        lines += [f"  status: {item}" for item in sorted(codes.get(endpoint, ()))]
        for (kind, path), tests in sorted(fields.get(endpoint, {}).items()):
            lines.append(
                f"  {kind:<7} {path}  ({', '.join(sorted(tests)[:3])}{', ...' if len(tests) > 3 else ''})"
            )
    return "\n".join(lines)


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
