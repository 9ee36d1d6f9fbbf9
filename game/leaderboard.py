"""The leaderboard: every player's net worth in TAO at liquidation value, boards per role.

Liquidation value is what unstaking everything right now would return (the rule:
sim/liquidation.py, which the sim's own views use too): each subnet's alpha sold through its
pool, fee and slippage included, a position the chain would refuse to sell worth nothing, and
root stake at face value.

Ties are broken deterministically: net worth rounded to a nano-TAO (so float noise cannot
reorder equal players), then the pseudonymous player id.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np

from game.models import ROLES
from sim import liquidation

TIE_DECIMALS = 9


@dataclass(frozen=True)
class Holding:
    subnet: int
    alpha: float
    value: float  # TAO the sale returns (0 when the sale would be refused)


def holdings(sim_game: Any, player_id: str) -> list[Holding]:
    """The player's alpha per active subnet with what selling all of it returns now."""
    st = sim_game.st
    k = st.player_index(player_id)
    if k is None:
        raise KeyError(player_id)
    values = liquidation.position_values(st, sim_game.params, sim_game.rules, k)
    active = np.nonzero(st.active)[0]
    return [Holding(int(st.netuid[i]), float(st.alpha[k, i]), float(v))
            for i, v in zip(active, values, strict=True)]


def sort_key(net_worth: float, player: str) -> tuple[float, str]:
    return (-round(net_worth, TIE_DECIMALS), player)


@dataclass(frozen=True)
class SeatInfo:
    nickname: str
    kind: str  # human | bot | foundation
    seat_id: int | None


def seat_map(game: Any, seats: Any = None) -> dict[str, SeatInfo]:
    """Sim player id -> seat; `seats`: the game's seats when the caller has them already."""
    return {s.player: SeatInfo(s.nickname, s.kind, s.id)
            for s in (game.seats.all() if seats is None else seats)}


def label_root_validators(market: dict[str, Any] | None, seats: dict[str, SeatInfo]
                          ) -> dict[str, Any] | None:
    """Adds each root-validator player's nickname to the public market (sim public_view's
    `root_validators`), in place, so a speculator can pick whom to root-stake with: the seat's
    nickname, or the player id for a scenario player without a seat (as on the leaderboard)."""
    for v in (market or {}).get("root_validators") or []:
        info = seats.get(v["id"])
        v["nickname"] = info.nickname if info else v["id"]
    return market


def rank_rows(values: Iterable[tuple[str, str, float]]) -> list[dict[str, Any]]:
    """[(player, role, net_worth)] -> rows with overall rank and rank within the role."""
    rows: list[dict[str, Any]] = [
        {"player": p, "role": r, "net_worth": float(v)} for p, r, v in values]
    rows.sort(key=lambda row: sort_key(row["net_worth"], row["player"]))
    per_role: dict[str, int] = {}
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
        per_role[row["role"]] = per_role.get(row["role"], 0) + 1
        row["role_rank"] = per_role[row["role"]]
    return rows


def standings(sim_game: Any, seats: dict[str, SeatInfo] | None = None) -> list[dict[str, Any]]:
    """Every player of the sim state, ranked; nicknames and seat kind added when known."""
    st = sim_game.st
    worth = sim_game.net_worths()
    rows = rank_rows((pid, st.roles[k], worth[pid]) for k, pid in enumerate(st.ids))
    for row in rows:
        k = st.player_index(row["player"])
        row["contributed"] = float(st.contributed[k])
        row["pnl"] = row["net_worth"] - row["contributed"]
        info = (seats or {}).get(row["player"])
        row["nickname"] = info.nickname if info else row["player"]
        row["kind"] = info.kind if info else ("bot" if st.bots[k] else "scenario")
        row["seat_id"] = info.seat_id if info else None
    return rows


