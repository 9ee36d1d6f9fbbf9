"""A client that never reads its socket: the server drops it and its memory stays bounded.

A real daphne process (the embedded configuration, engine in-process, a tick a second) and a raw
TCP client that completes the WebSocket handshake and then never reads a byte:

- a *silent* one: daphne's keepalive pings go unanswered (answering needs reading them), so the
  socket is closed after `--ping-interval` + `--ping-timeout`;
- one that keeps *sending* (snapshot requests, within the rate limit; a snapshot is the largest
  reply). daphne resets its ping clock on every inbound message, so on its own it would never
  ping this client while its replies pile up in the server's send buffer. game/live/transport.py
  stops reading a client whose send buffer is full (so its messages stop resetting the clock and
  the keepalive drops it) and aborts it once more than WS_SEND_BUFFER_MAX_BYTES are queued.

The server's RSS is sampled meanwhile. A client that reads normally, with the same message
pattern, is not dropped. The unit tests at the end drive the protocol over a fake transport that
keeps Twisted's real write buffer (pause past 64 KiB, resume once drained).
"""
from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import queue
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from daphne import ws_protocol
from serverkit import write_preset
from twisted.internet.abstract import FileDescriptor
from twisted.internet.address import IPv4Address

from bench.stack import free_port, stop_process
from game.live import transport as backpressure

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable

# Filler seats make every snapshot about 20 kB (the lobby lists every seat), so a client asking
# for 8 a second fills the kernel's socket buffers (a few MB on loopback) within seconds.
FILLER_SEATS = 300
SEND_EVERY = 0.125  # 8 messages a second: under WS_RATE_PER_SECOND (10), never rate limited
SEND_CAP = 1024 * 1024  # WS_SEND_BUFFER_MAX_BYTES for the daphne under test (the default)

SETUP = """
from django.contrib.auth.models import User
from game.actions.lobby import join_game
from game.actions.setup import Overrides, create_game
from game.actions.start import start_game
owner = User.objects.create_user("teacher", password="a-long-test-password")
game = create_game(owner, "test_market", Overrides(epochs=1000, tick_seconds=1,
                                                                   seed=3))
for i in range({fillers}):
    join_game(game.code, f"Filler {{i}}")
tokens = [join_game(game.code, nick)[1] for nick in ("Slow", "Reader")]
start_game(game.id)
print(game.code, *tokens)
"""


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


@dataclass
class Daphne:
    port: int
    pid: int
    code: str
    tokens: dict[str, str]  # nickname -> seat token
    db: Path
    stderr: Path

    def sockets(self, nickname: str) -> int:
        con = sqlite3.connect(self.db, timeout=30)
        try:
            return con.execute("SELECT sockets FROM game_seat WHERE nickname=?",
                               (nickname,)).fetchone()[0]
        finally:
            con.close()

    def ticks(self) -> int:
        con = sqlite3.connect(self.db, timeout=30)
        try:
            return con.execute("SELECT tick FROM game_game").fetchone()[0]
        finally:
            con.close()

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=5) as r:
                return r.status == 200
        except OSError:
            return False

    def rss_kb(self) -> int:
        return _rss_kb(self.pid)


