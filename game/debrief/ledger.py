"""The debrief's accumulators, fed one replayed tick at a time by analysis._analyse: each
player's books (income, trading costs, registration; income per subnet and role), the emission
per subnet, the story the scrubber shows (ticks, epochs, events, frames, net worth by tick), and
the names learned along the way. Each can be fed and checked alone."""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import sim
from game import leaderboard

TOP_FRAME = 5  # players shown on each scrubber frame
TOP_HOLDERS = 3  # holders shown per subnet on each frame
TRADE_DOS = ("stake", "unstake", "move", "buyback", "root_stake", "root_unstake",
             "register_subnet")

Balances = dict[str, tuple[float, float, dict[int, float]]]


def balances(sim_game: sim.Game) -> Balances:
    """{player: (free TAO, root stake, {subnet: alpha})} now."""
    st = sim_game.st
    nets = [int(n) for n in st.netuid]
    return {pid: (float(st.tao[k]), float(st.root[k]),
                  {nets[i]: float(st.alpha[k, i]) for i in range(len(nets))})
            for k, pid in enumerate(st.ids)}


def prices(sim_game: sim.Game) -> dict[int, float]:
    """{subnet: its pool's price in TAO} (0 for an inactive or empty pool)."""
    st = sim_game.st
    return {int(st.netuid[i]): (float(st.tau[i] / st.x[i]) if st.active[i] and st.x[i] > 0
                                else 0.0) for i in range(len(st.netuid))}


def trade_effect(fill: dict[str, Any]) -> tuple[float, float, dict[int, float], float, float,
                                                float]:
    """What a filled action did to its player's balances, and its costs, in TAO.

    Returns (d_tao, d_root, {subnet: d_alpha}, trading cost, income, registration cost).
    Trading cost is fee + slippage against the price before the trade: paying `tao` for
    `alpha` worth alpha*price_before costs the difference."""
    do = fill.get("do")
    tao, alpha = float(fill.get("tao") or 0.0), float(fill.get("alpha") or 0.0)
    pb = float(fill.get("price_before") or 0.0)
    if do == "stake":
        return -tao, 0.0, {int(fill["subnet"]): alpha}, tao - alpha * pb, 0.0, 0.0
    if do == "buyback":
        from_revenue = float(fill.get("from_revenue") or 0.0)
        # Revenue the subnet earned is the owner's income the moment it is spent on alpha.
        return (-(tao - from_revenue), 0.0, {int(fill["subnet"]): alpha}, tao - alpha * pb,
                from_revenue, 0.0)
    if do == "unstake":
        return tao, 0.0, {int(fill["subnet"]): -alpha}, alpha * pb - tao, 0.0, 0.0
    if do == "move":
        got = float(fill.get("alpha_received") or 0.0)
        to_pb = float(fill.get("to_price_before") or 0.0)
        return (0.0, 0.0, {int(fill["from"]): -alpha, int(fill["to"]): got},
                alpha * pb - got * to_pb, 0.0, 0.0)
    if do == "root_stake":
        return -tao, tao, {}, 0.0, 0.0, 0.0
    if do == "root_unstake":
        return tao, -tao, {}, 0.0, 0.0, 0.0
    if do == "register_subnet":
        return -tao, 0.0, {}, 0.0, 0.0, tao
    return 0.0, 0.0, {}, 0.0, 0.0, 0.0


def _finite(x: float) -> float:
    return float(x) if math.isfinite(x) else 0.0


def fill_records(t: int, fills: list[dict[str, Any]], actor: dict[int, str]
                 ) -> list[dict[str, Any]]:
    """The tick's trades and joins as the debrief lists them, with who placed each (`actor`:
    command id -> actor; a fill without a command is scripted, one an event caused `event`)."""
    out = []
    for f in fills:
        if not (f.get("do") in TRADE_DOS or f.get("do") == "join"):
            continue
        ref = f.get("ref")
        source = ("event" if "event" in f and f.get("do") != "event" else
                  actor.get(ref, "scripted") if ref is not None else "scripted")
        out.append({
            "tick": t, "player": f.get("player"), "do": f.get("do"),
            "subnet": f.get("subnet"), "from": f.get("from"), "to": f.get("to"),
            "tao": f.get("tao"), "alpha": f.get("alpha"),
            "alpha_received": f.get("alpha_received"), "fee": f.get("fee"),
            "price_before": f.get("price_before"), "price_after": f.get("price_after"),
            "limit_price": f.get("limit_price"), "status": f.get("status"),
            "reason": f.get("reason"), "source": source, "command": ref})
    return out


class Names:
    """Each player's role and each subnet's name, as the replay meets them."""

    def __init__(self) -> None:
        self.roles: dict[str, str] = {}
        self.subnets: dict[int, str] = {}

    def learn(self, sim_game: sim.Game) -> None:
        st = sim_game.st
        for k, pid in enumerate(st.ids):
            self.roles[pid] = st.roles[k]
        for i in range(len(st.netuid)):
            self.subnets[int(st.netuid[i])] = st.names[i]


