"""Process start-up: the all-in-one `serve`, web-only processes, and worker processes.

One function, `serve_app`, runs an ASGI app on the chosen server inside the current event loop;
`kinfolk serve` runs it beside the job worker and scheduler, and the benchmark runs its minimal
anchor app through it too, so both are served with the same server and the same flags.

The server is uvicorn unless KINFOLK_ASGI_SERVER=granian. Measured on Kinfolk's own endpoints
(bench/RESULTS.md), granian's edge over uvicorn is large on an empty endpoint and small once a
request does real work, and its embedded mode (needed for `kinfolk serve`) is marked
experimental by its authors; uvicorn stays the default, granian is there to choose.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import sys
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any, TypeVar

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
SERVERS = ("uvicorn", "granian")
SERVER_ENV = "KINFOLK_ASGI_SERVER"
EVENT_LOOP_ENV = "KINFOLK_EVENT_LOOP"
EVENT_LOOPS = ("asyncio", "uvloop")
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
T = TypeVar("T")


def asgi_server() -> str:
    name = os.environ.get(SERVER_ENV, "uvicorn").strip().lower() or "uvicorn"
    if name not in SERVERS:
        raise SystemExit(f"{SERVER_ENV} must be one of {', '.join(SERVERS)}, not {name!r}")
    return name


def _configure_logging(settings: Settings) -> None:
    from kinfolk.infra.logs import configure_logging

    configure_logging(settings.log_format)


def app_factory() -> Starlette:
    """For multi-process web servers: settings come from the environment, and each process
    closes its container (database pool, Redis) when the server shuts it down."""
    settings = load_settings()
    _configure_logging(settings)
    container = Container.build(settings)
    app = create_app(container)
    settle_heap()

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await container.close()

    app.router.lifespan_context = lifespan
    return app


def _banner(settings: Settings, mode: str, server: str, workers: int = 1) -> None:
    from kinfolk.ops.schema import owner_exists

    processes = f", {workers} processes" if workers > 1 else ""
    hint = (
        ""
        if owner_exists(settings.resolved_database_url)
        else "\n  create the first admin with:\n"
        "    .venv/bin/kinfolk accounts create alice --email alice@example.com --role owner"
    )
    print(
        f"Kinfolk ({mode}, {server}{processes}) serving {settings.base_url} on "
        f"http://{settings.host}:{settings.port}\n"
        f"  data: {settings.data_dir.resolve()}{hint}",
        flush=True,
    )


def serve(settings: Settings, *, mode: str = "serve", workers: int = 1) -> int:
    """`kinfolk serve` (web + worker + scheduler) or `kinfolk web [--workers N]`."""
    _configure_logging(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.ensure_secret_key()
    if mode == "serve" or settings.is_sqlite:
        upgrade(settings.resolved_database_url)
    server = asgi_server()
    allow_open_files(open_files_for(settings))
    _banner(settings, mode, server, workers)
    if mode == "web" and workers > 1:
        # Child processes build their own settings from the environment: pass on what the
        # command line and the generated secret key decided.
        os.environ["KINFOLK_HOST"] = settings.host
        os.environ["KINFOLK_PORT"] = str(settings.port)
        os.environ.setdefault("KINFOLK_SECRET_KEY", settings.secret_key)
        _serve_processes(settings, workers, server)
        return 0
    return run_loop(_serve_async(settings, with_worker=mode == "serve", server=server), serving=True)


def _serve_processes(settings: Settings, workers: int, server: str) -> None:
    """N web processes sharing one listening socket (the server's own process manager)."""
    if server == "granian":
        from granian import Granian
        from granian.constants import Interfaces
        from granian.log import LogLevels

        Granian(
            "kinfolk.runtime:app_factory",
            address=settings.host,
            port=settings.port,
            interface=Interfaces.ASGI,
            workers=workers,
            factory=True,
            websockets=True,
            log_level=LogLevels.warning,
            log_access=False,
        ).serve()
        return
    import uvicorn

    uvicorn.run(
        "kinfolk.runtime:app_factory",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        proxy_headers=False,
        log_level="warning",
        access_log=False,  # Kinfolk's own access log (api/request_log.py) replaces it
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        timeout_graceful_shutdown=int(settings.shutdown_timeout),
        loop=event_loop(serving=True),
    )


async def serve_app(
    app: Any,
    *,
    host: str,
    port: int,
    server: str | None = None,
    shutdown_timeout: float | None = None,
    on_exit: Callable[[], None] | None = None,
) -> None:
    """Serve `app` in this event loop until SIGINT or SIGTERM (lifespan events are not sent:
    the caller owns start-up and shut-down).

    On the signal the server stops accepting, lets requests in flight finish for up to
    `shutdown_timeout` seconds (None: as long as they take), calls `on_exit` at once (so a
    worker beside it starts handing its jobs back at the same time) and returns normally: the
    caller's clean-up runs, and the process exits 0 instead of dying of the re-raised signal.
    """
    server = server or asgi_server()
    if server == "granian":
        await _serve_granian(app, host, port, on_exit)
    else:
        await _serve_uvicorn(app, host, port, shutdown_timeout, on_exit)


def _uvicorn_server_class() -> type[Any]:
    import uvicorn

    class QuietServer(uvicorn.Server):
        """uvicorn's server, except that a SIGINT or SIGTERM ends `serve()` normally.

        uvicorn re-raises the signal it caught once it has shut down: SIGTERM then killed the
        process before `kinfolk serve` could stop its worker thread (running jobs were left to
        their leases) and SIGINT ended `make run` with a KeyboardInterrupt traceback.
        """

        on_exit: Callable[[], None] | None = None

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            originals = {sig: signal.signal(sig, self.handle_exit) for sig in STOP_SIGNALS}
            try:
                yield
            finally:
                for sig, handler in originals.items():
                    signal.signal(sig, handler)

        def handle_exit(self, sig: int, frame: Any) -> None:
            super().handle_exit(sig, frame)
            if self.on_exit is not None:
                self.on_exit()

    return QuietServer


async def _serve_uvicorn(
    app: Any, host: str, port: int, shutdown_timeout: float | None, on_exit: Callable[[], None] | None
) -> None:
    import uvicorn

    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        proxy_headers=False,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        timeout_graceful_shutdown=int(shutdown_timeout) if shutdown_timeout is not None else None,
    )
    server = _uvicorn_server_class()(config)
    server.on_exit = on_exit
    await server.serve()


