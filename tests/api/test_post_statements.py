"""The statements one post runs, counted: the store is kept lean (issue 12, bench G2.p50_1client).

Counted are the statements SQLAlchemy sends (`before_cursor_execute`) and those run through
`db/prepared.run_in` on the raw connection (the job's INSERT, the author's stamp), for the whole
request: token, composing, storing, enqueueing, the response. Transaction control (BEGIN) is
not a statement here. Before the split a plain post ran 10 and one with 2 mentions and 2 new
hashtags 17 (the mentions were read one by one, the tags read back after their INSERT, a
counters row written for every status, the author's counters read again for the response).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from kinfolk.container import Container
from kinfolk.db import prepared

PLAIN_POST = 7
POST_WITH_TWO_MENTIONS_AND_TWO_TAGS = 12


class Statements:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def __len__(self) -> int:
        return len(self.seen)


@pytest.fixture
def statements(container: Container, monkeypatch: pytest.MonkeyPatch) -> Iterator[Statements]:
    counted = Statements()

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            counted.seen.append(statement)

    original = prepared.Prepared.bound

    def bound(self: prepared.Prepared, dialect: Any, values: Any) -> Any:
        sql, params = original(self, dialect, values)
        counted.seen.append(str(sql))
        return sql, params

    monkeypatch.setattr(prepared.Prepared, "bound", bound)
    engine = container.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        yield counted
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)


async def _post(client: httpx.AsyncClient, user: Any, text: str) -> dict[str, Any]:
    response = await client.post("/api/v1/statuses", data={"status": text}, headers=user.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_plain_post_runs_few_statements(client, make_user, statements) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    await _post(client, alice, "warming up")  # the first request of a process primes caches
    statements.seen.clear()
    body = await _post(client, alice, "hello")
    assert body["content"] == "<p>hello</p>" and body["account"]["statuses_count"] == 2
    assert len(statements) <= PLAIN_POST, "\n".join(statements.seen)


async def test_mentions_and_tags_cost_a_fixed_number_of_statements(client, make_user, statements) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    await make_user("bob")
    await make_user("carol")
    await _post(client, alice, "warming up")
    statements.seen.clear()
    body = await _post(client, alice, "hi @bob and @carol #first #second")
    assert [m["acct"] for m in body["mentions"]] == ["bob", "carol"]
    assert sorted(t["name"] for t in body["tags"]) == ["first", "second"]
    assert len(statements) <= POST_WITH_TWO_MENTIONS_AND_TWO_TAGS, "\n".join(statements.seen)
    # Tags seen before cost no INSERT: the same post again runs one statement fewer.
    statements.seen.clear()
    await _post(client, alice, "hi @bob and @carol #first #second")
    assert len(statements) <= POST_WITH_TWO_MENTIONS_AND_TWO_TAGS - 1, "\n".join(statements.seen)
