"""A real server for end-to-end tests: daphne as a subprocess on a loopback port, with its own
database (a temp SQLite file, or a dedicated PostgreSQL database when DATABASE_URL is set),
plus HTTP and WebSocket clients that follow docs/protocol.md (seq gaps healed by snapshots)."""
from __future__ import annotations

import asyncio
import http.cookiejar
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import orjson
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from wsclient import ProtocolClient

from bench.stack import free_port, stop_process

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable


class LiveServer:
    """One daphne with its own database. `template` (see `Template`) is copied, not migrated,
    so each test pays for the migrations once per session."""

    def __init__(self, tmp: Path, scenarios: Path, template: "Template",
                 env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.tmp = tmp
        self.proc: subprocess.Popen | None = None
        self.engines: list[subprocess.Popen] = []
        self.env = {**template.env(tmp, scenarios), **(env or {})}
        self.drop = template.clone(self.env)

    def start_engine(self) -> None:
        """A separate `manage.py run_engine` process on the same database and channel layer."""
        log = open(self.tmp / f"engine-{len(self.engines)}.log", "w")
        self.engines.append(subprocess.Popen([PY, "manage.py", "run_engine"], cwd=ROOT,
                                             env=self.env, stdout=log, stderr=subprocess.STDOUT))

    def manage(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([PY, "manage.py", *args], cwd=ROOT, env={**self.env, **(env or {})},
                              capture_output=True, text=True, timeout=120)

    def start(self) -> None:
        log = open(self.tmp / f"daphne-{time.time_ns()}.log", "w")
        self.proc = subprocess.Popen(
            [PY, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "game.asgi:application"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.1)
            assert self.proc.poll() is None, "daphne exited during start-up"
        raise AssertionError("daphne did not come up")

    def kill9(self) -> None:
        assert self.proc is not None
        stop_process(self.proc, signal.SIGKILL, 10)

    def stop(self) -> None:
        for engine in self.engines:
            stop_process(engine, signal.SIGKILL)
        if self.proc is not None:
            # daphne waits for sockets to drain; a test need not: SIGKILL after 3 s
            stop_process(self.proc, timeout=3)
        self.drop()

    def query(self, code: str) -> dict[str, Any]:
        """The server's own record of a game, and verify_replay's verdict (one manage.py run)."""
        script = (
            "import io, json; from django.core.management import call_command\n"
            "from game.models import Game, Command\n"
            f"g = Game.objects.get(code={code!r})\n"
            "cmds = [dict(seat=c.seat.nickname if c.seat else None, id=c.client_id, "
            "status=c.status, actor=c.actor, tick=c.settled_tick, do=c.do) "
            "for c in Command.objects.filter(game=g).select_related('seat')]\n"
            "out = io.StringIO()\n"
            "try:\n"
            f"    call_command('verify_replay', {code!r}, stdout=out, stderr=out); ok = True\n"
            "except SystemExit:\n"
            "    ok = False\n"
            "print(json.dumps(dict(status=g.status, tick=g.tick, seq=g.seq, commands=cmds, "
            "replay_ok=ok, replay=out.getvalue())))")
        done = self.manage("shell", "-c", script)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])


class Template:
    """A migrated database with the instructor in it, made once per test session: a SQLite
    file to copy, or a PostgreSQL template database (when DATABASE_URL is set)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.pg_url = os.environ.get("DATABASE_URL")
        self.tag = secrets.token_hex(4)
        self.name = f"e2e_tpl_{self.tag}"
        base = self.env(tmp, tmp)
        if self.pg_url:
            with self._admin() as conn:
                conn.execute(f'CREATE DATABASE "{self.name}"')
            base["DATABASE_URL"] = self._url(self.name)
        else:
            base["SQLITE_PATH"] = str(tmp / "template.sqlite3")
        for args, extra in ((("migrate", "--noinput"), {}),
                            (("createinstructor", "teacher", "--password-from-env", "E2E_PW"),
                             {"E2E_PW": "e2e-long-password"})):
            done = subprocess.run([PY, "manage.py", *args], cwd=ROOT, env={**base, **extra},
                                  capture_output=True, text=True, timeout=180)
            assert done.returncode == 0, done.stderr

    def _admin(self) -> Any:
        import psycopg

        return psycopg.connect(self._url("postgres"), autocommit=True)

    def _url(self, name: str) -> str:
        return urllib.parse.urlsplit(self.pg_url)._replace(path=f"/{name}").geturl()

    def env(self, tmp: Path, scenarios: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
        env.update({
            "DJANGO_SETTINGS_MODULE": "game.settings", "DJANGO_SECRET_KEY": "e2e-" + "k" * 40,
            "VAR_DIR": str(tmp / "var"), "SQLITE_PATH": str(tmp / "db.sqlite3"),
            "SCENARIOS_DIR": str(scenarios), "ENGINE_POLL_SECONDS": "0.05",
            "ALLOWED_HOSTS": "127.0.0.1,localhost", "BOT_TAKEOVER_SECONDS": "3600",
            "WS_RATE_BURST": "100", "PYTHONUNBUFFERED": "1",
            "CHANNELS_PREFIX": f"e2e{secrets.token_hex(4)}",
        })
        return env

    def clone(self, env: dict[str, str]) -> Any:
        """Give this server's env its own copy of the template; returns how to drop it."""
        if not self.pg_url:
            shutil.copyfile(self.tmp / "template.sqlite3", env["SQLITE_PATH"])
            return lambda: None
        name = f"e2e_{secrets.token_hex(4)}"
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.name}"')
        env["DATABASE_URL"] = self._url(name)

        def drop() -> None:
            with self._admin() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        return drop

    def close(self) -> None:
        if self.pg_url:
            with self._admin() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class Browser:
    """Just enough of a browser: cookies, CSRF, no proxies, no automatic redirects."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPCookieProcessor(self.jar),
            self._NoRedirect)

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.jar if c.name == name), None)

    def get(self, path: str) -> tuple[int, str, dict[str, str]]:
        return self._open(urllib.request.Request(self.base + path))

    def post(self, path: str, fields: dict[str, Any]) -> tuple[int, str, dict[str, str]]:
        if self.cookie("csrftoken") is None:
            self.get(path)
        data = urllib.parse.urlencode({**fields, "csrfmiddlewaretoken": self.cookie("csrftoken")})
        return self._open(urllib.request.Request(self.base + path, data=data.encode(),
                                                 method="POST"))

    def _open(self, req: urllib.request.Request) -> tuple[int, str, dict[str, str]]:
        try:
            with self.opener.open(req, timeout=20) as r:
                return r.status, r.read().decode(), dict(r.headers)
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(), dict(e.headers)

    def ws_cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)


def login_and_create(server: LiveServer, **form: Any) -> tuple[Browser, str]:
    teacher = Browser(server.base)
    status, _body, headers = teacher.post("/login/", {"username": "teacher",
                                                      "password": "e2e-long-password"})
    assert status == 302, status
    status, body, headers = teacher.post("/console/", form)
    assert status == 302, body[:500]
    code = re.fullmatch(r"/console/([A-Z0-9]+)/", headers["Location"]).group(1)
    return teacher, code


def join(server: LiveServer, code: str, nickname: str) -> Browser:
    student = Browser(server.base)
    status, body, headers = student.post(f"/join/{code}", {"code": code, "nickname": nickname})
    assert status == 302 and headers["Location"] == f"/play/{code}/", body[:300]
    return student


class Client(ProtocolClient):
    """A protocol client (tests/wsclient.py) of one seat or the console over a real socket:
    keeps the game's status and players, the ticks it applied, every fill and error, and fails
    when a repeated command gets a different answer."""

    def __init__(self, server: LiveServer, code: str, browser: Browser, name: str,
                 query: str = "") -> None:
        super().__init__(name)
        self.server, self.code, self.browser = server, code, browser
        self.query = query  # the socket URL's query string ("?projector=…"), if any
        self.snapshots = 0
        self.applied: list[int] = []
        self.ticks_seen: set[int] = set()
        self.status = "lobby"
        self.players = 0
        self.fills: dict[str, list[dict[str, Any]]] = {}
        self.errors: list[dict[str, Any]] = []
        self.closed_codes: list[int] = []
        self.changed = asyncio.Event()

    async def connect(self) -> None:
        url = f"ws://127.0.0.1:{self.server.port}/ws/game/{self.code}/{self.query}"
        self.ws = await connect(url, origin=f"http://127.0.0.1:{self.server.port}",
                                additional_headers={"Cookie": self.browser.ws_cookie_header()},
                                proxy=None, open_timeout=20, ping_interval=None)
        self.awaiting_snapshot = True  # the server sends one unasked
        self.reader = asyncio.create_task(self._read(self.ws))

    async def connect_retrying(self, deadline: float) -> None:
        while True:
            try:
                await self.connect()
                return
            except (OSError, ConnectionClosed, asyncio.TimeoutError, Exception):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)

    async def _read(self, ws: Any) -> None:
        try:
            async for text in ws:
                self.handle(orjson.loads(text))
                self.changed.set()
        except ConnectionClosed as exc:
            if exc.rcvd is not None:
                self.closed_codes.append(exc.rcvd.code)
        finally:
            self.changed.set()

    def on_snapshot(self, msg: dict[str, Any], size: int) -> None:
        self.snapshots += 1
        self.status = msg["game"]["status"]
        self.players = msg["game"]["players"]
        for c in msg["commands"]:  # answers lost in a crash are recovered from here
            if c["id"] and c["status"] != "queued":
                self.fills.setdefault(c["id"], [])

    def on_reply(self, msg: dict[str, Any]) -> None:
        kind = msg["type"]
        if kind in ("accepted", "rejected"):
            self.answers.setdefault(msg["id"], msg)
            if msg["id"] in self.answers and self.answers[msg["id"]].get("command") != msg.get(
                    "command"):
                raise AssertionError(f"{self.name}: a repeat got a different answer: {msg}")
        elif kind == "private":
            for f in msg["fills"]:
                if f["id"]:
                    self.fills.setdefault(f["id"], []).append(f)
        elif kind == "error":
            self.errors.append(msg)

    def on_public(self, msg: dict[str, Any]) -> None:
        kind = msg["type"]
        self.applied.append(msg["seq"])
        if kind == "lobby":
            self.players = msg["players"]
        if kind in ("status", "tick"):
            self.status = msg["game"]["status"]
        if kind == "tick":
            self.ticks_seen.add(msg["tick"])

    async def wait_for(self, predicate: Any, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{self.name}: timed out (status {self.status}, "
                                     f"seq {self.last_seq}, ticks {sorted(self.ticks_seen)})")
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), remaining)
            except asyncio.TimeoutError:
                pass

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            await asyncio.gather(self.reader, return_exceptions=True)
