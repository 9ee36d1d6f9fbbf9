"""The leaderboard: every player's net worth in TAO at liquidation value, boards per role.

Liquidation value is what unstaking everything right now would return: each subnet's alpha is
sold through the real swap plan (`sim.actions.plan_unstake`: fee and slippage included, and a
position too small to sell, below the minimum stake, is worth nothing because the chain would
refuse the sale); root stake counts at face value (root converts 1:1, no pool). Subnet pools
are independent, so selling one subnet's alpha never moves another's price and the order of
the sales does not matter.

Ties are broken deterministically: net worth rounded to a nano-TAO (so float noise cannot
reorder equal players), then the pseudonymous player id.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

ROLES = ("speculator", "subnet_owner", "root_validator")
TIE_DECIMALS = 9


@dataclass(frozen=True)
class Holding:
    subnet: int
    alpha: float
    value: float  # TAO the sale returns (0 when the sale would be refused)


def _sim() -> Any:
    from game import simapi

    return simapi.sim_module()


def holdings(sim_game: Any, player_id: str) -> list[Holding]:
    """The player's alpha per active subnet with what selling all of it returns now."""
    actions = _sim().actions
    st = sim_game.st
    k = st.player_index(player_id)
    if k is None:
        raise KeyError(player_id)
    out: list[Holding] = []
    for i in range(len(st.netuid)):
        if not st.active[i]:
            continue
        alpha = float(st.alpha[k, i])
        value = 0.0
        if alpha > 0.0:
            try:
                _, res = actions.plan_unstake(st, sim_game.params, sim_game.rules, i, alpha, None)
                value = float(res.out)
            except actions.Rejected:
                value = 0.0  # dust below the minimum, or a sale the reserve floor refuses
        out.append(Holding(int(st.netuid[i]), alpha, value))
    return out


def liquidation_value(sim_game: Any, player_id: str) -> float:
    """TAO balance + root stake (face value) + the TAO every alpha position sells for."""
    st = sim_game.st
    k = st.player_index(player_id)
    if k is None:
        raise KeyError(player_id)
    alpha_value = sum(h.value for h in holdings(sim_game, player_id))
    return float(st.tao[k]) + float(st.root[k]) + alpha_value


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
    rows = [{"player": p, "role": r, "net_worth": float(v)} for p, r, v in values]
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
    # The sim values every position at once with the same refusal rules as a real unstake
    # (liquidation_value() is the per-position reference; tests hold the two equal).
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


def top(rows: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """What the projector shows: rank, nickname, role, net worth. No player ids."""
    return [{"rank": r["rank"], "nickname": r["nickname"], "role": r["role"],
             "net_worth": r["net_worth"]} for r in rows[:n]]


def rank_of(rows: list[dict[str, Any]], player_id: str) -> dict[str, Any] | None:
    for r in rows:
        if r["player"] == player_id:
            return {"rank": r["rank"], "of": len(rows), "role_rank": r["role_rank"],
                    "role_of": sum(1 for x in rows if x["role"] == r["role"]),
                    "net_worth": r["net_worth"]}
    return None


def projector_top(game: Any, sim_game: Any, n: int) -> list[dict[str, Any]]:
    """Drop-in for services.leaderboard(game, sim_game, n): the same row shape."""
    return top(standings(sim_game, seat_map(game)), n)


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
