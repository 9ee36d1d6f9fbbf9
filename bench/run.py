"""`python -m bench`: the scale-out load benchmark (never part of the test suite's pass/fail).

Runs, on this machine and in one go:

1. **one game**: P players (default 300) in one game on `manage.py serve --workers 2` + engine
   processes + Redis + PostgreSQL, then a reconnect storm (every client drops and comes back
   within one second);
2. **many games**: G games × Q players (default 10 × 100) on the same topology;
3. **the floor**: the same broadcast pattern (tick + one private per socket, the very messages
   the one-game phase's clients received, same clients) through a bare `websockets` server
   (bench/floor.py), one game of P players;

and prints a table and writes a JSON file (percentiles, losses, gaps, per-process RSS/CPU).
Traffic goes to 127.0.0.1 only; every phase is bounded in time.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import random
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from bench import http, stages
from bench.client import Metrics, Player
from bench.scenario import SUBNETS
from bench.stack import (
    PY,
    SERVER_NICE,
    Database,
    Stack,
    as_server,
    free_port,
    redis_url_with_db,
    stop_process,
)

STORM_TIMEOUT = 120.0
CONNECT_TIMEOUT = 180.0  # the whole connect phase

# --- statistics ---------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))
    return s[k]


def summary(values: list[float]) -> dict[str, Any]:
    return {"n": len(values), "p50": pct(values, 50), "p95": pct(values, 95),
            "p99": pct(values, 99), "max": max(values) if values else None}


def tick_latencies(m: Metrics, recv: dict, players: dict[str, int],
                   storm: tuple[float, float] | None = None) -> dict[str, Any]:
    """Per (game, tick): the time from the start of settlement until the last client of the
    game received the message ("every client"), and every single delivery.

    With a reconnect storm window (start, every client fresh again), a tick whose delivery
    overlaps it is reported apart (`during_storm_ms`): while the whole class reconnects its
    clients are not there to receive it, so its "every client" time is the storm's recovery
    time, which the storm figure already reports. `every_client_ms` is the ticks of normal
    play; `all_ticks_ms` both together."""
    every, stormy, each, incomplete = [], [], [], 0
    series = []
    for key, times in recv.items():
        start = m.tick_start.get(key)
        if start is None:
            continue
        each.extend((t - start) * 1000 for t in times)
        if len(times) >= players.get(key[0], 0):
            ms = (max(times) - start) * 1000
            in_storm = storm is not None and start <= storm[1] and max(times) >= storm[0]
            (stormy if in_storm else every).append(ms)
            series.append([key[0], key[1], round(start, 2), round(ms), in_storm])
        else:
            incomplete += 1
    return {"every_client_ms": summary(every), "during_storm_ms": summary(stormy),
            "all_ticks_ms": summary(every + stormy), "each_delivery_ms": summary(each),
            "ticks_not_received_by_all": incomplete,
            # [game, tick, start, every_ms, overlaps the storm]
            "series": sorted(series, key=lambda r: r[2])}


def clock_jitter(m: Metrics, tick_seconds: float) -> dict[str, Any]:
    """Per game: how late each tick started after it was due (next_tick_at of the previous
    tick), and the interval between tick starts. One game's settlement blocking another's shows
    here as lateness."""
    per_game = {}
    for game, ticks in m.clock.items():
        late, intervals = [], []
        for t in sorted(ticks):
            prev = ticks.get(t - 1)
            if prev is None or prev[1] is None:
                continue
            late.append((ticks[t][0] - prev[1]) * 1000)
            intervals.append((ticks[t][0] - prev[0]) * 1000)
        per_game[game] = {"lateness_ms": summary(late), "interval_ms": summary(intervals)}
    lates = [g["lateness_ms"]["p95"] for g in per_game.values() if g["lateness_ms"]["n"]]
    return {"tick_seconds": tick_seconds, "per_game": per_game,
            "worst_game_p95_lateness_ms": max(lates) if lates else None}


# --- process sampling ---------------------------------------------------------------------------


class Sampler:
    """Samples RSS and CPU of named processes once a second (bounded by the phase)."""

    def __init__(self) -> None:
        self.procs: dict[str, psutil.Process] = {}
        self.samples: dict[str, dict[str, list[float]]] = {}
        self.extra: list[dict[str, Any]] = []
        self.nice: dict[str, int] = {}  # each process's CPU priority (--clients-nice)
        # (time, CPU seconds used so far) per process, and per group of processes (PostgreSQL's
        # backends): what `cpu_between` reads a window's share from.
        self.cpu_seconds: dict[str, list[tuple[float, float]]] = {}
        self.groups: dict[str, Callable[[psutil.Process], bool]] = {}  # name -> which
        self._group_seen: dict[str, dict[int, float]] = {}
        self._group_total: dict[str, float] = {}

    def watch(self, name: str, pid: int) -> None:
        try:
            p = psutil.Process(pid)
            p.cpu_percent(None)
            self.procs[name] = p
            self.samples.setdefault(name, {"rss_mb": [], "cpu": []})
            self.nice[name] = p.nice()
        except psutil.Error:
            pass

    def watch_group(self, name: str, which: Callable[[psutil.Process], bool]) -> None:
        """Count the CPU of every process `which(process)` accepts as one (`cpu_between` only):
        the database's backends come and go, and each is counted from its first sample."""
        self.groups[name] = which
        self._group_seen[name], self._group_total[name] = {}, 0.0

    def sample(self) -> None:
        now = time.time()
        for name, p in list(self.procs.items()):
            try:
                self.samples[name]["rss_mb"].append(p.memory_info().rss / 2**20)
                self.samples[name]["cpu"].append(p.cpu_percent(None))
                used = p.cpu_times()
                self.cpu_seconds.setdefault(name, []).append((now, used.user + used.system))
            except psutil.Error:
                self.procs.pop(name, None)
        if self.groups:
            procs = list(psutil.process_iter(["name"]))
            for name, which in self.groups.items():
                seen = self._group_seen[name]
                for p in procs:
                    try:
                        if not which(p):
                            continue
                        used = p.cpu_times()
                    except psutil.Error:
                        continue
                    total = used.user + used.system
                    self._group_total[name] += total - seen.get(p.pid, total)
                    seen[p.pid] = total
                self.cpu_seconds.setdefault(name, []).append((now, self._group_total[name]))

    def cpu_between(self, start: float, end: float) -> dict[str, float]:
        """Each watched process's (and group's) CPU from `start` to `end` in percent of one
        core, its cumulative CPU time interpolated between the samples on either side (they
        are a second apart; a reconnect storm lasts a few). Processes not sampled across the
        whole window are left out."""
        def at(series: list[tuple[float, float]], t: float) -> float | None:
            for (t0, c0), (t1, c1) in itertools.pairwise(series):
                if t0 <= t <= t1:
                    return c0 + (c1 - c0) * ((t - t0) / (t1 - t0) if t1 > t0 else 0.0)
            return None

        out = {}
        for name, series in self.cpu_seconds.items():
            a, b = at(series, start), at(series, end)
            if a is not None and b is not None and end > start:
                out[name] = round(100 * (b - a) / (end - start), 1)
        return out

    async def run(self, stop: asyncio.Event, probe: Any = None) -> None:
        while not stop.is_set():
            self.sample()
            if probe is not None:
                try:
                    self.extra.append({"t": round(time.time(), 1),
                                       "load1": os.getloadavg()[0],
                                       **await asyncio.to_thread(probe)})
                except Exception as exc:  # noqa: BLE001
                    self.extra.append({"error": str(exc)})
            try:
                await asyncio.wait_for(stop.wait(), 1.0)
            except asyncio.TimeoutError:
                pass

    def report(self) -> dict[str, Any]:  # noqa: D102
        out = {}
        for name, s in self.samples.items():
            if not s["cpu"]:
                continue
            out[name] = {"rss_mb_max": round(max(s["rss_mb"]), 1),
                         "cpu_pct_mean": round(sum(s["cpu"]) / len(s["cpu"]), 1),
                         "cpu_pct_max": round(max(s["cpu"]), 1), "nice": self.nice.get(name)}
        return out


