"""Schemathesis against a live Kinfolk: Mastodon's OpenAPI description drives the requests.

A Kinfolk (uvicorn, SQLite in a temporary directory) is started on 127.0.0.1 at a free port and
seeded as fuzz/routes.py seeds it (an owner whose token has every scope, a second account, and
statuses, media, a poll, a list, a filter, a scheduled post, a report). The description in
../shared/reference/mastodon-openapi.json is narrowed to the operations our router answers, and
`st run` sends random cases and stateful sequences (the links in the
description and those Schemathesis infers from answers) for OPENAPI_SECONDS (default 60, shared
by the phases of OPENAPI_PHASES, default `fuzzing,stateful`; `examples` and `coverage` exist too),
with the check that no answer is a 5xx. Exits with Schemathesis' status.

OPENAPI_EXAMPLES (default 10) is the number of random cases per operation; OPENAPI_SEED a seed.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from routes import DOMAIN, OPENAPI, seed_world
from starlette.routing import Match, Route

from kinfolk.api.app import collect_routes, create_app
from kinfolk.config import Settings
from kinfolk.container import Container
from kinfolk.db.migrate import upgrade


def served_operations(spec: dict[str, Any]) -> dict[str, Any]:
    """The description without the paths and methods our router does not answer."""
    routes = [r for r in collect_routes() if isinstance(r, Route)]
    paths: dict[str, Any] = {}
    for path, item in spec.get("paths", {}).items():
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        kept = {}
        for method, op in item.items():
            if method.upper() not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                if method == "parameters":
                    kept[method] = op
                continue
            scope = {"type": "http", "path": concrete, "method": method.upper()}
            if any(route.matches(scope)[0] == Match.FULL for route in routes):
                kept[method] = op
        if any(m != "parameters" for m in kept):
            paths[path] = kept
    # Links to operations left out would make Schemathesis refuse the stateful phase.
    ids = {op.get("operationId") for item in paths.values() for op in item.values() if isinstance(op, dict)}
    for item in paths.values():
        for op in item.values():
            for response in (op.get("responses") or {}).values() if isinstance(op, dict) else []:
                links = response.get("links") if isinstance(response, dict) else None
                if isinstance(links, dict):
                    response["links"] = {k: v for k, v in links.items() if v.get("operationId") in ids}
    return {**spec, "paths": paths}


def serve(settings: Settings) -> tuple[str, str, uvicorn.Server, threading.Thread]:
    """A live server in a thread with its own loop; returns its URL and the seeded token."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    loop = asyncio.new_event_loop()
    container = Container.build(settings, pool_size=5)
    app = create_app(container)
    server = uvicorn.Server(uvicorn.Config(app, log_level="critical", lifespan="off", access_log=False))

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.serve(sockets=[sock]))
        loop.run_until_complete(container.close())

    thread = threading.Thread(target=run, name="kinfolk-openapi-fuzz", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)

    async def seed() -> str:
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url=f"https://{DOMAIN}") as client:
            return (await seed_world(client, container)).token

    token = asyncio.run_coroutine_threadsafe(seed(), loop).result(timeout=60)
    return f"http://127.0.0.1:{port}", token, server, thread


def main() -> int:
    seconds = os.environ.get("OPENAPI_SECONDS", "60")
    examples = os.environ.get("OPENAPI_EXAMPLES", "10")
    if not OPENAPI.exists():
        print(f"openapi fuzz: {OPENAPI} is missing; nothing to do", flush=True)
        return 0
    spec = served_operations(json.loads(OPENAPI.read_text()))
    with tempfile.TemporaryDirectory(prefix="kinfolk-openapi-") as tmp:
        db_url = f"sqlite+aiosqlite:///{tmp}/fuzz.sqlite3"
        upgrade(db_url)
        settings = Settings(
            domain=DOMAIN,
            protocol="https",
            data_dir=Path(tmp) / "data",
            database_url=db_url,
            secret_key="fuzz-secret",
            registrations="open",
            # Reached as http://127.0.0.1:port; unthrottled, or every operation after the first
            # few hundred would only exercise the 429 answer.
            alternate_domains="127.0.0.1",
            rate_limits=False,
        )
        url, token, server, thread = serve(settings)
        spec["servers"] = [{"url": url}]
        schema_path = Path(tmp) / "openapi.json"
        schema_path.write_text(json.dumps(spec))
        print(f"openapi fuzz: {len(spec['paths'])} paths served of the description, {url}", flush=True)
        phases = os.environ.get("OPENAPI_PHASES", "fuzzing,stateful").split(",")
        share = str(max(1, int(float(seconds) / len(phases))))
        base = [
            str(Path(sys.executable).with_name("st")),
            "run",
            str(schema_path),
            "--url",
            url,
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            "not_a_server_error",
            "--max-time",
            share,
            "--max-examples",
            examples,
            "--workers",
            "1",
            "--request-timeout",
            "30",
            "--continue-on-failure",
            "--no-color",
            "--warnings",
            "off",
            "--suppress-health-check",
            "all",
        ]
        if os.environ.get("OPENAPI_SEED"):
            base += ["--seed", os.environ["OPENAPI_SEED"]]
        codes = []
        try:
            # One run per phase, each with its share of the time: in one run the first phase
            # takes it all and stateful sequences never start.
            for phase in phases:
                codes.append(subprocess.run([*base, "--phases", phase], check=False, cwd=tmp).returncode)
        finally:
            server.should_exit = True
            thread.join(timeout=30)
    return max(codes, default=0)


if __name__ == "__main__":
    sys.exit(main())
