from __future__ import annotations

import ipaddress

import aiohttp
import pytest
from aiohttp import web

from kinfolk.config import Settings
from kinfolk.infra.outbound import (
    DisallowedDestination,
    address_allowed,
    check_url,
    disallowed_cause,
    guarded_session,
)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.5",
        "192.168.1.1",
        "169.254.169.254",
        "::1",
        "fd00::1",
        "::ffff:192.168.1.1",
        "0.0.0.0",
    ],
)
def test_private_addresses_are_refused(address: str) -> None:
    assert not address_allowed(address, [])


def test_public_and_listed_addresses_are_allowed() -> None:
    assert address_allowed("93.184.216.34", [])
    assert address_allowed("10.1.2.3", [ipaddress.ip_network("10.0.0.0/8")])


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://x/", "http://127.0.0.1/", "https://[::1]/x"])
def test_check_url_refuses_other_schemes_and_private_literals(url: str) -> None:
    with pytest.raises(DisallowedDestination):
        check_url(url, [])


async def test_a_name_resolving_to_loopback_is_refused_at_connect_time() -> None:
    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", hello)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    timeout = aiohttp.ClientTimeout(total=5)
    try:
        refused = Settings(secret_key="k")
        async with guarded_session(refused, timeout) as session:
            with pytest.raises((aiohttp.ClientConnectorError, DisallowedDestination)) as info:
                await session.get(f"http://localhost:{port}/")
        assert disallowed_cause(info.value) is not None
        allowed = Settings(secret_key="k", allowed_private_addresses="127.0.0.0/8,::1/128")
        async with (
            guarded_session(allowed, timeout) as session,
            session.get(f"http://localhost:{port}/") as resp,
        ):
            assert await resp.text() == "ok"
    finally:
        await runner.cleanup()