def stack_probe(redis_url: str, db_url: str, db_name: str) -> Any:
    import psycopg
    import redis

    r = redis.Redis.from_url(redis_url, socket_timeout=2)

    def probe() -> dict[str, Any]:
        mem = r.info("memory")
        with psycopg.connect(db_url, autocommit=True, connect_timeout=5) as conn:
            n = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s",
                             (db_name,)).fetchone()[0]
        return {"redis_used_mb": mem["used_memory"] / 2**20, "pg_connections": n}

    return probe


def watch_stack(sampler: Sampler, serve_pid: int, redis_url: str) -> None:
    import redis

    for child in psutil.Process(serve_pid).children():
        cmd = " ".join(child.cmdline())
        kind = "engine" if "run_engine" in cmd else "daphne"
        sampler.watch(f"{kind}-{child.pid}", child.pid)
    try:
        pid = redis.Redis.from_url(redis_url).info("server")["process_id"]
        sampler.watch("redis-server", int(pid))
    except Exception:  # noqa: BLE001
        pass
    sampler.watch("bench-clients", os.getpid())
    sampler.watch_group("postgres", _is_postgres)


def _is_postgres(p: psutil.Process) -> bool:
    """A PostgreSQL process (its backends included): the server the benchmark's database is
    on, shared with any other database there."""
    return p.info["name"] == "postgres"


