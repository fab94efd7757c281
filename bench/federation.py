"""The federation rows of `make bench` (issue 12): A_sign, G3, G3.processed, G4, G4.dead, G4.fanout.

Everything runs on 127.0.0.1. One small Kinfolk instance per backend (ten readers, `quiet` as the
sending author), and in this process, on the load generator's core, a thread with its own event
loop serving three peers:

- the *remote*: `GET /users/{name}` answers the actor documents of `REMOTE_ACTORS` remote actors on
  `remote.test` (one RSA key pair for all of them), so that the inbox fetches each key once;
- the *sink*: any `POST` answers 202 and is counted with its arrival time; it answers for every
  host name `KINFOLK_HOSTS` maps to 127.0.0.1 (`f<i>.fan.test`, 1,000 of them);
- the *black hole*: a port that accepts connections and never answers (`x<i>.dead.test`).

G3 posts pre-signed `Create`s (signed before the timed window, so the load generator's RSA work
does not take the server's CPU; a Date stays valid for an hour) to the shared inbox of a
`kinfolk web` without a worker: the rate is the inbox's alone. G3.processed then starts one
`kinfolk worker` on every queue (the ingress job stores the status; `statuses.created` fans it
out to the 10 local followers every remote actor has) and takes the rate between the first and
the last job finished. G4 enqueues `federation.deliver` jobs for distinct inboxes, starts one
`kinfolk worker --queues delivery` and counts the sink's arrivals between the first and the last;
G4.dead sends every fifth to the black hole. G4.fanout posts as `quiet`, followed by one account
on each of 1,000 servers, and times the post's 200 to the 1,000th arrival.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from bench import procs
from bench.client import Client
from bench.instance import Instance
from bench.seed import Sizes, token_for
from kinfolk.config import Settings
from kinfolk.container import Container
from kinfolk.federation.signatures import generate_key_pair, sign_request

AP = "application/activity+json"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
REMOTE_HOST = "remote.test"
REMOTE_ACTORS = 20
LOCAL_FOLLOWERS = 10  # of each remote actor (G3.processed)
FAN_HOSTS = 1000  # distinct servers (G4.fanout; G4's inboxes cycle over them)
DEAD_HOSTS = 200
WORKER_CONCURRENCY = 16  # the README's federation worker (`--concurrency 16`)
SIZES = Sizes(readers=LOCAL_FOLLOWERS, followers_of_big=LOCAL_FOLLOWERS, statuses_per_reader=1)


@dataclass(frozen=True)
class FederationDurations:
    activities: int  # pre-signed Creates per G3 run
    deliveries: int  # deliver jobs per G4 run
    dead_window: float  # longest G4.dead run, seconds
    sign_seconds: float  # A_sign's measuring time
    runs: int

    @classmethod
    def for_mode(cls, quick: bool) -> FederationDurations:
        if quick:
            return cls(activities=600, deliveries=600, dead_window=20, sign_seconds=1, runs=2)
        return cls(activities=3000, deliveries=2000, dead_window=60, sign_seconds=3, runs=3)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# -- A_sign -----------------------------------------------------------------------------------


def a_sign(private_pem: str, seconds: float) -> float:
    """RSA-2048 draft-cavage signatures per second of `sign_request` (a 1 KB body, as a delivery
    signs), in this process."""
    body = b"x" * 1024
    url = "http://f0.fan.test:1/users/u/inbox"
    headers = {"Content-Type": AP}
    for _ in range(20):
        sign_request("POST", url, headers, body, key_id="http://k/#main-key", private_key_pem=private_pem)
    made, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for _ in range(50):
            sign_request("POST", url, headers, body, key_id="http://k/#main-key", private_key_pem=private_pem)
        made += 50
    return made / (time.perf_counter() - started)


# -- the peers --------------------------------------------------------------------------------


@dataclass
class Peers:
    """The remote, the sink and the black hole, served by one event loop in a thread."""

    private_pem: str
    public_pem: str
    port: int = field(default_factory=procs.free_port)
    dead_port: int = field(default_factory=procs.free_port)
    arrivals: list[tuple[float, str]] = field(default_factory=list)
    signed: int = 0
    actor_fetches: int = 0
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _stop: Callable[[], Any] | None = None

    def actor_uri(self, i: int) -> str:
        return f"http://{REMOTE_HOST}:{self.port}/users/r{i}"

    def actor_document(self, name: str) -> dict[str, Any]:
        uri = f"http://{REMOTE_HOST}:{self.port}/users/{name}"
        return {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": uri,
            "type": "Person",
            "preferredUsername": name,
            "name": name.title(),
            "inbox": f"{uri}/inbox",
            "outbox": f"{uri}/outbox",
            "followers": f"{uri}/followers",
            "publicKey": {"id": f"{uri}#main-key", "owner": uri, "publicKeyPem": self.public_pem},
        }

    def hosts_setting(self) -> str:
        names = [REMOTE_HOST, *fan_hosts(), *dead_hosts()]
        return ",".join(f"{name}=127.0.0.1" for name in names)

    def fan_inbox(self, i: int, user: str = "u") -> str:
        return f"http://f{i % FAN_HOSTS}.fan.test:{self.port}/users/{user}/inbox"

    def dead_inbox(self, i: int) -> str:
        return f"http://x{i % DEAD_HOSTS}.dead.test:{self.dead_port}/users/u{i}/inbox"

    async def _actor(self, request: web.Request) -> web.Response:
        self.actor_fetches += 1
        return web.Response(
            body=orjson.dumps(self.actor_document(request.match_info["name"])), content_type=AP
        )

    async def _inbox(self, request: web.Request) -> web.Response:
        await request.read()
        if "signature" in request.headers:
            self.signed += 1
        self.arrivals.append((time.perf_counter(), request.host))
        return web.Response(status=202)

    def start(self) -> None:
        ready = threading.Event()

        async def serve() -> None:
            app = web.Application()
            app.router.add_get("/users/{name}", self._actor)
            app.router.add_post("/{tail:.*}", self._inbox)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", self.port, backlog=1024).start()
            loop = asyncio.get_running_loop()
            held: list[asyncio.BaseTransport] = []

            class Silent(asyncio.Protocol):
                def connection_made(self, transport: asyncio.BaseTransport) -> None:
                    held.append(transport)  # accepted, read, never answered

            black_hole = await loop.create_server(Silent, "127.0.0.1", self.dead_port, backlog=1024)
            done = asyncio.Event()
            self._stop = lambda: loop.call_soon_threadsafe(done.set)
            ready.set()
            await done.wait()
            black_hole.close()
            for transport in held:
                transport.close()
            await runner.cleanup()

        def run() -> None:
            asyncio.run(serve())

        self._thread = threading.Thread(target=run, daemon=True, name="bench-peers")
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the federation peers did not start")

    def stop(self) -> None:
        if self._stop is not None:
            self._stop()
        if self._thread is not None:
            self._thread.join(10)

    def reset(self) -> None:
        self.arrivals.clear()
        self.signed = 0

    def wait_arrivals(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while len(self.arrivals) < count and time.monotonic() < deadline:
            time.sleep(0.005)
        return len(self.arrivals) >= count


def fan_hosts() -> list[str]:
    return [f"f{i}.fan.test" for i in range(FAN_HOSTS)]


def dead_hosts() -> list[str]:
    return [f"x{i}.dead.test" for i in range(DEAD_HOSTS)]


# -- the instance's setup, through Kinfolk's own code ------------------------------------------


def settings_for(instance: Instance, peers: Peers) -> Settings:
    return Settings(
        domain=f"127.0.0.1:{instance.port}",
        protocol="http",
        data_dir=instance.data_dir,
        database_url=instance.database_url,
        secret_key="kinfolk-bench-secret",
        allowed_private_addresses="127.0.0.1/32",
        hosts=peers.hosts_setting(),
    )


def process_env(peers: Peers) -> dict[str, str]:
    return {"KINFOLK_ALLOWED_PRIVATE_ADDRESSES": "127.0.0.1/32", "KINFOLK_HOSTS": peers.hosts_setting()}


def run_async(settings: Settings, work: Callable[[Container], Any]) -> Any:
    async def go() -> Any:
        container = Container.build(settings, pool_size=2)
        try:
            return await work(container)
        finally:
            await container.close()

    return asyncio.run(go())


async def give_key(container: Container, username: str, private_pem: str, public_pem: str) -> int:
    """The seed makes no key pairs (RSA generation is slow): the sending author gets one."""
    from sqlalchemy import select

    from kinfolk.domain.accounts.models import Account

    async with container.db.uow() as uow:
        account = (
            await uow.session.execute(
                select(Account).where(Account.username == username, Account.domain.is_(None))
            )
        ).scalar_one()
        account.private_key_pem = private_pem
        account.public_key_pem = public_pem
        return int(account.id)


async def remote_followers(container: Container, peers: Peers, author_id: int) -> None:
    """One account on each of FAN_HOSTS servers, each following the author (no shared inbox, so
    each is a delivery of its own)."""
    from kinfolk.domain.accounts.remote import RemoteAccountData, upsert_remote_account
    from kinfolk.domain.relationships.models import Follow
    from kinfolk.federation.actors import actor_domain

    async with container.db.uow() as uow:
        for i in range(FAN_HOSTS):
            uri = f"http://f{i}.fan.test:{peers.port}/users/u"
            account = await upsert_remote_account(
                uow,
                RemoteAccountData(
                    uri=uri, username="u", domain=actor_domain(uri), inbox_url=peers.fan_inbox(i)
                ),
            )
            uow.session.add(Follow(account_id=account.id, target_account_id=author_id))


async def local_followers_of_remote(container: Container, peers: Peers) -> int:
    """The 10 readers follow every remote actor (whose rows the inbox made when it fetched their
    keys). Returns the follows made."""
    from sqlalchemy import select

    from kinfolk.domain.accounts.models import Account
    from kinfolk.domain.relationships.models import Follow

    made = 0
    async with container.db.uow() as uow:
        readers = list(
            (
                await uow.session.execute(
                    select(Account.id).where(Account.domain.is_(None), Account.username.like("reader%"))
                )
            ).scalars()
        )
        for i in range(REMOTE_ACTORS):
            remote = (
                await uow.session.execute(select(Account.id).where(Account.uri == peers.actor_uri(i)))
            ).scalar_one()
            for reader in readers:
                uow.session.add(Follow(account_id=reader, target_account_id=remote))
                made += 1
    return made


async def enqueue_deliveries(container: Container, inboxes: list[str], actor_id: int, body: str) -> None:
    async with container.db.uow() as uow:
        for inbox in inboxes:
            await uow.enqueue("federation.deliver", {"inbox": inbox, "body": body, "actor_id": actor_id})


async def clear_jobs(container: Container) -> None:
    """Jobs of an earlier run that are still waiting (G4.dead's retries) leave the next run alone."""
    from sqlalchemy import delete

    from kinfolk.jobs.models import Job

    async with container.db.uow() as uow:
        await uow.session.execute(delete(Job).where(Job.state != "done"))


# -- G3 ---------------------------------------------------------------------------------------


def create_activity(peers: Peers, actor: int, serial: str) -> dict[str, Any]:
    uri = peers.actor_uri(actor)
    note = {
        "id": f"{uri}/statuses/{serial}",
        "type": "Note",
        "attributedTo": uri,
        "content": f"<p>Benchmark note {serial}: " + "lorem ipsum dolor sit amet " * 8 + "</p>",
        "published": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "to": [PUBLIC],
        "cc": [f"{uri}/followers"],
    }
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{uri}/statuses/{serial}/activity",
        "type": "Create",
        "actor": uri,
        "published": note["published"],
        "to": note["to"],
        "cc": note["cc"],
        "object": note,
    }


