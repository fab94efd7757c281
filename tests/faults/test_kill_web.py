"""SIGKILL of a web process in the middle of POST /api/v1/statuses under concurrent load, on
SQLite and on PostgreSQL: `kinfolk serve` (web, worker thread and scheduler die together), and
`kinfolk web` beside a `kinfolk worker` that lives on. After a restart of what was killed
(nothing else done by hand):

- every post that was answered 200 exists exactly once, with its fan-out done (in every
  follower's home feed);
- a post whose request died with the process exists at most once, and if it exists its fan-out
  is done too (the job was committed with it): no half-made post;
- the job queue drains with no dead job, and new posts work.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from kinfolk.db.migrate import upgrade
from tests.faults.harness import Account, Kinfolk, kinfolk_env, query, seed_accounts, wait_jobs_drained

POSTERS = 6
FOLLOWERS = 3


async def _follow_all(client: httpx.AsyncClient, followers: list[Account], author: Account) -> None:
    for follower in followers:
        r = await client.post(f"/api/v1/accounts/{author.id}/follow", headers=follower.headers)
        assert r.status_code == 200, r.text


@pytest.mark.parametrize("layout", ["serve", "web+worker"])
async def test_sigkill_mid_post_loses_and_doubles_nothing(
    database_url: str, tmp_path: Path, layout: str
) -> None:
    env = kinfolk_env(tmp_path, database_url)
    worker: Kinfolk | None = None
    if layout == "serve":
        server = Kinfolk(tmp_path, env, "serve", name="serve")
    else:
        (tmp_path / "data").mkdir(exist_ok=True)
        await asyncio.to_thread(upgrade, database_url)
        server = Kinfolk(tmp_path, env, "web", name="web")
        worker = Kinfolk(tmp_path, env, "worker", "--concurrency", "4", name="worker")
        worker.start()
    server.start()

    def logs() -> str:
        return server.logs() + ("\n" + worker.logs() if worker is not None else "")

    try:
        accounts = await seed_accounts(
            database_url, tmp_path / "data", ["author", *(f"follower{i}" for i in range(FOLLOWERS))]
        )
        author = accounts["author"]
        followers = [accounts[f"follower{i}"] for i in range(FOLLOWERS)]
        acked: dict[str, int] = {}
        unknown: list[str] = []
        stop = asyncio.Event()

        async with httpx.AsyncClient(base_url=server.url, timeout=20) as client:
            await _follow_all(client, followers, author)

            async def poster(n: int) -> None:
                i = 0
                async with httpx.AsyncClient(base_url=server.url, timeout=20) as own:
                    while not stop.is_set():
                        text = f"kill test {n}-{i}"
                        i += 1
                        try:
                            r = await own.post(
                                "/api/v1/statuses", headers=author.headers, json={"status": text}
                            )
                        except httpx.TransportError:
                            unknown.append(text)  # the process died with this request in flight
                            return
                        assert r.status_code == 200, r.text
                        acked[text] = int(r.json()["id"])

            tasks = [asyncio.create_task(poster(n)) for n in range(POSTERS)]
            deadline = time.monotonic() + 60
            while len(acked) < 30 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert len(acked) >= 30, logs()
            server.kill()  # SIGKILL: requests and jobs in flight die with it
            stop.set()
            await asyncio.gather(*tasks)
            assert unknown, "the kill should have caught requests in flight"

            server.start()
            await wait_jobs_drained(database_url, 90, logs())

            rows = await query(
                database_url, "SELECT id, text FROM statuses WHERE account_id = :a", a=author.id
            )
            by_text: dict[str, list[int]] = {}
            for status_id, text in rows:
                by_text.setdefault(str(text), []).append(int(status_id))
            for text, status_id in acked.items():
                assert by_text.get(text) == [status_id], (text, by_text.get(text))
            for text in unknown:
                assert len(by_text.get(text, [])) <= 1, (text, by_text[text])
            assert set(by_text) <= set(acked) | set(unknown)

            # Fan-out done for every post that exists, acknowledged or not.
            feed = await query(
                database_url,
                "SELECT status_id, count(*) FROM home_feed WHERE account_id IN "
                f"({', '.join(str(f.id) for f in followers)}) GROUP BY status_id",
            )
            reached = {int(s): int(n) for s, n in feed}
            missing = [sid for ids in by_text.values() for sid in ids if reached.get(sid) != FOLLOWERS]
            assert not missing, f"{len(missing)} post(s) without their fan-out: {missing[:5]}\n{logs()}"

            # Service resumed by itself: a new post is accepted and reaches the followers.
            r = await client.post(
                "/api/v1/statuses", headers=author.headers, json={"status": "after the kill"}
            )
            assert r.status_code == 200, r.text
            new_id = r.json()["id"]
            await wait_jobs_drained(database_url, 30, logs())
            r = await client.get("/api/v1/timelines/home", headers=followers[0].headers)
            assert r.status_code == 200
            assert r.json()[0]["id"] == new_id
    finally:
        server.stop()
        if worker is not None:
            worker.stop()