# --- phases -------------------------------------------------------------------------------------


JOIN_ATTEMPTS = 8


async def join_all(port: int, codes: list[str], per_game: int, concurrency: int
                   ) -> tuple[dict[str, list[str]], list[float], int]:
    """Every player joins through the join form (GET for the CSRF cookie, POST); a failed join
    (e.g. a 500 when PostgreSQL refuses connections) is retried after a pause, and counted."""
    sem = asyncio.Semaphore(concurrency)
    tokens: dict[str, list[str]] = {c: [] for c in codes}
    times: list[float] = []
    failures = 0

    async def one(code: str, k: int) -> None:
        nonlocal failures
        async with sem:
            t0 = time.perf_counter()
            for attempt in range(JOIN_ATTEMPTS):
                try:
                    tokens[code].append(await http.join("127.0.0.1", port, code, f"Bench {k}"))
                    break
                except (OSError, asyncio.TimeoutError, http.HttpError):
                    failures += 1
                    if attempt == JOIN_ATTEMPTS - 1:
                        raise
                    await asyncio.sleep(0.5 * 2 ** min(attempt, 3))
            times.append((time.perf_counter() - t0) * 1000)

    await asyncio.gather(*(one(code, k) for code in codes for k in range(per_game)))
    return tokens, times, failures


async def play(url_for: Any, tokens: dict[str, list[str]], *, duration: float,
               tick_seconds: float, order_every: float, storm: bool, start_games: Any = None,
               connect_concurrency: int = 100) -> dict[str, Any]:
    """Connect every player, (start the games), trade for `duration` seconds, optionally a
    reconnect storm, then stop trading and wait (bounded) for every command's ack."""
    m = Metrics()
    stop = asyncio.Event()
    players: list[Player] = []
    by_game: dict[str, list[Player]] = {}
    for code, toks in tokens.items():
        for i, tok in enumerate(toks):
            p = Player(url_for(code), f"seat_{code}={tok}" if tok else None, m, game=code,
                       trade_every=order_every,
                       subnets=SUBNETS, seed=zlib.crc32(f"{code}:{i}".encode()))
            players.append(p)
            by_game.setdefault(code, []).append(p)

    sem = asyncio.Semaphore(connect_concurrency)

    async def launch(p: Player) -> None:
        async with sem:
            task = asyncio.create_task(p.run(stop))
            tasks.append(task)
            try:
                await asyncio.wait_for(p.fresh.wait(), 60)
            except asyncio.TimeoutError:
                pass

    tasks: list[asyncio.Task] = []
    t0 = time.perf_counter()
    launches = [asyncio.create_task(launch(p)) for p in players]
    _done, late = await asyncio.wait(launches, timeout=CONNECT_TIMEOUT)
    for t in late:  # the run goes on: players with a socket task keep trying in the background,
        t.cancel()  # those still waiting for a handshake slot are left out (not_connected)
    connect_all_s = time.perf_counter() - t0
    not_connected = sum(1 for p in players if not p.fresh.is_set())
    if start_games is not None:
        await asyncio.to_thread(start_games)
    phase_t0 = time.time()
    await asyncio.sleep(duration)

    storm_report = None
    if storm:
        storm_report = await reconnect_storm(players, m)
        await asyncio.sleep(min(duration, 3 * tick_seconds))

    for p in players:  # stop trading, keep reading: the last acks and fills arrive
        p.trade = False
    await asyncio.gather(*(p.drain(30) for p in players))
    await asyncio.sleep(2.5 * tick_seconds)  # the last commands settle at the next tick
    unacked = sum(len(p.pending) for p in players)
    stop.set()
    await asyncio.wait(tasks, timeout=20)
    acked = {code: [[p.seat_id, cid] for p in ps for cid in p.acked] for code, ps in
             by_game.items()}
    counts = {code: len(ps) for code, ps in by_game.items()}
    return {"metrics": m, "acked": acked, "unacked": unacked, "players": counts,
            "connect_all_s": connect_all_s, "not_connected": not_connected,
            "storm": storm_report,
            "run_seconds": time.time() - phase_t0,
            "dead_clients": sum(1 for p in players if p.dead)}