def presign(instance: Instance, peers: Peers, count: int, tag: str) -> list[tuple[bytes, dict[str, str]]]:
    """Signed POSTs to the shared inbox, round robin over the remote actors."""
    url = f"{instance.base_url}/inbox"
    made = []
    for i in range(count):
        actor = i % REMOTE_ACTORS
        body = orjson.dumps(create_activity(peers, actor, f"{tag}-{i}"))
        headers = {"Content-Type": AP}
        headers.update(
            sign_request(
                "POST",
                url,
                headers,
                body,
                key_id=f"{peers.actor_uri(actor)}#main-key",
                private_key_pem=peers.private_pem,
            )
        )
        made.append((body, headers))
    return made


@dataclass
class PostResult:
    accepted: int
    refused: dict[int, int]
    seconds: float

    @property
    def rps(self) -> float:
        return self.accepted / self.seconds if self.seconds else 0.0


def post_all(url: str, requests: list[tuple[bytes, dict[str, str]]], connections: int = 16) -> PostResult:
    """POST every request, `connections` at a time (a closed loop), timing the whole."""

    async def go() -> PostResult:
        pending = iter(requests)
        refused: dict[int, int] = {}
        accepted = 0
        connector = aiohttp.TCPConnector(limit=connections)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def lane() -> None:
                nonlocal accepted
                for body, headers in pending:
                    async with session.post(url, data=body, headers=headers) as response:
                        await response.read()
                        if response.status == 202:
                            accepted += 1
                        else:
                            refused[response.status] = refused.get(response.status, 0) + 1

            started = time.perf_counter()
            await asyncio.gather(*(lane() for _ in range(connections)))
            return PostResult(accepted, refused, time.perf_counter() - started)

    return asyncio.run(go())


