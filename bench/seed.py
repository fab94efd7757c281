"""Seed a benchmark database in bulk: plain multi-row INSERTs on SQLite, COPY on PostgreSQL.

What it makes (full size):
- `reader0..reader1999`: 2,000 users with bearer tokens (`bench-reader<i>`); each follows the
  next 40 readers and `big`, and wrote 100 statuses (200,000 in all), every tenth with an image,
  some with polls, mentions and hashtags.
- `big`: followed by the 2,000 readers and 8,000 more local users (`fan<i>`): 10,000 followers.
- `quiet`: followed by nobody.
- home feeds: each reader's 800 newest statuses from the accounts it follows (and its own),
  exactly what fan-out would have written.

Rows are built from the models' own column defaults, so a column added later with a default
needs nothing here. The schema comes from the migrations; the seed only adds rows.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import secrets
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import Boolean, Table
from sqlalchemy.sql.sqltypes import JSON, DateTime

from kinfolk.db.models import Base

FOLLOWS_PER_READER = 40
STATUSES_PER_READER = 100
FEED_SIZE = 800
TAGS = [f"bench{i}" for i in range(20)]


@dataclass(frozen=True)
class Sizes:
    readers: int = 2000
    followers_of_big: int = 10_000
    statuses_per_reader: int = STATUSES_PER_READER

    @property
    def fans(self) -> int:
        return self.followers_of_big - self.readers


FULL = Sizes()
QUICK = Sizes(readers=300)


def token_for(username: str) -> str:
    return f"bench-{username}"


@dataclass
class Seeded:
    readers: list[str]
    seconds: float
    rows: dict[str, int]
    big: str = "big"
    quiet: str = "quiet"

    def tokens(self) -> list[str]:
        return [token_for(name) for name in self.readers]


# -- rows -----------------------------------------------------------------------------------


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


class Rows:
    """Column order and defaults of one table, and rows built as tuples in that order."""

    def __init__(self, name: str, now: datetime) -> None:
        self.table = _table(name)
        self.columns = [c.name for c in self.table.columns]
        self.defaults: dict[str, Any] = {}
        for column in self.table.columns:
            default = column.default
            value: Any = None
            if default is not None and getattr(default, "is_scalar", False):
                value = default.arg  # type: ignore[attr-defined]
            elif default is not None and getattr(default, "is_callable", False):
                produced = default.arg(None)  # type: ignore[attr-defined]
                value = now if isinstance(produced, datetime) else produced
            self.defaults[column.name] = value
        self.rows: list[tuple[Any, ...]] = []

    def add(self, **values: Any) -> None:
        unknown = set(values) - self.defaults.keys()
        if unknown:
            raise KeyError(f"{self.table.name} has no column {sorted(unknown)}")
        merged = {**self.defaults, **values}
        self.rows.append(tuple(merged[c] for c in self.columns))


def _sqlite_value(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "datetime":
        return value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    if kind == "json":
        return json.dumps(value)
    if kind == "bool":
        return int(bool(value))
    return value


def _pg_value(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "json":
        return json.dumps(value)
    return value


def _kinds(table: Table) -> list[str]:
    kinds = []
    for column in table.columns:
        type_ = column.type
        impl = getattr(type_, "impl", type_)
        if isinstance(impl, DateTime):
            kinds.append("datetime")
        elif isinstance(type_, JSON) or isinstance(impl, JSON):
            kinds.append("json")
        elif isinstance(impl, Boolean):
            kinds.append("bool")
        else:
            kinds.append("plain")
    return kinds


def _encoded(rows: Rows, convert: Any) -> Iterator[tuple[Any, ...]]:
    kinds = _kinds(rows.table)
    special = [i for i, k in enumerate(kinds) if k != "plain"]
    for row in rows.rows:
        if not special:
            yield row
            continue
        values = list(row)
        for i in special:
            values[i] = convert(values[i], kinds[i])
        yield tuple(values)


# -- the data set -----------------------------------------------------------------------------


def build(sizes: Sizes, base_url: str) -> tuple[list[Rows], list[str]]:
    """Every row of the data set, in insertion order (parents before children)."""
    now = datetime.now(UTC)
    accounts = Rows("accounts", now)
    users = Rows("users", now)
    stats = Rows("account_stats", now)
    apps = Rows("oauth_applications", now)
    tokens = Rows("oauth_access_tokens", now)
    follows = Rows("follows", now)
    statuses = Rows("statuses", now)
    status_stats = Rows("status_stats", now)
    media = Rows("media_attachments", now)
    polls = Rows("polls", now)
    mentions = Rows("mentions", now)
    tags = Rows("tags", now)
    status_tags = Rows("status_tags", now)
    feed = Rows("home_feed", now)

    next_id = iter(range((int(now.timestamp() * 1000) - 30 * 86400_000) << 16, 1 << 62)).__next__
    readers = [f"reader{i}" for i in range(sizes.readers)]
    fans = [f"fan{i}" for i in range(sizes.fans)]
    names = [*readers, "big", "quiet", *fans]
    ids = {name: next_id() for name in names}
    user_ids = {name: next_id() for name in names}
    # Benchmark users never log in with a password: a hash of a random one nobody knows.
    password_hash = PasswordHasher().hash(secrets.token_urlsafe(16))

    app_id = next_id()
    apps.add(
        id=app_id,
        name="Kinfolk bench",
        client_id="kinfolk-bench",
        client_secret="kinfolk-bench",
        scopes="read write follow push",
    )
    for name in names:
        account_id = ids[name]
        accounts.add(
            id=account_id,
            username=name,
            acct_key=f"{name}@",
            display_name=name.title(),
            note="<p>Benchmark account</p>",
            note_source="Benchmark account",
            uri=f"{base_url}/users/{name}",
            url=f"{base_url}/@{name}",
            inbox_url=f"{base_url}/users/{name}/inbox",
            outbox_url=f"{base_url}/users/{name}/outbox",
            followers_url=f"{base_url}/users/{name}/followers",
        )
        users.add(
            id=user_ids[name],
            account_id=account_id,
            email=f"{name}@bench.invalid",
            password_hash=password_hash,
            confirmed_at=now,
        )
    for name in (*readers, "big", "quiet"):
        tokens.add(
            id=next_id(),
            token_digest=hashlib.sha256(token_for(name).encode()).hexdigest(),
            application_id=app_id,
            user_id=user_ids[name],
            scopes="read write follow push",
        )

    followers: dict[str, int] = dict.fromkeys(names, 0)
    following: dict[str, int] = dict.fromkeys(names, 0)
    followees: list[list[int]] = []
    n = len(readers)
    per = min(FOLLOWS_PER_READER, n - 1)
    for i, name in enumerate(readers):
        targets = [(i + k) % n for k in range(1, per + 1)]
        followees.append(targets)
        for t in targets:
            follows.add(id=next_id(), account_id=ids[name], target_account_id=ids[readers[t]])
            followers[readers[t]] += 1
        following[name] += per
    for name in (*readers, *fans):
        follows.add(id=next_id(), account_id=ids[name], target_account_id=ids["big"])
        following[name] += 1
    followers["big"] = len(readers) + len(fans)

    tag_ids = {tag: next_id() for tag in TAGS}
    for tag, tag_id in tag_ids.items():
        tags.add(id=tag_id, name=tag, display_name=tag)

    # Status k of reader a was posted at start + (k * n + a) seconds: every reader posts in turn.
    per_reader = sizes.statuses_per_reader
    start_ms = int(now.timestamp() * 1000) - (per_reader * n + 60) * 1000
    status_ids: list[list[int]] = [[0] * per_reader for _ in range(n)]
    text = "Benchmark status: " + "lorem ipsum dolor sit amet " * 6
    for k in range(per_reader):
        for a, name in enumerate(readers):
            seq = k * n + a
            at_ms = start_ms + seq * 1000
            sid = (at_ms << 16) | (a & 0xFFFF)
            status_ids[a][k] = sid
            created = datetime.fromtimestamp(at_ms / 1000, UTC)
            poll_id = next_id() if seq % 37 == 0 else None
            statuses.add(
                id=sid,
                account_id=ids[name],
                uri=f"{base_url}/users/{name}/statuses/{sid}",
                url=f"{base_url}/@{name}/{sid}",
                text=f"{text}{seq}",
                content=f"<p>{text}{seq}</p>",
                visibility="public",
                language="en",
                poll_id=poll_id,
                application_id=app_id,
                created_at=created,
            )
            status_stats.add(
                status_id=sid, replies_count=seq % 3, reblogs_count=seq % 5, favourites_count=seq % 11
            )
            if seq % 10 == 0:
                media.add(
                    id=next_id(),
                    account_id=ids[name],
                    status_id=sid,
                    type="image",
                    state="ready",
                    file_key=f"media/bench/{sid}/original.jpg",
                    preview_key=f"media/bench/{sid}/small.jpg",
                    content_type="image/jpeg",
                    file_size=123_456,
                    meta={
                        "original": {"width": 1200, "height": 800, "size": "1200x800", "aspect": 1.5},
                        "small": {"width": 480, "height": 320, "size": "480x320", "aspect": 1.5},
                    },
                    description="A benchmark picture",
                    blurhash="UBL_:rOpGG-oBUNG,qRj2so|=eE1w^n4S5NH",
                    created_at=created,
                )
            if poll_id is not None:
                polls.add(
                    id=poll_id,
                    account_id=ids[name],
                    status_id=sid,
                    options=["yes", "no", "maybe"],
                    cached_tallies=[3, 1, 0],
                    votes_count=4,
                    voters_count=4,
                    expires_at=created + timedelta(days=365),
                    created_at=created,
                )
            if seq % 13 == 0:
                mentions.add(id=next_id(), status_id=sid, account_id=ids[readers[(a + 1) % n]])
            if seq % 7 == 0:
                status_tags.add(tag_id=tag_ids[TAGS[seq % len(TAGS)]], status_id=sid, account_id=ids[name])

    for name in names:
        count = per_reader if name.startswith("reader") else 0
        last = datetime.fromtimestamp((start_ms + per_reader * n * 1000) / 1000, UTC) if count else None
        stats.add(
            account_id=ids[name],
            statuses_count=count,
            followers_count=followers[name],
            following_count=following[name],
            last_status_at=last,
        )

    # Home feeds: the newest FEED_SIZE statuses of (self + followees), in key order.
    levels = -(-FEED_SIZE // (per + 1))
    for a, name in enumerate(readers):
        authors = [a, *followees[a]]
        candidates = [
            (status_ids[b][k], b) for b in authors for k in range(max(0, per_reader - levels), per_reader)
        ]
        candidates.sort(reverse=True)
        reader_id = ids[name]
        for sid, b in sorted(candidates[:FEED_SIZE]):
            feed.add(account_id=reader_id, status_id=sid, origin_account_id=ids[readers[b]])

    tables = [
        accounts,
        users,
        stats,
        apps,
        tokens,
        follows,
        tags,
        statuses,
        status_stats,
        media,
        polls,
        mentions,
        status_tags,
        feed,
    ]
    return tables, readers


# -- writing ----------------------------------------------------------------------------------


def _chunks(rows: Iterable[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def write_sqlite(path: str, tables: Sequence[Rows]) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-200000")
        conn.execute("BEGIN")
        deferred = _defer_row_triggers(conn, "statuses")
        indexes = [sql for rows in tables for sql in _drop_indexes(conn, rows.table.name)]
        for rows in tables:
            placeholders = ", ".join("?" * len(rows.columns))
            columns = ", ".join(f'"{c}"' for c in rows.columns)
            sql = f'INSERT INTO "{rows.table.name}" ({columns}) VALUES ({placeholders})'
            conn.executemany(sql, _encoded(rows, _sqlite_value))
        for create_index in indexes:
            conn.execute(create_index)
        for create_trigger, bulk in deferred:
            conn.execute(bulk)
            conn.execute(create_trigger)
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def _drop_indexes(conn: sqlite3.Connection, table: str) -> list[str]:
    """Drop `table`'s secondary indexes (not those behind its primary key or UNIQUE columns) and
    return their CREATE statements: building an index once over the loaded rows is faster than
    growing it row by row."""
    found = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
        (table,),
    ).fetchall()
    for name, _ in found:
        conn.execute(f'DROP INDEX "{name}"')
    return [sql for _, sql in found]


_ROW_TRIGGER = re.compile(
    r"^CREATE TRIGGER (?P<name>\w+) AFTER INSERT ON (?P<table>\w+) (?:WHEN (?P<when>.*?) )?BEGIN "
    r"INSERT INTO (?P<target>\w+)\s*\((?P<columns>[^)]*)\) VALUES \((?P<values>.*)\); END$",
    re.DOTALL,
)


def _defer_row_triggers(conn: sqlite3.Connection, table: str) -> list[tuple[str, str]]:
    """Drop `table`'s simple AFTER INSERT triggers (one INSERT ... VALUES of `new.` columns, like
    the full-text index's) and return, for each, its CREATE statement and the one INSERT ...
    SELECT that does its work for every row at once: per row, the trigger tripled the time of
    seeding statuses. Triggers of any other shape stay and run per row."""
    deferred = []
    for name, sql in conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?", (table,)
    ).fetchall():
        match = _ROW_TRIGGER.match(" ".join(sql.split()))
        if match is None or match["table"] != table:
            continue

        def rows(expression: str) -> str:
            return re.sub(r"\bnew\.", f'"{table}".', expression)

        where = f" WHERE {rows(match['when'])}" if match["when"] else ""
        bulk = (
            f"INSERT INTO {match['target']} ({match['columns']}) "
            f'SELECT {rows(match["values"])} FROM "{table}"{where}'
        )
        conn.execute(f'DROP TRIGGER "{name}"')
        deferred.append((sql, bulk))
    return deferred


_PG_SECONDARY_INDEXES = """
SELECT i.relname, pg_get_indexdef(i.oid)
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
WHERE t.relname = $1 AND t.relnamespace = 'public'::regnamespace AND NOT x.indisprimary
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
"""


async def write_postgres(dsn: str, tables: Sequence[Rows]) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            # Foreign-key triggers would check every row; the data set is consistent by construction.
            await conn.execute("SET LOCAL session_replication_role = replica")
            # Secondary indexes are built once over the loaded rows, as on SQLite.
            indexes = []
            for rows in tables:
                found = await conn.fetch(_PG_SECONDARY_INDEXES, rows.table.name)
                for name, definition in found:
                    await conn.execute(f'DROP INDEX "{name}"')
                    indexes.append(definition)
            for rows in tables:
                await conn.copy_records_to_table(
                    rows.table.name, records=_encoded(rows, _pg_value), columns=rows.columns
                )
            for definition in indexes:
                await conn.execute(definition)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


def seed(database_url: str, base_url: str, sizes: Sizes) -> Seeded:
    """Fill a freshly migrated database; `database_url` is Kinfolk's (async SQLAlchemy) URL."""
    started = time.perf_counter()
    tables, readers = build(sizes, base_url)
    if database_url.startswith("sqlite"):
        write_sqlite(database_url.split(":///", 1)[1], tables)
    else:
        dsn = database_url.replace("postgresql+asyncpg://", "postgresql://")
        asyncio.run(write_postgres(dsn, tables))
    rows = {t.table.name: len(t.rows) for t in tables}
    return Seeded(readers=readers, seconds=time.perf_counter() - started, rows=rows)
