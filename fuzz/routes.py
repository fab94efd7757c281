"""Property-based fuzzing of every route in Kinfolk's router: no input may cause a 5xx.

For each route of `kinfolk.api.app.collect_routes()` Hypothesis draws path parameters (ids of real
objects made at start-up or met in earlier answers, and random or extreme ones), then parameters
by the names Mastodon's OpenAPI description gives that operation (and a common vocabulary), with
values of random types: extreme dates and offsets, huge, negative and non-finite numbers, arrays
where strings are expected, objects, nulls. They are sent as a query string, a form or a JSON body,
to the app in process (its real database on SQLite in a temporary directory), authenticated as an
administrator whose token has every scope.

A route fails when any answer is a 5xx or, under /api/, an error whose body is not Mastodon's
`{"error": ...}` JSON. Every failure is printed with the request that caused it (shrunk by
Hypothesis) and the run exits 1.

Length: FUZZ_EXAMPLES examples per route per round (default 30); rounds repeat until FUZZ_SECONDS
(default 0: one round) have passed; FUZZ_SEED makes a run repeatable; FUZZ_ROUTES=substring limits
the routes; FUZZ_SHRINK=0 skips shrinking.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import random
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from starlette.routing import Route

from kinfolk.api.app import collect_routes, create_app
from kinfolk.config import Settings
from kinfolk.container import Container
from kinfolk.db.migrate import upgrade
from kinfolk.domain.accounts.service import NewAccount, create_local_account
from kinfolk.domain.oauth.service import create_application, issue_token

ALL_SCOPES = "read write follow push profile admin:read admin:write"
DOMAIN = "kinfolk.fuzz"
OPENAPI = Path(
    os.environ.get("FUZZ_OPENAPI")
    or Path(__file__).resolve().parents[2] / "shared" / "reference" / "mastodon-openapi.json"
)
# Routes whose answers are not the API's: pages, files, streams held open.
SKIP_PATHS = ("/api/v1/streaming", "/system/", "/media_proxy/")
COMMON_NAMES = [
    "id",
    "limit",
    "max_id",
    "since_id",
    "min_id",
    "offset",
    "status",
    "media_ids",
    "poll",
    "in_reply_to_id",
    "visibility",
    "language",
    "scheduled_at",
    "spoiler_text",
    "sensitive",
    "q",
    "type",
    "resolve",
    "following",
    "account_id",
    "expires_in",
    "expires_at",
    "duration",
    "notifications",
    "title",
    "context",
    "keywords_attributes",
    "filter_action",
    "languages",
    "reblogs",
    "notify",
    "display_name",
    "note",
    "fields_attributes",
    "source",
    "locked",
    "bot",
    "discoverable",
    "local",
    "remote",
    "only_media",
    "exclude_types",
    "types",
    "grouped_types",
    "description",
    "focus",
    "comment",
    "status_ids",
    "rule_ids",
    "category",
    "forward",
    "account_ids",
    "lang",
    "timeline",
    "last_read_id",
    "replies_policy",
    "exclusive",
    "name",
    "choices",
    "policy",
    "data",
    "subscription",
]
NESTED_NAMES = ["options", "expires_in", "multiple", "hide_totals", "keyword", "whole_word", "_destroy", "id"]
DATES = [
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T23:59:59+14:00",
    "9999-12-31T23:59:59Z",
    "0000-01-01T00:00:00Z",
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00-14:00",
    "0001-01-01",
    "9999-12-31",
    "2026-01-01T00:00:00+99:99",
    "2026-01-01T00:00:00+23:59",
    "2026-13-45T25:61:61Z",
    "1970-01-01T00:00:00Z",
    "2100-02-29",
    "99999-01-01",
    "-0001-01-01",
    "now",
    "",
]
NUMBERS = [
    "99999999999999999999999",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "-1",
    "0",
    "1e309",
    "-1e309",
    "1e-309",
    "NaN",
    "Infinity",
    "-Infinity",
    "1.5",
    "0x10",
    " 12 ",
    "١٢",
    "²",
    "10_000",
]
WORDS = [
    "public",
    "unlisted",
    "private",
    "direct",
    "home",
    "notifications",
    "public",
    "thread",
    "account",
    "warn",
    "hide",
    "blur",
    "accounts",
    "statuses",
    "hashtags",
    "en",
    "zz",
    "en-US",
    "x" * 300,
    "true",
    "false",
    "null",
    "@alice",
    "#tag",
    "before:9999-12-31",
    "after:0001-01-01",
    "during:9999-12-31",
    "from:alice before:2026-13-01",
    "a" * 256,
    "#" + "a" * 300,
    "@" + "a" * 300 + "@example.com",
    "https://example.com/" + "a" * 3000,
    "\u0000",
    "\ud7ff",
    "%",
    "[]",
    "{}",
]


def _tiny_png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (2, 2), (10, 200, 10)).save(buffer, "PNG")
    return buffer.getvalue()


TINY_PNG = _tiny_png()


@dataclass
class World:
    """What the fuzzer knows of the instance: tokens and ids of real objects, growing as it runs."""

    token: str
    ids: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)

    def learn(self, payload: Any) -> None:
        """Remember ids from answers, so later requests reach objects made earlier."""
        items = payload if isinstance(payload, list) else [payload]
        for item in items[:5]:
            if isinstance(item, dict):
                value = item.get("id")
                if isinstance(value, str) and value and value not in self.ids and len(self.ids) < 400:
                    self.ids.append(value)


def operation_names(spec: dict[str, Any]) -> dict[tuple[str, str], list[str]]:
    """Parameter names per (method, path) in the OpenAPI description, request bodies included."""
    components = spec.get("components", {}).get("schemas", {})

    def props(schema: Any, depth: int = 0) -> list[str]:
        if not isinstance(schema, dict) or depth > 4:
            return []
        if "$ref" in schema:
            return props(components.get(schema["$ref"].rsplit("/", 1)[-1]), depth + 1)
        names = list(schema.get("properties", {}))
        for key in ("oneOf", "anyOf", "allOf"):
            for sub in schema.get(key, []):
                names += props(sub, depth + 1)
        return names

    out: dict[tuple[str, str], list[str]] = {}
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            if not isinstance(op, dict):
                continue
            names = [p.get("name", "") for p in op.get("parameters", []) if isinstance(p, dict)]
            for content in op.get("requestBody", {}).get("content", {}).values():
                names += props(content.get("schema"))
            out[(method.upper(), path)] = [n.removesuffix("[]") for n in names if n]
    return out


def scalar_values(world: World) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(DATES),
        st.sampled_from(NUMBERS),
        st.sampled_from(WORDS),
        st.sampled_from(world.ids) if world.ids else st.just("1"),
        st.integers(min_value=-(10**25), max_value=10**25),
        st.floats(allow_nan=False),
        st.booleans(),
        st.none(),
        st.text(max_size=40),
    )


DATE_NAMES = {"scheduled_at", "expires_at", "before", "after", "since", "date", "created_at"}
NUMBER_NAMES = {
    "limit",
    "max_id",
    "since_id",
    "min_id",
    "offset",
    "expires_in",
    "duration",
    "id",
    "account_id",
    "in_reply_to_id",
    "quoted_status_id",
    "last_read_id",
    "media_ids",
    "status_ids",
    "account_ids",
    "rule_ids",
    "choices",
}
SEARCH_WORDS = ["before:", "after:", "during:", "from:", "has:", "is:", "language:", "in:", "-", '"']


def named_values(world: World, name: str) -> st.SearchStrategy[Any]:
    """Values for a parameter, biased towards what its name suggests and its edges."""
    generic = values(world)
    if name in DATE_NAMES:
        return st.one_of(st.sampled_from(DATES), st.sampled_from(DATES), generic)
    if name in NUMBER_NAMES:
        real = st.sampled_from(world.ids) if world.ids else st.just("1")
        numbers = st.one_of(st.sampled_from(NUMBERS), real, st.integers(min_value=-(2**70), max_value=2**70))
        return st.one_of(numbers, st.lists(numbers, max_size=6), generic)
    if name == "q":
        operator = st.builds(
            lambda word, value: word + value,
            st.sampled_from(SEARCH_WORDS),
            st.one_of(st.sampled_from(DATES), st.sampled_from(NUMBERS), st.text(max_size=12)),
        )
        return st.one_of(
            st.lists(st.one_of(operator, st.sampled_from(WORDS)), max_size=4).map(" ".join), generic
        )
    if name == "poll":
        options = st.lists(st.one_of(st.text(max_size=60), generic), max_size=6)
        return st.one_of(
            st.fixed_dictionaries(
                {"options": options},
                optional={"expires_in": named_values(world, "expires_in"), "multiple": generic},
            ),
            generic,
        )
    return generic


def _nested(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Arrays and objects of `inner`, where strings are expected as often as not."""
    keys = st.sampled_from([*NESTED_NAMES, "0", "1", "a"])
    return st.one_of(st.lists(inner, max_size=5), st.dictionaries(keys, inner, max_size=4))


