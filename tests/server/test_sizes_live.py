"""Message sizes against daphne started exactly as `make run` starts it (game/launch.py): the
inbound limit stays small, what the server may send is a separate, larger bound, and a message
that cannot be sent is logged on one line and closes the socket with 4013 (docs/protocol.md
"Sizes")."""
from __future__ import annotations

import asyncio
import json
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from livekit import ROOT, LiveServer, Template, join, login_and_create
from serverkit import write_preset
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from game import errors, launch

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


def _start_as_make_run(server: LiveServer) -> Path:
    """daphne with the command line of `make run` (scripts/run → python -m game.launch)."""
    log_path = server.tmp / "daphne.log"
    log = open(log_path, "w")
    server.proc = subprocess.Popen(launch.daphne_argv(host="127.0.0.1", port=server.port),
                                   cwd=ROOT, env=server.env, stdout=log,
                                   stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(server.base + "/healthz", timeout=1) as r:
                if r.status == 200:
                    return log_path
        except (urllib.error.URLError, ConnectionError, OSError):
            assert server.proc.poll() is None, "daphne exited during start-up"
            assert time.monotonic() < deadline, "daphne did not come up"
            time.sleep(0.1)


@pytest.fixture
def make_server(tmp_path: Path, template: Template):
    started: list[LiveServer] = []

    def make(**env: str) -> tuple[LiveServer, Path]:
        scenarios = tmp_path / "scenarios"
        write_preset(scenarios)
        live = LiveServer(tmp_path, scenarios, template, env=env)
        started.append(live)
        return live, _start_as_make_run(live)

    yield make
    for live in started:
        live.stop()


def _ws(server: LiveServer, code: str, cookie: str):
    return connect(f"ws://127.0.0.1:{server.port}/ws/game/{code}/",
                   origin=server.base, additional_headers={"Cookie": cookie}, proxy=None,
                   open_timeout=20, ping_interval=None, max_size=None)


async def _close_code(ws) -> int:
    """The server's close code, or 1006 (as a browser reports it) if it dropped the connection
    without a close frame."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), 20)
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd is not None else 1006


async def test_the_server_sends_more_than_it_reads(make_server):
    server, log_path = make_server()
    teacher, code = login_and_create(server, preset="test_market", bots="on")
    # A lobby of 700: the console's roster alone is over the 64 kB inbound limit.
    # (Seats written directly: 700 joins one by one take longer than the rest of the test.)
    made = server.manage("shell", "-c", "from game.models import Game, Seat\n"
                         f"g = Game.objects.get(code={code!r})\n"
                         "Seat.objects.bulk_create([Seat(game=g, nickname=f'Student {i:03d}', "
                         "player=f'p{i + 1}') for i in range(700)])")
    assert made.returncode == 0, made.stderr
    async with _ws(server, code, teacher.ws_cookie_header()) as ws:
        text = await asyncio.wait_for(ws.recv(), 20)
        first = json.loads(text)
        print(f"\nthe console's snapshot of a 700-seat lobby: {len(text.encode())} bytes")
        assert first["type"] == "snapshot" and len(first["roster"]) == 700
        assert len(text.encode()) > launch.WS_INBOUND_MAX_BYTES
        # Inbound stays small: over WS_MAX_MESSAGE_BYTES the app answers too_large (4009) ...
        await ws.send(json.dumps({"type": "ping", "id": "x" * 5000}))
        answer = json.loads(await asyncio.wait_for(ws.recv(), 20))
        assert answer["type"] == "error" and answer["code"] == "too_large"
        assert await _close_code(ws) == errors.CLOSE_TOO_LARGE
    async with _ws(server, code, teacher.ws_cookie_header()) as ws:
        await asyncio.wait_for(ws.recv(), 20)
        # ... and over 64 kB daphne (autobahn) drops the connection before reading it all: no
        # close frame, a browser sees 1006.
        await ws.send("x" * (launch.WS_INBOUND_MAX_BYTES + 1))
        assert await _close_code(ws) == 1006
    assert "Traceback" not in log_path.read_text()


async def test_a_message_that_cannot_be_sent_is_logged_and_closes_with_4013(make_server):
    server, log_path = make_server(WS_MAX_SEND_BYTES="1024")
    _teacher, code = login_and_create(server, preset="test_market", bots="on")
    students = [join(server, code, f"Student {i:02d}") for i in range(12)]
    async with _ws(server, code, students[0].ws_cookie_header()) as ws:
        # The opening snapshot (a lobby of 12) is over the 1024 bytes this server may send.
        assert await _close_code(ws) == errors.CLOSE_SEND_FAILED
    deadline = time.monotonic() + 10
    while "could not send" not in log_path.read_text() and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    log = log_path.read_text()
    lines = [line for line in log.splitlines() if "could not send" in line]
    print("\n" + "\n".join(lines))
    assert len(lines) == 1, log
    assert "could not send a snapshot message" in lines[0]
    assert "WS_MAX_SEND_BYTES=1024" in lines[0] and "closing with 4013" in lines[0]
    assert "Traceback" not in log and "PayloadExceededError" not in log.replace(
        "SendTooLarge", "")
