"""Replay: scenario + seed + the command log through sim with bots=False (bot actions are in the
log as commands), tick by tick in settlement order, compared by `state_digest()`."""
from __future__ import annotations

import json
from dataclasses import dataclass
from itertools import groupby
from typing import Any

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
    stored, replayed = digests(sim_game, game.state)
    return ReplayResult(stored == replayed, stored, replayed,
                        game.tick, sum(len(v) for v in by_tick.values()))


def digests(replayed: Any, stored_state: str) -> tuple[str, str]:
    """(stored, replayed) state digests. A state stored before the sim booked income totals
    (owner cut, root dividends) has none, while its replay has them: compare such a state
    without them."""
    legacy = '"root_div_tao"' not in stored_state
    stored = simapi.fresh(stored_state).state_digest(totals=not legacy)
    return stored, replayed.state_digest(totals=not legacy)