async def _serve_granian(app: Any, host: str, port: int, on_exit: Callable[[], None] | None = None) -> None:
    from granian.constants import Interfaces
    from granian.log import LogLevels
    from granian.server.embed import Server

    granian = Server(
        app,
        address=host,
        port=port,
        interface=Interfaces.ASGINL,
        websockets=True,
        log_level=LogLevels.warning,
        log_access=False,
    )
    loop = asyncio.get_running_loop()

    def stop() -> None:
        granian.stop()
        if on_exit is not None:
            on_exit()

    for sig in STOP_SIGNALS:
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop)
    try:
        await granian.serve()
    finally:
        for sig in STOP_SIGNALS:
            with contextlib.suppress(NotImplementedError):
                loop.remove_signal_handler(sig)


async def fill_local_addresses(container: Container) -> int:
    """After migrations: store the ids and URLs of local accounts made before accounts stored
    them (a migration cannot, not knowing the domain). Idempotent; returns how many."""
    from kinfolk.domain.accounts.service import store_local_addresses

    async with container.db.uow() as uow:
        return await store_local_addresses(uow.session, container.uris)


async def _serve_async(settings: Settings, *, with_worker: bool, server: str) -> int:
    # With the worker in this process, its connections checkpoint SQLite's WAL, not the web's.
    container = Container.build(settings, checkpoints=not with_worker)
    if with_worker or settings.is_sqlite:  # where `serve` has just run the migrations
        await fill_local_addresses(container)
    app = create_app(container)
    settle_heap()
    background = BackgroundWorker(settings, container) if with_worker else None
    if background is not None:
        background.start()
    try:
        await serve_app(
            app,
            host=settings.host,
            port=settings.port,
            server=server,
            shutdown_timeout=settings.shutdown_timeout,
            on_exit=background.request_stop if background is not None else None,
        )
    finally:
        if background is not None:
            await asyncio.to_thread(background.stop, settings.shutdown_timeout + 10)
        await container.close()
    log.info("Kinfolk stopped")
    return 0