def values(world: World) -> st.SearchStrategy[Any]:
    return st.recursive(scalar_values(world), _nested, max_leaves=8)


def path_value(world: World) -> st.SearchStrategy[str]:
    real = st.sampled_from(world.ids) if world.ids else st.just("1")
    number = st.one_of(real, st.sampled_from(NUMBERS))
    # Notification group keys: `ungrouped-<id>` or `<type>-<id>-<bucket>`.
    group_key = st.builds(
        lambda kind, parts: "-".join([kind, *parts]),
        st.sampled_from(["ungrouped", "favourite", "reblog", "follow", "mention"]),
        st.lists(number, min_size=1, max_size=2),
    )
    return st.one_of(
        real,
        real,
        real,
        st.sampled_from(world.names),
        st.sampled_from(NUMBERS),
        st.sampled_from(DATES),
        group_key,
        st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=12),
    )


def rails_pairs(prefix: str, value: Any) -> list[tuple[str, str]]:
    """A nested value as Rails-style form or query keys: `a[]=1`, `a[b]=2`."""
    if isinstance(value, list):
        return [pair for v in value for pair in rails_pairs(prefix + "[]", v)]
    if isinstance(value, dict):
        return [pair for k, v in value.items() for pair in rails_pairs(f"{prefix}[{k}]", v)]
    if value is None:
        return [(prefix, "")]
    if isinstance(value, bool):
        return [(prefix, "true" if value else "false")]
    return [(prefix, str(value))]