async def reconnect_storm(players: list[Player], m: Metrics) -> dict[str, Any]:
    """Every client drops its socket at once and reconnects at a random moment within 1 s;
    the time until every client holds a fresh snapshot."""
    t0 = time.time()
    fresh_at: list[float] = []

    async def mark(p: Player) -> None:
        await p.fresh.wait()
        fresh_at.append(time.time() - t0)

    for p in players:
        p.resume_at = t0 + random.random()
        p.fresh.clear()
        p.kick.set()
    await asyncio.sleep(0)  # let the sockets drop before waiting for fresh snapshots
    waits = [asyncio.create_task(mark(p)) for p in players if not p.dead]
    done, pending = await asyncio.wait(waits, timeout=STORM_TIMEOUT)
    for t in pending:
        t.cancel()
    return {"started": t0, "clients": len(players), "fresh_snapshots": len(done),
            "all_fresh_after_s": round(max(fresh_at), 3) if not pending else None,
            "fresh_after_s": summary(fresh_at),
            f"missing_after_{STORM_TIMEOUT:.0f}s": len(pending)}


def report_play(name: str, res: dict[str, Any], tick_seconds: float,
                audit: list[dict[str, Any]] | None) -> dict[str, Any]:
    m: Metrics = res["metrics"]
    st = res["storm"]
    window = None
    if st is not None:  # until every client was fresh (or the storm's time limit)
        window = (st["started"], st["started"] + (st["all_fresh_after_s"] or STORM_TIMEOUT))
    lost = sum(len(a["lost"]) for a in audit) if audit else None
    dup = (sum(a["duplicate_client_ids"] + a["duplicate_tick_rows"] for a in audit)
           + m.ack_conflicts + m.fill_conflicts) if audit else m.ack_conflicts + m.fill_conflicts
    return {
        "name": name, "players": sum(res["players"].values()), "games": len(res["players"]),
        "order_ack_ms": summary(m.ack_ms), "connect_ms": summary(m.connect_ms),
        "reconnect_ms": summary(m.reconnect_ms),
        "tick_public": tick_latencies(m, m.tick_recv, res["players"], window),
        "tick_private": tick_latencies(m, m.private_recv, res["players"], window),
        "clock": clock_jitter(m, tick_seconds),
        "commands": {"sent": m.sent, "resent": m.resent, "acked": m.acked,
                     "rejected_replies": m.rejected, "unacked_at_end": res["unacked"],
                     "lost": lost, "duplicated": dup,
                     "still_queued": sum(a["queued"] for a in audit) if audit else None},
        "errors": dict(m.errors), "closes": {str(k): v for k, v in m.closes.items()},
        "socket_failures": dict(m.failures),
        "seq_gaps": m.gaps, "gaps_healed_by_snapshot": m.gap_snapshots,
        "reconnects": m.reconnects, "dead_clients": res["dead_clients"],
        "connect_all_s": round(res["connect_all_s"], 2),
        "not_connected_after_connect_phase": res["not_connected"], "storm": res["storm"],
        "frames_in": m.frames_in, "mb_in": round(m.bytes_in / 2**20, 1),
        "sizes": {k: m.mean_size(k) for k in ("tick", "private", "snapshot")},
        "samples": dict(m.samples),
        "audit": [{k: v for k, v in a.items() if k != "lost"} | {"lost": len(a["lost"])}
                  for a in audit] if audit else None,
    }