@contextlib.contextmanager
def _daphne(tmp_path: Path, *, fillers: int = 0, ping: tuple[int, int] = (2, 3),
            send_cap: int = SEND_CAP) -> Iterator[Daphne]:
    """A game (seats Slow and Reader, plus `fillers` others) served by a daphne process."""
    write_preset(tmp_path / "scenarios")
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(DJANGO_SETTINGS_MODULE="game.settings", SQLITE_PATH=str(tmp_path / "db.sqlite3"),
               SCENARIOS_DIR=str(tmp_path / "scenarios"), VAR_DIR=str(tmp_path),
               PYTHONPATH=str(ROOT), ALLOWED_HOSTS="127.0.0.1",
               WS_SEND_BUFFER_MAX_BYTES=str(send_cap), LOG_LEVEL="WARNING")
    for args in (["migrate", "--noinput"], ["shell", "-c", SETUP.format(fillers=fillers)]):
        out = subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=180)
        assert out.returncode == 0, out.stderr[-2000:]
    code, slow_token, reader_token = out.stdout.strip().splitlines()[-1].split()
    port = free_port()
    stderr = tmp_path / "daphne.log"
    with open(stderr, "w") as log:
        server = subprocess.Popen(
            [PY, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "--ping-interval",
             str(ping[0]), "--ping-timeout", str(ping[1]), "game.asgi:application"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
    try:
        d = Daphne(port, server.pid, code, {"Slow": slow_token, "Reader": reader_token},
                   tmp_path / "db.sqlite3", stderr)
        _wait_for(d.healthy, "daphne to serve")
        yield d
    finally:
        stop_process(server, timeout=30)


def _raw_socket(d: Daphne, nickname: str) -> socket.socket:
    """A TCP connection that has sent the WebSocket handshake and will read nothing: a tiny
    receive buffer (set before connecting, so the advertised window stays tiny too)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", d.port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /ws/game/{d.code}/ HTTP/1.1\r\nHost: 127.0.0.1:{d.port}\r\n"
                  "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                  f"Cookie: seat_{d.code}={d.tokens[nickname]}\r\n\r\n").encode())
    return sock


def _client_frame(message: dict[str, Any]) -> bytes:
    """One masked text frame, as a client must send it (payloads under 126 bytes)."""
    payload = json.dumps(message).encode()
    assert len(payload) < 126
    mask = os.urandom(4)
    return bytes([0x81, 0x80 | len(payload)]) + mask + bytes(
        b ^ mask[i % 4] for i, b in enumerate(payload))


@pytest.mark.slow
def test_a_client_that_never_reads_is_dropped_and_memory_stays_bounded(tmp_path: Path) -> None:
    with _daphne(tmp_path) as d:
        baseline = d.rss_kb()
        slow = _raw_socket(d, "Slow")  # fills at once
        try:
            _wait_for(lambda: d.sockets("Slow") == 1, "the slow socket to be served")
            peak = [baseline]
            # From here the client never reads. Ticks keep coming (one a second) while it is open.
            _wait_for(lambda: d.sockets("Slow") == 0,
                      "the server to drop the client that never reads",
                      every=lambda: peak.append(d.rss_kb()))
            assert d.healthy(), "the server still serves everyone else"
            assert d.ticks() >= 2, "ticks were broadcast while the slow client was connected"
            growth_mb = (max(peak) - baseline) / 1024
            assert growth_mb < 64, f"server RSS grew by {growth_mb:.1f} MB"
        finally:
            slow.close()


DROP_WITHIN = 60.0  # seconds: filling the kernel buffers (~10 s) + ping interval + ping timeout


@pytest.mark.slow
@pytest.mark.parametrize("ping, send_cap", [
    pytest.param((2, 3), SEND_CAP, id="by the keepalive, once its messages are no longer read"),
    pytest.param((600, 600), 4096, id="by WS_SEND_BUFFER_MAX_BYTES, keepalive out of reach"),
])
def test_a_client_that_keeps_sending_but_never_reads_is_dropped_and_memory_stays_bounded(
        tmp_path: Path, ping: tuple[int, int], send_cap: int) -> None:
    with _daphne(tmp_path, fillers=FILLER_SEATS, ping=ping, send_cap=send_cap) as d:
        slow = _raw_socket(d, "Slow")
        try:
            _wait_for(lambda: d.sockets("Slow") == 1, "the slow socket to be served")
            baseline = d.rss_kb()
            peak = baseline
            slow.setblocking(False)
            unsent = b""
            sent = 0
            dropped_after = None
            started = last_check = time.monotonic()
            while time.monotonic() - started < DROP_WITHIN:
                if len(unsent) < 4096:  # our own send buffer fills once the server stops reading
                    unsent += _client_frame({"type": "snapshot", "id": f"s{sent}"})
                    sent += 1
                try:
                    unsent = unsent[slow.send(unsent):]
                except BlockingIOError:
                    pass
                except (ConnectionResetError, BrokenPipeError):
                    dropped_after = time.monotonic() - started
                    break
                peak = max(peak, d.rss_kb())
                if time.monotonic() - last_check > 1.0:
                    last_check = time.monotonic()
                    if d.sockets("Slow") == 0:
                        dropped_after = time.monotonic() - started
                        break
                time.sleep(SEND_EVERY)
            log = d.stderr.read_text()
            assert dropped_after is not None, (
                f"a client that sent {sent} snapshot requests in {DROP_WITHIN:.0f} s and read "
                f"nothing was never dropped; server RSS grew by {(peak - baseline) / 1024:.1f} MB")
            _wait_for(lambda: d.sockets("Slow") == 0, "the server to let go of the dropped socket")
            assert "Exception inside application" not in log, log[-3000:]
            if send_cap < SEND_CAP:
                assert log.count("dropping WebSocket") == 1, log[-3000:]
            assert d.healthy(), "the server still serves everyone else"
            growth_mb = (peak - baseline) / 1024
            # What it may keep for the client: 64 KiB + the cap in Twisted's buffer, plus the
            # kernel's socket buffers; the rest is the snapshots it built and allocator slack.
            assert growth_mb < 24 + send_cap / 2**20, f"server RSS grew by {growth_mb:.1f} MB"
        finally:
            slow.close()


@pytest.mark.slow
def test_a_client_that_reads_normally_with_the_same_messages_is_not_dropped(
        tmp_path: Path) -> None:
    from websockets.sync.client import connect

    with _daphne(tmp_path, fillers=FILLER_SEATS, ping=(2, 3)) as d:
        with connect(f"ws://127.0.0.1:{d.port}/ws/game/{d.code}/", max_size=None,
                     additional_headers={"Cookie": f"seat_{d.code}={d.tokens['Reader']}"},
                     open_timeout=30) as ws:
            assert json.loads(ws.recv(timeout=30))["type"] == "snapshot"
            answered = asked = 0  # snapshot replies carry no id: count them
            started = time.monotonic()
            while time.monotonic() - started < 12.0:  # ~100 snapshots of ~20 kB
                ws.send(json.dumps({"type": "snapshot"}))
                asked += 1
                deadline = time.monotonic() + SEND_EVERY
                with contextlib.suppress(TimeoutError):
                    while (left := deadline - time.monotonic()) > 0:
                        msg = json.loads(ws.recv(timeout=left))
                        assert msg["type"] != "error", msg
                        answered += msg["type"] == "snapshot"
            deadline = time.monotonic() + 30
            while answered < asked and time.monotonic() < deadline:
                msg = json.loads(ws.recv(timeout=30))
                assert msg["type"] != "error", msg
                answered += msg["type"] == "snapshot"
            assert answered == asked, f"{asked - answered} of {asked} requests unanswered"
            assert d.sockets("Reader") == 1, "the reading client is still connected"
        assert "dropping WebSocket" not in d.stderr.read_text()


# --- unit level: the protocol over a fake transport with Twisted's real write buffer ----------

class _Transport(FileDescriptor):
    """FileDescriptor's buffering and producer calls, over a peer that reads only when told."""

    def __init__(self) -> None:
        super().__init__(reactor=object())
        self.connected = 1
        self.reading = True
        self.aborted = False

    def startReading(self) -> None:
        self.reading = True

    def stopReading(self) -> None:
        self.reading = False

    def startWriting(self) -> None:
        pass

    def stopWriting(self) -> None:
        pass

    def writeSomeData(self, data: bytes) -> int:
        return 0  # the peer reads nothing ...

    def drain(self) -> None:
        """... until it catches up: everything buffered is written."""
        self.writeSomeData = lambda data: len(data)  # type: ignore[method-assign]
        while self.buffered():
            self.doWrite()
        del self.writeSomeData

    def buffered(self) -> int:
        return len(self.dataBuffer) - self.offset + self._tempDataLen

    def abortConnection(self) -> None:
        self.aborted = True

    def getPeer(self) -> IPv4Address:
        return IPv4Address("TCP", "127.0.0.1", 50000)

    def getHost(self) -> IPv4Address:
        return IPv4Address("TCP", "127.0.0.1", 8000)


class _Server:
    """What daphne's WebSocketProtocol asks of daphne's Server."""

    root_path = ""
    proxy_forwarded_address_header = None

    def __init__(self) -> None:
        self.queue: queue.SimpleQueue = queue.SimpleQueue()

    def protocol_connected(self, protocol: Any) -> None:
        pass

    def protocol_disconnected(self, protocol: Any) -> None:
        pass

    def create_application(self, protocol: Any, scope: dict) -> Any:
        return self.queue

    def log_action(self, *args: Any) -> None:
        pass


class _HandshakeChannel:
    """Stands for the HTTPChannel daphne leaves registered as the transport's producer."""

    def pauseProducing(self) -> None:
        raise AssertionError("the handshake's channel should no longer be the producer")

    resumeProducing = stopProducing = pauseProducing


def _open_socket() -> tuple[Any, _Transport]:
    """A protocol built by daphne's factory, through a real handshake, accepted by the app."""
    factory = ws_protocol.WebSocketFactory(_Server(), server="test")
    factory.setProtocolOptions(openHandshakeTimeout=0)
    protocol = factory.buildProtocol(("127.0.0.1", 50000))
    assert isinstance(protocol, backpressure.BackpressuredWebSocketProtocol)
    protocol._raw_query_string = b""
    transport = _Transport()
    transport.registerProducer(_HandshakeChannel(), True)
    protocol.makeConnection(transport)
    key = base64.b64encode(os.urandom(16)).decode()
    protocol.dataReceived((
        "GET /ws/game/ABCDEF/ HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    protocol.handle_reply({"type": "websocket.accept"})
    assert protocol.state == protocol.STATE_OPEN
    transport.drain()  # the 101 response
    return protocol, transport


def _send(protocol: Any, size: int, prepared: bool = False) -> None:
    """`prepared`: as a broadcast goes, its frame built once (game/live/transport.py)."""
    text = "x" * size
    message = {"type": "websocket.send", "text": text}
    if prepared:
        message[backpressure.PREPARED] = backpressure.Prepared(text)
    protocol.handle_reply(message)


SENDS = [pytest.param(False, id="a reply"), pytest.param(True, id="a broadcast, framed once")]


def test_asgi_installs_the_backpressured_protocol_for_daphne() -> None:
    import game.asgi  # noqa: F401

    assert ws_protocol.WebSocketFactory.protocol is backpressure.BackpressuredWebSocketProtocol
    backpressure.install()  # idempotent
    assert ws_protocol.WebSocketFactory.protocol is backpressure.BackpressuredWebSocketProtocol


@pytest.mark.parametrize("prepared", SENDS)
def test_a_full_send_buffer_stops_reading_until_it_drains(settings: Any, prepared: bool) -> None:
    settings.WS_SEND_BUFFER_MAX_BYTES = 1024 * 1024
    protocol, transport = _open_socket()
    assert isinstance(transport.producer, backpressure._SendBuffer)
    for _ in range(6):
        _send(protocol, 10_000, prepared)
    assert transport.reading, "under 64 KiB buffered: still reading the client"
    _send(protocol, 10_000, prepared)
    assert not transport.reading, "over 64 KiB buffered: the client is no longer read"
    for _ in range(50):  # 500 kB more while paused: under the cap, kept
        _send(protocol, 10_000, prepared)
    assert not transport.aborted and protocol.state == protocol.STATE_OPEN
    transport.drain()  # a slow phone that catches up
    assert transport.reading and protocol.sent_while_paused == 0
    for _ in range(150):  # the count started again: 1.5 MB over several drains, never dropped
        _send(protocol, 10_000, prepared)
        if transport.buffered() > 500_000:
            transport.drain()
    assert not transport.aborted and protocol.state == protocol.STATE_OPEN


@pytest.mark.parametrize("prepared", SENDS)
def test_a_client_is_aborted_once_the_cap_is_queued_while_it_does_not_read(
        settings: Any, caplog: Any, prepared: bool) -> None:
    settings.WS_SEND_BUFFER_MAX_BYTES = 100_000
    protocol, transport = _open_socket()
    caplog.set_level(logging.WARNING, logger="game.live.transport")
    for _ in range(7 + 10):  # past 64 KiB (7 messages: the client is no longer read), then the cap
        _send(protocol, 10_000, prepared)
    assert not transport.reading
    assert not transport.aborted
    buffered = transport.buffered()
    _send(protocol, 10_000, prepared)
    assert transport.aborted and protocol.state == protocol.STATE_CLOSED
    assert transport.buffered() == buffered, "the overflowing message was not queued"
    for _ in range(20):  # the application keeps sending until it hears of the disconnect
        _send(protocol, 10_000, prepared)
    assert transport.buffered() == buffered, "later sends are discarded"
    drops = [r for r in caplog.records if "dropping WebSocket" in r.getMessage()]
    assert len(drops) == 1, caplog.text
    assert "WS_SEND_BUFFER_MAX_BYTES=100000" in drops[0].getMessage()


def test_a_broadcast_framed_once_is_the_same_bytes_and_keeps_the_size_cap(settings: Any) -> None:
    """A broadcast's frame built once (transport.Prepared) writes exactly what autobahn writes
    for the same text, and a text over WS_MAX_SEND_BYTES is refused before anything is written."""
    text = '{"type":"tick","seq":7,"note":"caf\u00e9 \u2014 \u00fcber"}' + "y" * 70_000
    plain, plain_transport = _open_socket()
    plain.handle_reply({"type": "websocket.send", "text": text})
    framed, framed_transport = _open_socket()

    def framed_again(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a prepared message is not framed again for each socket")

    framed.sendFrame = framed_again  # type: ignore[method-assign]
    framed.handle_reply({"type": "websocket.send", "text": text,
                         backpressure.PREPARED: backpressure.Prepared(text)})

    def written(transport: _Transport) -> bytes:
        out: list[bytes] = []
        def write(data: bytes) -> int:
            out.append(bytes(data))
            return len(data)

        transport.writeSomeData = write  # type: ignore[method-assign]
        while transport.buffered():
            transport.doWrite()
        return b"".join(out)

    assert written(framed_transport) == written(plain_transport) != b""
    settings.WS_MAX_SEND_BYTES = 1024
    with pytest.raises(backpressure.SendTooLarge):
        framed.handle_reply({"type": "websocket.send", "text": text,
                             backpressure.PREPARED: backpressure.Prepared(text)})
    assert framed_transport.buffered() == 0 and framed.state == framed.STATE_OPEN


def test_an_open_socket_hands_its_bytes_to_the_socket_at_once() -> None:
    """Once open, a send goes to the socket when it is made (game/live/transport.py
    `_write_at_once`), not on the reactor's next turn; what the socket does not take waits in
    Twisted's buffer, and the next send queues behind it."""
    protocol, transport = _open_socket()
    taken: list[bytes] = []
    transport.writeSomeData = lambda data: taken.append(bytes(data)) or len(data)  # type: ignore
    _send(protocol, 100)
    assert transport.buffered() == 0 and len(taken) == 1 and taken[0].endswith(b"x" * 100)
    transport.writeSomeData = lambda data: 0  # type: ignore[method-assign]  # a full socket
    _send(protocol, 100)
    _send(protocol, 50)
    assert len(taken) == 1 and transport.buffered() > 150  # both wait, in order
