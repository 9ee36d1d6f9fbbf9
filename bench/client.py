"""A load-test player: one WebSocket, the protocol's client rules (docs/protocol.md), metrics.

Each `Player` connects with its seat cookie, keeps `last_seq` from the snapshot, applies the gap
rule (a public message with seq > last_seq + 1, or any other message with seq > last_seq, asks
for a snapshot), trades on its own timer, resends unacknowledged commands by id after a
reconnect, and records timings into a shared `Metrics`. Everything is bounded: the player stops
at `stop` (an Event) and gives up reconnecting after `max_reconnects` failed attempts in a row.
"""
from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import orjson
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

NO_RECONNECT = {4001, 4003, 4004, 4010, 4011}  # docs/protocol.md: do not reconnect
PING_SECONDS = 20.0
# As static/js/socket.js: full-jitter exponential back-off, 0.5 s base, 15 s cap.
BACKOFF_BASE, BACKOFF_MAX = 0.5, 15.0
OPEN_TIMEOUT = 30.0
MAX_FRAME = 1 << 22
SAMPLED = ("tick", "private")  # the latest kept (Metrics.samples) for the floor to send


@dataclass
class Metrics:
    """Shared by all players of a run (one asyncio loop: no locks needed)."""

    ack_ms: list[float] = field(default_factory=list)
    connect_ms: list[float] = field(default_factory=list)
    reconnect_ms: list[float] = field(default_factory=list)
    # (game, tick) -> settle start (server clock) and receive times of the public/private message
    tick_start: dict[tuple[str, int], float] = field(default_factory=dict)
    tick_recv: dict[tuple[str, int], list[float]] = field(default_factory=lambda: defaultdict(list))
    private_recv: dict[tuple[str, int], list[float]] = field(
        default_factory=lambda: defaultdict(list))
    # game -> {tick: (settle start, next_tick_at)} to measure the tick clock's jitter
    clock: dict[str, dict[int, tuple[float, float | None]]] = field(
        default_factory=lambda: defaultdict(dict))
    sent: int = 0
    resent: int = 0
    acked: int = 0
    rejected: int = 0
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    ack_conflicts: int = 0  # the same client id acknowledged with two different command numbers
    fill_conflicts: int = 0  # the same client id settled at two different ticks
    gaps: int = 0
    gap_snapshots: int = 0  # snapshots that answered a gap (a gap healed)
    snapshots: int = 0
    reconnects: int = 0
    closes: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    gave_up: int = 0
    # Why a socket ended without a close code of the server's ("<phase>:<exception>": connect
    # for the handshake, session for a socket that was open), to tell a refused connect from a
    # timeout or a reset.
    failures: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    bytes_in: int = 0
    frames_in: int = 0
    size_sum: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    size_n: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # The text of the latest `tick` and `private` received: the floor sends these messages.
    samples: dict[str, str] = field(default_factory=dict)

    def mean_size(self, kind: str) -> int:
        return self.size_sum[kind] // self.size_n[kind] if self.size_n[kind] else 0


