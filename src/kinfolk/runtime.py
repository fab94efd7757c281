"""Process start-up: the all-in-one `serve`, a web-only process, and a worker process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys

import uvicorn
from starlette.applications import Starlette

from kinfolk.api.app import create_app
from kinfolk.config import Settings, load_settings
from kinfolk.container import Container
from kinfolk.db.migrate import upgrade

log = logging.getLogger("kinfolk")

# Uvicorn closes idle keep-alive connections after 5 s by default: a client that reuses its connection
# after a pause of about that long (Mastodon.py's suite sleeps exactly 5 s) then races the close and
# gets "connection aborted". Mastodon's Puma keeps them 20 s, nginx 75 s.
KEEP_ALIVE_SECONDS = 75


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def app_factory() -> Starlette:
    """For `uvicorn --factory` and multi-worker web processes: settings come from the environment."""
    settings = load_settings()
    return create_app(Container.build(settings))


def _banner(settings: Settings, mode: str) -> None:
    print(
        f"Kinfolk ({mode}) serving {settings.base_url} on http://{settings.host}:{settings.port}\n"
        f"  data: {settings.data_dir.resolve()}\n"
        "  create the first admin with:\n"
        "    .venv/bin/kinfolk accounts create alice --email alice@example.com --role owner",
        flush=True,
    )


def serve(settings: Settings, *, mode: str = "serve", workers: int = 1) -> int:
    _configure_logging()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.ensure_secret_key()
    if mode == "serve" or settings.is_sqlite:
        upgrade(settings.resolved_database_url)
    _banner(settings, mode)
    if mode == "web" and workers > 1:
        uvicorn.run(
            "kinfolk.runtime:app_factory",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=workers,
            proxy_headers=False,
            log_level="warning",
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
        )
        return 0
    return asyncio.run(_serve_async(settings, with_worker=mode == "serve"))


async def _serve_async(settings: Settings, *, with_worker: bool) -> int:
    from kinfolk.jobs.scheduler import Scheduler
    from kinfolk.jobs.worker import Worker

    container = Container.build(settings)
    app = create_app(container)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        proxy_headers=False,
        log_level="warning",
        lifespan="off",
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
    server = uvicorn.Server(config)
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    if with_worker:
        worker = Worker(container, queues=None, concurrency=4)
        tasks.append(asyncio.create_task(worker.run(stop)))
        tasks.append(asyncio.create_task(Scheduler(container).run(stop)))
    try:
        await server.serve()
    finally:
        stop.set()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await container.close()
    return 0


def run_worker(settings: Settings, *, queues: list[str] | None, concurrency: int) -> int:
    _configure_logging()
    return asyncio.run(_worker_async(settings, queues=queues, concurrency=concurrency))


async def _worker_async(settings: Settings, *, queues: list[str] | None, concurrency: int) -> int:
    from kinfolk.jobs.scheduler import Scheduler
    from kinfolk.jobs.worker import Worker

    container = Container.build(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    print(f"Kinfolk worker: queues={queues or 'all'} concurrency={concurrency}", file=sys.stderr, flush=True)
    try:
        await asyncio.gather(
            Worker(container, queues=queues, concurrency=concurrency).run(stop),
            Scheduler(container).run(stop),
        )
    finally:
        await container.close()
    return 0
