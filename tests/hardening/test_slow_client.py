"""A client that never reads its socket: the server drops it and its memory stays bounded.

A real daphne process (the embedded configuration, engine in-process, a tick a second) and a raw
TCP client that completes the WebSocket handshake and then never reads a byte. daphne's
keepalive pings go unanswered (answering needs reading them), so the socket is closed after
`--ping-interval` + `--ping-timeout`; the server's RSS is sampled meanwhile.
"""
from __future__ import annotations

import base64
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from serverkit import write_preset

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable

SETUP = """
from django.contrib.auth.models import User
from game import services
owner = User.objects.create_user("teacher", password="a-long-test-password")
game = services.create_game(owner, "test_market", services.Overrides(epochs=1000, tick_seconds=1))
seat, token = services.join_game(game.code, "Slow")
services.start_game(game.id)
print(game.code, token)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _wait_for(condition: Any, what: str, timeout: float = 90.0, every: Any = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if every is not None:
            every()
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.1)


def test_a_client_that_never_reads_is_dropped_and_memory_stays_bounded(tmp_path: Path) -> None:
    write_preset(tmp_path / "scenarios")
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(DJANGO_SETTINGS_MODULE="game.settings", SQLITE_PATH=str(tmp_path / "db.sqlite3"),
               SCENARIOS_DIR=str(tmp_path / "scenarios"), VAR_DIR=str(tmp_path),
               PYTHONPATH=str(ROOT), ALLOWED_HOSTS="127.0.0.1")
    for args in (["migrate", "--noinput"], ["shell", "-c", SETUP]):
        out = subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=120)
        assert out.returncode == 0, out.stderr[-2000:]
    code, token = out.stdout.strip().splitlines()[-1].split()
    port = _free_port()
    server = subprocess.Popen(
        [PY, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "--ping-interval", "2",
         "--ping-timeout", "3", "game.asgi:application"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = tmp_path / "db.sqlite3"

    def sockets() -> int:
        con = sqlite3.connect(db, timeout=30)
        try:
            return con.execute("SELECT sockets FROM game_seat WHERE nickname='Slow'").fetchone()[0]
        finally:
            con.close()

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                return r.status == 200
        except OSError:
            return False

    slow = None
    try:
        _wait_for(healthy, "daphne to serve")
        baseline = _rss_kb(server.pid)
        slow = socket.create_connection(("127.0.0.1", port))
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills at once
        key = base64.b64encode(os.urandom(16)).decode()
        slow.sendall((f"GET /ws/game/{code}/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                      "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                      f"Cookie: seat_{code}={token}\r\n\r\n").encode())
        _wait_for(lambda: sockets() == 1, "the slow socket to be served")
        peak = [baseline]
        # From here the client never reads. Ticks keep coming (one a second) while it is open.
        _wait_for(lambda: sockets() == 0, "the server to drop the client that never reads",
                  every=lambda: peak.append(_rss_kb(server.pid)))
        assert healthy(), "the server still serves everyone else"
        con = sqlite3.connect(db, timeout=30)
        ticks = con.execute("SELECT tick FROM game_game").fetchone()[0]
        con.close()
        assert ticks >= 2, "ticks were broadcast while the slow client was connected"
        growth_mb = (max(peak) - baseline) / 1024
        assert growth_mb < 64, f"server RSS grew by {growth_mb:.1f} MB"
    finally:
        if slow is not None:
            slow.close()
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
