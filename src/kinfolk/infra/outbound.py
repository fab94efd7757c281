"""Outbound HTTP that can't be turned against our own network.

Remote servers and clients choose the URLs we fetch or POST to (media, push endpoints, and later
actors and inboxes), so without a guard anyone could make the server reach its own private
network. Every address a host resolves to is checked (these are the very addresses aiohttp
connects to, so DNS rebinding leaves no gap), and literal IP hosts, which skip the resolver, are
checked by `check_url`. Private, loopback and link-local addresses are refused unless the operator
listed them in `KINFOLK_ALLOWED_PRIVATE_ADDRESSES`.

Names listed in `KINFOLK_HOSTS` are answered from that table instead of DNS (tests and
multi-server harnesses give each instance a name this way); their addresses pass the same rule.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from kinfolk.config import Settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class DisallowedDestination(Exception):
    """The URL is not http(s), or points at an address we may not reach."""


def address_allowed(address: str, allowed: list[Network]) -> bool:
    """Public addresses, and private ones the operator listed."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in net for net in allowed):
        return True
    return ip.is_global and not ip.is_multicast


class GuardedResolver(AbstractResolver):
    """Resolves as usual (or from `overrides`), then refuses the host if any of its addresses is off
    limits."""

    def __init__(self, allowed: list[Network], overrides: Mapping[str, Sequence[str]] | None = None) -> None:
        self._inner = aiohttp.ThreadedResolver()
        self._allowed = allowed
        self._overrides = dict(overrides or {})

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        listed = self._overrides.get(host.lower().rstrip("."))
        if listed is not None:
            results = _listed_results(host, port, family, listed)
        else:
            results = await self._inner.resolve(host, port, family)
        if not results:
            raise OSError(f"{host} has no address of the requested family")
        for result in results:
            if not address_allowed(result["host"], self._allowed):
                raise DisallowedDestination(f"{host} resolves to a private address")
        return results

    async def close(self) -> None:
        await self._inner.close()


def _listed_results(
    host: str, port: int, family: socket.AddressFamily, addresses: Sequence[str]
) -> list[ResolveResult]:
    """The override table's answer in the shape aiohttp's resolvers give (numeric, no lookup)."""
    results: list[ResolveResult] = []
    for address in addresses:
        ip = ipaddress.ip_address(address)
        ip_family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
        if family not in (socket.AF_UNSPEC, ip_family):
            continue
        results.append(
            ResolveResult(
                hostname=host,
                host=str(ip),
                port=port,
                family=ip_family,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        )
    return results


def guarded_connector(
    settings: Settings, *, limit: int = 10, limit_per_host: int = 0
) -> aiohttp.TCPConnector:
    """A connector that only reaches addresses `address_allowed` accepts, `KINFOLK_HOSTS` applied."""
    resolver = GuardedResolver(settings.allowed_private_networks, settings.host_overrides)
    return aiohttp.TCPConnector(resolver=resolver, limit=limit, limit_per_host=limit_per_host)


def check_url(url: str, allowed: list[Network]) -> None:
    """Scheme and, for literal IP hosts, the address itself; call it for every redirect hop too."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DisallowedDestination("not an http(s) URL")
    try:
        ipaddress.ip_address(parts.hostname)
    except ValueError:
        return
    if not address_allowed(parts.hostname, allowed):
        raise DisallowedDestination(f"{parts.hostname} is a private address")


def guarded_session(
    settings: Settings, timeout: aiohttp.ClientTimeout, *, limit: int = 10
) -> aiohttp.ClientSession:
    """A session whose connections can only reach addresses `address_allowed` accepts."""
    return aiohttp.ClientSession(connector=guarded_connector(settings, limit=limit), timeout=timeout)


def disallowed_cause(exc: BaseException) -> DisallowedDestination | None:
    """The guard's refusal hidden inside aiohttp's connection error, if that is what happened."""
    if isinstance(exc, DisallowedDestination):
        return exc
    cause = exc.__cause__ or getattr(exc, "os_error", None)
    return cause if isinstance(cause, DisallowedDestination) else None