def settle_heap() -> None:
    """Move everything start-up allocated (modules, SQLAlchemy's metadata, compiled
    statements) out of the garbage collector's view. A full collection walked all of it: pauses
    of 90-120 ms on the web loop under load, 20 ms with it frozen (bench/RESULTS.md, G7)."""
    gc.collect()
    gc.freeze()


def lower_thread_priority(steps: int) -> None:
    """Run the calling thread `steps` nice values lower (Linux keeps a nice value per thread).

    In `kinfolk serve` the worker thread and the web thread share one core. SQLite statements
    run without the GIL, so a 10,000-follower fan-out's 170 ms of SQLite took half the core from
    the web thread and doubled the timeline's latency while it ran (bench/RESULTS.md, G5); at a
    lower priority the worker gets what the web thread leaves. Lowering needs no privilege."""
    if steps <= 0 or not hasattr(os, "setpriority"):
        return
    thread = threading.get_native_id()
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + steps))


def allow_open_files(needed: int) -> None:
    """Raise this process's soft limit on open files towards `needed` (never past the hard
    limit). Each delivery slot may hold a socket while it waits on another server, and many
    systems start processes at a soft limit of 1,024: 512 waiting deliveries beside the
    database's connections and the listening socket would run out of descriptors."""
    try:
        import resource
    except ImportError:  # not on this platform
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def open_files_for(settings: Settings) -> int:
    """Descriptors a process with a job worker may want: every delivery slot's socket, the
    transport's other connections, the database pool and the web side, with room to spare."""
    return 2 * (settings.delivery_concurrency + 256)