async def stack_phase(args: argparse.Namespace, name: str, games: int, per_game: int,
                      storm: bool, workdir: Path) -> dict[str, Any]:
    db = Database(args.postgres).create()
    redis_url = redis_url_with_db(args.redis, args.redis_db)
    stack = Stack(db.url, redis_url, workdir=workdir / name, tick_seconds=args.tick_seconds,
                  extra_env={"LOG_LEVEL": "INFO", "STAGE_TIMES": "1"})
    sampler = Sampler()
    try:
        stack.migrate()
        port = free_port()
        serve_log = stack.workdir / "serve.log"
        log_from = len(serve_log.read_text(errors="replace")) if serve_log.exists() else 0
        engine_args = ["--shard-engines"] if args.shard_engines else []
        serve = stack.serve(port, args.workers, args.engines, *engine_args)
        created = stack.admin("create", "--tick-seconds", str(args.tick_seconds),
                              "--count", str(games))
        codes = [g["code"] for g in created]
        settings_info = stack.admin("settings")
        t0 = time.perf_counter()
        if args.join == "http":
            tokens, join_ms, join_failures = await join_all(port, codes, per_game,
                                                            args.join_concurrency)
        else:  # straight into the database (actions.lobby.join_game), no HTTP
            seats = stack.admin("join", *[x for c in codes for x in (c, str(per_game))])
            seats = [seats] if len(codes) == 1 else seats
            tokens = {c: [s["token"] for s in ss] for c, ss in zip(codes, seats, strict=True)}
            join_ms, join_failures = [], 0
        join_s = time.perf_counter() - t0
        watch_stack(sampler, serve.pid, redis_url)
        sstop = asyncio.Event()
        stask = asyncio.create_task(sampler.run(sstop, stack_probe(redis_url, args.postgres,
                                                                   db.name)))
        res = await play(lambda code: f"ws://127.0.0.1:{port}/ws/game/{code}/", tokens,
                         duration=args.duration, tick_seconds=args.tick_seconds,
                         order_every=args.order_every, storm=storm,
                         start_games=lambda: stack.admin("start", *codes))
        sstop.set()
        await stask
        audit = stack.admin("verify", input=res["acked"])
        out = report_play(name, res, args.tick_seconds, audit)
        if out.get("storm"):  # where the machine's CPU went while the class reconnected
            st = out["storm"]
            end = st["started"] + (st["all_fresh_after_s"] or STORM_TIMEOUT)
            st["cpu_pct"] = sampler.cpu_between(st["started"], end)
        out["settings"] = {k: settings_info.get(k) for k in (
            "module", "conn_max_age", "db_pool", "channel_layer")}
        out["join"] = args.join
        out["join_http_ms"] = summary(join_ms)
        out["join_http_failures"] = join_failures
        out["join_all_s"] = round(join_s, 2)
        out["processes"] = sampler.report()
        extra = [e for e in sampler.extra if "error" not in e]
        loads = [e["load1"] for e in extra if "load1" in e]
        out["machine_load1"] = summary(loads)
        out["timeline"] = [{k: (round(v, 2) if isinstance(v, float) else v) for k, v in e.items()}
                           for e in extra]
        out["redis_used_mb_max"] = round(max((e["redis_used_mb"] for e in extra), default=0), 1)
        out["pg_connections_max"] = max((e["pg_connections"] for e in extra), default=0)
        log = (stack.workdir / "serve.log").read_text(errors="replace")[log_from:]
        m = res["metrics"]
        out["stages"] = stages.report(log, {g["id"]: g["code"] for g in created},
                                      {"tick": m.tick_recv, "private": m.private_recv}, summary)
        out["over_capacity_log_lines"] = log.count("over capacity")
        out["server_tracebacks"] = log.count("Traceback")
        return out
    finally:
        stack.stop_all()
        db.drop()