@dataclass
class Failure:
    route: str
    method: str
    detail: str


@dataclass
class Target:
    route: Route
    method: str
    names: list[str]

    @property
    def label(self) -> str:
        return f"{self.method} {self.route.path}"


def targets(spec_names: dict[tuple[str, str], list[str]], only: str | None) -> list[Target]:
    out = []
    for route in collect_routes():
        if not isinstance(route, Route) or any(route.path.startswith(p) for p in SKIP_PATHS):
            continue
        if only and only not in route.path:
            continue
        spec_path = route.path.replace(":int}", "}").replace(":path}", "}")
        for method in sorted((route.methods or set()) - {"HEAD", "OPTIONS"}):
            names = spec_names.get((method, spec_path), [])
            out.append(Target(route, method, list(dict.fromkeys(names + COMMON_NAMES))))
    return out


class Fuzzer:
    def __init__(self, client: httpx.AsyncClient, world: World, loop: asyncio.AbstractEventLoop) -> None:
        self.client = client
        self.world = world
        self.loop = loop
        self.requests = 0
        self.statuses: dict[int, int] = {}

    async def send(
        self,
        target: Target,
        path_params: dict[str, str],
        params: dict[str, Any],
        how: str,
        key: str | None,
        upload: tuple[str, bytes, str] | None = None,
    ) -> str:
        """Send one request; an empty string when the answer is acceptable, else what is wrong."""
        path = target.route.path
        for name, value in path_params.items():
            path = path.replace("{" + name + "}", quote(value, safe=""))
        headers = {"Authorization": f"Bearer {self.world.token}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        kwargs: dict[str, Any] = {}
        pairs = [pair for k, v in params.items() for pair in rails_pairs(k, v)]
        if how == "json" and target.method != "GET":
            kwargs["content"] = json.dumps(params, default=str)
            headers["Content-Type"] = "application/json"
        elif how == "form" and target.method != "GET":
            kwargs["data"] = dict(pairs)
            if upload is not None:
                field_name, content, content_type = upload
                kwargs["files"] = {field_name: ("upload", content, content_type)}
        else:
            kwargs["params"] = pairs
        response = await self.client.request(target.method, path, headers=headers, **kwargs)
        self.requests += 1
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        request = f"{target.method} {path} {how} {json.dumps(params, default=str)[:600]}"
        if key is not None:
            request += f" Idempotency-Key: {key[:40]}"
        if response.status_code >= 500:
            return f"{response.status_code} for {request}: {response.text[:300]}"
        is_api = path.startswith("/api/")
        if response.status_code >= 400 and is_api and response.status_code != 413:
            try:
                body = response.json()
            except ValueError:
                return f"non-JSON {response.status_code} for {request}: {response.text[:200]}"
            if not isinstance(body, dict) or not isinstance(body.get("error"), str):
                return f"{response.status_code} without an error string for {request}: {response.text[:200]}"
        if response.status_code == 200 and response.headers.get("content-type", "").startswith(
            "application/json"
        ):
            with contextlib.suppress(ValueError):
                self.world.learn(response.json())
        return ""

    def test_for(self, target: Target, examples: int, run_seed: int, shrink: bool) -> Callable[[], None]:
        path_names = list(target.route.param_convertors)
        # Strategies must not change while Hypothesis draws from them: a copy of what is known now.
        known = World(self.world.token, list(self.world.ids), list(self.world.names))
        phases = [Phase.explicit, Phase.generate] + ([Phase.shrink] if shrink else [])

        @seed(run_seed)
        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            phases=phases,
            suppress_health_check=list(HealthCheck),
        )
        @given(
            path_params=st.fixed_dictionaries({n: path_value(known) for n in path_names}),
            params=st.lists(st.sampled_from(target.names), max_size=6, unique=True).flatmap(
                lambda names: st.fixed_dictionaries({n: named_values(known, n) for n in names})
            ),
            how=st.sampled_from(["query", "form", "json"]),
            upload=st.one_of(
                st.none(),
                st.tuples(
                    st.sampled_from(["file", "avatar", "header", "thumbnail", "data"]),
                    st.one_of(st.binary(max_size=200), st.just(TINY_PNG), st.just(TINY_PNG[:40])),
                    st.sampled_from(["image/png", "image/gif", "video/mp4", "audio/mpeg", "text/plain"]),
                ),
            ),
            key=st.one_of(
                st.none(), st.none(), st.text(alphabet="abcdef0123456789-", max_size=8), st.just("k" * 400)
            ),
        )
        def check(
            path_params: dict[str, str],
            params: dict[str, Any],
            how: str,
            key: str | None,
            upload: tuple[str, bytes, str] | None,
        ) -> None:
            problem = self.loop.run_until_complete(self.send(target, path_params, params, how, key, upload))
            assert not problem, problem

        return check


