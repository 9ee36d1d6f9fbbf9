"""The public part of a snapshot (what every socket of a game is told alike: the game, the
market, the leaderboard, the events, the lobby, the question, the announcement), built once per
(game, seq) in each process and shared by all its sockets: a reconnect storm of a whole class
reads the game row and its lobby list once, not once per socket (docs/performance.md, round 2).

Keyed by the game's seq: every change to what this part holds is a public message and bumps
the seq in the same transaction (docs/protocol.md), so an entry built at a seq is that seq's
state and a later seq builds a new one. The seat's own part (its view, commands, answer, the
console's roster) is read per socket (game/live/identity.py). Read-only: nothing here writes.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from game import leaderboard as lb, plainsql
from game.actions import announcements, predictions
from game.models import Game, Question, Status
from game.readmodel import game_info, lobby_list, lobby_shown
from game.sessionlist import next_round_info


@dataclass(frozen=True)
class Public:
    """One game's public part at one seq. Shared between threads: never mutate it."""
    seq: int
    code: str
    game: Game  # the row as read at `seq` (its sim state deferred)
    question: Question | None  # the latest question (its `view` is in `fields`)
    events: tuple[dict[str, Any], ...]  # the scenario's events (the instructor sees their text)
    fields: dict[str, Any]  # the snapshot's public keys, as sent


_CACHE_SIZE = 256  # games per process
_cache: dict[int, Public] = {}
_building: dict[int, threading.Lock] = {}  # one builder per game at a time
_guard = threading.Lock()


def shared(game_id: int) -> Public:
    """The game's public part at its current seq (Game.DoesNotExist if it is gone): from this
    process's cache when it holds that seq or a later one, else built (once, however many
    sockets ask at the same moment)."""
    row = _seq_and_code(game_id)
    if row is None:
        raise Game.DoesNotExist(f"game {game_id}")
    seq, code = row
    hit = _fresh(game_id, seq, code)
    if hit is not None:
        return hit
    with _guard:
        building = _building.setdefault(game_id, threading.Lock())
    with building:  # the sockets asking meanwhile wait here for this one build
        hit = _fresh(game_id, seq, code)
        if hit is not None:
            return hit
        built = build(Game.objects.defer("state").get(pk=game_id))
        _remember(game_id, built)
        return built


def _seq_and_code(game_id: int) -> tuple[int, str] | None:
    """The game's seq and code: every snapshot asks, so one plain SELECT (the ORM's building
    of it was a tenth of a 1,000-student reconnect storm's work, docs/performance.md)."""
    row = plainsql.columns(Game, game_id, ("seq", "code"))
    return None if row is None else (int(row[0]), str(row[1]))


def _fresh(game_id: int, seq: int, code: str) -> Public | None:
    """The cached entry if it is this game's (ids are reused by a test database's rollbacks,
    codes are not) at `seq` or later: a later one was read from a committed row too."""
    hit = _cache.get(game_id)
    return hit if hit is not None and hit.code == code and hit.seq >= seq else None


def _remember(game_id: int, built: Public) -> None:
    with _guard:
        old = _cache.pop(game_id, None)
        if old is not None and old.code == built.code and old.seq > built.seq:
            built = old  # another thread stored a later seq meanwhile: keep it
        _cache[game_id] = built  # the newest last: the oldest is evicted first
        while len(_cache) > _CACHE_SIZE:
            gone = next(iter(_cache))
            del _cache[gone]
            _building.pop(gone, None)


def clear_cache() -> None:
    with _guard:
        _cache.clear()
        _building.clear()


def history_url(code: str) -> str:
    """Where a page fetches the charts' past (game/live/history.py; not in the snapshot, which
    must not grow with the game)."""
    return f"/g/{code}/history"


def build(game: Game) -> Public:
    """The public part from the game row (read with its seq) and what hangs off it."""
    public = json.loads(game.public) if game.public else {}
    events = tuple(
        {"index": i, "epoch": e.get("epoch"), "title": e.get("title"),
         "status": game.event_status.get(str(i), "pending"), "text": e.get("text", ""),
         "prediction": e.get("prediction")}
        for i, e in enumerate(json.loads(game.scenario).get("events", [])))
    market = public.get("market") if game.status != Status.LOBBY else None
    if market and any("nickname" not in v for v in market.get("root_validators") or []):
        # a game started before the start labelled its validators too (stored unlabelled)
        lb.label_root_validators(market, lb.seat_map(game))
    lobby = lobby_list(game)
    question = predictions.latest(game.id)
    fields = {
        "seq": game.seq, "game": game_info(game, len(lobby)), "market": market,
        # as a `lobby` broadcast carries it: a class of a thousand made every snapshot 52 kB,
        # 40 of them names, sent to all in a reconnect storm
        "lobby": lobby_shown(lobby),
        "leaderboard": public.get("leaderboard") if game.status != Status.LOBBY else None,
        "history_url": history_url(game.code),
        "next_round": next_round_info(game), "question": predictions.view(question),
        **announcements.snapshot_fields(game),
    }
    return Public(game.seq, game.code, game, question, events, fields)


def events_for(public: Public, instructor: bool) -> list[dict[str, Any]]:
    """The snapshot's `events`: their `text` (and `prediction`, which the console can ask) for
    the instructor only."""
    out = []
    for e in public.events:
        item = {k: e[k] for k in ("index", "epoch", "title", "status")}
        if instructor:
            item["text"] = e["text"]
            if e["prediction"]:
                item["prediction"] = e["prediction"]
        out.append(item)
    return out
