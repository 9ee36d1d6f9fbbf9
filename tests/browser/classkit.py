"""Kit for the class-period rehearsal (test_class_period.py): the server started as `make run`
starts it, the instructor's HTTP steps, and protocol clients that record what every connect
brought (kind, size, seq, tick) so a test can say which identity did not come back, and why.

Every wait here is bounded and waits on a condition (a seq, a tick, a reply), never on a sleep.
"""
from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlencode

import orjson
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from wsclient import ProtocolClient

from bench import http

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
FIRST_MESSAGE_TIMEOUT = 30.0  # s: a fresh snapshot on a loaded 2-core machine; never asserted


class Failure(AssertionError):
    """An identity that did not come back (or came back wrong): the rehearsal stops there."""


# --- the server, as `make run` starts it ------------------------------------------------------

def run_script() -> str:
    """scripts/run without its first step (`scripts/setup --runtime`, which installs packages
    into the shared virtualenv): migrate, collectstatic, check_instructors, then daphne with
    the same flags, whatever they are and wherever scripts/run takes them from."""
    lines = (ROOT / "scripts" / "run").read_text().splitlines()
    kept = [ln for ln in lines if not ln.strip().startswith("scripts/setup")]
    assert len(kept) == len(lines) - 1, "scripts/run no longer calls scripts/setup once"
    assert any(ln.startswith("exec ") for ln in kept), "scripts/run no longer ends in exec"
    return "\n".join(kept) + "\n"


def start_like_make_run(env: dict[str, str], out: Path, err: Path) -> subprocess.Popen:
    """`make run` (scripts/run) with HOST/PORT from `env`; its stdout and stderr to files. The
    script ends in `exec daphne`, so the process's pid is daphne's once it serves."""
    with open(out, "wb") as fo, open(err, "wb") as fe:
        return subprocess.Popen(["bash", "-c", run_script(), str(ROOT / "scripts" / "run")],
                                cwd=ROOT, env=env, stdout=fo, stderr=fe)


def wait_healthy(port: int, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"scripts/run exited with {proc.returncode} during start-up")
        try:
            with opener.open(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"the server did not answer /healthz within {timeout:.0f} s")
        time.sleep(0.2)


def manage(env: dict[str, str], *args: str, timeout: float = 120,
           stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, input=stdin,
                          capture_output=True, text=True, timeout=timeout)


# What the database says at the end: every command with its client id, seat and outcome; the
# research export (`export_game`, with nicknames) written to OUT; and `verify_replay`'s verdict
# (its exit status, as `manage.py verify_replay CODE` would exit). One process: Django starts once.
COMMAND_LOG = """
import io, json
from django.core.management import call_command
from game.models import Command, Game, Seat
g = Game.objects.get(code=CODE)
call_command("export_game", CODE, out=OUT, nicknames=True)
replay = io.StringIO()
try:
    call_command("verify_replay", CODE, stdout=replay, stderr=replay)
    replay_exit = 0
except SystemExit as exc:
    replay_exit = exc.code
cmds = [dict(seat=c.seat_id, id=c.client_id, command=c.id, status=c.status, actor=c.actor,
             due=c.due_tick, tick=c.settled_tick, reason=c.reason, do=c.do)
        for c in Command.objects.filter(game=g).order_by("id")]
seats = [dict(id=s.id, nickname=s.nickname, kind=s.kind, player=s.player)
         for s in Seat.objects.filter(game=g)]
print(json.dumps(dict(status=g.status, tick=g.tick, total=g.total_ticks, seq=g.seq,
                      commands=cmds, seats=seats, replay_exit=replay_exit,
                      replay=replay.getvalue())))
"""


def command_log(env: dict[str, str], code: str, export: Path) -> dict[str, Any]:
    """The game's command log and seats, `verify_replay`'s exit status and output; its export
    written to `export` (one manage.py process)."""
    script = COMMAND_LOG.replace("CODE", repr(code)).replace("OUT", repr(str(export)))
    done = manage(env, "shell", "-c", script)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the instructor's HTTP steps --------------------------------------------------------------

