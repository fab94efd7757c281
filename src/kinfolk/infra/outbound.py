"""Outbound HTTP that can't be turned against our own network.

Remote servers and clients choose the URLs we fetch or POST to (media, push endpoints, and later
actors and inboxes), so without a guard anyone could make the server reach its own private
network. Every address a host resolves to is checked (these are the very addresses aiohttp
connects to, so DNS rebinding leaves no gap), and literal IP hosts, which skip the resolver, are
checked by `check_url`. Private, loopback and link-local addresses are refused unless the operator
listed them in `KINFOLK_ALLOWED_PRIVATE_ADDRESSES`.
"""

from __future__ import annotations

import ipaddress
import socket
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
    """Resolves as usual, then refuses the host if any of its addresses is off limits."""

    def __init__(self, allowed: list[Network]) -> None:
        self._inner = aiohttp.ThreadedResolver()
        self._allowed = allowed

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            if not address_allowed(result["host"], self._allowed):
                raise DisallowedDestination(f"{host} resolves to a private address")
        return results

    async def close(self) -> None:
        await self._inner.close()


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
    connector = aiohttp.TCPConnector(resolver=GuardedResolver(settings.allowed_private_networks), limit=limit)
    return aiohttp.ClientSession(connector=connector, timeout=timeout)


def disallowed_cause(exc: BaseException) -> DisallowedDestination | None:
    """The guard's refusal hidden inside aiohttp's connection error, if that is what happened."""
    if isinstance(exc, DisallowedDestination):
        return exc
    cause = exc.__cause__ or getattr(exc, "os_error", None)
    return cause if isinstance(cause, DisallowedDestination) else None
