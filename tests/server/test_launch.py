"""`make run` says when the game is really ready, and where to open it (issue #13, "the server
never says when it is ready"): game/launch.py prints once daphne listens."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bench.stack import free_port, stop_process
from game import launch
from game.web import reach

ROOT = Path(__file__).resolve().parents[2]


def test_it_prints_the_address_once_the_server_listens(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "VAR_DIR": str(tmp_path), "SQLITE_PATH": str(tmp_path / "db.sqlite3"),
           "DJANGO_SECRET_KEY": "launch-test-only-secret-key-0123456789abcdef",
           "PYTHONUNBUFFERED": "1"}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "game.launch", "--host", "127.0.0.1",
                             "--port", str(port)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline, seen = time.monotonic() + 60, []
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            seen.append(line.rstrip())
            if line.startswith("dTAO Classroom is ready"):
                break
        assert seen and seen[-1] == f"dTAO Classroom is ready at http://127.0.0.1:{port}/ " \
                                    "(log in at /login/)", seen
        # Said once it listens: the very next request is served.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as r:
            assert r.status == 200
        assert "phones on the network run HOST=0.0.0.0" in proc.stdout.readline()
    finally:
        stop_process(proc)


def test_on_all_interfaces_it_names_this_machines_addresses(monkeypatch) -> None:
    monkeypatch.setattr(reach, "lan_addresses", lambda: ["192.168.1.20"])
    assert launch.ready_lines("0.0.0.0", 8000) == [
        "dTAO Classroom is ready: students open http://192.168.1.20:8000/; "
        "you log in at http://192.168.1.20:8000/login/"]


@pytest.mark.parametrize("host", ["192.168.1.20", "class.example.org"])
def test_on_a_network_address_there_is_no_warning(host) -> None:
    assert launch.ready_lines(host, 8000) == [
        f"dTAO Classroom is ready at http://{host}:8000/ (log in at /login/)"]


def test_daphne_lets_a_queued_handshake_finish() -> None:
    """daphne's own default rejects a handshake the application has not accepted within 5 s:
    in a reconnect storm of 1,000 players the rejected sockets came back and the storm never
    healed (docs/performance.md). daphne's parser reads the deadline off the command line."""
    from daphne.cli import CommandLineInterface

    for argv in (launch.daphne_argv(host="127.0.0.1", port=8123),
                 launch.daphne_argv(fd=7, verbosity=1)):
        args = CommandLineInterface().parser.parse_args(argv[3:])
        assert args.websocket_connect_timeout == launch.WS_CONNECT_TIMEOUT_SECONDS == 30
        assert args.application == launch.APPLICATION
