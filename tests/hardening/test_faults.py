"""Fault drills: the engine killed mid-tick, the database busy during a tick, Redis gone for a
while, a client that never reads. Single configuration (they start their own processes or
hold SQLite locks); each waits for conditions with a bound, never for a fixed time."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from serverkit import write_preset

from game import engine
from game.actions.lobby import join_game
from game.actions.orders import submit_command
from game.actions.start import start_game
from game.models import Command, Game, TickRow

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable


def _wait_for(condition: Any, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "DATABASE_URL", "DTAO_TEST_PAUSE_FILE")}
    env.update(DJANGO_SETTINGS_MODULE="game.settings", SQLITE_PATH=str(tmp / "db.sqlite3"),
               SCENARIOS_DIR=str(tmp / "scenarios"), ENGINE_POLL_SECONDS="0.05",
               PYTHONPATH=str(ROOT), **extra)
    return env


def _manage(tmp: Path, *args: str, **extra: str) -> str:
    out = subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=_env(tmp, **extra),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


SETUP = """
from django.contrib.auth.models import User
from django.utils import timezone
from game.actions.lobby import join_game
from game.actions.orders import submit_command
from game.actions.setup import Overrides, create_game
from game.actions.start import start_game
from game.models import Game
owner = User.objects.create_user("teacher", password="a-long-test-password")
# An hour's tick: the tick after the killed one is never due within the drill, however long
# its manage.py processes take to start on a busy machine.
game = create_game(owner, "test_market", Overrides(seed=3, tick_seconds=3600))
seat, _token = join_game(game.code, "Ann")
start_game(game.id)
submit_command(seat.id, "c-1", {"do": "stake", "subnet": 1, "tao": 10.0})
Game.objects.filter(pk=game.id).update(next_tick_at=timezone.now())
print(game.id)
"""


def _rows(db: Path, sql: str, *args: Any) -> list[tuple]:
    con = sqlite3.connect(db, timeout=30)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


@pytest.mark.slow
def test_an_engine_killed_in_the_middle_of_a_tick_settles_it_exactly_once_after_restart(
        tmp_path: Path) -> None:
    write_preset(tmp_path / "scenarios")
    _manage(tmp_path, "migrate", "--noinput")
    game_id = int(_manage(tmp_path, "shell", "-c", SETUP).strip().splitlines()[-1])
    db = tmp_path / "db.sqlite3"
    pause = tmp_path / "paused"
    engine_proc = subprocess.Popen([PY, "manage.py", "run_engine"], cwd=ROOT,
                                   env=_env(tmp_path, DTAO_TEST_PAUSE_FILE=str(pause)),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(pause.exists, "the engine to reach the point between sim.step and commit")
        os.kill(engine_proc.pid, signal.SIGKILL)
        engine_proc.wait(timeout=30)
    finally:
        if engine_proc.poll() is None:
            engine_proc.kill()
            engine_proc.wait()
    # Nothing of the killed tick is left: no row, tick not advanced, the order still queued.
    assert _rows(db, "SELECT tick FROM game_game WHERE id=?", game_id) == [(0,)]
    assert _rows(db, "SELECT COUNT(*) FROM game_tickrow WHERE game_id=?", game_id) == [(0,)]
    assert _rows(db, "SELECT status FROM game_command WHERE client_id='c-1'") == [("queued",)]
    # A restarted engine settles it; a second pass finds nothing more to do (next tick not due).
    _manage(tmp_path, "run_engine", "--once")
    _manage(tmp_path, "run_engine", "--once")
    assert _rows(db, "SELECT tick FROM game_tickrow WHERE game_id=?", game_id) == [(0,)]
    assert _rows(db, "SELECT tick FROM game_game WHERE id=?", game_id) == [(1,)]
    assert _rows(db, "SELECT status, settled_tick FROM game_command WHERE client_id='c-1'") == [
        ("filled", 0)]


@pytest.mark.django_db(transaction=True)
def test_a_tick_that_meets_a_locked_database_is_retried_not_lost(game: Any) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("an SQLite lock drill")
    seat, _token = join_game(game.code, "Ann")
    start_game(game.id)
    submit_command(seat.id, "c-1", {"do": "stake", "subnet": 1, "tao": 10.0})
    Game.objects.filter(pk=game.id).update(next_tick_at=timezone.now())
    with connection.cursor() as cur:
        cur.execute("PRAGMA busy_timeout=300")  # give up quickly while the lock is held
    holder = sqlite3.connect(connection.settings_dict["NAME"], timeout=1,
                             check_same_thread=False, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        assert engine.settle_due() == 0  # the tick failed on the lock and rolled back
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    g = Game.objects.get(pk=game.id)
    assert g.tick == 0 and g.status == "running" and g.next_tick_at is not None
    assert not TickRow.objects.filter(game=g).exists()
    assert Command.objects.get(client_id="c-1").status == "queued"
    # The engine postponed the game; when its time comes again the tick settles, once.
    Game.objects.filter(pk=game.id).update(next_tick_at=timezone.now())
    assert engine.settle_due() == 1
    assert list(TickRow.objects.filter(game=g).values_list("tick", flat=True)) == [0]
    cmd = Command.objects.get(client_id="c-1")
    assert (cmd.status, cmd.settled_tick) == ("filled", 0)
    with connection.cursor() as cur:
        cur.execute("PRAGMA busy_timeout=20000")


@pytest.mark.django_db(transaction=True)
def test_a_tick_waits_for_a_briefly_busy_database(game: Any) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("an SQLite lock drill")
    start_game(game.id)
    Game.objects.filter(pk=game.id).update(next_tick_at=timezone.now())
    holder = sqlite3.connect(connection.settings_dict["NAME"], timeout=1,
                             check_same_thread=False, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    released = threading.Event()

    def release_soon() -> None:
        released.wait(0.5)
        holder.execute("ROLLBACK")
        holder.close()

    t = threading.Thread(target=release_soon)
    t.start()
    try:
        assert engine.settle_due() == 1  # queued on the busy timeout, then settled
    finally:
        released.set()
        t.join()
    assert list(TickRow.objects.filter(game_id=game.id).values_list("tick", flat=True)) == [0]
