"""Transport hardening against a real daphne, started the way `make run` starts it: a deadline
for request headers (slowloris), no `Server` banner, no projector token in the access log, and
the files under VAR_DIR readable by their owner only."""
from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

from bench.stack import free_port, stop_process, wait_for_port
from game.live import httpguard

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
HEADER_TIMEOUT = 2  # seconds, for the daphne under test
GIVE_UP = 40  # far beyond HEADER_TIMEOUT + daphne's 2 s checks; Twisted's idle timeout is 60 s


class Server:
    def __init__(self, port: int, var: Path, access_log: Path) -> None:
        self.port, self.var, self.access_log = port, var, access_log


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("transport")
    var = tmp / "var"
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL",
                                                            "DJANGO_SECRET_KEY", "SQLITE_PATH")}
    env.update(DJANGO_SETTINGS_MODULE="game.settings", VAR_DIR=str(var), PYTHONPATH=str(ROOT),
               HTTP_HEADER_TIMEOUT_SECONDS=str(HEADER_TIMEOUT), LOG_LEVEL="WARNING")
    out = subprocess.run([PY, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    port = free_port()
    access_log = tmp / "access.log"
    with open(tmp / "daphne.log", "w") as log:
        proc = subprocess.Popen(
            [PY, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "--access-log",
             str(access_log), "game.asgi:application"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
    try:
        wait_for_port(port, proc, what="daphne")
        yield Server(port, var, access_log)
    finally:
        stop_process(proc, timeout=15)


def _closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(1024) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except (BlockingIOError, socket.timeout):
        return False


def test_connections_that_never_finish_their_headers_are_closed(server: Server) -> None:
    socks = []
    for _ in range(20):
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        sock.settimeout(0.05)
        socks.append(sock)
    open_ones = list(socks)
    deadline = time.monotonic() + GIVE_UP
    # Keep dribbling a header byte (each one resets Twisted's idle timeout): only a deadline on
    # the whole header block closes these.
    while open_ones and time.monotonic() < deadline:
        for sock in list(open_ones):
            try:
                sock.sendall(b"X")
            except OSError:
                open_ones.remove(sock)
                continue
            if _closed_by_server(sock):
                open_ones.remove(sock)
        time.sleep(0.25)
    for sock in socks:
        sock.close()
    assert open_ones == [], f"{len(open_ones)} of 20 still open after {GIVE_UP} s"
    # A normal request is served meanwhile and afterwards.
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/healthz", timeout=10) as r:
        assert r.status == 200


def test_no_server_banner_on_pages_or_websocket_handshakes(server: Server) -> None:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/healthz", timeout=10) as r:
        assert r.headers.get("Server") is None
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(f"GET /ws/game/ZZZZZZ/ HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                     "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            assert chunk, "closed before the handshake's answer"
            head += chunk
    assert head.startswith(b"HTTP/1.1 101")
    assert b"\r\nserver:" not in head.lower()


def test_the_projector_token_stays_out_of_the_access_log(server: Server) -> None:
    secret = "PrOjEcToRsEcReT12345"
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(
            f"http://127.0.0.1:{server.port}/projector/ABCDEF/{secret}/", timeout=10)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(f"GET /ws/game/ABCDEF/?projector={secret} HTTP/1.1\r\n"
                     f"Host: 127.0.0.1:{server.port}\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n".encode())
        sock.recv(4096)
    deadline = time.monotonic() + GIVE_UP
    while time.monotonic() < deadline:  # daphne writes the entry when the request completes
        text = server.access_log.read_text() if server.access_log.exists() else ""
        if "/projector/ABCDEF/[token]/" in text and "WSDISCONNECT /ws/game/ABCDEF/" in text:
            break
        time.sleep(0.1)
    assert '"GET /projector/ABCDEF/[token]/" 404' in text, text
    assert secret not in text


def test_redact() -> None:
    assert httpguard.redact("GET /projector/ABC/t0k3n/") == "GET /projector/ABC/[token]/"
    assert httpguard.redact("WSCONNECT /ws/game/ABC/?projector=t0k&x=1") == \
        "WSCONNECT /ws/game/ABC/?projector=[token]&x=1"
    assert httpguard.redact("GET /join/ABC?seat=s3cr3t") == "GET /join/ABC?seat=[token]"
    assert httpguard.redact("GET /console/ABC/") == "GET /console/ABC/"


def test_files_under_var_are_readable_by_their_owner_only(server: Server) -> None:
    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    assert mode(server.var) == 0o700
    assert {p.name: mode(p) for p in server.var.iterdir() if p.is_file()} == {
        name: 0o600 for name in ("db.sqlite3", "db.sqlite3-shm", "db.sqlite3-wal", "secret_key")
        if (server.var / name).exists()}
    assert (server.var / "db.sqlite3").exists() and (server.var / "secret_key").exists()


def test_cache_files_are_written_for_their_owner_only(tmp_path: Path) -> None:
    from game.debrief import bands

    target = tmp_path / "g1-ABC-t3-v2.json"
    bands.write_atomic(target, "{}")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
