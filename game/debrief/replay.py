"""Replay: scenario + seed + the command log through sim (game/commandlog.py `Replay`), compared
with the stored state by `state_digest()`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from game import simapi
from game.commandlog import Replay
from game.models import Game


@dataclass(frozen=True)
class ReplayResult:
    ok: bool
    stored: str
    replayed: str
    ticks: int
    commands: int


def replay(game: Game) -> ReplayResult:
    """The started game's log replayed and compared with its stored state."""
    if game.state is None:
        raise ValueError(f"game {game.code} has not started: nothing to replay")
    played = Replay(game)
    for _ in played:
        pass
    stored, replayed = digests(played.sim, game.state)
    return ReplayResult(stored == replayed, stored, replayed, game.tick, played.commands)


def digests(replayed: Any, stored_state: str) -> tuple[str, str]:
    """(stored, replayed) state digests. A state stored before the sim booked income totals
    (owner cut, root dividends) has none, while its replay has them: compare such a state
    without them."""
    legacy = '"root_div_tao"' not in stored_state
    stored = simapi.fresh(stored_state).state_digest(totals=not legacy)
    return stored, replayed.state_digest(totals=not legacy)
