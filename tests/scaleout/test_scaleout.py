"""The scale-out topology with real processes: daphne workers on Redis + PostgreSQL, separate
engine processes (docs/deploy.md). Each test starts its own processes and its own database.

No timed assertions: every wait is bounded, and a timeout fails with what was awaited.
"""
from __future__ import annotations

import asyncio
import signal
from collections import Counter

import pytest
from kit import Table, finish, start, tables

from bench.stack import MANAGE, PY, RedisServer, free_port, wait_healthy, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres,
              pytest.mark.timeout(150)]


def _public_by_seq(table: Table) -> dict[int, set[str]]:
    """seq -> the digests of the public message with that seq, over every player."""
    seen: dict[int, set[str]] = {}
    for p in table.players:
        for seq, _kind, _tick, digest in p.public_log:
            seen.setdefault(seq, set()).add(digest)
    return seen


def _assert_nothing_lost(audit: dict, table: Table) -> None:
    assert audit["acked"] > 0, "the players traded"
    assert audit["lost"] == [], "every acknowledged command is stored"
    assert audit["queued"] == 0, "and settled"
    assert audit["duplicate_client_ids"] == 0
    assert audit["duplicate_tick_rows"] == 0 and audit["tick_rows_contiguous"]
    assert table.m.ack_conflicts == 0, "a resent id got its first answer back"
    assert table.m.fill_conflicts == 0, "no command settled at two ticks"


async def test_it_shows_players_on_two_servers_the_same_seq_sequence_and_state(stack_factory):
    stack = stack_factory()
    a, b = free_port(), free_port()
    stack.daphne(a, b)
    stack.engine()
    urls = [f"ws://127.0.0.1:{a}", f"ws://127.0.0.1:{b}"]
    [table] = tables(stack, 1, 6, lambda i: [urls[i % 2]])
    await table.connect()
    start(stack, [table])
    await table.ticks(4)
    [audit] = await finish(stack, [table])

    _assert_nothing_lost(audit, table)
    by_seq = _public_by_seq(table)
    # After its start every player applied the same public messages, byte for byte, whichever
    # server it is on: one text per seq, and seqs without holes up to the game's seq.
    assert all(len(digests) == 1 for digests in by_seq.values())
    first = max(min(s for s, *_ in p.public_log) for p in table.players)
    for p in table.players:
        seqs = [s for s, *_ in p.public_log if s >= first]
        assert seqs == list(range(first, audit["seq"] + 1))
    assert table.m.gaps == 0 and table.m.reconnects == 0
    ticks = [t for _s, kind, t, _d in table.players[0].public_log if kind == "tick"]
    assert ticks == list(range(ticks[0], ticks[0] + len(ticks)))  # each tick once, in order


async def test_it_moves_players_of_a_killed_server_to_the_other_without_losing_commands(
        stack_factory):
    stack = stack_factory()
    a, b = free_port(), free_port()
    doomed, _ = stack.daphne(a, b)
    stack.engine()
    urls = [f"ws://127.0.0.1:{a}", f"ws://127.0.0.1:{b}"]
    # Players 0, 2, 4 start on A and fail over to B; 1, 3, 5 are on B throughout.
    [table] = tables(stack, 1, 6, lambda i: urls if i % 2 == 0 else [urls[1]])
    await table.connect()
    start(stack, [table])
    await table.ticks(2)
    doomed.kill()  # SIGKILL mid-game: no close frames, commands in flight
    on_a = table.players[0::2]
    await table.until(lambda: all(len(p.snapshot_seqs) >= 2 for p in on_a), 60,
                      "a fresh snapshot at every player of the killed server")
    await table.ticks(3)
    [audit] = await finish(stack, [table])

    _assert_nothing_lost(audit, table)
    assert table.m.reconnects >= len(on_a)
    assert table.m.gave_up == 0 and not any(p.dead for p in table.players)
    # Every player ends in the same state: the same last public message.
    last = {p.public_log[-1][3] for p in table.players}
    assert len(last) == 1 and table.seq_of_all() == {audit["seq"]}
    assert all(len(d) == 1 for d in _public_by_seq(table).values())


async def test_it_heals_after_redis_restarts_mid_game(stack_factory, tmp_path):
    # Our own redis-server on a free port: the machine's shared Redis is never restarted.
    redis = RedisServer(tmp_path).start()
    try:
        stack = stack_factory(redis=redis.url)
        a, b = free_port(), free_port()
        stack.daphne(a, b)
        stack.engine()
        urls = [f"ws://127.0.0.1:{a}", f"ws://127.0.0.1:{b}"]
        [table] = tables(stack, 1, 4, lambda i: [urls[i % 2]])
        await table.connect()
        start(stack, [table])
        await table.ticks(2)
        before = [len(p.snapshot_seqs) for p in table.players]
        redis.stop()
        await asyncio.sleep(1.5)  # ticks keep settling meanwhile; their broadcasts are lost
        redis.start()
        # Every player notices (its socket closes, or it sees a seq gap) and takes a snapshot.
        await table.until(lambda: all(len(p.snapshot_seqs) > n
                                      for p, n in zip(table.players, before, strict=True)),
                          60, "a snapshot at every player after the restart")
        await table.ticks(3)
        [audit] = await finish(stack, [table])
    finally:
        redis.stop()

    _assert_nothing_lost(audit, table)
    assert table.seq_of_all() == {audit["seq"]}
    assert table.m.reconnects + table.m.gaps >= len(table.players)
    assert all(len(d) == 1 for d in _public_by_seq(table).values())