async def floor_phase(args: argparse.Namespace, tick_bytes: int, private_bytes: int,
                      snapshot_bytes: int, workdir: Path,
                      samples: dict[str, str] | None = None, name: str = "floor"
                      ) -> dict[str, Any]:
    """The floor; with `samples` (the text of a `tick` and a `private` the stack sent), it sends
    those very messages, so its clients parse what the stack's parsed; else padded ones of the
    sizes given."""
    port = free_port()
    argv = [PY, "-m", "bench.floor", "--port", str(port), "--tick-seconds",
            str(args.tick_seconds), "--tick-bytes", str(tick_bytes), "--private-bytes",
            str(private_bytes), "--snapshot-bytes", str(snapshot_bytes)]
    for kind, text in (samples or {}).items():
        path = workdir / f"floor-{kind}.json"
        path.write_text(text)
        argv += [f"--{kind}-sample", str(path)]
    log = open(workdir / "floor.log", "ab")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                            cwd=Path(__file__).resolve().parent.parent, start_new_session=True,
                            preexec_fn=as_server)
    log.close()
    sampler = Sampler()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                _r, w = await asyncio.open_connection("127.0.0.1", port)
                w.close()
                break
            except OSError:
                await asyncio.sleep(0.1)
        sampler.watch("floor-server", proc.pid)
        sampler.watch("bench-clients", os.getpid())
        sstop = asyncio.Event()
        stask = asyncio.create_task(sampler.run(sstop))
        tokens = {"FLOOR": [""] * args.players}
        res = await play(lambda code: f"ws://127.0.0.1:{port}/ws/game/{code}/", tokens,
                         duration=args.duration, tick_seconds=args.tick_seconds,
                         order_every=args.order_every, storm=False)
        sstop.set()
        await stask
        out = report_play(name, res, args.tick_seconds, None)
        out["processes"] = sampler.report()
        return out
    finally:
        stop_process(proc)


def machine() -> dict[str, Any]:
    model = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu_model": model, "loadavg_at_start": os.getloadavg(),
            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(), "platform": platform.platform()}


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 1) if a is not None and b else None


