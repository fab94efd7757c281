"""Writes tests/federation/golden/: the outcome of every captured document (golden.py), on a
fresh SQLite database. Run it when a change of what the server shows is intended, then read the
diff: a golden file is the contract, a wrong render frozen into one is a defect.

    PYTHONPATH=$PWD/src .venv/bin/python -m tests.federation.make_golden
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import orjson

from kinfolk.db.migrate import upgrade_async
from tests.federation.golden import GOLDEN, corpus_actors, fixture_paths, golden_path, outcome
from tests.federation.remote_docs import remote_container, remote_settings


def dump(value: object) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/golden.sqlite3"
        await upgrade_async(url)
        actors = corpus_actors()
        async with remote_container(remote_settings(url, Path(tmp))) as container:
            for path in fixture_paths():
                target = golden_path(path)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(dump(await outcome(container, path, actors)))
    print(f"wrote {len(fixture_paths())} files under {GOLDEN}")


if __name__ == "__main__":
    asyncio.run(main())