class BackgroundWorker:
    """The job worker and scheduler of `kinfolk serve`, on an event loop of their own in a thread.

    In the web server's loop, every await of a job waited behind every request in flight: with
    64 busy connections one loop turn took tens of milliseconds, a job's dozens of awaits took
    seconds, and jobs queued for longer still (bench/RESULTS.md, G8). In a thread, the job's
    turns alternate with the web loop's at the interpreter's switch interval instead.

    The worker has its own database pool (connections belong to a loop) and shares the web
    side's in-process pub/sub, which delivers across threads, so streams hear what jobs
    publish. Commits on the web side wake the worker through the loop's thread-safe call.
    """

    def __init__(self, settings: Settings, web: Container, *, concurrency: int = 4) -> None:
        self.settings = settings
        self.web = web
        self.concurrency = concurrency
        self.thread = threading.Thread(target=self._run, name="kinfolk-worker", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()

    def start(self) -> None:
        self.thread.start()
        self._started.wait(30)

    def request_stop(self) -> None:
        """Ask the worker to stop (from any thread, a signal handler included) without waiting:
        it lets running jobs finish for up to the shutdown timeout, then hands the rest back."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop.set)

    def stop(self, timeout: float = 60.0) -> None:
        self.request_stop()
        self.thread.join(timeout)

    def _run(self) -> None:
        lower_thread_priority(self.settings.serve_worker_nice)
        try:
            run_loop(self._main())
        except Exception:
            log.exception("the background worker stopped")
        finally:
            self._started.set()

    async def _main(self) -> None:
        from kinfolk.infra.pubsub import MemoryPubSub, bind_pubsub
        from kinfolk.jobs.scheduler import Scheduler
        from kinfolk.jobs.worker import Worker

        container = Container.build(self.settings, pool_size=self.concurrency + 2)
        own_pubsub = container.pubsub
        if isinstance(self.web.pubsub, MemoryPubSub):
            container.pubsub = self.web.pubsub
            bind_pubsub(container.db, self.web.pubsub)
        loop = asyncio.get_running_loop()
        self._loop, self._stop = loop, asyncio.Event()
        worker = Worker(
            container,
            queues=None,
            concurrency=self.concurrency,
            delivery_concurrency=self.settings.delivery_concurrency,
            shutdown_grace=self.settings.shutdown_timeout,
        )

        def wake(queues: set[str]) -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed while the web side committed
                loop.call_soon_threadsafe(worker._on_committed, queues)

        self.web.db.on_jobs_committed.append(wake)
        self._started.set()
        try:
            await asyncio.gather(worker.run(self._stop), Scheduler(container).run(self._stop))
        finally:
            with contextlib.suppress(ValueError):
                self.web.db.on_jobs_committed.remove(wake)
            container.pubsub = own_pubsub
            await container.close()


def run_worker(settings: Settings, *, queues: list[str] | None, concurrency: int) -> int:
    _configure_logging(settings)
    allow_open_files(open_files_for(settings))
    return run_loop(_worker_async(settings, queues=queues, concurrency=concurrency))


async def _worker_async(settings: Settings, *, queues: list[str] | None, concurrency: int) -> int:
    from kinfolk.jobs.scheduler import Scheduler
    from kinfolk.jobs.worker import Worker

    container = Container.build(settings, pool_size=max(2, concurrency + 1))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    print(
        f"Kinfolk worker: queues={queues or 'all'} concurrency={concurrency} "
        f"delivery_concurrency={settings.delivery_concurrency}",
        file=sys.stderr,
        flush=True,
    )
    try:
        await asyncio.gather(
            Worker(
                container,
                queues=queues,
                concurrency=concurrency,
                delivery_concurrency=settings.delivery_concurrency,
                shutdown_grace=settings.shutdown_timeout,
            ).run(stop),
            Scheduler(container).run(stop),
        )
    finally:
        await container.close()
    log.info("Kinfolk worker stopped")
    return 0


def event_loop(*, serving: bool) -> str:
    """`asyncio` or `uvloop`: KINFOLK_EVENT_LOOP, else asyncio for processes that accept HTTP
    connections and uvloop (when installed) for workers.

    Under uvicorn, uvloop served the first requests of newly opened connections in the order
    they were accepted, each after a full round of the connections already busy: when 64 clients
    connect at once under load, the last waited 0.5-1.2 s. A 30-line uvicorn app spinning 0.5 ms
    per request showed it under wrk (p99 860-910 ms in four runs of five) and the standard loop
    did not (p99 41-53 ms), at the same throughput; so did Kinfolk's home timeline, whose
    throughput was the same on both (bench/RESULTS.md, G7). Workers accept no connections and
    keep uvloop's cheaper scheduling."""
    name = os.environ.get(EVENT_LOOP_ENV, "").strip().lower()
    if name:
        if name not in EVENT_LOOPS:
            raise SystemExit(f"{EVENT_LOOP_ENV} must be one of {', '.join(EVENT_LOOPS)}, not {name!r}")
        return name
    if serving:
        return "asyncio"
    try:
        import uvloop  # noqa: F401
    except ImportError:  # pragma: no cover
        return "asyncio"
    return "uvloop"


def run_loop(main: Coroutine[Any, Any, T], *, serving: bool = False) -> T:
    """Run `main` on the event loop `event_loop` chooses."""
    if event_loop(serving=serving) == "uvloop":
        import uvloop

        return uvloop.run(main)
    return asyncio.run(main)
