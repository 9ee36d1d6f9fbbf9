"""The command log, read one way everywhere: what settled at each tick (`settled_by_tick`), as the
simulator's actions (`as_sim_actions`: each with its command id as `ref`), played again from
the started scenario and seed (`Replay`), and what a client is told about a command
(`client_view`, `order_view`). Used by the engine, replay, the debrief and the snapshot.

Bot actions are in the log as commands, so a replay steps the sim with bots=False, tick by tick
in settlement order (settled_tick, then id), exactly as the engine settled them.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from itertools import groupby
from typing import Any

import sim
from game import simapi
from game.models import Command, Game


def settled_by_tick(game: Game) -> dict[int, list[Command]]:
    """{tick: the commands settled at that tick, in settlement order}."""
    rows = (Command.objects.filter(game=game, settled_tick__isnull=False)
            .order_by("settled_tick", "id"))
    return {t: list(cmds) for t, cmds in groupby(rows, key=lambda c: c.settled_tick)}


def as_sim_actions(cmds: Iterable[Command]) -> list[dict[str, Any]]:
    """The sim actions of stored commands, each carrying its command id as `ref` (the sim
    echoes it on the fill)."""
    return [{**json.loads(c.action), "ref": c.id} for c in cmds]


class Replay:
    """The game's settled log played again through a fresh sim: iterate for (tick, the
    commands settled then, the sim's TickResult); `sim` is the replayed game as of the last
    tick iterated."""

    def __init__(self, game: Game) -> None:
        self.ticks = game.tick
        self.sim: sim.Game = simapi.new_sim(json.loads(game.scenario), game.seed)
        self.log = settled_by_tick(game)

    @property
    def commands(self) -> int:
        return sum(len(cmds) for cmds in self.log.values())

    def __iter__(self) -> Iterator[tuple[int, list[Command], sim.TickResult]]:
        for t in range(self.ticks):
            cmds = self.log.get(t, [])
            yield t, cmds, self.sim.step(as_sim_actions(cmds), bots=False)


def client_view(c: Command, fill: dict[str, Any] | None) -> dict[str, Any]:
    """A stored command as a client sees it (`private.fills[]`, docs/protocol.md): ids, status,
    ticks, the reason of a refusal, the sim's fill, who placed it."""
    return {"id": c.client_id, "command": c.id, "do": c.do, "status": c.status,
            "due_tick": c.due_tick, "tick": c.settled_tick, "reason": c.reason or None,
            "fill": fill, "actor": c.actor}


def order_view(c: Command) -> dict[str, Any]:
    """`client_view` with the order's own fields (subnet, tao, alpha, limit_price, ...) first,
    so a page opened on another device can describe a queued order (`snapshot.commands[]`);
    the seat's player id is not repeated."""
    order = {k: v for k, v in json.loads(c.action).items() if k not in ("player", "ref")}
    return {**order, **client_view(c, json.loads(c.fill) if c.fill else None)}