def finished_window(instance: Instance, kinds: tuple[str, ...]) -> tuple[int, float]:
    """(jobs of `kinds` done, seconds from the first to the last job of any kind finished) over
    the jobs still in the table: the caller clears finished jobs between runs."""
    marks = ",".join(f"'{k}'" for k in kinds)
    count = int(
        instance._query(f"SELECT count(*) FROM jobs WHERE state = 'done' AND kind IN ({marks})")[0][0]
    )
    first, last = instance._query("SELECT min(finished_at), max(finished_at) FROM jobs WHERE state = 'done'")[
        0
    ]
    if first is None:
        return count, 0.0
    if isinstance(first, str):
        from datetime import datetime

        first, last = datetime.fromisoformat(first), datetime.fromisoformat(last)
    return count, (last - first).total_seconds()


async def drop_done_jobs(container: Container) -> None:
    from sqlalchemy import delete

    from kinfolk.jobs.models import Job

    async with container.db.uow() as uow:
        await uow.session.execute(delete(Job))


# -- the section ------------------------------------------------------------------------------


@dataclass
class Measured:
    a_sign_before: float = 0.0
    a_sign_after: float = 0.0
    g3: list[float] = field(default_factory=list)
    g3_detail: dict[str, Any] = field(default_factory=dict)
    g3_processed: list[float] = field(default_factory=list)
    g3_processed_detail: dict[str, Any] = field(default_factory=dict)
    g4: list[float] = field(default_factory=list)
    g4_detail: dict[str, Any] = field(default_factory=dict)
    g4_dead: list[float] = field(default_factory=list)
    g4_dead_detail: dict[str, Any] = field(default_factory=dict)
    g4_fanout: list[float] = field(default_factory=list)
    g4_fanout_detail: dict[str, Any] = field(default_factory=dict)