async def test_two_engines_never_settle_the_same_tick(stack_factory):
    stack = stack_factory()
    port = free_port()
    stack.daphne(port)
    engines = [stack.engine("engine-a"), stack.engine("engine-b")]
    url = [f"ws://127.0.0.1:{port}"]
    games = tables(stack, 3, 3, lambda i: url)
    await asyncio.gather(*(t.connect() for t in games))
    start(stack, games)
    await asyncio.gather(*(t.ticks(3) for t in games))
    # One engine dies mid-run (SIGKILL, perhaps inside a settlement): the other carries on.
    engines[0].kill()
    await asyncio.gather(*(t.ticks(3) for t in games))
    audits = await finish(stack, games)

    assert engines[1].alive()
    for t, audit in zip(games, audits, strict=True):
        _assert_nothing_lost(audit, t)
        assert audit["tick_rows"] == audit["tick"]
        for p in t.players:
            ticks = [tick for _s, kind, tick, _d in p.public_log if kind == "tick"]
            counts = Counter(ticks)
            assert max(counts.values()) == 1, "each tick broadcast once"
            assert ticks == list(range(ticks[0], ticks[0] + len(ticks)))


def test_serve_runs_workers_and_engines_restarts_one_that_dies_and_stops_on_sigint(
        stack_factory):
    # (Playing through `serve` is covered by test_bench_smoke: the benchmark runs on it.)
    import psutil

    stack = stack_factory()
    port = free_port()
    # Started as a script's background job is: with SIGINT ignored (which exec keeps). Ctrl-C
    # must still stop it, so serve sets its own handler rather than trusting what it inherits.
    serve = stack.spawn("serve", ["bash", "-c", "trap '' INT; exec \"$@\"", "serve", PY, MANAGE,
                                  "serve", "--workers", "2", "--engines", "1", "--port",
                                  str(port), "--no-migrate"])
    wait_healthy(port, serve)
    children = psutil.Process(serve.pid).children()
    kinds = Counter("run_engine" in " ".join(c.cmdline()) for c in children)
    assert kinds == {False: 2, True: 1}  # two daphne workers, one engine
    listeners = {c.laddr.port for child in children if "run_engine" not in
                 " ".join(child.cmdline()) for c in child.net_connections("tcp")
                 if c.status == psutil.CONN_LISTEN}
    assert listeners == {port}  # both on the one port (SO_REUSEPORT)

    # A worker that dies is replaced (after a short back-off) and the port keeps serving.
    victim = next(c for c in children if "run_engine" not in " ".join(c.cmdline()))
    victim.kill()

    def replaced() -> bool:
        now = psutil.Process(serve.pid).children()
        return len(now) == 3 and victim.pid not in {c.pid for c in now}

    wait_until(replaced, 30, "a new worker in place of the killed one")
    wait_healthy(port)
    children = psutil.Process(serve.pid).children()
    serve.stop(signal.SIGINT, timeout=60)  # engines, then workers: at most 8 s + 5 s each
    assert serve.popen.returncode == 0
    assert not any(c.is_running() and c.status() != psutil.STATUS_ZOMBIE for c in children)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_engine_started_with_sigint_ignored_stops_cleanly_on_a_signal(stack_factory, sig):
    # As a script's background job starts it (scripts/test's second lane did: every engine a
    # test stopped with SIGINT then ran until it was killed 25 s later). A clean stop is exit 0;
    # stop_process kills what outlives its timeout (-9).
    stack = stack_factory()
    engine = stack.spawn("engine", ["bash", "-c", "trap '' INT; exec \"$@\"", "engine", PY,
                                    MANAGE, "run_engine"])
    wait_until(lambda: "engine running" in engine.output(), 30, "the engine to start")
    engine.stop(sig, timeout=20)
    assert engine.popen.returncode == 0, engine.output()[-2000:]


def test_serve_takes_its_children_along_when_it_is_killed(stack_factory):
    import psutil

    stack = stack_factory()
    port = free_port()
    serve = stack.serve(port, 1, 1)
    children = psutil.Process(serve.pid).children()
    assert len(children) == 2
    serve.kill()  # SIGKILL: no orderly stop; the children get SIGKILL from the kernel
    _gone, alive = psutil.wait_procs(children, timeout=15)
    assert alive == []
