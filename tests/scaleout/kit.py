"""Helpers for the scale-out tests: games and players on real sockets, bounded waits."""
from __future__ import annotations

import asyncio
import time
from typing import Any, Callable

from bench.client import Metrics, Player
from bench.scenario import SUBNETS
from bench.stack import Stack


async def until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


class Table:
    """A game and its players (bench.client.Player, recording every public message)."""

    def __init__(self, stack: Stack, code: str, seats: list[dict[str, Any]],
                 urls_for_player: Callable[[int], list[str]], tick_seconds: float) -> None:
        self.stack, self.code = stack, code
        self.m = Metrics()
        self.stop = asyncio.Event()
        self.players = [
            Player([u + f"/ws/game/{code}/" for u in urls_for_player(i)],
                   f"seat_{code}={s['token']}", self.m, game=code,
                   trade_every=tick_seconds / 2, subnets=SUBNETS, seed=i, record=True,
                   max_reconnects=60)
            for i, s in enumerate(seats)]
        self.tasks: list[asyncio.Task] = []

    async def connect(self, timeout: float = 30) -> None:
        self.tasks = [asyncio.create_task(p.run(self.stop)) for p in self.players]
        await asyncio.wait_for(asyncio.gather(*(p.fresh.wait() for p in self.players)), timeout)

    def seq_of_all(self) -> set[int]:
        return {p.last_seq for p in self.players}

    async def until(self, check: Callable[[], bool], timeout: float, what: str) -> None:
        await until(check, timeout, what)

    async def ticks(self, n: int, timeout: float = 60) -> None:
        """Wait until every player has received `n` more tick messages."""
        def seen(p: Player) -> int:
            return sum(1 for e in p.public_log if e[1] == "tick")
        goal = [seen(p) + n for p in self.players]
        await until(lambda: all(seen(p) >= g for p, g in zip(self.players, goal, strict=True)),
                    timeout, f"{n} ticks at every player of {self.code}")

    def acked(self) -> list[list[Any]]:
        return [[p.seat_id, cid] for p in self.players for cid in p.acked]


def tables(stack: Stack, games: int, players: int, urls_for_player: Callable[[int], list[str]],
           tick_seconds: float = 1.0) -> list[Table]:
    created = stack.admin("create", "--tick-seconds", str(tick_seconds), "--count", str(games))
    args = [x for g in created for x in (g["code"], str(players))]
    seats = stack.admin("join", *args)
    if games == 1:
        seats = [seats]
    return [Table(stack, g["code"], s, urls_for_player, tick_seconds)
            for g, s in zip(created, seats, strict=True)]


def start(stack: Stack, ts: list[Table]) -> None:
    stack.admin("start", *(t.code for t in ts))


async def finish(stack: Stack, ts: list[Table], settle_ticks: int = 2,
                 timeout: float = 60) -> list[dict[str, Any]]:
    """Stop trading, wait for every ack and for the queued commands to settle, pause the
    games (the state stops moving, so every player must reach the final seq: the `paused`
    status message), close the sockets; the database's audit of each game."""
    for t in ts:
        for p in t.players:
            p.trade = False
    await until(lambda: all(not p.pending for t in ts for p in t.players if not p.dead),
                timeout, "every command acknowledged")
    await asyncio.gather(*(t.ticks(settle_ticks, timeout) for t in ts))
    stack.admin("pause", *(t.code for t in ts))
    audits = stack.admin("verify", input={t.code: t.acked() for t in ts})
    for t, audit in zip(ts, audits, strict=True):
        await until(lambda t=t, audit=audit: all(p.last_seq >= audit["seq"] for p in t.players),
                    timeout,
                    f"every player of {t.code} at the game's seq")
        t.stop.set()
    await asyncio.wait([task for t in ts for task in t.tasks], timeout=20)
    return audits
