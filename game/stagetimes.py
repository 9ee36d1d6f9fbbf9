"""Where a tick's delivery time goes, for the load benchmark (docs/performance.md): wall-clock
stamps of the stages of a tick, written as `STAGE {json}` log lines that `python -m bench` reads
back from the servers' log. Off unless `STAGE_TIMES=1` (the benchmark sets it); off, every call
here is a flag check.

- the engine (`game/engine.py`), one line per settled tick: when it started, when the sim step,
  the writes and the encoding were done, when the transaction committed, when the public `tick`
  and when the last `private` message had been handed to the channel layer;
- each daphne worker (`game/live/consumers.py`), one line per tick and kind of message (`tick`,
  `private`): when its first socket's handler ran (the message came out of the channel layer),
  when its last socket's send returned, and how many sockets it sent to.

Nothing here changes what a client receives: the marker rides on the channel-layer event
(`broadcast.frame(..., stage=...)`), never in the message text.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from typing import Any

log = logging.getLogger("game.stagetimes")

ENABLED = os.environ.get("STAGE_TIMES", "") in ("1", "true", "yes")
FLUSH_SECONDS = 1.0  # a worker reports a (tick, kind) this long after its first send


def now() -> float:
    return time.time()


class TickStages:
    """The engine's stamps for one tick (`mark(name)`), logged once by `report`."""

    def __init__(self, game_id: int, tick: int, start: float) -> None:
        self.game_id, self.tick = game_id, tick
        self.stamps: dict[str, float] = {"start": start}

    def mark(self, name: str) -> None:
        self.stamps[name] = now()

    def report(self, **extra: Any) -> None:
        log.info("STAGE %s", json.dumps({"src": "engine", "game": self.game_id,
                                          "tick": self.tick, **self.stamps, **extra}))


def begin(game_id: int, tick: int, start: float) -> TickStages | None:
    """Stamps for this tick (`start`: the settlement's clock, as `next_tick_at` counts from)
    or None when stage times are off."""
    return TickStages(game_id, tick, start) if ENABLED else None


def mark(stages: TickStages | None, name: str) -> None:
    """Stamp `name` now, when stage times are on (`stages` is None otherwise)."""
    if stages is not None:
        stages.mark(name)


def marker(stages: TickStages | None, kind: str) -> list[Any] | None:
    """What a frame of this tick carries on the channel layer for the workers to report."""
    return None if stages is None else [stages.game_id, stages.tick, kind]


# (game, tick, kind) -> [first handler start, last send end, sockets]; one event loop per worker
_sent: dict[tuple[int, int, str], list[float]] = {}


def sent(stage: list[Any], started: float) -> None:
    """A worker's socket has sent a broadcast marked `stage` = [game, tick, kind]."""
    key = (int(stage[0]), int(stage[1]), str(stage[2]))
    done = now()
    entry = _sent.get(key)
    if entry is None:
        _sent[key] = [started, done, 1.0]
        asyncio.get_running_loop().call_later(FLUSH_SECONDS, _flush, key)
    else:
        entry[1] = max(entry[1], done)
        entry[2] += 1


def _flush(key: tuple[int, int, str]) -> None:
    entry = _sent.pop(key, None)
    if entry is not None:
        log.info("STAGE %s", json.dumps({"src": "worker", "pid": os.getpid(), "game": key[0],
                                          "tick": key[1], "kind": key[2], "first": entry[0],
                                          "last": entry[1], "sockets": int(entry[2])}))
