"""Round 2 beside round 1 in the debrief ("same class, rule changed"): the key series of a game
and of the round it was made from (game/actions/rounds.py `play_again`), both from their
debrief analyses (game/debrief/analysis.py, cached), on a shared epoch axis."""
from __future__ import annotations

import json
from typing import Any

from game.actions.lobby import foundation_player
from game.debrief import analysis
from game.models import Game, Seat, SeatKind


def _setup(game: Game) -> dict[str, Any]:
    """The settings play-again can change, as this game had them."""
    scn = json.loads(game.scenario)
    pid = foundation_player(scn)
    found = next((p for p in scn.get("players", []) if p.get("id") == pid), None)
    return {"rules": "tao_flow" if "tao_flow" in scn.get("rules", []) else "launch",
            "registration": bool(scn.get("params", {}).get("registration_open", 1)),
            "foundation_stake": None if found is None else found.get("root_stake")}


def _students_return(doc: dict[str, Any], ticks: list[int]) -> list[float | None]:
    """The students' mean return on what they brought in, at each of these ticks."""
    out: list[float | None] = []
    students = [p for p in doc["players"] if p.get("actor") == "human" and p["contributed"] > 0]
    for t in ticks:
        values = [p["net_worth_by_tick"][t] / p["contributed"] - 1 for p in students
                  if t < len(p["net_worth_by_tick"]) and p["net_worth_by_tick"][t] is not None]
        out.append(sum(values) / len(values) if values else None)
    return out


def summary(game: Game) -> dict[str, Any]:
    doc = analysis.analyse(game)
    ticks = [ep["tick"] for ep in doc["epochs"]]
    returns = _students_return(doc, ticks)
    health = [ep["network_health"] for ep in doc["epochs"]]
    return {"code": game.code, "name": game.name, **_setup(game),
            "students": sum(1 for p in doc["players"] if p.get("actor") == "human"),
            "epochs": [ep["epoch"] for ep in doc["epochs"]], "network_health": health,
            "students_return": returns,
            "final_return": next((r for r in reversed(returns) if r is not None), None),
            "final_health": health[-1] if health else None}


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x * 100:+.1f}%"


def _row(side: dict[str, Any], label: str) -> dict[str, Any]:
    health = side["final_health"]
    return {**side, "label": label, "return_text": _pct(side["final_return"]),
            "health_text": "–" if health is None else f"{health * 100:.0f}%"}


def comparison(game: Game) -> dict[str, Any] | None:
    """This round and the one it was made from, or None (a first round, a round not started,
    a practice round)."""
    prev = game.previous_round
    if prev is None or game.practice or prev.practice or game.state is None or prev.state is None:
        return None
    same = Seat.objects.filter(game=game, kind=SeatKind.HUMAN, from_seat__game=prev).count()
    this, previous = summary(game), summary(prev)
    return {"this": this, "previous": previous, "change": game.round_change,
            "same_students": same, "rows": [_row(previous, "(before)"),
                                            _row(this, "(this round)")]}