class Books:
    """Per player: income, trading costs (fees and slippage) and registration, in TAO; and
    emission income per subnet and role. A tick's balance change that its fills do not explain
    is emission income."""

    def __init__(self) -> None:
        self.accounts: dict[str, dict[str, float]] = {}
        self.by_subnet_role: dict[int, dict[str, float]] = {}

    def account(self, pid: str) -> dict[str, float]:
        return self.accounts.setdefault(pid, {"income": 0.0, "trading": 0.0,
                                              "registration": 0.0})

    def add_tick(self, fills: list[dict[str, Any]], before: Balances, after: Balances,
                 prices: dict[int, float], roles: dict[str, str]) -> None:
        expect = self._expected(fills)
        for pid, (tao1, root1, alpha1) in after.items():
            tao0, root0, alpha0 = before.get(pid, (0.0, 0.0, {}))
            e = expect.get(pid, [0.0, 0.0, {}])
            got = (tao1 - tao0 - e[0]) + (root1 - root0 - e[1])
            role = roles.get(pid, "")
            for sid, a1 in alpha1.items():
                da = a1 - alpha0.get(sid, 0.0) - e[2].get(sid, 0.0)
                if abs(da) > 1e-12:
                    value = da * prices.get(sid, 0.0)
                    got += value
                    slot = self.by_subnet_role.setdefault(sid, {})
                    slot[role] = slot.get(role, 0.0) + value
            if abs(got) > 1e-12:
                self.account(pid)["income"] += _finite(got)

    def _expected(self, fills: list[dict[str, Any]]) -> dict[str, list[Any]]:
        """The balance changes the tick's filled actions explain, per player; books their
        costs and income on the way."""
        expect: dict[str, list[Any]] = {}
        for f in fills:
            if f.get("status") != "filled" or not isinstance(f.get("player"), str):
                continue
            pid = f["player"]
            e = expect.setdefault(pid, [0.0, 0.0, {}])
            if f.get("do") == "join":
                e[0] += float(f.get("tao") or 0.0)
                e[1] += float(f.get("root_stake") or 0.0)
                continue
            d_tao, d_root, d_alpha, cost, income, reg = trade_effect(f)
            e[0] += d_tao
            e[1] += d_root
            for sid, a in d_alpha.items():
                e[2][sid] = e[2].get(sid, 0.0) + a
            a_ = self.account(pid)
            a_["trading"] += _finite(cost)
            a_["income"] += _finite(income)
            a_["registration"] += _finite(reg)
        return expect


class Emission:
    """Each subnet's emission over the game, in TAO at the epoch's prices: to its miner classes
    (workers, holders, owner), to its validators, and the root dividends it paid."""

    def __init__(self) -> None:
        self.by_subnet: dict[int, dict[str, float]] = {}

    def add_epoch(self, epoch_row: dict[str, Any] | None, prices: dict[int, float]) -> None:
        if epoch_row is None:
            return
        for s in epoch_row["subnets"]:
            sid = int(s["id"])
            p = prices.get(sid, 0.0)
            slot = self.by_subnet.setdefault(sid, {
                "workers": 0.0, "holders": 0.0, "owner": 0.0, "validators": 0.0,
                "root_tao": 0.0})
            for cls in ("workers", "holders", "owner"):
                slot[cls] += float(s["incentive"].get(cls, 0.0)) * p
            slot["validators"] += float(s.get("alpha_dividends", 0.0)) * p
            slot["root_tao"] += float(s.get("root_dividends_tao", 0.0))


class Story:
    """What the scrubber replays: every tick's row, the epochs, the events (the latest one is
    the frames' banner), a frame per tick (the top players, each subnet's top holders) and
    every player's net worth by tick. `nick` names a player."""

    def __init__(self, nick: Callable[[str], str]) -> None:
        self.nick = nick
        self.ticks: list[dict[str, Any]] = []
        self.epochs: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.frames: list[dict[str, Any]] = []
        self.net_worth: dict[str, list[float | None]] = {}
        self.banner: dict[str, Any] | None = None

    def add_tick(self, t: int, res: sim.TickResult, sim_game: sim.Game,
                 roles: dict[str, str]) -> None:
        row = res.tick_row
        self.ticks.append(row)
        for ev in res.events or []:
            self.banner = {"index": ev.get("index"), "title": ev.get("title", ""),
                           "text": ev.get("text", ""), "tick": t, "epoch": row["epoch"]}
            self.events.append(self.banner)
        if res.epoch_row is not None:
            ep = res.epoch_row
            self.epochs.append({"epoch": ep["epoch"], "tick": ep["tick"],
                                "network_health": ep["network_health"],
                                "players": [{"id": p["id"], "net_worth": p["net_worth"]}
                                            for p in ep["players"]]})
        st = sim_game.st
        worth = sim_game.net_worths()
        for pid, v in worth.items():
            self.net_worth.setdefault(pid, [None] * t).append(v)
        ranked = leaderboard.rank_rows((pid, roles[pid], v) for pid, v in worth.items())
        self.frames.append({
            "tick": t, "epoch": row["epoch"], "banner": self.banner,
            "top": [{"rank": r["rank"], "nickname": self.nick(r["player"]), "role": r["role"],
                     "net_worth": r["net_worth"]} for r in ranked[:TOP_FRAME]],
            "holders": self._holders(st)})

    def _holders(self, st: Any) -> dict[str, list[dict[str, Any]]]:
        holders: dict[str, list[dict[str, Any]]] = {}
        for i in range(len(st.netuid)):
            if not st.active[i]:
                continue
            col = st.alpha[:, i]
            order = sorted(range(len(st.ids)), key=lambda k: (-float(col[k]), st.ids[k]))
            holders[str(int(st.netuid[i]))] = [
                {"nickname": self.nick(st.ids[k]), "role": st.roles[k], "alpha": float(col[k])}
                for k in order[:TOP_HOLDERS] if col[k] > 0]
        return holders
