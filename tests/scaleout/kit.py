"""Helpers for the scale-out tests: players on real sockets, run for a bounded time."""
from __future__ import annotations

import asyncio
import time
from typing import Any, Callable

from bench.client import Metrics, Player
from bench.scenario import SUBNETS
from bench.stack import Stack


class Table:
    """A game and its players (bench.client.Player, recording every public message)."""

    def __init__(self, stack: Stack, urls_for_player: Callable[[int], list[str]], n: int,
                 tick_seconds: float = 1.0) -> None:
        self.stack = stack
        game = stack.admin("create", "--tick-seconds", str(tick_seconds))[0]
        self.code, self.game_id = game["code"], game["id"]
        seats = stack.admin("join", self.code, str(n))
        self.m = Metrics()
        self.stop = asyncio.Event()
        self.players = [
            Player([u + f"/ws/game/{self.code}/" for u in urls_for_player(i)],
                   f"seat_{self.code}={s['token']}", self.m, game=self.code,
                   trade_every=tick_seconds / 2, subnets=SUBNETS, seed=i, record=True,
                   max_reconnects=60)
            for i, s in enumerate(seats)]
        self.tasks: list[asyncio.Task] = []

    async def connect(self, timeout: float = 30) -> None:
        self.tasks = [asyncio.create_task(p.run(self.stop)) for p in self.players]
        await asyncio.wait_for(asyncio.gather(*(p.fresh.wait() for p in self.players)), timeout)

    def start(self) -> None:
        self.stack.admin("start", self.code)

    def seq_of_all(self) -> set[int]:
        return {p.last_seq for p in self.players}

    async def until(self, check: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.1)

    async def ticks(self, n: int, timeout: float = 60) -> None:
        """Wait until every player has applied `n` more tick messages."""
        def ticks_seen(p: Player) -> int:
            return sum(1 for e in p.public_log if e[1] == "tick")
        goal = [ticks_seen(p) + n for p in self.players]
        await self.until(lambda: all(ticks_seen(p) >= g for p, g in zip(self.players, goal)),
                         timeout, f"{n} ticks at every player")

    async def finish(self, settle_ticks: int = 2, timeout: float = 60) -> dict[str, Any]:
        """Stop trading, wait for every ack and for the queued commands to settle, pause the
        game, wait for every player to reach its last seq, close the sockets, and return the
        database's audit of this game."""
        for p in self.players:
            p.trade = False
        await self.until(lambda: all(not p.pending for p in self.players if not p.dead),
                         timeout, "every command acknowledged")
        await self.ticks(settle_ticks, timeout)
        # Pause the clock: the state stops moving, so every player must reach the final seq
        # (the `status: paused` message) and the audit sees the final state.
        self.stack.admin("pause", self.code)
        audit = self.audit()
        await self.until(lambda: all(p.last_seq >= audit["seq"] for p in self.players),
                         timeout, "every player at the game's seq")
        self.stop.set()
        await asyncio.wait(self.tasks, timeout=20)
        return audit

    def audit(self) -> dict[str, Any]:
        acked = [[p.seat_id, cid] for p in self.players for cid in p.acked]
        return self.stack.admin("verify", input={self.code: acked})[0]