def boards(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """{"overall": rows, "<role>": that role's rows (role_rank order)} from standings()."""
    out: dict[str, list[dict[str, Any]]] = {"overall": rows}
    for role in ROLES:
        out[role] = [r for r in rows if r["role"] == role]
    return out


STUDENT_KIND = "human"  # a seat a student joined (bots, the Foundation, scenario players: not)


def return_on(net_worth: float, contributed: float) -> float | None:
    """Return on what the player brought in (net worth / contributed - 1), the score students
    are ranked by: starting money differs by role (and by up to 16,000x from a speculator to a
    root validator), so absolute net worth would rank the richest seat, not the best play."""
    return net_worth / contributed - 1.0 if contributed > 0 else None


def _competition_ranks(rows: list[dict[str, Any]], key: Any, field: str) -> None:
    """Rank rows already sorted by `key`; equal keys share a rank ("1, 2, 2, 4"), so a class
    that has done nothing yet is all rank 1, not ranked by player id."""
    last, rank = None, 0
    for i, row in enumerate(rows, start=1):
        k = key(row)
        if k != last:
            last, rank = k, i
        row[field] = rank


def _score(row: dict[str, Any]) -> float:
    value = row["return"]
    return float("inf") if value is None else -round(value, TIE_DECIMALS)


def student_board(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Students only (from standings()), ranked by return on what each brought in, with the
    rank within their role among students: `student_rank` of `len(board)`, `student_role_rank`.
    Bots, the Foundation and scenario players are not on it (they are listed apart)."""
    board = [dict(r, **{"return": return_on(r["net_worth"], r["contributed"])})
             for r in rows if r.get("kind") == STUDENT_KIND]
    board.sort(key=lambda r: (_score(r), r["player"]))
    _competition_ranks(board, _score, "student_rank")
    for role in ROLES:
        _competition_ranks([r for r in board if r["role"] == role], _score, "student_role_rank")
    return board


def others(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Everyone not on the student board (bots, the Foundation, scenario players), by net
    worth: the debrief lists them apart."""
    return [r for r in rows if r.get("kind") != STUDENT_KIND]


def top(rows: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """What the projector and console show: the students' podium, by return (student rank,
    nickname, role, net worth, return). No player ids."""
    return podium(student_board(rows), n)


def podium(board: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """`top` of a student_board() already built."""
    return [{"rank": r["student_rank"], "nickname": r["nickname"], "role": r["role"],
             "net_worth": r["net_worth"], "return": r["return"]} for r in board[:n]]


def student_ranks(rows: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """{player: {"rank", "of", "role_rank", "role_of"}} for every student: what each student's
    page shows ("rank 4 of 28 students")."""
    return board_ranks(student_board(rows))


def board_ranks(board: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """`student_ranks` of a student_board() already built (the engine builds one a tick)."""
    per_role = {role: sum(1 for r in board if r["role"] == role) for role in ROLES}
    return {r["player"]: {"rank": r["student_rank"], "of": len(board),
                          "role_rank": r["student_role_rank"], "role_of": per_role[r["role"]]}
            for r in board}


def rank_fields(standing: dict[str, int] | None) -> dict[str, int | None]:
    """The `rank` and `rank_of` of a seat's `private` message and snapshot (docs/protocol.md):
    its rank among the students and how many students there are; null for a seat that is not
    a student's (the instructor's Foundation seat)."""
    if standing is None:
        return {"rank": None, "rank_of": None}
    return {"rank": standing["rank"], "rank_of": standing["of"]}


def rank_history(epoch_rows: Iterable[dict[str, Any]], roles: dict[str, str]
                 ) -> dict[str, list[int | None]]:
    """{player: [overall rank at the end of each epoch]} from stored epochs[] rows (their
    players[].net_worth, written by the sim at each epoch's end). None before a late joiner
    entered."""
    epochs = sorted(epoch_rows, key=lambda e: e["epoch"])
    history: dict[str, list[int | None]] = {}
    for j, ep in enumerate(epochs):
        ranked = rank_rows((p["id"], roles.get(p["id"], ""), p["net_worth"])
                           for p in ep.get("players", []))
        for row in ranked:
            history.setdefault(row["player"], [None] * len(epochs))[j] = row["rank"]
    for series in history.values():
        series.extend([None] * (len(epochs) - len(series)))
    return history