def measure(backend: str, quick: bool) -> Measured:
    d = FederationDurations.for_mode(quick)
    private_pem, public_pem = generate_key_pair()
    out = Measured()
    out.a_sign_before = a_sign(private_pem, d.sign_seconds)
    log(f"A_sign before: {out.a_sign_before:,.0f} signatures/s")
    peers = Peers(private_pem, public_pem)
    peers.start()
    instance = Instance(backend, SIZES)
    try:
        instance.create()
        settings = settings_for(instance, peers)
        env = process_env(peers)
        author_id = run_async(settings, lambda c: give_key(c, "quiet", private_pem, public_pem))
        run_async(settings, lambda c: remote_followers(c, peers, author_id))
        g3(instance, peers, settings, env, d, out)
        g4(instance, peers, settings, env, d, author_id, out)
        g4_fanout(instance, peers, settings, env, d, out)
    finally:
        instance.destroy()
        peers.stop()
    out.a_sign_after = a_sign(private_pem, d.sign_seconds)
    log(f"A_sign after: {out.a_sign_after:,.0f} signatures/s")
    return out


def start_worker(instance: Instance, env: dict[str, str], queues: str | None) -> None:
    args = ("--concurrency", str(WORKER_CONCURRENCY), *(("--queues", queues) if queues else ()))
    instance.start("worker", extra_args=args, env=env, wait=False)


