"""`kinfolk doctor`: what an operator should fix before (and after) opening the server.

Each check gives OK, WARN or FAIL with what to do about it; the command exits 1 if any check
failed. Checks read the same settings the server would (environment and kinfolk.toml) and
touch only what they check: a probe file in the media directory, one request to the bucket,
one to the server's own /health.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from sqlalchemy import text

from kinfolk.config import Settings
from kinfolk.ops.schema import MIGRATE_HINT, schema_state

OK, WARN, FAIL = "OK", "WARN", "FAIL"
# Federation signatures are refused beyond a few minutes of skew; warn well before that.
CLOCK_SKEW_WARN = 30.0
CLOCK_SKEW_FAIL = 300.0
MIN_SECRET_KEY = 32


@dataclass(frozen=True)
class Check:
    name: str
    level: str
    message: str

    def line(self) -> str:
        return f"{self.level:<5} {self.name:<14} {self.message}"


@dataclass
class Context:
    settings: Settings
    timeout: float
    db_clock: datetime | None = None  # the database server's clock, when it has its own
    http_date: datetime | None = None  # the Date header of our own /health


def is_local(domain: str) -> bool:
    if domain.startswith("["):  # [::1]:8000
        host = domain[1:].split("]", 1)[0]
    else:
        host = domain.rsplit(":", 1)[0] if domain.count(":") == 1 else domain
    if host in ("localhost", "") or host.endswith(".localhost") or host.endswith(".test"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_domain(ctx: Context) -> list[Check]:
    s = ctx.settings
    out: list[Check] = []
    if not s.domain:
        out.append(Check("domain", FAIL, "KINFOLK_DOMAIN is empty: set it to the server's public name"))
    elif is_local(s.domain):
        out.append(
            Check(
                "domain",
                WARN,
                f"{s.domain} is a local name: fine for development; set KINFOLK_DOMAIN to the public "
                "name before opening the server (it cannot change once others know your accounts)",
            )
        )
    else:
        out.append(Check("domain", OK, s.domain))
    if s.protocol != "https" and not is_local(s.domain):
        out.append(
            Check(
                "protocol",
                FAIL,
                "KINFOLK_PROTOCOL is http on a public domain: serve over https (a TLS proxy in front) "
                "and set KINFOLK_PROTOCOL=https",
            )
        )
    else:
        out.append(Check("protocol", OK, s.protocol))
    return out


def check_secret_key(ctx: Context) -> list[Check]:
    s = ctx.settings
    path = s.data_dir / "secret_key"
    if s.secret_key:
        if len(s.secret_key) < MIN_SECRET_KEY:
            return [
                Check(
                    "secret key",
                    FAIL,
                    f"KINFOLK_SECRET_KEY has {len(s.secret_key)} characters: use at least {MIN_SECRET_KEY} "
                    "random ones (python -c 'import secrets; print(secrets.token_urlsafe(48))')",
                )
            ]
        return [Check("secret key", OK, "set in the configuration")]
    if path.is_file():
        return [Check("secret key", OK, f"generated, kept in {path} (include it in backups)")]
    return [
        Check(
            "secret key",
            WARN,
            f"none yet: one will be generated in {path} at first start; with several machines set "
            "KINFOLK_SECRET_KEY to the same value on all of them",
        )
    ]


def check_registrations(ctx: Context) -> list[Check]:
    mode = ctx.settings.registrations
    if mode == "open":
        return [
            Check(
                "registrations",
                WARN,
                "open without e-mail confirmation: anyone (and any bot) can sign up at once; set "
                "KINFOLK_REGISTRATIONS=approval (or closed) until e-mail confirmation exists",
            )
        ]
    return [Check("registrations", OK, mode)]


async def check_database(ctx: Context) -> list[Check]:
    from kinfolk.db.database import make_engine

    s = ctx.settings
    url = s.resolved_database_url
    if s.is_sqlite:
        path = url.split(":///", 1)[1]
        if not os.path.exists(path):
            return [Check("database", FAIL, f"{path} does not exist: {MIGRATE_HINT}")]
    engine = make_engine(url, pool_size=1)
    try:
        state = await asyncio.wait_for(schema_state(engine), ctx.timeout + 5)
        if engine.dialect.name == "postgresql":
            async with engine.connect() as conn:
                ctx.db_clock = (await conn.execute(text("SELECT now()"))).scalar_one()
    except Exception as exc:
        return [Check("database", FAIL, f"cannot reach the database: {_short(exc)}")]
    finally:
        await engine.dispose()
    if not state.migrated:
        return [Check("database", FAIL, f"{state.describe()}: {MIGRATE_HINT}")]
    return [Check("database", OK, f"{engine.dialect.name}, {state.describe()}")]


async def check_redis(ctx: Context) -> list[Check]:
    s = ctx.settings
    if not s.redis_url:
        return [
            Check(
                "redis",
                OK,
                "not configured (fine for one process; several web or worker processes need it "
                "for streaming and rate limits)",
            )
        ]
    from redis.asyncio import Redis

    client = Redis.from_url(s.redis_url, socket_connect_timeout=ctx.timeout, socket_timeout=ctx.timeout)
    try:
        await client.ping()
    except Exception as exc:
        return [Check("redis", FAIL, f"cannot reach {_safe(s.redis_url)}: {_short(exc)}")]
    finally:
        await client.aclose()
    return [Check("redis", OK, _safe(s.redis_url))]


async def check_storage(ctx: Context) -> list[Check]:
    s = ctx.settings
    if s.s3_bucket:
        return [await asyncio.to_thread(_check_bucket, s, ctx.timeout)]
    media = s.media_dir
    probe = media / f".doctor-{secrets.token_hex(4)}"
    try:
        media.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as exc:
        return [
            Check(
                "storage",
                FAIL,
                f"cannot write to {media}: {exc.strerror or exc}: fix its owner or permissions",
            )
        ]
    return [Check("storage", OK, f"{media.resolve()} is writable")]


def _check_bucket(s: Settings, timeout: float) -> Check:
    import boto3
    from botocore.config import Config

    client: Any = boto3.client(
        "s3",
        endpoint_url=s.s3_endpoint.rstrip("/") or None,
        region_name=s.s3_region or "us-east-1",
        aws_access_key_id=s.s3_access_key or None,
        aws_secret_access_key=s.s3_secret_key or None,
        config=Config(
            connect_timeout=timeout,
            read_timeout=timeout,
            retries={"total_max_attempts": 1},
            s3={"addressing_style": "path" if s.s3_endpoint else "auto"},
        ),
    )
    try:
        client.head_bucket(Bucket=s.s3_bucket)
    except Exception as exc:
        return Check(
            "storage",
            FAIL,
            f"S3 bucket {s.s3_bucket!r} is not reachable: {_short(exc)}: check KINFOLK_S3_ENDPOINT, the "
            "bucket name and the keys",
        )
    return Check("storage", OK, f"S3 bucket {s.s3_bucket!r} is reachable")


async def check_reachable(ctx: Context) -> list[Check]:
    """From the server itself: does the public address answer? Only a warning, since the
    machine may not see itself the way the world does (split DNS, a proxy not yet set up)."""
    import aiohttp

    url = f"{ctx.settings.base_url}/health"
    try:
        timeout = aiohttp.ClientTimeout(total=ctx.timeout)
        async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as response:
            date = response.headers.get("Date")
            if date:
                ctx.http_date = parsedate_to_datetime(date)
            if response.status != 200:
                return [Check("reachable", WARN, f"{url} answered {response.status}: is Kinfolk behind it?")]
    except Exception as exc:
        return [
            Check(
                "reachable",
                WARN,
                f"{url} did not answer ({_short(exc) or type(exc).__name__}): check DNS, the TLS proxy and "
                "that the server runs",
            )
        ]
    return [Check("reachable", OK, f"{url} answers")]


def check_clock(ctx: Context) -> list[Check]:
    now = datetime.now(UTC)
    compared: list[str] = []
    worst = 0.0
    for name, other in (("the database server", ctx.db_clock), ("the HTTP Date of /health", ctx.http_date)):
        if other is None:
            continue
        skew = (now - other.astimezone(UTC)).total_seconds()
        if other is ctx.http_date and skew > 0:
            skew = max(0.0, skew - 1.0)  # an HTTP date has whole seconds only
        worst = max(worst, abs(skew))
        compared.append(f"{name} {skew:+.1f} s")
    if not compared:
        return [Check("clock", OK, f"{now:%Y-%m-%d %H:%M:%S} UTC (no other clock to compare with)")]
    level = FAIL if worst > CLOCK_SKEW_FAIL else WARN if worst > CLOCK_SKEW_WARN else OK
    advice = "" if level == OK else ": run an NTP client (chrony, systemd-timesyncd)"
    return [Check("clock", level, f"differs from {', '.join(compared)}{advice}")]


def _short(exc: BaseException) -> str:
    text_ = " ".join(str(exc).split())
    return text_[:200]


def _safe(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


async def run_checks(settings: Settings, *, timeout: float = 3.0) -> list[Check]:
    ctx = Context(settings, timeout)
    checks: list[Check] = []
    checks += check_domain(ctx)
    checks += check_secret_key(ctx)
    checks += check_registrations(ctx)
    steps: list[Callable[[Context], Awaitable[list[Check]]]] = [
        check_database,
        check_redis,
        check_storage,
        check_reachable,
    ]
    for step in steps:
        checks += await step(ctx)
    checks += check_clock(ctx)
    return checks


def doctor(settings: Settings, *, timeout: float = 3.0) -> int:
    started = time.monotonic()
    checks = asyncio.run(run_checks(settings, timeout=timeout))
    for check in checks:
        print(check.line(), flush=True)
    failed = sum(1 for c in checks if c.level == FAIL)
    warned = sum(1 for c in checks if c.level == WARN)
    print(f"{len(checks)} checks, {failed} failed, {warned} warnings ({time.monotonic() - started:.1f} s)")
    return 1 if failed else 0