class Web:
    """Cookies and CSRF over bench.http (one loopback address, as a school NAT looks)."""

    def __init__(self, port: int) -> None:
        self.host, self.port = "127.0.0.1", port
        self.jar: dict[str, str] = {}

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.jar.items())

    async def get(self, path: str) -> tuple[int, dict[str, str], str]:
        status, headers, body = await http.request(self.host, self.port, "GET", path,
                                                   headers={"Cookie": self.cookie_header()})
        self.jar.update(http.cookies(headers))
        return status, {k.lower(): v for k, v in headers}, body.decode(errors="replace")

    async def post(self, path: str, fields: dict[str, str]) -> tuple[int, dict[str, str], str]:
        if "csrftoken" not in self.jar:
            await self.get(path)
        body = urlencode({**fields, "csrfmiddlewaretoken": self.jar["csrftoken"]}).encode()
        status, headers, content = await http.request(
            self.host, self.port, "POST", path, body=body, headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": self.cookie_header(), "Origin": self.origin,
                "Referer": self.origin + path})
        self.jar.update(http.cookies(headers))
        return status, {k.lower(): v for k, v in headers}, content.decode(errors="replace")


async def instructor_creates(port: int, user: str, password: str, preset: str
                             ) -> tuple[Web, str, str]:
    """Log in, create a game from `preset` through the console's form (bots on, everything
    else as the preset says); (the instructor's web session, the game code, projector path)."""
    web = Web(port)
    await web.get("/login/")
    status, headers, body = await web.post("/login/", {"username": user, "password": password})
    assert status == 302 and "sessionid" in web.jar, f"login: {status} {body[:300]}"
    status, headers, body = await web.post("/console/", {"preset": preset, "bots": "on"})
    assert status == 302, f"create game: {status} {body[:500]}"
    code = re.fullmatch(r"/console/([A-Z0-9]+)/", headers["location"]).group(1)
    status, _, page = await web.get(f"/console/{code}/")
    assert status == 200, status
    projector = re.search(r'href="(/projector/[A-Z0-9]+/[^"/]+/)"', page).group(1)
    return web, code, projector


# --- protocol clients -------------------------------------------------------------------------

@dataclass
class Connect:
    """One (re)connect of one identity, as the client saw it."""

    who: str
    kind: str            # student | instructor | projector
    when: str            # what the rehearsal was doing ("tick 61", "last tick", "after end")
    first_type: str | None = None
    size: int | None = None   # bytes of the first message (UTF-8 text)
    seq: int | None = None
    tick: int | None = None
    status: str | None = None
    closed: int | None = None  # close code, if the socket closed before a first message
    seconds: float | None = None