async def seed_world(client: httpx.AsyncClient, container: Container) -> World:
    """An administrator with every scope, a second account, and one of most kinds of object."""
    async with container.db.uow() as uow:
        account, user = await create_local_account(
            uow.session,
            NewAccount(
                username="fuzzer",
                email="fuzzer@example.com",
                password="correct horse battery",
                role="owner",
                approved=True,
                allow_reserved=True,
            ),
            uris=container.uris,
        )
        other, other_user = await create_local_account(
            uow.session,
            NewAccount(username="other", email="other@example.com", password="correct horse battery"),
            uris=container.uris,
        )
        app = await create_application(uow.session, name="fuzz", scopes=ALL_SCOPES)
        token = (
            await issue_token(uow.session, application=app, user=user, scopes=ALL_SCOPES.split())
        ).access_token
        other_token = (
            await issue_token(uow.session, application=app, user=other_user, scopes=ALL_SCOPES.split())
        ).access_token
    world = World(token=token, ids=[str(account.id), str(other.id)], names=["fuzzer", "other", "tag", "en"])
    mine = {"Authorization": f"Bearer {token}"}
    theirs = {"Authorization": f"Bearer {other_token}"}

    async def call(method: str, path: str, headers: dict[str, str], **kwargs: Any) -> None:
        response = await client.request(method, path, headers=headers, **kwargs)
        if response.status_code < 300 and response.headers.get("content-type", "").startswith(
            "application/json"
        ):
            world.learn(response.json())

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 20, 20)).save(buffer, "PNG")
    await call("POST", "/api/v2/media", mine, files={"file": ("a.png", buffer.getvalue(), "image/png")})
    await call("POST", "/api/v1/statuses", mine, json={"status": "hello #tag @other"})
    await call("POST", "/api/v1/statuses", theirs, json={"status": "hi @fuzzer"})
    await call(
        "POST",
        "/api/v1/statuses",
        mine,
        json={"status": "poll", "poll": {"options": ["a", "b"], "expires_in": 3600}},
    )
    await call("POST", f"/api/v1/accounts/{other.id}/follow", mine)
    await call("POST", f"/api/v1/accounts/{account.id}/follow", theirs)
    await call("POST", "/api/v1/lists", mine, json={"title": "list"})
    await call("POST", "/api/v2/filters", mine, json={"title": "f", "context": ["home"]})
    await call("POST", "/api/v1/featured_tags", mine, json={"name": "tag"})
    await call(
        "POST",
        "/api/v1/statuses",
        mine,
        json={"status": "later", "scheduled_at": "2099-01-01T00:00:00Z"},
    )
    await call("POST", "/api/v1/reports", theirs, json={"account_id": str(account.id), "comment": "x"})
    return world