def table(result: dict[str, Any]) -> str:
    rows = [("phase", "players", "ack p50/p95/p99 ms", "tick→all p50/p95/p99 ms",
             "private→all p95 ms", "connect p95 ms", "lost/dup", "gaps/healed")]

    def f(s: dict[str, Any]) -> str:
        return "/".join("-" if s[k] is None else f"{s[k]:.0f}" for k in ("p50", "p95", "p99"))

    for ph in result["phases"]:
        c = ph["commands"]
        rows.append((ph["name"], str(ph["players"]), f(ph["order_ack_ms"]),
                     f(ph["tick_public"]["every_client_ms"]),
                     f"{ph['tick_private']['every_client_ms']['p95'] or 0:.0f}",
                     f"{ph['connect_ms']['p95'] or 0:.0f}",
                     f"{c['lost'] if c['lost'] is not None else '-'}/{c['duplicated']}",
                     f"{ph['seq_gaps']}/{ph['gaps_healed_by_snapshot']}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for ph in result["phases"]:
        if ph.get("storm"):
            s = ph["storm"]
            during = ph["tick_public"]["during_storm_ms"]
            lines.append(f"reconnect storm ({ph['name']}): {s['clients']} clients, every one "
                         f"fresh after {s['all_fresh_after_s']} s; {during['n']} ticks "
                         f"overlapped it (tick→all max {during['max'] or 0:.0f} ms, not in the "
                         f"tick→all column)")
            if s.get("cpu_pct"):
                lines.append(f"CPU during the storm ({ph['name']}, % of one core): " + ", ".join(
                    f"{n} {pct:.0f}%" for n, pct in s["cpu_pct"].items()))
        if ph["name"].startswith("games"):
            lines.append(f"tick lateness, worst game p95 ({ph['name']}): "
                         f"{ph['clock']['worst_game_p95_lateness_ms']:.0f} ms")
    for ph in result["phases"]:
        if ph.get("stages", {}).get("ticks"):
            lines.append(stages.line(ph["name"], ph["stages"]))
    for key, val in result.get("ratios", {}).items():
        lines.append(f"ratio {key}: {val}")
    for ph in result["phases"]:
        procs = ", ".join(f"{n} {p['rss_mb_max']:.0f}MB {p['cpu_pct_mean']:.0f}%"
                          for n, p in ph.get("processes", {}).items())
        lines.append(f"processes ({ph['name']}): {procs}")
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(args.workdir or (Path("var") / "bench")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"machine": machine(), "args": vars(args), "phases": [],
                              "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    phases = args.phases.split(",")
    one = None
    if "one" in phases:
        one = await stack_phase(args, f"one-game-{args.players}", 1, args.players, True, workdir)
        result["phases"].append(one)
    if "many" in phases:
        many = await stack_phase(args, f"games-{args.games}x{args.per_game}", args.games,
                                 args.per_game, False, workdir)
        result["phases"].append(many)
    # The floor sends the very messages the stack sent (its clients parse the same JSON); the
    # padded floor (rounds 1-4's) padded ones of the same sizes.
    sizes = one["sizes"] if one else {}
    for floor_name, samples in (("floor", one["samples"] if one else None),
                                ("padded-floor", None)):
        if floor_name not in phases:
            continue
        floor = await floor_phase(args, args.tick_bytes or sizes.get("tick") or 6000,
                                  args.private_bytes or sizes.get("private") or 800,
                                  args.snapshot_bytes or sizes.get("snapshot") or 8000, workdir,
                                  samples, floor_name)
        result["phases"].append(floor)
        if one is not None:
            label = floor_name.replace("-", " ")
            result.setdefault("ratios", {}).update({
                f"order→ack p95 (stack/{label})": ratio(one["order_ack_ms"]["p95"],
                                                       floor["order_ack_ms"]["p95"]),
                f"tick→every client p95 (stack/{label})": ratio(
                    one["tick_public"]["every_client_ms"]["p95"],
                    floor["tick_public"]["every_client_ms"]["p95"]),
                f"private→every client p95 (stack/{label})": ratio(
                    one["tick_private"]["every_client_ms"]["p95"],
                    floor["tick_private"]["every_client_ms"]["p95"]),
            })
    result["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return result


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--players", type=int, default=300, help="players in the one-game phase")
    p.add_argument("--games", type=int, default=10, help="games in the many-games phase")
    p.add_argument("--per-game", type=int, default=100, help="players per game there")
    p.add_argument("--duration", type=float, default=30.0, help="seconds of trading per phase")
    p.add_argument("--tick-seconds", type=float, default=2.0)
    p.add_argument("--order-every", type=float, default=10.0,
                   help="mean seconds between two orders of one player (uniform 0.5x-1.5x)")
    p.add_argument("--workers", type=int, default=2, help="daphne processes")
    p.add_argument("--engines", type=int, default=1, help="run_engine processes")
    p.add_argument("--shard-engines", action="store_true",
                   help="engine k settles games with id %% M == k (serve --shard-engines)")
    p.add_argument("--phases", default="one,many,floor",
                   help="comma-separated: one (one game + reconnect storm), many, floor (the "
                        "messages the stack sent), padded-floor (padded ones of their sizes)")
    p.add_argument("--join-concurrency", type=int, default=8, help="joins in flight")
    p.add_argument("--join", choices=("http", "direct"), default="http",
                   help="players join through the join form (http) or straight into the "
                        "database (direct: bench.admin join)")
    p.add_argument("--tick-bytes", type=int, default=0,
                   help="floor message sizes (0: the sizes measured in the one-game phase)")
    p.add_argument("--private-bytes", type=int, default=0)
    p.add_argument("--snapshot-bytes", type=int, default=0)
    p.add_argument("--postgres", default=os.environ.get(
        "BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432/test"),
        help="an existing database to connect to (a fresh one is created beside it)")
    p.add_argument("--redis", default=os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/0"))
    p.add_argument("--redis-db", type=int, default=7)
    p.add_argument("--out", default="var/bench/bench.json")
    p.add_argument("--workdir", default=None)
    p.add_argument("--clients-nice", type=int, default=None, metavar="N",
                   help="run the benchmark's clients at CPU priority N (a nice value, e.g. -5: "
                        "below 0 needs root) and every server (the stack, the floor) at the "
                        "priority the benchmark started with: the clients stand for a class's "
                        "own devices, and then wait less on the servers for the machine's cores")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.clients_nice is not None:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, args.clients_nice)
        except PermissionError:
            print(f"--clients-nice {args.clients_nice}: not allowed (a nice value below the "
                  "current one needs root or CAP_SYS_NICE)", file=sys.stderr)
            return 2
        try:  # the servers go back to the priority the benchmark started with
            subprocess.run([PY, "-c", ""], preexec_fn=as_server, check=True)
        except subprocess.SubprocessError as exc:
            print(f"--clients-nice {args.clients_nice}: the servers could not be given back "
                  f"priority {SERVER_NICE} ({exc}): that needs root or CAP_SYS_NICE",
                  file=sys.stderr)
            return 2
    result = asyncio.run(main_async(args))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str))
    print(table(result))
    print(f"\nfull results: {out}")
    return 0