class Player:
    def __init__(self, url: str | list[str], cookie: str | None, metrics: Metrics, *,
                 game: str, trade_every: float, subnets: list[int], seed: int,
                 max_reconnects: int = 20, trade: bool = True, record: bool = False) -> None:
        # Several URLs: a connection that fails moves on to the next one (what a reverse proxy
        # does when a worker dies).
        self.urls = [url] if isinstance(url, str) else list(url)
        self.url_index = 0
        self.cookie, self.m, self.game = cookie, metrics, game
        self.trade_every, self.subnets, self.trade = trade_every, subnets, trade
        self.rng = random.Random(seed)
        self.max_reconnects = max_reconnects
        self.last_seq = 0
        self.awaiting_snapshot = False
        self.gap_pending = False
        self.ws: Any = None
        self.counter = 0
        self.pending: dict[str, tuple[dict[str, Any], float]] = {}  # id -> (msg, sent at)
        self.acked: dict[str, int] = {}  # client id -> server command number
        self.settled: dict[str, int] = {}  # client id -> tick it settled at
        self.fresh = asyncio.Event()  # set when a snapshot arrives on the current socket
        self.connected_once = False
        self.closed_code: int | None = None
        self.dead = False
        self.kick = asyncio.Event()  # set by the driver to drop the socket (reconnect storm)
        self.resume_at: float | None = None
        self.seat_id: int | None = None
        self.running = False  # the game's status is running or paused (commands are accepted)
        # With record=True: (seq, type, tick, sha1 of the exact text) of every public message
        # received, and the seq of every snapshot, in arrival order (tests compare these).
        self.record = record
        self.public_log: list[tuple[int, str, int | None, str]] = []
        self.snapshot_seqs: list[int] = []

    # --- the socket ---------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set() and not self.dead:
            started = time.perf_counter()
            self.fresh.clear()
            headers = {"Cookie": self.cookie} if self.cookie else {}
            url = self.urls[self.url_index % len(self.urls)]
            origin = "http://" + url.split("://", 1)[1].split("/", 1)[0]  # same-origin
            phase = "connect"
            try:
                async with connect(url, additional_headers=headers, origin=origin,
                                   compression=None, max_size=MAX_FRAME,
                                   open_timeout=OPEN_TIMEOUT,
                                   ping_interval=None, close_timeout=2) as ws:
                    self.ws = ws
                    failures = 0
                    phase = "session"
                    await self._session(ws, stop, started)
            except (InvalidStatus, OSError, asyncio.TimeoutError, ConnectionClosed,
                    WebSocketException) as exc:
                self.m.failures[f"{phase}:{type(exc).__name__}"] += 1
                failures += 1
                self.url_index += 1
            finally:
                self.ws = None
            if self.closed_code in NO_RECONNECT:
                self.dead = True
                break
            if stop.is_set():
                break
            if failures >= self.max_reconnects:
                self.m.gave_up += 1
                self.dead = True
                break
            self.m.reconnects += 1
            delay = self.resume_at - time.time() if self.resume_at else self.rng.uniform(
                0, min(BACKOFF_MAX, BACKOFF_BASE * 2 ** failures))
            self.resume_at = None
            if delay > 0:
                try:
                    await asyncio.wait_for(stop.wait(), delay)
                except asyncio.TimeoutError:
                    pass

    async def _session(self, ws: Any, stop: asyncio.Event, started: float) -> None:
        self.closed_code = None
        self.awaiting_snapshot = True  # the server sends one unasked on connect
        trader = asyncio.create_task(self._trade(ws, stop)) if self.trade else None
        pinger = asyncio.create_task(self._ping(ws, stop))
        stopper = asyncio.create_task(stop.wait())
        kicker = asyncio.create_task(self.kick.wait())
        reader = asyncio.create_task(self._read(ws, started))
        try:
            done, _ = await asyncio.wait({reader, stopper, kicker},
                                         return_when=asyncio.FIRST_COMPLETED)
            if kicker in done:
                self.kick.clear()
                # An abrupt drop, as a phone losing Wi-Fi: no close handshake.
                ws.transport.abort()
            if reader in done and reader.exception() is not None:
                raise reader.exception()
        finally:
            for t in (trader, pinger, stopper, kicker, reader):
                if t is not None and not t.done():
                    t.cancel()
            await asyncio.gather(*(t for t in (trader, pinger, stopper, kicker, reader) if t),
                                 return_exceptions=True)
            if ws.close_code is not None:
                self.closed_code = ws.close_code
                self.m.closes[ws.close_code] += 1

    async def _read(self, ws: Any, started: float) -> None:
        async for raw in ws:
            now = time.time()
            self.m.frames_in += 1
            self.m.bytes_in += len(raw)
            msg = orjson.loads(raw)
            kind = msg.get("type")
            self.m.size_sum[kind] += len(raw)
            self.m.size_n[kind] += 1
            if kind in SAMPLED:
                self.m.samples[kind] = raw
            if self.record and kind in ("tick", "lobby", "status"):
                digest = hashlib.sha1(raw.encode() if isinstance(raw, str) else raw).hexdigest()
                self.public_log.append((msg.get("seq") or 0, kind, msg.get("tick"), digest))
            if kind == "snapshot":
                first = not self.fresh.is_set()
                self._on_snapshot(msg)
                if first:
                    ms = (time.perf_counter() - started) * 1000
                    (self.m.reconnect_ms if self.connected_once else self.m.connect_ms).append(ms)
                    self.connected_once = True
                    self.fresh.set()
                    await self._resend(ws)
                continue
            seq = msg.get("seq") or 0
            if kind in ("tick", "lobby", "status"):
                await self._on_public(ws, msg, seq, now)
                continue
            self._on_reply(msg, now)
            if not self.awaiting_snapshot and seq > self.last_seq:
                await self._gap(ws)  # a reply from after a public message we never saw

    async def _on_public(self, ws: Any, msg: dict[str, Any], seq: int, now: float) -> None:
        self._status(msg)
        if msg["type"] == "tick":
            self._time_tick(msg, now)
        if self.awaiting_snapshot or seq <= self.last_seq:
            return
        if seq > self.last_seq + 1:
            await self._gap(ws)
            return
        self.last_seq = seq

    def _on_reply(self, msg: dict[str, Any], now: float) -> None:
        kind = msg.get("type")
        if kind == "private":
            self.m.private_recv[(self.game, msg["tick"])].append(now)
            for f in msg.get("fills") or []:
                self._settled(f)
        elif kind == "accepted":
            self._on_ack(msg)
        elif kind == "rejected":
            self.m.rejected += 1
            self.pending.pop(msg.get("id"), None)
        elif kind == "error":
            self.m.errors[msg.get("code", "?")] += 1
            ref = msg.get("ref")
            if msg.get("code") not in ("rate_limited", "internal"):
                self.pending.pop(ref, None)

    def _on_snapshot(self, msg: dict[str, Any]) -> None:
        self.m.snapshots += 1
        if self.record:
            self.snapshot_seqs.append(msg.get("seq") or 0)
        self.seat_id = (msg.get("you") or {}).get("seat_id", self.seat_id)
        self._status(msg)
        if self.gap_pending:
            self.m.gap_snapshots += 1
            self.gap_pending = False
        self.last_seq = msg.get("seq") or 0
        self.awaiting_snapshot = False
        for c in msg.get("commands") or []:
            cid = c.get("id")
            if cid is None:
                continue
            if cid in self.pending:  # acknowledged before the socket dropped, reply lost
                self._on_ack({"id": cid, "command": c.get("command")}, timed=False)
            if c.get("status") in ("filled", "rejected") and c.get("tick") is not None:
                self._settled(c)

    def _status(self, msg: dict[str, Any]) -> None:
        game = msg.get("game")
        if game and "status" in game:
            self.running = game["status"] in ("running", "paused")
        elif msg.get("type") == "tick":
            self.running = True

    async def _gap(self, ws: Any) -> None:
        self.m.gaps += 1
        self.gap_pending = True
        self.awaiting_snapshot = True
        await ws.send('{"type":"snapshot"}')

    def _time_tick(self, msg: dict[str, Any], now: float) -> None:
        key = (self.game, msg["tick"])
        self.m.tick_recv[key].append(now)
        if key not in self.m.tick_start:
            g = msg.get("game") or {}
            nxt, secs = g.get("next_tick_at"), g.get("tick_seconds")
            start = msg.get("settle_started_at")  # the floor server says it directly
            if start is None and nxt is not None and secs is not None:
                start = nxt - secs  # the engine sets next_tick_at = settle start + tick_seconds
            if start is not None:
                self.m.tick_start[key] = start
                self.m.clock[self.game][msg["tick"]] = (start, nxt)

    def _on_ack(self, msg: dict[str, Any], timed: bool = True) -> None:
        cid = msg.get("id")
        sent = self.pending.pop(cid, None)
        number = msg.get("command")
        if cid in self.acked:
            if self.acked[cid] != number:
                self.m.ack_conflicts += 1
            return
        self.acked[cid] = number
        self.m.acked += 1
        if sent is not None and timed:
            self.m.ack_ms.append((time.perf_counter() - sent[1]) * 1000)

    def _settled(self, fill: dict[str, Any]) -> None:
        cid, tick = fill.get("id"), fill.get("tick")
        if cid is None or tick is None:
            return
        if cid in self.settled and self.settled[cid] != tick:
            self.m.fill_conflicts += 1
        self.settled[cid] = tick

    # --- trading --------------------------------------------------------------------------------

    def _order(self) -> dict[str, Any]:
        self.counter += 1
        cid = f"b{self.counter}-{self.rng.randrange(1 << 30):x}"
        subnet = self.rng.choice(self.subnets)
        if self.rng.random() < 0.7:
            return {"type": "command", "id": cid, "do": "stake", "subnet": subnet, "tao": 1.0}
        return {"type": "command", "id": cid, "do": "unstake", "subnet": subnet, "alpha": 5.0}

    async def _trade(self, ws: Any, stop: asyncio.Event) -> None:
        await self.fresh.wait()
        while not stop.is_set() and self.trade:
            await asyncio.sleep(self.trade_every * (0.5 + self.rng.random()))
            if stop.is_set() or not self.trade:
                break
            if not self.running:  # before the start a command is refused (game_not_started)
                continue
            msg = self._order()
            self.pending[msg["id"]] = (msg, time.perf_counter())
            self.m.sent += 1
            await ws.send(orjson.dumps(msg).decode())

    async def _ping(self, ws: Any, stop: asyncio.Event) -> None:
        """As the browser does: a ping every 20 s (the server's sign of presence)."""
        await self.fresh.wait()
        while not stop.is_set():
            await asyncio.sleep(PING_SECONDS * (0.9 + 0.2 * self.rng.random()))
            await ws.send('{"type":"ping"}')

    async def _resend(self, ws: Any) -> None:
        """After a (re)connect: send again every command not yet acknowledged (same id)."""
        for cid, (msg, _sent) in list(self.pending.items()):
            self.pending[cid] = (msg, time.perf_counter())
            self.m.resent += 1
            await ws.send(orjson.dumps(msg).decode())

    async def drain(self, timeout: float) -> None:
        """Wait (bounded) until every command sent has been acknowledged."""
        deadline = time.monotonic() + timeout
        while self.pending and time.monotonic() < deadline and not self.dead:
            await asyncio.sleep(0.1)