def g3(
    instance: Instance,
    peers: Peers,
    settings: Settings,
    env: dict[str, str],
    d: FederationDurations,
    out: Measured,
) -> None:
    instance.start("web", env=env)
    try:
        # Each remote actor's key is fetched once, by the first activity it signs.
        warm = presign(instance, peers, REMOTE_ACTORS, "warm")
        result = post_all(f"{instance.base_url}/inbox", warm, connections=4)
        if result.accepted != REMOTE_ACTORS:
            raise RuntimeError(f"warm-up Creates refused: {result.refused} ({instance.data_dir / 'web.log'})")
        follows = run_async(settings, lambda c: local_followers_of_remote(c, peers))
        log(
            f"G3: {peers.actor_fetches} actor fetches for {REMOTE_ACTORS} remote actors; "
            f"{follows} local follows"
        )
        batches = []
        for run in range(d.runs):
            signing = time.perf_counter()
            batches.append(presign(instance, peers, d.activities, f"run{run}"))
            log(
                f"G3: {d.activities} Creates signed in {time.perf_counter() - signing:.1f} s "
                "(outside the timing)"
            )
        for run, batch in enumerate(batches):
            result = post_all(f"{instance.base_url}/inbox", batch)
            out.g3.append(result.rps)
            log(
                f"G3 run {run}: {result.accepted} accepted in {result.seconds:.2f} s, "
                f"refused {result.refused}"
            )
            out.g3_detail.setdefault("refused", []).append(result.refused)
    finally:
        instance.stop()
    # Processing: the jobs of all runs wait; each run's worth is processed by a fresh worker.
    # (The accepted activities of every run are in the queue; the worker works them off once,
    # and the rate is taken between the first and the last job finished.)
    feed_before = int(instance._query("SELECT count(*) FROM home_feed")[0][0])
    start_worker(instance, env, None)
    try:
        started = time.monotonic()
        instance.wait_jobs_drained(600)
        wall = time.monotonic() - started
    finally:
        instance.stop()
    count, seconds = finished_window(instance, ("federation.ingress",))
    feed_after = int(instance._query("SELECT count(*) FROM home_feed")[0][0])
    remote_statuses = int(
        instance._query(
            "SELECT count(*) FROM statuses s JOIN accounts a ON a.id = s.account_id "
            "WHERE a.domain IS NOT NULL"
        )[0][0]
    )
    out.g3_processed.append(count / seconds if seconds else 0.0)
    out.g3_processed_detail = {
        "ingress_jobs": count,
        "seconds_first_to_last_job": round(seconds, 2),
        "wall_seconds_with_worker_start": round(wall, 2),
        "remote_statuses_stored": remote_statuses,
        "home_feed_rows_added": feed_after - feed_before,
        "failed_jobs": int(instance._query("SELECT count(*) FROM jobs WHERE state <> 'done'")[0][0]),
    }
    log(f"G3.processed: {count} ingress jobs in {seconds:.2f} s: {out.g3_processed_detail}")
    run_async(settings, drop_done_jobs)


