"""Configuration from KINFOLK_* environment variables and an optional TOML file.

The environment wins over the file, so that a deployment can keep its defaults in
`kinfolk.toml` and override one value per process.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import tomllib
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from kinfolk.kernel.uris import Uris


def _toml_source() -> dict[str, Any]:
    path = Path(os.environ.get("KINFOLK_CONFIG", "kinfolk.toml"))
    if not path.is_file():
        return {}
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    section = data.get("kinfolk", data)
    return {str(k).lower(): v for k, v in section.items()}


class _TomlSettingsSource(PydanticBaseSettingsSource):
    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        return _toml_source()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KINFOLK_", extra="ignore")

    domain: str = "localhost:8000"
    protocol: Literal["https", "http"] = "https"
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path("./data")
    database_url: str = ""
    redis_url: str = ""
    # Prefix for every Redis key, so several instances (or test runs) can share one Redis.
    redis_prefix: str = "kinfolk:"
    secret_key: str = ""
    # Web Push (VAPID) key: a PEM or the base64url raw scalar Mastodon uses; generated when empty.
    vapid_private_key: str = ""
    trusted_proxies: str = ""
    # Other host names this server answers to (comma-separated), besides `domain`; any other Host
    # header is refused with 421 (Mastodon's ALTERNATE_DOMAINS). Generated URLs always use `domain`.
    alternate_domains: str = ""
    # Mastodon's rate limits (domain/rate_limits.py); false turns every limit off (bench, compat).
    rate_limits: bool = True
    # Comma-separated CIDRs whose requests skip the per-request throttles (Mastodon safelists
    # loopback; here nothing is exempt unless listed, so a proxy that was not declared trusted
    # cannot make every client look alike and unlimited). Per-account families still apply.
    rate_limit_exempt: str = ""
    registrations: Literal["open", "approval", "closed"] = "open"
    # Who may read /api/v1/instance/domain_blocks: nobody (404, Mastodon's default), users, all.
    show_domain_blocks: Literal["disabled", "users", "all"] = "disabled"
    # Comma-separated CIDRs that outbound HTTP (remote media, Web Push, federation) may reach although
    # they are private, loopback or link-local; everything else of that kind is refused at connect time.
    allowed_private_addresses: str = ""
    # Names the outbound resolver answers itself, `name=address` pairs separated by commas (e.g.
    # "alpha.test=127.0.0.1,beta.test=127.0.0.1"; a name listed twice gets both addresses): for tests
    # and multi-server harnesses that give each instance a domain name without touching DNS. These
    # addresses still pass the private-address rule, so a harness on loopback also sets
    # KINFOLK_ALLOWED_PRIVATE_ADDRESSES=127.0.0.1/32. Empty (the default) uses DNS only.
    hosts: str = ""
    # Mastodon's AUTHORIZED_FETCH ("secure mode"): ActivityPub GETs of actors, statuses and
    # collections must be signed by a server that is not suspended; an unsigned fetch of an actor
    # gets only its technical fields (id, inboxes, key). HTML pages, WebFinger, NodeInfo and the
    # instance actor `/actor` stay open.
    authorized_fetch: bool = False
    # HTTP signatures (KINFOLK_HTTP_SIGNATURES): "auto" accepts draft-cavage and RFC 9421 and signs
    # deliveries as each host is known to accept (cavage first for a new host, as Mastodon does,
    # RFC 9421 when that is refused, the answer remembered per host); "rfc9421" and "cavage" sign
    # and accept that one kind only (for interoperability testing and for peers that need it).
    http_signatures: Literal["auto", "rfc9421", "cavage"] = "auto"

    instance_title: str = "Kinfolk"
    instance_description: str = "A Kinfolk server."
    contact_email: str = ""
    contact_username: str = ""
    max_status_characters: int = 500
    max_media_attachments: int = 4
    max_poll_options: int = 4
    # Seconds a local poll's new counts wait before their `Update` goes out, so that a burst of
    # votes sends one (Mastodon waits 3 minutes).
    poll_update_delay: float = Field(default=180.0, gt=0, le=3600)
    max_body_bytes: int = Field(default=16 * 1024 * 1024)
    image_size_limit: int = 16 * 1024 * 1024
    video_size_limit: int = 99 * 1024 * 1024
    # Media limits (Mastodon's); the instance API advertises these same values.
    image_matrix_limit: int = 7680 * 4320
    video_matrix_limit: int = 3840 * 2160
    video_frame_rate_limit: int = 120
    video_frame_limit: int = 36000
    # Remote media: cached copies are removed after this many days (0 keeps them).
    cache_remote_media: bool = True
    media_cache_retention_days: int = 7
    # Link preview cards of remote posts are fetched after a random delay of up to this many
    # seconds, so that the servers that received one post do not all fetch its link at once.
    preview_card_jitter_seconds: float = Field(default=60.0, ge=0, le=3600)
    # S3-compatible object storage for media, used when a bucket is set.
    s3_bucket: str = ""
    s3_endpoint: str = ""
    s3_region: str = ""
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_public_url: str = ""
    s3_acl: str = "public-read"
    languages: str = "en"
    # `kinfolk serve`: how many nice steps below the web thread its job worker thread runs, so
    # that jobs (a large fan-out above all) take the core's spare time rather than half of it
    # from the readers (bench/RESULTS.md, G5 and G7). 0 shares the core evenly.
    serve_worker_nice: int = Field(default=8, ge=0, le=19)
    # Job slots of their own for the `delivery` queue in every worker that serves it, beside
    # `--concurrency` for its other queues: a delivery mostly waits on another server, and a
    # few servers that never answer must not hold every slot (jobs/worker.py, bench G4.dead).
    delivery_concurrency: int = Field(default=512, ge=1, le=4096)
    # Operations: log lines as text or JSON, one access line per request, and the bearer token
    # that opens /metrics (Prometheus); without a token /metrics answers 404.
    log_format: Literal["text", "json"] = "text"
    access_log: bool = True
    metrics_token: str = ""
    # SIGTERM/SIGINT: seconds to let requests in flight and running jobs finish before the
    # connections are closed and unfinished jobs are handed back to the queue.
    shutdown_timeout: float = Field(default=30.0, ge=0, le=3600)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlSettingsSource(settings_cls))

    @field_validator("domain")
    @classmethod
    def _lower_domain(cls, value: str) -> str:
        return value.strip().lower().rstrip(".")

    @field_validator("hosts")
    @classmethod
    def _check_hosts(cls, value: str) -> str:
        parse_host_overrides(value)
        return value

    @property
    def base_url(self) -> str:
        return f"{self.protocol}://{self.domain}"

    @property
    def uris(self) -> Uris:
        """The one URI scheme (kernel/uris.py) for this server's origin."""
        return Uris(self.base_url)

    @property
    def streaming_url(self) -> str:
        scheme = "wss" if self.protocol == "https" else "ws"
        return f"{scheme}://{self.domain}"

    @property
    def resolved_database_url(self) -> str:
        """An async SQLAlchemy URL; plain `postgresql://` and `sqlite:///` are accepted too."""
        url = self.database_url or f"sqlite:///{(self.data_dir / 'kinfolk.sqlite3').resolve()}"
        if url.startswith(("postgres://", "postgresql://")):
            url = "postgresql+asyncpg://" + url.split("://", 1)[1]
        elif url.startswith("sqlite://") and not url.startswith("sqlite+aiosqlite://"):
            url = "sqlite+aiosqlite://" + url.split("://", 1)[1]
        return url

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @cached_property
    def trusted_proxy_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return _networks(self.trusted_proxies)

    @cached_property
    def rate_limit_exempt_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return _networks(self.rate_limit_exempt)

    @cached_property
    def allowed_private_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return _networks(self.allowed_private_addresses)

    @cached_property
    def host_overrides(self) -> dict[str, tuple[str, ...]]:
        """`hosts` parsed: lower-cased name without a trailing dot -> its addresses, in order."""
        return parse_host_overrides(self.hosts)

    @property
    def accepted_hosts(self) -> frozenset[str]:
        """Host names (without port) requests may name: `domain` and `alternate_domains`."""
        names = [self.domain, *self.alternate_domains.split(",")]
        return frozenset(h for h in (host_name(n) for n in names) if h)

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    def ensure_secret_key(self) -> str:
        """The configured key, or one generated once and kept in the data directory."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.is_file():
            self.secret_key = path.read_text().strip()
        else:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self.secret_key = secrets.token_urlsafe(48)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(self.secret_key)
        return self.secret_key


def host_name(value: str) -> str:
    """`Example.COM:443` -> `example.com`, `[::1]:8000` -> `[::1]`: a Host header's name without its port."""
    value = value.strip().lower().rstrip(".")
    if value.startswith("["):
        return value[: value.find("]") + 1] if "]" in value else value
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value.rstrip(".")


def _networks(value: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip()]


def parse_host_overrides(value: str) -> dict[str, tuple[str, ...]]:
    """`alpha.test=127.0.0.1,beta.test=::1` -> {"alpha.test": ("127.0.0.1",), "beta.test": ("::1",)}.

    A malformed pair or address raises ValueError, so a typo stops the process at start instead of
    silently sending a harness's traffic to real DNS."""
    table: dict[str, list[str]] = {}
    for part in value.split(","):
        if not part.strip():
            continue
        name, sep, address = part.partition("=")
        name = name.strip().lower().rstrip(".")
        address = address.strip().strip("[]")
        if not sep or not name or not address:
            raise ValueError(f"KINFOLK_HOSTS entry {part.strip()!r} is not name=address")
        table.setdefault(name, []).append(str(ipaddress.ip_address(address)))
    return {name: tuple(addresses) for name, addresses in table.items()}


def load_settings(**overrides: Any) -> Settings:
    return Settings(**overrides)
