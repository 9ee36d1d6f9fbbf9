"""`python -m bench` at a minimal size: it runs, writes its JSON and table, and its audit finds
nothing lost. Speed is never asserted (the figures belong to docs/performance.md)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres,
              pytest.mark.timeout(150)]


def test_the_benchmark_runs_at_a_minimal_size(postgres_url, redis_url, tmp_path):
    out = tmp_path / "bench.json"
    start_nice = os.getpriority(os.PRIO_PROCESS, 0)
    # The clients above the servers' priority (a nice value below ours needs root; CI is root).
    clients_nice = start_nice - 1 if os.geteuid() == 0 else start_nice
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--phases", "one,floor,padded-floor", "--players", "3",
         "--duration", "2", "--tick-seconds", "1", "--order-every", "0.5",
         "--postgres", postgres_url, "--redis", redis_url, "--redis-db", "12",
         "--clients-nice", str(clients_nice),
         "--out", str(out), "--workdir", str(tmp_path / "work")],
        cwd=ROOT, capture_output=True, text=True, timeout=140)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "tick→all" in run.stdout and "reconnect storm" in run.stdout
    result = json.loads(out.read_text())
    one, floor, padded = result["phases"]
    assert one["players"] == 3 and floor["name"] == "floor" and padded["name"] == "padded-floor"
    # Each server process ran at the priority the benchmark started with, the clients at theirs.
    for phase in (one, floor, padded):
        nice = {name: p["nice"] for name, p in phase["processes"].items()}
        assert nice.pop("bench-clients") == clients_nice
        assert nice and set(nice.values()) == {start_nice}, nice
    # The floor sent the stack's own tick and private (same JSON, this tick's seq and clock);
    # the padded floor padded ones.
    for kind in ("tick", "private"):
        stack_msg = json.loads(one["samples"][kind])
        floor_msg = json.loads(floor["samples"][kind])
        added = {"settle_started_at"} if kind == "tick" else set()  # the floor's clock
        assert set(floor_msg) == set(stack_msg) | added
        assert floor_msg["type"] == kind and "pad" in json.loads(padded["samples"][kind])
    assert floor_msg["you"] == stack_msg["you"]
    assert "tick→every client p95 (stack/padded floor)" in result["ratios"]
    assert one["commands"]["acked"] > 0
    assert one["commands"]["lost"] == 0 and one["commands"]["duplicated"] == 0
    assert one["storm"]["fresh_snapshots"] == 3
    # Where the CPU went during the storm: every server process, the clients and PostgreSQL.
    storm_cpu = one["storm"]["cpu_pct"]
    assert set(storm_cpu) == set(one["processes"]) | {"postgres"}, storm_cpu
    assert all(pct >= 0 for pct in storm_cpu.values())
    assert "CPU during the storm (one-game-3, % of one core): " in run.stdout
    assert result["machine"]["nproc"] >= 1