def g4(
    instance: Instance,
    peers: Peers,
    settings: Settings,
    env: dict[str, str],
    d: FederationDurations,
    author_id: int,
    out: Measured,
) -> None:
    body = orjson.dumps(create_activity(peers, 0, "delivered")).decode()
    for dead in (False, True):
        for run in range(d.runs):
            inboxes = []
            live = 0
            for i in range(d.deliveries):
                if dead and i % 5 == 4:
                    inboxes.append(peers.dead_inbox(i))
                else:
                    inboxes.append(peers.fan_inbox(i, user=f"u{run}-{i}"))
                    live += 1
            run_async(settings, partial(enqueue_deliveries, inboxes=inboxes, actor_id=author_id, body=body))
            peers.reset()
            start_worker(instance, env, "delivery")
            try:
                window = d.dead_window if dead else 120.0
                started = time.perf_counter()
                complete = peers.wait_arrivals(live, window)
                ended = time.perf_counter()
            finally:
                instance.stop()
            arrivals = [t for t, _ in peers.arrivals]
            if len(arrivals) < 2:
                raise RuntimeError(
                    f"G4: {len(arrivals)} deliveries arrived ({instance.data_dir / 'worker.log'})"
                )
            last = arrivals[-1] if complete else ended
            rate = (len(arrivals) - 1) / (last - arrivals[0])
            detail = out.g4_dead_detail if dead else out.g4_detail
            detail.setdefault("delivered", []).append(len(arrivals))
            detail.setdefault("expected", []).append(live)
            detail.setdefault("signed", []).append(peers.signed)
            detail.setdefault("first_arrival_after_start_s", []).append(round(arrivals[0] - started, 2))
            (out.g4_dead if dead else out.g4).append(rate)
            log(
                f"G4{'.dead' if dead else ''} run {run}: {len(arrivals)}/{live} live deliveries, "
                f"{rate:,.1f}/s{'' if complete else f' (window of {window:.0f} s ended)'}"
            )
            run_async(settings, drop_done_jobs)
            run_async(settings, clear_jobs)


def g4_fanout(
    instance: Instance,
    peers: Peers,
    settings: Settings,
    env: dict[str, str],
    d: FederationDurations,
    out: Measured,
) -> None:
    instance.start("web", env=env)
    start_worker(instance, env, None)
    client = Client(instance.base_url)
    try:
        for run in range(d.runs):
            peers.reset()
            _, elapsed, _ = client.post_status(
                f"Federation bench post {run}: " + "lorem ipsum " * 20, token=token_for("quiet")
            )
            answered = time.perf_counter()
            if not peers.wait_arrivals(FAN_HOSTS, 180):
                raise RuntimeError(f"G4.fanout: {len(peers.arrivals)} of {FAN_HOSTS} deliveries arrived")
            seconds = peers.arrivals[FAN_HOSTS - 1][0] - answered
            out.g4_fanout.append(seconds)
            hosts = len({h for _, h in peers.arrivals})
            out.g4_fanout_detail.setdefault("distinct_hosts", []).append(hosts)
            out.g4_fanout_detail.setdefault("post_ms", []).append(round(elapsed * 1000, 1))
            log(f"G4.fanout run {run}: {FAN_HOSTS} deliveries to {hosts} hosts {seconds:.2f} s after the 200")
            instance.wait_jobs_drained(60)
    finally:
        client.close()
        instance.stop()
