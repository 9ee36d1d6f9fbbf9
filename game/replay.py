"""Replay: scenario + seed + the command log through sim with bots=False (bot actions are in the
log as commands), tick by tick in settlement order, compared by `state_digest()`."""
from __future__ import annotations

import json
from dataclasses import dataclass
from itertools import groupby

from game import simapi
from game.models import Command, Game


@dataclass(frozen=True)
class ReplayResult:
    ok: bool
    stored: str
    replayed: str
    ticks: int
    commands: int


def replay(game: Game) -> ReplayResult:
    sim_game = simapi.new_sim(json.loads(game.scenario), game.seed)
    log = (Command.objects.filter(game=game, settled_tick__isnull=False)
           .order_by("settled_tick", "id"))
    by_tick = {t: [{**json.loads(c.action), "ref": c.id} for c in cmds]
               for t, cmds in groupby(log, key=lambda c: c.settled_tick)}
    for t in range(game.tick):
        sim_game.step(by_tick.get(t, []), bots=False)
    stored = simapi.fresh(game.state).state_digest()
    return ReplayResult(stored == sim_game.state_digest(), stored, sim_game.state_digest(),
                        game.tick, sum(len(v) for v in by_tick.values()))
