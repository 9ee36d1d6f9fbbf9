"""The benchmark's CPU accounting for a window (bench/run.py `Sampler.cpu_between`): where the
machine's CPU went during a reconnect storm (docs/performance.md, round 6). No service needed."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import psutil
import pytest

from bench import run
from bench.run import Sampler


def test_a_window_share_is_interpolated_between_the_samples_either_side():
    s = Sampler()
    s.cpu_seconds = {"daphne-1": [(10.0, 0.0), (11.0, 0.5), (12.0, 1.5)],
                     "late": [(11.2, 0.0), (12.0, 0.4)]}
    # 0.25 s of CPU at 10.5, 1.0 at 11.5: 0.75 s in 1 s of wall time.
    assert s.cpu_between(10.5, 11.5) == {"daphne-1": 75.0}  # "late" not sampled at 10.5
    assert s.cpu_between(11.0, 12.0) == {"daphne-1": 100.0}
    assert s.cpu_between(12.5, 13.0) == {}  # after the last sample: nothing is guessed


class _Proc:
    def __init__(self, pid: int, name: str, seconds: float) -> None:
        self.pid, self.info, self.seconds = pid, {"name": name}, seconds

    def cpu_times(self) -> Any:
        return SimpleNamespace(user=self.seconds * 0.75, system=self.seconds * 0.25)


def test_a_group_counts_each_process_from_its_first_sample_and_keeps_what_exited(monkeypatch):
    rounds = iter([
        [_Proc(1, "postgres", 2.0), _Proc(2, "postgres", 1.0), _Proc(9, "python", 50.0)],
        [_Proc(1, "postgres", 3.0), _Proc(3, "postgres", 5.0)],  # 2 exited, 3 started
        [_Proc(1, "postgres", 3.5), _Proc(3, "postgres", 5.5), _Proc(9, "python", 60.0)],
    ])
    monkeypatch.setattr(psutil, "process_iter", lambda attrs=None: next(rounds))
    clock = iter([100.0, 101.0, 102.0])
    monkeypatch.setattr(run.time, "time", lambda: next(clock))
    s = Sampler()
    s.watch_group("postgres", run._is_postgres)
    for _ in range(3):
        s.sample()
    assert s.cpu_seconds["postgres"] == [(100.0, 0.0), (101.0, 1.0), (102.0, 2.0)]
    assert s.cpu_between(100.0, 102.0) == {"postgres": 100.0}  # 2 s of CPU in 2 s


@pytest.mark.parametrize("name, counted", [("postgres", True), ("python", False)])
def test_only_postgres_processes_are_the_database(name, counted):
    assert run._is_postgres(_Proc(1, name, 0.0)) is counted  # type: ignore[arg-type]
