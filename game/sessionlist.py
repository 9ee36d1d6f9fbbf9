"""The read side of a session's rounds (game/actions/rounds.py makes them): where a game's
class went (the snapshot's and the `next_round` message's `next_round`), and the console's list
of games grouped by session."""
from __future__ import annotations

import re
from typing import Any

from django.db.models import Count, Q

from game.models import Game, SeatKind, Status

ROUND_SUFFIX = re.compile(r" · round \d+$")


def next_round_info(game: Game) -> dict[str, Any] | None:
    """Where this game's class went (the snapshot's and the message's `next_round`), or None."""
    target = game.moved_to
    if target is None:
        return None
    return {"code": target.code, "url": f"/play/{target.code}/",
            "carry_url": f"/join/{target.code}/carry", "console_url": f"/console/{target.code}/",
            "practice": target.practice}


# --- the console's list of games ----------------------------------------------------------------

def _length(game: Game) -> str:
    epochs = game.total_ticks // max(game.ticks_per_epoch, 1)
    played = game.tick // max(game.ticks_per_epoch, 1)
    text = f"{played}/{epochs} epochs"
    if game.started_at and game.ended_at:
        minutes = round((game.ended_at - game.started_at).total_seconds() / 60)
        text += f" · {minutes} min"
    return text


def session_list(owner: Any) -> list[dict[str, Any]]:
    """The owner's games grouped by session (a session's rounds in the order they were made),
    newest session first; each round with its status, players, length and debrief link."""
    games = list(Game.objects.filter(owner=owner).annotate(
        n_players=Count("seats", filter=Q(seats__kind=SeatKind.HUMAN, seats__kicked=False)))
        .order_by("created_at", "id"))
    sessions: dict[int, list[Any]] = {}
    for g in games:
        sessions.setdefault(g.session_id or g.id, []).append(g)
    out: list[dict[str, Any]] = []
    for rounds in sessions.values():
        n = 0
        rows = []
        for g in rounds:
            n += 0 if g.practice else 1
            rows.append({"game": g, "round": "practice" if g.practice else str(n),
                         "players": g.n_players, "length": _length(g),
                         "debrief": g.status == Status.ENDED and g.started_at is not None})
        out.append({"name": ROUND_SUFFIX.sub("", rounds[0].name), "rounds": rows,
                    "latest": max(g.created_at for g in rounds)})
    out.sort(key=lambda s: s["latest"], reverse=True)
    return out
