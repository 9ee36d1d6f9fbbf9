"""`python -m bench` at a minimal size: it runs, writes its JSON and table, and its audit finds
nothing lost. Speed is never asserted (the figures belong to docs/performance.md)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres,
              pytest.mark.timeout(150)]


def test_the_benchmark_runs_at_a_minimal_size(postgres_url, redis_url, tmp_path):
    out = tmp_path / "bench.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--phases", "one,floor", "--players", "3",
         "--duration", "2", "--tick-seconds", "1", "--order-every", "0.5",
         "--postgres", postgres_url, "--redis", redis_url, "--redis-db", "12",
         "--out", str(out), "--workdir", str(tmp_path / "work")],
        cwd=ROOT, capture_output=True, text=True, timeout=140)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "tick→all" in run.stdout and "reconnect storm" in run.stdout
    result = json.loads(out.read_text())
    one, floor = result["phases"]
    assert one["players"] == 3 and floor["name"] == "floor"
    assert one["commands"]["acked"] > 0
    assert one["commands"]["lost"] == 0 and one["commands"]["duplicated"] == 0
    assert one["storm"]["fresh_snapshots"] == 3
    assert result["machine"]["nproc"] >= 1