@dataclass
class Hub:
    """What all clients of the rehearsal share: the newest seq and tick anyone saw, the
    public market at each game tick (to check pages against), every connect and snapshot."""

    seq: int = 0
    tick: int = 0
    phase: str = "lobby"     # lobby | running | last | ended
    abort: bool = False
    failures: list[BaseException] = field(default_factory=list)
    markets: dict[int, dict[int, float]] = field(default_factory=dict)
    market_conflicts: list[str] = field(default_factory=list)
    connects: list[Connect] = field(default_factory=list)
    snapshots: list[tuple[str, int, int]] = field(default_factory=list)  # (kind, size, tick)
    event: asyncio.Event = field(default_factory=asyncio.Event)
    timeline: list[tuple[str, float]] = field(default_factory=list)

    def mark(self, what: str) -> None:
        self.timeline.append((what, time.monotonic()))

    def saw(self, msg: dict[str, Any]) -> None:
        self.seq = max(self.seq, msg.get("seq") or 0)
        game, market = msg.get("game"), msg.get("market")
        if game is not None:
            self.tick = max(self.tick, game.get("tick") or 0)
        if game is not None and market and msg["type"] in ("tick", "snapshot"):
            prices = {s["id"]: s["price"] for s in market["subnets"]}
            known = self.markets.setdefault(game["tick"], prices)
            if known != prices:
                self.market_conflicts.append(f"tick {game['tick']}: {known} vs {prices}")

    def notify(self) -> None:
        self.event.set()

    async def guard(self, coro: Any) -> None:
        """Run one actor; its first failure stops the whole rehearsal (every wait sees it)."""
        try:
            await coro
        except BaseException as exc:
            if not self.abort and not isinstance(exc, asyncio.CancelledError):
                self.failures.append(exc)
            self.abort = True
            self.notify()
            raise

    def first_failure(self, fallback: BaseException) -> BaseException:
        return self.failures[0] if self.failures else fallback

    async def wait(self, predicate: Callable[[], bool], timeout: float,
                   what: str | Callable[[], str]) -> None:
        """Until predicate() holds; re-checked on every message and at least twice a second.
        `what` names the wait in the failure (a callable: described when it fails)."""
        deadline = time.monotonic() + timeout
        name = (lambda: what) if isinstance(what, str) else what
        while not predicate():
            if self.abort:
                raise Failure(f"aborted while waiting for {name()}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure(f"timed out after {timeout:.0f} s waiting for {name()}")
            self.event.clear()
            try:
                await asyncio.wait_for(self.event.wait(), min(left, 0.5))
            except asyncio.TimeoutError:
                pass


class Identity(ProtocolClient):
    """One student, the console or the projector: a protocol client (tests/wsclient.py: seq
    rule, gap → snapshot, resend unanswered commands with the same id) that checks that every
    connect starts with a fresh snapshot."""

    def __init__(self, hub: Hub, who: str, kind: str, url: str, origin: str,
                 cookie: str | None = None) -> None:
        super().__init__(who)
        self.hub, self.kind, self.url, self.origin = hub, kind, url, origin
        self.cookie = cookie
        self.game: dict[str, Any] = {}
        self.market: dict[str, Any] | None = None
        self.snapshot: dict[str, Any] | None = None   # the last one received
        self.you: dict[str, Any] = {}
        self.settled: dict[str, set[int]] = {}          # client id -> ticks it settled at
        self.problems: list[str] = []                   # conflicting answers, odd messages
        self.replies: dict[str, dict[str, Any]] = {}    # control/ping ids -> reply
        self.players = 0
        self.closed: int | None = None       # the last socket's close code, once closed
        self.last_heard: tuple[float, str, int] | None = None  # (when, type, seq) of the last
        self.broken: BaseException | None = None  # a message this client could not handle

    # -- state --

    @property
    def who(self) -> str:
        return self.name

    @property
    def tick(self) -> int:
        return self.game.get("tick") or 0

    @property
    def status(self) -> str | None:
        return self.game.get("status")

    @property
    def live(self) -> bool:
        return self.ws is not None and self.reader is not None and not self.reader.done()

    def describe(self) -> str:
        heard = ("never" if self.last_heard is None else
                 f"{time.monotonic() - self.last_heard[0]:.1f} s ago ({self.last_heard[1]}, "
                 f"seq {self.last_heard[2]})")
        return (f"{self.who}: tick {self.tick}, seq {self.last_seq}, awaiting a snapshot "
                f"{self.awaiting_snapshot}, gaps {self.gaps}, socket live {self.live}, closed with "
                f"{self.closed}, client error {self.broken!r}, last message {heard}")

    async def probe(self, timeout: float = 10.0) -> str:
        """Does the server still answer this socket? (a ping, for a failure's message)"""
        self.counter += 1
        pid = f"p-{self.counter}"
        if not await self.send({"type": "ping", "id": pid}):
            return "ping not sent: socket closed"
        deadline = time.monotonic() + timeout
        while pid not in self.replies and time.monotonic() < deadline and self.live:
            await asyncio.sleep(0.1)
        reply = self.replies.get(pid)
        return f"ping answered: {reply}" if reply else f"no answer to a ping in {timeout:.0f} s"

    # -- the socket --

    async def connect(self, when: str) -> Connect:
        """Open a socket and wait (bounded) for its first message: a snapshot at least as new
        as everything anyone had seen when the connect began."""
        record = Connect(self.who, self.kind, when)
        self.hub.connects.append(record)
        seq_before, tick_before = self.hub.seq, self.hub.tick
        started = time.monotonic()
        headers = {"Cookie": self.cookie} if self.cookie else {}
        self.ws = None
        self.closed = None
        self.awaiting_snapshot = True
        first: asyncio.Future = asyncio.get_running_loop().create_future()
        try:
            ws = await connect(self.url, origin=self.origin, additional_headers=headers,
                               proxy=None, open_timeout=FIRST_MESSAGE_TIMEOUT,
                               ping_interval=None, close_timeout=2, max_size=1 << 24)
        except Exception as exc:  # noqa: BLE001 - reported with the identity
            raise Failure(f"{self.who} ({when}): the handshake failed: {exc!r}") from exc
        self.ws = ws
        self.reader = asyncio.create_task(self._read(ws, first))
        try:
            msg, size = await asyncio.wait_for(asyncio.shield(first), FIRST_MESSAGE_TIMEOUT)
        except asyncio.TimeoutError:
            raise Failure(f"{self.who} ({when}): no first message within "
                          f"{FIRST_MESSAGE_TIMEOUT:.0f} s (stuck on 'Syncing…')") from None
        record.seconds = time.monotonic() - started
        if msg is None:
            record.closed = size
            raise Failure(f"{self.who} ({when}): closed with {size} before any message")
        record.first_type, record.size = msg["type"], size
        record.seq, record.tick = msg.get("seq"), (msg.get("game") or {}).get("tick")
        record.status = (msg.get("game") or {}).get("status")
        if msg["type"] != "snapshot":
            raise Failure(f"{self.who} ({when}): first message is {msg['type']!r}, not a snapshot")
        if msg["seq"] < seq_before or record.tick < tick_before:
            raise Failure(f"{self.who} ({when}): stale snapshot: seq {msg['seq']} < {seq_before} "
                          f"or tick {record.tick} < {tick_before}")
        return record

    async def _read(self, ws: Any, first: asyncio.Future) -> None:
        code = 1006
        try:
            async for text in ws:
                raw = text.encode() if isinstance(text, str) else text
                msg = orjson.loads(raw)
                if not first.done():
                    first.set_result((msg, len(raw)))
                self.last_heard = (time.monotonic(), msg["type"], msg.get("seq", 0))
                self.handle(msg, len(raw))
                self.hub.notify()
            code = ws.close_code or 1005
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd is not None else 1006
        except Exception as exc:  # noqa: BLE001 - a client bug must not look like silence
            self.broken = exc
            raise
        finally:
            self.closed = code
            if not first.done():
                first.set_result((None, code))
            self.hub.notify()

    async def drop(self, abrupt: bool) -> None:
        """Go away: a clean close (a tab closed) or the network gone (no close frame)."""
        ws, reader = self.ws, self.reader
        if ws is None:
            return
        if abrupt:
            ws.transport.abort()
        else:
            await ws.close()
        if reader is not None:
            await asyncio.gather(reader, return_exceptions=True)
        self.ws = None

    async def close(self) -> None:
        await self.drop(abrupt=False)

    # -- messages --

    def on_reply(self, msg: dict[str, Any]) -> None:
        kind = msg["type"]
        if kind in ("accepted", "rejected"):
            self._answer(msg["id"], msg)
        elif kind == "error":
            self._on_error(msg)
        elif kind == "private":
            self._on_private(msg)
        elif kind in ("ok", "pong"):
            self.replies[msg.get("id")] = msg

    def on_snapshot(self, msg: dict[str, Any], size: int) -> None:
        self.hub.snapshots.append((self.kind, size, (msg.get("game") or {}).get("tick")))
        self.hub.saw(msg)
        self.snapshot = msg
        self.game, self.market, self.you = msg["game"], msg.get("market"), msg["you"] or {}
        self.players = msg["game"].get("players") or 0
        for c in msg.get("commands") or []:
            cid = c.get("id")
            if cid in self.sent and cid not in self.answers and c.get("status") != "cancelled":
                # acknowledged before the socket dropped; the reply was lost with it
                self.answers[cid] = {"type": "accepted", "id": cid, "command": c["command"],
                                     "due_tick": c["due_tick"]}
            if cid in self.sent and c.get("tick") is not None:
                self.settled.setdefault(cid, set()).add(c["tick"])

    def on_public(self, msg: dict[str, Any]) -> None:
        self.hub.saw(msg)
        if "game" in msg:
            self.game = msg["game"]
        if msg["type"] == "tick":
            self.market = msg["market"]
        if msg["type"] == "lobby":
            self.players = msg["players"]

    def _on_error(self, msg: dict[str, Any]) -> None:
        if msg.get("ref") in self.sent:
            self._answer(msg["ref"], msg)
        elif msg.get("ref") in self.replies or msg.get("ref") is not None:
            self.replies[msg["ref"]] = msg
        else:
            self.problems.append(f"error without ref: {msg}")

    def _on_private(self, msg: dict[str, Any]) -> None:
        for f in msg.get("fills") or []:
            if f.get("id") in self.sent:
                self.settled.setdefault(f["id"], set()).add(f["tick"])

    def _answer(self, cid: str, msg: dict[str, Any]) -> None:
        first = self.answers.get(cid)
        if first is None:
            self.answers[cid] = msg
        elif first["type"] == "accepted" and (msg["type"] != "accepted"
                                               or msg["command"] != first["command"]):
            self.problems.append(f"{cid}: answered {first} then {msg}")

    # -- acting --

    async def control(self, op: str, timeout: float = 30.0, **fields: Any) -> dict[str, Any]:
        self.counter += 1
        rid = f"k-{self.counter}"
        if not await self.send({"type": "control", "id": rid, "op": op, **fields}):
            raise Failure(f"{self.who}: control {op}: the console's socket is closed")
        await self.hub.wait(lambda: rid in self.replies, timeout, f"the answer to control {op}")
        reply = self.replies[rid]
        if reply["type"] != "ok":
            raise Failure(f"control {op} refused: {reply}")
        return reply