PG_ADMIN_URL = os.environ.get("FUZZ_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextlib.contextmanager
def database(kind: str, tmp: str) -> Iterator[str]:
    """A migrated, empty database: SQLite in `tmp`, or a PostgreSQL database made and dropped here."""
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp}/fuzz.sqlite3"
        upgrade(url)
        yield url
        return
    import asyncpg

    name = f"kinfolk_fuzz_{os.getpid()}_{random.randrange(1 << 30):x}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=10)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        url = f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}".replace("postgresql://", "postgresql+asyncpg://")
        upgrade(url)
        yield url
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def run_on(
    kind: str, todo: list[Target], examples: int, seconds: float, run_seed: int, shrink: bool
) -> tuple[Fuzzer, int, dict[str, Failure]]:
    """Fuzz every target on one database, in rounds until `seconds` have passed (one round at least)."""
    failures: dict[str, Failure] = {}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kinfolk-fuzz-") as tmp, database(kind, tmp) as db_url:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        config = Settings(
            domain=DOMAIN,
            protocol="https",
            data_dir=Path(tmp) / "data",
            database_url=db_url,
            secret_key="fuzz-secret",
            registrations="open",
            # Unthrottled, or every operation after the first few hundred would only exercise
            # the 429 answer (the limits have tests of their own).
            rate_limits=False,
        )
        container = Container.build(config, pool_size=5)
        transport = httpx.ASGITransport(
            app=create_app(container), raise_app_exceptions=False, client=("127.0.0.1", 40000)
        )
        client = httpx.AsyncClient(transport=transport, base_url=f"https://{DOMAIN}")
        fuzzer = Fuzzer(client, loop.run_until_complete(seed_world(client, container)), loop)
        rounds = 0
        while True:
            for target in todo:
                if target.label in failures:
                    continue
                try:
                    fuzzer.test_for(target, examples, run_seed + rounds, shrink)()
                except AssertionError as exc:
                    failures[target.label] = Failure(target.route.path, target.method, str(exc))
                    print(f"FAIL ({kind}) {target.label}: {exc}", flush=True)
                except Exception:
                    detail = traceback.format_exc(limit=3)
                    failures[target.label] = Failure(target.route.path, target.method, detail)
                    print(f"ERROR ({kind}) {target.label}: {detail}", flush=True)
                if seconds and rounds and time.monotonic() - started > seconds:
                    break
            rounds += 1
            print(f"fuzz ({kind}): round {rounds} done, {fuzzer.requests} requests", flush=True)
            if not seconds or time.monotonic() - started > seconds:
                break
        loop.run_until_complete(client.aclose())
        loop.run_until_complete(container.close())
        loop.close()
    return fuzzer, rounds, failures


def main() -> int:
    examples = int(os.environ.get("FUZZ_EXAMPLES", "30"))
    seconds = float(os.environ.get("FUZZ_SECONDS", "0"))
    run_seed = int(os.environ.get("FUZZ_SEED", str(random.randrange(1 << 30))))
    only = os.environ.get("FUZZ_ROUTES") or None
    shrink = os.environ.get("FUZZ_SHRINK", "1") != "0"
    kinds = [k.strip() for k in os.environ.get("FUZZ_DATABASES", "sqlite").split(",") if k.strip()]
    if not OPENAPI.exists():
        print(f"fuzz: {OPENAPI} is missing: parameter names from the common vocabulary only", flush=True)
    spec = json.loads(OPENAPI.read_text()) if OPENAPI.exists() else {}
    todo = targets(operation_names(spec), only)
    print(
        f"fuzz: {len(todo)} operations on {', '.join(kinds)}, {examples} examples each per round, "
        f"seed {run_seed}",
        flush=True,
    )
    failed: set[str] = set()
    for kind in kinds:
        started = time.monotonic()
        fuzzer, rounds, failures = run_on(kind, todo, examples, seconds / len(kinds), run_seed, shrink)
        failed |= set(failures)
        codes = ", ".join(f"{k}: {v}" for k, v in sorted(fuzzer.statuses.items()))
        print(
            f"fuzz ({kind}): {fuzzer.requests} requests over {len(todo)} operations in {rounds} round(s), "
            f"{time.monotonic() - started:.0f} s, seed {run_seed}; answers {codes}",
            flush=True,
        )
    print(f"fuzz: {len(todo) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
