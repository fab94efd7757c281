"""`python -m bench [--quick] [--sections sqlite,...,federation]`: the whole benchmark.

Order: anchors first (A_imports, A_min), then each database's section (seed, A_fan, subjects,
A_fan again), then A_min again, so every anchor is measured before and after its subjects.
Everything runs on 127.0.0.1; every process started here is stopped here, by pid.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
import traceback
from typing import Any

from bench import goals, load, procs, report
from bench.goals import Durations
from bench.instance import REDIS_URL, Instance
from bench.report import Anchor, Goal, median, percentile
from bench.seed import FULL, QUICK, Sizes

SECTIONS = ("sqlite", "servers", "postgresql", "scaled", "media", "federation")


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


class Bench:
    def __init__(self, quick: bool, sections: set[str]) -> None:
        self.quick = quick
        self.sections = sections
        self.d = Durations.for_mode(quick)
        self.sizes: Sizes = QUICK if quick else FULL
        self.anchors: dict[str, Anchor] = {}
        self.goals: dict[str, Goal] = {}
        self.comparisons: dict[str, Any] = {}
        self.notes: list[str] = []
        self.single_pg: dict[str, float] = {}

    # -- anchors -----------------------------------------------------------------------------

    def anchor(self, name: str, unit: str, what: str) -> Anchor:
        if name not in self.anchors:
            self.anchors[name] = Anchor(name, unit, what=what)
        return self.anchors[name]

    def measure_a_min(self, when: str, server: str = "uvicorn", loop: str | None = None) -> None:
        name = "A_min" if server == "uvicorn" else f"A_min[{server}]"
        what = f"minimal Starlette JSON endpoint, {server}, 64 connections"
        if loop is not None:
            # For reference only: Kinfolk's web processes run on the standard loop
            # (runtime.event_loop), and A_min, the ratios' anchor, with them.
            name, what = f"A_min[{loop}]", f"{what}, {loop} (reference, not an anchor of any goal)"
        anchor = self.anchor(name, "req/s", what)
        result = goals.a_min(self.d.anchor, server=server, warm=not self.quick, loop=loop)
        getattr(anchor, when).append(result.rps)
        log(f"{name} {when}: {result.rps:,.0f} req/s (p99 {result.p99_ms:.1f} ms, {result.errors} errors)")

    def measure_a_fan(self, instance: Instance, when: str) -> None:
        anchor = self.anchor(
            f"A_fan[{instance.backend}]",
            "s",
            f"one transaction inserting 10,000 rows of two integers ({instance.backend})",
        )
        value = goals.a_fan(instance)
        getattr(anchor, when).append(value)
        log(f"A_fan[{instance.backend}] {when}: {value * 1000:.1f} ms")

    def measure_a_imports(self) -> None:
        anchor = self.anchor("A_imports", "MB", "RSS of a Python process that only imported the dependencies")
        for when in ("before", "after"):
            getattr(anchor, when).append(goals.a_imports())
        log(f"A_imports: {anchor.value:.1f} MB")

    def add(self, goal: Goal) -> None:
        self.goals[goal.id] = goal
        log(
            f"{goal.id}: {goal.as_dict()['value']} {goal.unit} ratio {goal.as_dict()['ratio']} "
            f"goal {goal.goal} -> {'met' if goal.met else 'MISSED'}"
        )

    # -- shared subjects ---------------------------------------------------------------------

    def g1(self, instance: Instance, suffix: str, a_min: float, goal: str) -> list[float]:
        made, seconds = goals.warm_timelines(instance)
        log(f"G1{suffix} warm-up: {made:,} home pages in {seconds:.1f} s")
        runs = [goals.timeline(instance, self.d.timeline) for _ in range(self.d.runs)]
        self.add(
            Goal(
                f"G1{suffix}",
                "home timeline, 20 statuses, authenticated, 64 connections",
                [r.rps for r in runs],
                "req/s",
                goal,
                anchor="A_min",
                anchor_value=a_min,
                detail={
                    "p50_ms": [round(r.p50_ms, 2) for r in runs],
                    "p99_ms": [round(r.p99_ms, 2) for r in runs],
                    "errors": sum(r.errors for r in runs),
                    "tool": runs[0].tool,
                },
            )
        )
        return [r.rps for r in runs]

    def g1_single(self, instance: Instance, suffix: str) -> None:
        runs = [goals.timeline(instance, self.d.single, connections=1) for _ in range(self.d.runs)]
        self.add(
            Goal(
                f"G1{suffix}.p50_1client",
                "home timeline, one client: p50 latency",
                [r.p50_ms for r in runs],
                "ms",
                "<= 3",
                detail={"p99_ms": [r.p99_ms for r in runs]},
            )
        )

    def g2(self, instance: Instance, suffix: str, a_min: float) -> list[float]:
        runs = []
        for _ in range(self.d.runs):
            runs.append(goals.posting_load(instance, self.d.posting))
            instance.wait_jobs_drained(120)
        self.add(
            Goal(
                f"G2{suffix}",
                "POST /api/v1/statuses (500 characters, a mention, a hashtag), 16 connections",
                [r.rps for r in runs],
                "req/s",
                ">= 0.05",
                anchor="A_min",
                anchor_value=a_min,
                detail={
                    "p50_ms": [round(r.p50_ms, 2) for r in runs],
                    "p99_ms": [round(r.p99_ms, 2) for r in runs],
                    "errors": sum(r.errors for r in runs),
                },
            )
        )
        ratios, big_p50, quiet_p50 = [], [], []
        for _ in range(self.d.runs):
            big, quiet = goals.posting_latency(instance, self.d.latency_posts)
            big_p50.append(median(big) * 1000)
            quiet_p50.append(median(quiet) * 1000)
            ratios.append(big_p50[-1] / quiet_p50[-1])
        self.add(
            Goal(
                f"G2{suffix}.p50_big_vs_quiet",
                "p50 of a post by the 10,000-follower author / by a 0-follower author",
                big_p50,
                "ms",
                "<= 1.2",
                ratio_values=ratios,
                detail={"quiet_p50_ms": [round(v, 2) for v in quiet_p50]},
            )
        )
        return [r.rps for r in runs]

    def measure_a_rt(self, instance: Instance, when: str) -> None:
        anchor = self.anchor("A_rt", "ms", "one primary-key SELECT through asyncpg on PostgreSQL, prepared")
        value = goals.a_rt(instance) * 1000
        getattr(anchor, when).append(value)
        log(f"A_rt {when}: {value:.3f} ms")

    def g2_one_client(self, instance: Instance) -> None:
        """The sequential post's latency against the floor of one database round trip, both
        measured now: a post costs at most ten round trips' time (issue 12)."""
        self.measure_a_rt(instance, "before")
        p50s = []
        for _ in range(self.d.runs):
            timings = goals.posting_one_client(instance, self.d.sequential_posts)
            p50s.append(median(timings) * 1000)
        self.measure_a_rt(instance, "after")
        a_rt = self.anchors["A_rt"].value
        self.add(
            Goal(
                "G2.p50_1client",
                "p50 of POST /api/v1/statuses, one client posting sequentially, author with 1 follower",
                p50s,
                "ms",
                "<= 10",
                anchor="A_rt",
                anchor_value=a_rt,
                detail={"posts_per_run": self.d.sequential_posts},
            )
        )

    def g5(self, instance: Instance, suffix: str, with_p99: bool = True) -> list[float]:
        a_fan = self.anchors[f"A_fan[{instance.backend}]"].value
        client = goals.Client(instance.base_url)
        try:
            goals.fanout_once(instance, client, serial=-1)  # warm-up
            runs = [goals.fanout_once(instance, client, serial=i) for i in range(self.d.runs)]
        finally:
            client.close()
        self.add(
            Goal(
                f"G5{suffix}",
                "fan-out to 10,000 local followers, from the post's 200 to the last feed row",
                runs,
                "s",
                "<= 20",
                anchor=f"A_fan[{instance.backend}]",
                anchor_value=a_fan,
            )
        )
        self.add(Goal(f"G5{suffix}.seconds", "the same fan-out, absolute", runs, "s", "<= 1"))
        if with_p99:
            idle, during, counts = [], [], []
            for _ in range(self.d.fanout_runs):
                idle.append(goals.timeline(instance, self.d.p99_window, connections=16).p99_ms)
                result, fanouts = goals.timeline_during_fanouts(instance, self.d.p99_window)
                during.append(result.p99_ms)
                counts.append(fanouts)
            self.add(
                Goal(
                    f"G5{suffix}.p99_during_vs_idle",
                    "home timeline p99 (16 connections) during fan-outs / idle",
                    during,
                    "ms",
                    "<= 2",
                    ratio_values=[d / i for d, i in zip(during, idle, strict=True)],
                    detail={"idle_p99_ms": [round(v, 2) for v in idle], "fanouts": counts},
                )
            )
        return runs

    # -- sections ----------------------------------------------------------------------------

    def sqlite(self) -> None:
        instance = Instance("sqlite", self.sizes)
        try:
            self.seed(instance)
            self.measure_a_fan(instance, "before")
            instance.start("serve")
            goals.warm_up(instance)
            time.sleep(1)
            idle = goals.rss(instance)
            a_min = self.anchors["A_min"].value
            a_imports = self.anchors["A_imports"].value
            self.add(
                Goal(
                    "G6.idle",
                    "RSS of `kinfolk serve` (web + worker), idle",
                    [idle],
                    "MB",
                    "<= 2.5",
                    anchor="A_imports",
                    anchor_value=a_imports,
                )
            )
            self.add(Goal("G6.idle_mb", "the same, absolute", [idle], "MB", "<= 150"))
            load_started = time.monotonic()
            self.g1(instance, "", a_min, ">= 0.25")
            self.g1_single(instance, "")
            self.g2(instance, "", a_min)
            self.g5(instance, "")
            tl, posts, waits = [], [], []
            for _ in range(self.d.runs):
                result, count, since = goals.mixed(instance, self.d.mixed)
                tl.append(result.p99_ms)
                posts.append(count)
                instance.wait_jobs_drained(120)
                waits.extend(instance.job_waits(since))
            self.add(
                Goal(
                    "G7",
                    "home timeline p99 under G1's readers while posting and fan-out run",
                    tl,
                    "ms",
                    "<= 100",
                    detail={"posts_per_run": posts},
                )
            )
            self.add(
                Goal(
                    "G8",
                    "job queue wait p99 under G7 (due -> done, an upper bound)",
                    [percentile(waits, 99)],
                    "s",
                    "<= 5",
                    detail={"jobs": len(waits), "p50_s": percentile(waits, 50)},
                )
            )
            after = goals.rss(instance)
            load_seconds = time.monotonic() - load_started
            self.add(
                Goal(
                    "G6.after_load",
                    f"RSS after {load_seconds:.0f} s of mixed load / idle",
                    [after],
                    "MB",
                    "<= 2",
                    ratio_values=[after / idle],
                    detail={"load_seconds": round(load_seconds), "idle_mb": round(idle, 1)},
                )
            )
            instance.stop()
            if "servers" in self.sections:
                self.servers(instance)
            self.measure_a_fan(instance, "after")
        finally:
            instance.destroy()

    def servers(self, instance: Instance) -> None:
        """uvicorn against granian on Kinfolk's home timeline, the two alternating run by run so
        that the machine's drift falls on both; A_min under each; WebSocket under each."""
        self.measure_a_min("before", server="granian")
        g1: dict[str, list[float]] = {"uvicorn": [], "granian": []}
        websocket: dict[str, bool] = {}
        rss: dict[str, float] = {}
        for _ in range(self.d.server_rounds):
            for server in ("uvicorn", "granian"):
                instance.start("serve", env={"KINFOLK_ASGI_SERVER": server})
                try:
                    goals.warm_up(instance)
                    g1[server].append(goals.timeline(instance, self.d.single).rps)
                    if server not in websocket:
                        websocket[server] = goals.websocket_works(instance)
                    rss[server] = goals.rss(instance)
                finally:
                    instance.stop()
        self.measure_a_min("after", server="granian")
        self.comparisons["asgi_servers"] = {
            server: {
                "A_min": round(self.anchors["A_min" if server == "uvicorn" else "A_min[granian]"].value),
                "G1_runs": [round(v, 1) for v in g1[server]],
                "G1": round(median(g1[server]), 1),
                "websocket": websocket[server],
                "embedded": True if server == "uvicorn" else "experimental (granian.server.embed)",
                "rss_mb": round(rss[server], 1),
            }
            for server in ("uvicorn", "granian")
        }
        self.comparisons["asgi_servers"]["G1_granian_over_uvicorn"] = round(
            median(g1["granian"]) / median(g1["uvicorn"]), 3
        )
        log(f"servers: {self.comparisons['asgi_servers']}")

    def postgresql(self) -> Instance | None:
        instance = Instance("postgresql", self.sizes)
        try:
            self.seed(instance)
        except Exception as exc:
            instance.destroy()
            self.notes.append(f"PostgreSQL section skipped: {exc}")
            log(self.notes[-1])
            return None
        self.measure_a_fan(instance, "before")
        instance.start("serve")
        try:
            goals.warm_up(instance)
            a_min = self.anchors["A_min"].value
            self.single_pg["G1"] = median(self.g1(instance, "@postgresql", a_min, ">= 0.15"))
            self.g1_single(instance, "@postgresql")
            self.single_pg["G2"] = median(self.g2(instance, "@postgresql", a_min))
            self.g2_one_client(instance)
            self.single_pg["G5"] = median(self.g5(instance, "@postgresql", with_p99=False))
        finally:
            instance.stop()
        self.measure_a_fan(instance, "after")
        return instance

    def scaled(self, instance: Instance) -> None:
        """The same PostgreSQL data, served by 2 web processes and 1 worker process with Redis,
        nobody pinned but the load generator; reports the speed-up over one process."""
        try:
            import redis

            redis.Redis.from_url(REDIS_URL).ping()
        except Exception as exc:
            self.notes.append(f"scaled section skipped: Redis unreachable ({exc})")
            log(self.notes[-1])
            return
        env = {"KINFOLK_REDIS_URL": REDIS_URL}
        instance.start("web", core=None, extra_args=("--workers", "2"), env=env)
        instance.start("worker", core=None, extra_args=("--concurrency", "8"), env=env, wait=False)
        try:
            goals.warm_up(instance)
            a_min = self.anchors["A_min"].value
            g1 = median(self.g1(instance, "@scaled", a_min, ">= 0.15"))
            g2 = median(self.g2(instance, "@scaled", a_min))
            g5 = median(self.g5(instance, "@scaled", with_p99=False))
        finally:
            instance.stop()
        if self.single_pg:
            self.comparisons["scale_out_speedup"] = {
                "processes": "2 web (uvicorn --workers 2) + 1 worker, PostgreSQL + Redis, unpinned",
                "G1": round(g1 / self.single_pg["G1"], 2),
                "G2": round(g2 / self.single_pg["G2"], 2),
                "G5": round(self.single_pg["G5"] / g5, 2),
            }

    def seed(self, instance: Instance) -> None:
        seeded = instance.create()
        total = sum(seeded.rows.values())
        log(f"seeded {instance.backend}: {total:,} rows in {seeded.seconds:.1f} s")
        self.comparisons[f"seed_{instance.backend}"] = {
            "rows": seeded.rows,
            "seconds": round(seeded.seconds, 1),
            "goal_seconds": 30,
            "met": seeded.seconds <= 30,
        }

    def media(self) -> None:
        try:
            module = importlib.import_module("bench.media")
        except ImportError:
            return
        result = module.run(self.quick)
        if isinstance(result, dict):
            for name, value in result.get("anchors", {}).items():
                self.comparisons[f"media_anchor_{name}"] = value
            for gid, value in result.get("goals", {}).items():
                self.comparisons[f"media_{gid}"] = value
            extra = {k: v for k, v in result.items() if k not in ("anchors", "goals")}
            if extra:
                self.comparisons["media"] = extra

    def federation(self) -> None:
        """Issue 12's rows on SQLite, then PostgreSQL (`BENCH_FEDERATION_BACKENDS` picks): the
        inbox (G3), its processing, deliveries (G4) against A_sign, measured in the same run."""
        from bench import federation

        backends = os.environ.get("BENCH_FEDERATION_BACKENDS", "sqlite,postgresql").split(",")
        sign = self.anchor(
            "A_sign", "signatures/s", "RSA-2048 draft-cavage signatures (sign_request, 1 KB body)"
        )
        a_min = self.anchors["A_min"].value
        for backend in (b.strip() for b in backends if b.strip()):
            suffix = "" if backend == "sqlite" else f"@{backend}"
            try:
                m = federation.measure(backend, self.quick)
            except Exception:
                self.notes.append(f"federation on {backend} failed: {traceback.format_exc(limit=8)}")
                log(self.notes[-1])
                continue
            sign.before.append(m.a_sign_before)
            sign.after.append(m.a_sign_after)
            a_sign = sign.value
            self.add(
                Goal(
                    f"G3{suffix}",
                    "inbox: signed Creates accepted (verified, stored, enqueued), 16 connections",
                    m.g3,
                    "req/s",
                    ">= 0.15",
                    anchor="A_min",
                    anchor_value=a_min,
                    detail=m.g3_detail,
                )
            )
            self.add(
                Goal(
                    f"G3{suffix}.processed",
                    "the same Creates processed by one worker (stored, fanned out to 10 local followers)",
                    m.g3_processed,
                    "activities/s",
                    ">= 0.05",
                    anchor="A_min",
                    anchor_value=a_min,
                    detail=m.g3_processed_detail,
                )
            )
            self.add(
                Goal(
                    f"G4{suffix}",
                    "signed deliveries per second, one worker process (--concurrency 16), sink answering 202",
                    m.g4,
                    "deliveries/s",
                    ">= 0.5",
                    anchor="A_sign",
                    anchor_value=a_sign,
                    detail=m.g4_detail,
                )
            )
            g4 = median(m.g4)
            self.add(
                Goal(
                    f"G4{suffix}.dead",
                    "G4 with every fifth inbox never answering: live deliveries per second",
                    m.g4_dead,
                    "deliveries/s",
                    ">= 0.8",
                    ratio_values=[v / g4 for v in m.g4_dead],
                    detail=m.g4_dead_detail,
                )
            )
            self.add(
                Goal(
                    f"G4{suffix}.fanout",
                    "post by an author with followers on 1,000 servers: the 200 to the last delivery",
                    m.g4_fanout,
                    "s",
                    "<= 1.5",
                    anchor="1000/G4",
                    anchor_value=1000 / g4,
                    detail=m.g4_fanout_detail,
                )
            )

    # -- the run -----------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        started = time.monotonic()
        machine = report.machine("wrk" if load.have_wrk() else "python-aiohttp")
        log(f"machine: {machine['cpu']}, {machine['cores']} cores, load {machine['load_average_start']}")
        self.measure_a_imports()
        self.measure_a_min("before")
        self.measure_a_min("before", loop="uvloop")
        sections = [s for s in SECTIONS if s in self.sections]
        pg_instance = None
        for section in sections:
            try:
                if section == "sqlite":
                    self.sqlite()
                elif section == "postgresql":
                    pg_instance = self.postgresql()
                elif section == "scaled" and pg_instance is None and "postgresql" not in self.sections:
                    pg_instance = Instance("postgresql", self.sizes)
                    self.seed(pg_instance)
                    self.scaled(pg_instance)
                elif section == "scaled" and pg_instance is not None:
                    self.scaled(pg_instance)
                elif section == "media":
                    self.media()
                elif section == "federation":
                    self.federation()
            except Exception:
                self.notes.append(f"section {section} failed: {traceback.format_exc(limit=5)}")
                log(self.notes[-1])
        if pg_instance is not None:
            pg_instance.destroy()
        self.measure_a_min("after")
        self.measure_a_min("after", loop="uvloop")
        servers = self.comparisons.get("asgi_servers")
        if servers:  # uvicorn's A_min is the run's anchor, measured before and after everything
            servers["uvicorn"]["A_min"] = round(self.anchors["A_min"].value)
        machine["load_average_end"] = list(os.getloadavg())
        machine["seconds"] = round(time.monotonic() - started)
        machine["mode"] = "quick" if self.quick else "full"
        return {
            "machine": machine,
            "anchors": {name: a.as_dict() for name, a in self.anchors.items()},
            "goals": {gid: g.as_dict() for gid, g in self.goals.items()},
            "comparisons": self.comparisons,
            "notes": self.notes,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="a reduced run (under 2 minutes)")
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"any of {', '.join(SECTIONS)}")
    parser.add_argument("--out", default=str(procs.OUT / "report.json"))
    args = parser.parse_args(argv)
    procs.pin_self(procs.CLIENT_CORE)
    sections = {s.strip() for s in args.sections.split(",") if s.strip()}
    unknown = sections - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    bench = Bench(quick=args.quick or os.environ.get("QUICK") == "1", sections=sections)
    try:
        result = bench.run()
    finally:
        procs.stop_all()
    from pathlib import Path

    report.write(Path(args.out), result)
    print(report.table(result))
    log(f"report: {args.out} ({result['machine']['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
