"""Game: the facade the server, the CLI and the tests use (docs/architecture.md).

One `step()` settles a tick: due scripted events fire, the tick's actions (scripted, given and
bot) settle in a seeded random order, the tick's blocks advance (exact or fast path), the epoch
runs if the tick closes one, and the invariants are checked. All randomness comes from
generators derived from (seed, tick, ...), so no RNG state is stored and a replay of the
command log reproduces the state exactly.
"""
from __future__ import annotations

import copy
import json
from typing import Any, NamedTuple

import numpy as np

from sim import actions as act, bots, coinbase, epoch, liquidation
from sim.invariants import check_all, check_k
from sim.params import CLOCK_DEFAULTS, MECHANISMS, MINER_CLASSES, RULES, Params
from sim.state import PLAYER_SUBNET_TOTALS, PLAYER_TOTALS, State, digest, dumps

FORMAT_VERSION = 1
HISTORY_LEN = 24  # ticks of price/share history carried for bot observations


class TickResult(NamedTuple):
    tick_row: dict[str, Any]
    epoch_row: dict[str, Any] | None
    fills: list[dict[str, Any]]
    events: list[dict[str, Any]]


class Game:
    def __init__(self, scenario: dict[str, Any], seed: int, state: State,
                 event_status: list[str], extra: dict[str, Any] | None = None) -> None:
        self.scenario = scenario
        self.seed = int(seed)
        self.st = state
        self.params = Params.from_dict(scenario.get("params"))
        self.rules: frozenset[str] = frozenset(scenario.get("rules") or ["launch"]) | {"launch"}
        unknown = self.rules - set(RULES)
        if unknown:
            raise ValueError(f"unknown rules: {sorted(unknown)}")
        clock = {**CLOCK_DEFAULTS, **(scenario.get("clock") or {})}
        self.blocks_per_tick = int(clock["blocks_per_tick"])
        self.ticks_per_epoch = int(clock["ticks_per_epoch"])
        self.epochs = int(clock["epochs"])
        # The chain epoch (Yuma) runs every tempo_blocks blocks; by default once per game epoch
        # (docs/mechanism.md "Tempo"). Shorter: several chain epochs settle within a tick, and
        # the game epoch's row reports their sum.
        self.tempo_blocks = int(clock.get("tempo_blocks")
                                or self.blocks_per_tick * self.ticks_per_epoch)
        self.events_def: list[dict[str, Any]] = list(scenario.get("events") or [])
        self.event_status = event_status
        self._scripted: dict[int, list[dict[str, Any]]] = {}
        for a in scenario.get("actions") or []:
            self._scripted.setdefault(int(a["tick"]), []).append(
                {k: v for k, v in a.items() if k != "tick"})
        extra = extra or {}
        # Small derived memory that views and bots use; serialised so replays match.
        # history: {"price"|"share": {str(netuid): [oldest .. newest]}}
        self.history: dict[str, dict[str, list[float]]] = extra.get(
            "history", {"price": {}, "share": {}})
        # last epoch's payout per subnet: {str(netuid): {"incentive": {...}, "alpha_dividends"}}
        self.last_epoch: dict[str, dict[str, Any]] = extra.get("last_epoch", {})
        # chain epochs settled since the last game-epoch row (summed into it); empty unless
        # the tempo does not line up with the game's epochs
        self.period: dict[str, Any] = extra.get("period") or {}
        self.bot_params: dict[str, dict[str, Any]] = extra.get("bot_params") or {
            str(pl["id"]): dict(pl["bot_params"]) for pl in scenario.get("players") or []
            if isinstance(pl.get("bot_params"), dict)}

    # ---- construction ----------------------------------------------------------------------
    @classmethod
    def from_scenario(cls, scn: dict[str, Any], seed: int | None = None) -> "Game":
        """Build a game from a validated scenario dict (defaults filled by load_scenario;
        missing optional fields take docs/mechanism.md defaults here too)."""
        scn = copy.deepcopy(scn)
        params = Params.from_dict(scn.get("params"))
        st = State()
        st.tao_issued = params.tao_issued
        st.lock_last = params.lock_min
        # cost starts at the minimum: 2*L - L*(interval/interval) = L
        st.lock_block = -params.lock_interval
        for sub in scn.get("subnets") or []:
            age = int(sub.get("age_blocks", 0))
            st.add_subnet(netuid=int(sub["id"]), name=str(sub.get("name", f"Subnet {sub['id']}")),
                          tau=float(sub["tao"]), x=float(sub["alpha"]),
                          o=float(sub.get("alpha_out", 0.0)),
                          m=float(sub.get("moving_price", 0.0)),
                          mech=MECHANISMS.index(sub.get("mechanism", "ai_work")), age=age,
                          owner=-1, reg_block=-age,  # immunity counts from emission start
                          S=float(sub.get("flow_ema", 0.0)))
            st.miner_burn[-1] = float(sub.get("miner_burn", 0.0))  # `owner_burn`
        for pl in scn.get("players") or []:
            role = pl.get("role", "speculator")
            k = st.add_player(pid=str(pl["id"]), role=role, tao=float(pl.get("tao", 0.0)),
                              bot=pl.get("bot"))
            root = float(pl.get("root_stake", 0.0) or 0.0)
            st.root[k] = root
            st.root_val[k] = k if role == "root_validator" else -1
            st.contributed[k] += root
            if pl.get("root_seats") is not None:  # seated only there (absent: everywhere)
                seats = {int(n) for n in pl["root_seats"]}
                st.no_seat[k] = [int(n) not in seats for n in st.netuid]
            if pl.get("subnet") is not None and role == "subnet_owner":
                i = st.subnet_index(int(pl["subnet"]))
                if i is None:
                    raise ValueError(f"player {pl['id']}: unknown subnet {pl['subnet']}")
                st.owner[i] = k
            # optional starting alpha, taken from the subnet's non-player outstanding
            for netuid, amount in (pl.get("alpha") or {}).items():
                i = st.subnet_index(int(netuid))
                if i is None:
                    raise ValueError(f"player {pl['id']}: unknown subnet {netuid}")
                amount = float(amount)
                short = max(0.0, amount - float(st.net_alpha[i]))
                st.o[i] += short
                st.net_alpha[i] += short
                st.alpha_issued[i] += short
                st.net_alpha[i] -= amount
                st.alpha[k, i] += amount
                st.contributed[k] += amount * float(st.tau[i] / st.x[i])
        st.root_network = float((scn.get("root") or {}).get("stake", 0.0))
        st.tao_initial = (float(st.tao.sum()) + float(st.tau.sum()) + float(st.root.sum())
                          + st.root_network)
        seed = int(scn.get("seed", 0) if seed is None else seed)
        g = cls(scn, seed, st, ["pending"] * len(scn.get("events") or []))
        check_all(st)
        g._record_history()
        return g

    # ---- clock -----------------------------------------------------------------------------
    @property
    def tick(self) -> int:
        return self.st.tick

    @property
    def epoch(self) -> int:
        return self.st.tick // self.ticks_per_epoch

    @property
    def total_ticks(self) -> int:
        return self.epochs * self.ticks_per_epoch

    @property
    def finished(self) -> bool:
        return self.st.tick >= self.total_ticks

    # ---- the tick ----------------------------------------------------------------------------
    def step(self, actions: list[dict[str, Any]] | None = None, exact: bool = False,
             bots: bool = True) -> TickResult:
        if self.finished:
            raise RuntimeError("the game is finished")
        st, t = self.st, self.st.tick
        fills: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        # Scripted events due by this epoch fire at the start of its first tick (held or
        # skipped ones wait for the instructor).
        for idx, ev in enumerate(self.events_def):
            if self.event_status[idx] == "pending" and int(ev.get("epoch", 0)) <= self.epoch:
                events.append(self._fire_event(idx, fills))
        batch = [dict(a) for a in self._scripted.get(t, [])]
        # copies, so callers' dicts are never touched (anything else is rejected on apply)
        batch += [dict(a) if isinstance(a, dict) else a for a in (actions or [])]
        if bots:
            seats = {pid: b for pid, b in zip(st.ids, st.bots, strict=True) if b}
            batch += self.bot_actions(seats)
        # settlement order: a per-tick generator from (seed, tick), nothing stored
        order = np.random.default_rng([self.seed, t, 0]).permutation(len(batch))
        for j in order:
            fills.append(self._apply(batch[int(j)], fills, events))
        self._run_blocks(self.blocks_per_tick, exact)
        epoch_row = None
        if (t + 1) % self.ticks_per_epoch == 0:
            res = self.period or {"subnets": [], "work_value": 0.0, "total_value": 0.0}
            self.period = {}
            tv = res["total_value"]
            epoch_row = {"epoch": t // self.ticks_per_epoch, "tick": t,
                         "subnets": res["subnets"], "players": self._player_rows(),
                         "network_health": res["work_value"] / tv if tv > 0 else 0.0}
        st.tick += 1
        check_all(st)
        self._record_history()
        return TickResult(self._tick_row(t), epoch_row, fills, events)

    def _run_blocks(self, n: int, exact: bool) -> None:
        """Advance n blocks, settling a chain epoch at every multiple of tempo_blocks (the
        chain's epoch schedule, counted from the game's first block). The tick's injection
        totals add up over the pieces."""
        st = self.st
        run = coinbase.run_blocks_exact if exact else coinbase.run_blocks_fast
        tao_in: np.ndarray | None = None
        alpha_in: np.ndarray | None = None
        while n > 0:
            seg = min(n, self.tempo_blocks - st.block % self.tempo_blocks)
            run(st, self.params, self.rules, seg)
            if tao_in is None or alpha_in is None:
                tao_in, alpha_in = st.tick_tao_in.copy(), st.tick_alpha_in.copy()
            else:  # a subnet registered mid-tick has no earlier piece
                tao_in = np.append(tao_in, np.zeros(st.n_subnets - tao_in.size))
                alpha_in = np.append(alpha_in, np.zeros(st.n_subnets - alpha_in.size))
                tao_in += st.tick_tao_in
                alpha_in += st.tick_alpha_in
            n -= seg
            if st.block % self.tempo_blocks == 0:
                self._chain_epoch()
        if tao_in is not None:
            st.tick_tao_in[:], st.tick_alpha_in[:] = tao_in, alpha_in

    def _chain_epoch(self) -> None:
        """One chain epoch: Yuma-lite pays every subnet's pots; its figures are added to the
        game epoch's row, and bots and views see them as the last epoch's payout."""
        res = epoch.run_epoch(self.st, self.params, self.rules, self._miner_sell)
        self.last_epoch = {str(r["id"]): {"incentive": dict(r["incentive"]),
                                          "alpha_dividends": r["alpha_dividends"]}
                           for r in res["subnets"]}
        if not self.period:  # the first chain epoch of the game epoch: its figures as they are
            self.period = {"subnets": res["subnets"], "work_value": res["work_value"],
                           "total_value": res["total_value"]}
            return
        p = self.period
        p["work_value"] += res["work_value"]
        p["total_value"] += res["total_value"]
        rows = {r["id"]: r for r in p["subnets"]}
        for r in res["subnets"]:
            q = rows.get(r["id"])
            if q is None:
                p["subnets"].append(r)
                continue
            for k in q["incentive"]:
                q["incentive"][k] += r["incentive"][k]
            q["alpha_dividends"] += r["alpha_dividends"]
            q["root_dividends_tao"] += r["root_dividends_tao"]

    def _record_history(self) -> None:
        st = self.st
        shares = coinbase.current_shares(st, self.rules, self.params)
        for i in self._active():
            key = str(int(st.netuid[i]))
            for name, value in (("price", float(st.tau[i] / st.x[i])),
                                ("share", float(shares[i]))):
                series = self.history.setdefault(name, {}).setdefault(key, [])
                series.append(value)
                del series[:-HISTORY_LEN]

    def _apply(self, a: dict[str, Any], fills: list[dict[str, Any]],
               events: list[dict[str, Any]]) -> dict[str, Any]:
        if isinstance(a, dict) and a.get("do") == "event":
            return self._event_action(a, fills, events)
        fill = act.apply_action(self.st, a, params=self.params, rules=self.rules,
                                tick=self.st.tick)
        if (fill["status"] == "filled" and a.get("do") == "join"
                and isinstance(a.get("bot_params"), dict)):
            self.bot_params[str(a["player"])] = dict(a["bot_params"])
        return fill

    def _event_action(self, a: dict[str, Any], fills: list[dict[str, Any]],
                      events: list[dict[str, Any]]) -> dict[str, Any]:
        """Instructor control of scripted events: fire now, hold (no automatic firing) or
        skip (never fires)."""
        fill = act.new_fill(a, self.st.tick)
        reason = None
        idx: Any = a.get("event")
        op: Any = a.get("op")
        if a.get("player") != "instructor":
            reason = "not_instructor"
        elif isinstance(idx, bool) or not isinstance(idx, int) or not (
                0 <= idx < len(self.events_def)):
            reason = "unknown_event"
        elif op not in ("fire", "hold", "skip"):
            reason = "bad_op"
        elif self.event_status[idx] in ("fired", "skipped"):
            reason = "event_closed"
        if reason:
            fill.update(status="rejected", reason=reason)
            return fill
        if op == "fire":
            events.append(self._fire_event(idx, fills))
        else:
            self.event_status[idx] = "held" if op == "hold" else "skipped"
        fill["status"] = "filled"
        return fill

    def _fire_event(self, idx: int, fills: list[dict[str, Any]]) -> dict[str, Any]:
        ev = self.events_def[idx]
        self.event_status[idx] = "fired"
        for a in ev.get("actions") or []:
            f = act.apply_action(self.st, dict(a), params=self.params, rules=self.rules,
                                 tick=self.st.tick)
            f["event"] = idx
            fills.append(f)
        return {"index": idx, "epoch": ev.get("epoch"), "title": ev.get("title", ""),
                "text": ev.get("text", ""), "tick": self.st.tick, "status": "fired"}

    def _miner_sell(self, i: int, alpha: float) -> float:
        """External ai_work miners sell part of their alpha each epoch, paying the user fee; a
        sale the pool cannot take (minimum, floor) is skipped."""
        st = self.st
        try:
            sold, res = act.plan_unstake(st, self.params, self.rules, i, alpha, None)
        except act.Rejected:
            return 0.0
        k_before = float(st.tau[i] * st.x[i])
        st.tau[i], st.x[i] = res.tao, res.alpha
        check_k(k_before, res.tao * res.alpha)
        st.o[i] -= sold
        st.alpha_issued[i] -= res.removed  # `percent_fee_out`: the alpha fee leaves the pool
        st.net_alpha[i] -= sold
        st.tao_outside += res.out
        st.flow[i] -= res.gross
        return res.out

    # ---- rows ----------------------------------------------------------------------------------
    def _active(self) -> list[int]:
        return [int(i) for i in np.nonzero(self.st.active)[0]]

    def _pools(self) -> list[tuple[int, dict[str, Any]]]:
        """Each active subnet's slot, with its pool as the tick rows and the market show it:
        reserves, prices, emission share, root proportion."""
        st = self.st
        R = st.root_total()
        w = self.params.tao_weight
        shares = coinbase.current_shares(st, self.rules, self.params)
        return [(i, {"id": int(st.netuid[i]), "tao": float(st.tau[i]), "alpha": float(st.x[i]),
                     "alpha_out": float(st.o[i]), "price": float(st.tau[i] / st.x[i]),
                     "moving_price": float(st.m[i]), "share": float(shares[i]),
                     "root_prop": float(coinbase.root_proportion(w, R,
                                                                 float(st.x[i] + st.o[i])))})
                for i in self._active()]

    def _tick_row(self, t: int) -> dict[str, Any]:
        st = self.st
        subnets = [{**pool, "tao_in": float(st.tick_tao_in[i]),
                    "alpha_in": float(st.tick_alpha_in[i])} for i, pool in self._pools()]
        return {"tick": t, "epoch": t // self.ticks_per_epoch, "block": st.block,
                "tao_emission": coinbase.halving_emission(st.tao_issued,
                                                          self.params.block_emission),
                "tao_issued": st.tao_issued, "root_stake": st.root_total(), "subnets": subnets}

    def _player_rows(self) -> list[dict[str, Any]]:
        st = self.st
        worth = self._net_worths()
        active = self._active()
        keys = [str(int(st.netuid[i])) for i in active]
        rows = []
        for k, pid in enumerate(st.ids):
            held = st.alpha[k, active].tolist()
            rows.append({"id": pid, "tao": float(st.tao[k]),
                         "alpha": dict(zip(keys, held, strict=True)),
                         "root_stake": float(st.root[k]), "net_worth": float(worth[k])})
        return rows

    # ---- views -----------------------------------------------------------------------------------
    def _net_worths(self) -> np.ndarray:
        return liquidation.net_worths(self.st, self.params, self.rules)

    def _index(self, player_id: str) -> int:
        k = self.st.player_index(player_id)
        if k is None:
            raise KeyError(player_id)
        return k

    def net_worth(self, player_id: str) -> float:
        """One player's liquidation value (sim/liquidation.py)."""
        return liquidation.net_worth(self.st, self.params, self.rules, self._index(player_id))

    def net_worths(self) -> dict[str, float]:
        """Every player's liquidation value, computed at once (what a leaderboard needs)."""
        return dict(zip(self.st.ids, map(float, self._net_worths()), strict=True))

    def public_view(self) -> dict[str, Any]:
        st = self.st
        subnets = []
        for i, pool in self._pools():
            owner = int(st.owner[i])
            last = self.last_epoch.get(str(int(st.netuid[i])), {})
            subnets.append({
                **pool, "name": st.names[i],
                "mechanism": MECHANISMS[int(st.mech[i])],
                "owner": st.ids[owner] if owner >= 0 else None,
                "revenue": float(st.revenue[i]), "age_blocks": int(st.age[i]),
                "incentive": last.get("incentive"),
                "alpha_dividends": last.get("alpha_dividends"),
                "flow_ema": float(st.S[i]),
            })
        # Root-validator players a root staker may nominate, with their own root stake and
        # all the root stake that sits with them (own + nominated: what weighs w*stake).
        validators = [{"id": st.ids[v], "root_stake": float(st.root[v]),
                       "stake": float(st.root[st.root_val == v].sum()),
                       "seats": [int(st.netuid[i]) for i in self._active()
                                 if not st.no_seat[v, i]]}
                      for v in epoch.root_validators(st)]
        return {
            "tick": st.tick, "epoch": self.epoch, "block": st.block,
            "total_ticks": self.total_ticks, "ticks_per_epoch": self.ticks_per_epoch,
            "blocks_per_tick": self.blocks_per_tick, "finished": self.finished,
            "params": self.params.as_dict(),
            "tao_emission": coinbase.halving_emission(st.tao_issued, self.params.block_emission),
            "tao_issued": st.tao_issued, "root_stake": st.root_total(),
            "root_network": st.root_network,
            "lock_cost": act.lock_cost(st, self.params), "rules": sorted(self.rules),
            "subnets": subnets, "root_validators": validators,
            "events": [{"index": j, "epoch": ev.get("epoch"), "title": ev.get("title", ""),
                        "text": ev.get("text", "")}
                       for j, ev in enumerate(self.events_def)
                       if self.event_status[j] == "fired"],
        }

    def private_view(self, player_id: str) -> dict[str, Any]:
        k = self._index(player_id)
        active = self._active()
        sale = liquidation.position_values(self.st, self.params, self.rules, k)
        return self._private_view(player_id, k, active, self._keys(active), sale)

    def private_views(self, player_ids: list[str]) -> list[dict[str, Any]]:
        """`private_view` of each player, in order, equal to asking one by one (to the bit,
        tests/sim/test_private_views.py), but worked out for all of them at once: a tick sends
        one to each student, and a thousand one by one took ~35 ms (docs/performance.md).
        `private_view` stays the plain statement of what a view holds."""
        st = self.st
        rows = [self._index(p) for p in player_ids]
        if not rows:
            return []
        active = self._active()
        keys = self._keys(active)
        netuid = [int(n) for n in st.netuid.tolist()]
        sales = liquidation.position_values(st, self.params, self.rules, rows)
        worth = (st.tao[rows] + st.root[rows] + liquidation.proceeds(sales)).tolist()
        alpha = st.alpha[np.ix_(rows, active)].tolist()
        values = sales.tolist()
        owned: dict[int, list[int]] = {}  # player -> the active slots it owns, in slot order
        for i in active:
            owned.setdefault(int(st.owner[i]), []).append(i)
        by_row = self._nonzero_by_row
        ix = np.array(rows)
        cut_rows = st.owner_cut_paid[ix]
        cut_at = by_row((cut_rows != 0.0) | (st.active & (st.owner == ix[:, None])))
        div_rows = st.root_div_alpha[ix]
        div_at = by_row(div_rows != 0.0)
        wset_at = by_row(st.wset[ix][:, active])
        tao, root, contributed = (st.tao[rows].tolist(), st.root[rows].tolist(),
                                  st.contributed[rows].tolist())
        div_tao = st.root_div_tao[rows].tolist()
        revenue = st.revenue.tolist()
        views = []
        for n, (p, k) in enumerate(zip(player_ids, rows, strict=True)):
            v = int(st.root_val[k])
            mine = owned.get(k, [])
            owns = [netuid[i] for i in mine]
            nominated = 0.0
            seats: list[int] = []
            if st.roles[k] == "root_validator":
                seats = [netuid[i] for i in active if not st.no_seat[k, i]]
                others = st.root_val == k
                others[k] = False
                nominated = float(st.root[others].sum())
            cut, div = cut_rows[n].tolist(), div_rows[n].tolist()
            views.append({
                "id": p, "role": st.roles[k], "bot": st.bots[k], "tao": tao[n],
                "root_stake": root[n],
                "root_validator": "network" if v < 0 else st.ids[v],
                "alpha": dict(zip(keys, alpha[n], strict=True)),
                "alpha_value": dict(zip(keys, values[n], strict=True)),
                "net_worth": worth[n], "contributed": contributed[n],
                "pnl": worth[n] - contributed[n],
                "owns": owns, "subnet": owns[0] if owns else None,
                "revenue": sum(revenue[i] for i in mine),
                "revenue_by_subnet": {str(netuid[i]): revenue[i] for i in mine},
                "weights": {keys[j]: dict(zip(MINER_CLASSES, map(float, st.weights[k, active[j]]),
                                              strict=True)) for j in wset_at.get(n, ())},
                "bot_params": dict(self.bot_params.get(p, {})),
                "owner_cut": {str(netuid[i]): cut[i] for i in cut_at.get(n, ())},
                "root_dividends_tao": div_tao[n],
                "root_dividends_alpha": {str(netuid[i]): div[i] for i in div_at.get(n, ())},
                "nominated": nominated, "root_seats": seats,
            })
        return views

    @staticmethod
    def _nonzero_by_row(mask: np.ndarray) -> dict[int, list[int]]:
        """The True columns of each row of a 2-D mask, in order (rows with none left out)."""
        out: dict[int, list[int]] = {}
        for r, c in zip(*np.nonzero(mask), strict=True):
            out.setdefault(int(r), []).append(int(c))
        return out

    def _keys(self, active: list[int]) -> list[str]:
        """The views' subnet keys (netuids as text) of these slots."""
        return [str(int(self.st.netuid[i])) for i in active]

    def _private_view(self, player_id: str, k: int, active: list[int], keys: list[str],
                      sale: np.ndarray) -> dict[str, Any]:
        """Player k's view; `keys`: the `active` slots' subnet keys, `sale`: its position
        values over them."""
        st = self.st
        v = int(st.root_val[k])
        held = st.alpha[k, active]
        alpha = dict(zip(keys, held.tolist(), strict=True))
        value = dict(zip(keys, sale.tolist(), strict=True))
        nw = liquidation.net_worth(st, self.params, self.rules, k, sale)
        owns = [int(st.netuid[i]) for i in active if int(st.owner[i]) == k]
        weights = {str(int(st.netuid[i])): dict(zip(MINER_CLASSES,
                                                    map(float, st.weights[k, i]), strict=True))
                   for i in active if st.wset[k, i]}
        # Income so far (sim/epoch.py books it as it is credited): the owner cut per subnet
        # (every subnet owned now, and any pruned one that paid it), root dividends in TAO and,
        # where paid as alpha, per subnet.
        cut = st.owner_cut_paid[k]
        owner_cut = {str(int(st.netuid[i])): float(cut[i])
                     for i in np.nonzero((cut != 0.0) | (st.active & (st.owner == k)))[0]}
        root_div_alpha = {str(int(st.netuid[i])): float(st.root_div_alpha[k, i])
                          for i in np.nonzero(st.root_div_alpha[k])[0]}
        nominated = 0.0
        seats: list[int] = []
        if st.roles[k] == "root_validator":
            seats = [int(st.netuid[i]) for i in active if not st.no_seat[k, i]]
            others = st.root_val == k
            others[k] = False
            nominated = float(st.root[others].sum())
        return {
            "id": player_id, "role": st.roles[k], "bot": st.bots[k], "tao": float(st.tao[k]),
            "root_stake": float(st.root[k]),
            "root_validator": "network" if v < 0 else st.ids[v],
            "alpha": alpha, "alpha_value": value, "net_worth": nw,
            "contributed": float(st.contributed[k]), "pnl": nw - float(st.contributed[k]),
            "owns": owns, "subnet": owns[0] if owns else None,
            "revenue": sum(float(st.revenue[st.subnet_index(n)]) for n in owns),
            "revenue_by_subnet": {str(n): float(st.revenue[st.subnet_index(n)]) for n in owns},
            "weights": weights, "bot_params": dict(self.bot_params.get(player_id, {})),
            "owner_cut": owner_cut, "root_dividends_tao": float(st.root_div_tao[k]),
            "root_dividends_alpha": root_div_alpha, "nominated": nominated,
            "root_seats": seats,  # root validator: subnets where its root stake counts
        }

    def observation(self, player_id: str, public: dict[str, Any] | None = None,
                    rows: list[dict[str, Any]] | None = None,
                    private: dict[str, Any] | None = None) -> dict[str, Any]:
        """What a bot policy sees: sim.bots.observe() over this game's views and its carried
        price/share history (subnet ids as ints there). `public` (and the player's `private`
        view) may be passed in when many bots observe the same tick."""
        history = {name: {int(k): list(v) for k, v in series.items()}
                   for name, series in self.history.items()}
        public = public if public is not None else self.public_view()
        private = private if private is not None else self.private_view(player_id)
        return bots.observe((public, private), player_id, history=history, rows=rows)

    def bot_actions(self, policies: dict[str, str]) -> list[dict[str, Any]]:
        """What these bots want to do at the current tick. Each bot draws from its own stream
        (seed, tick, 1, player index), never the settlement stream."""
        out: list[dict[str, Any]] = []
        public = self.public_view() if policies else None
        # one conversion of the shared public view for every bot of the tick
        rows = bots.public_rows(public) if public else None
        playing = [(pid, k) for pid in sorted(policies)
                   if (k := self.st.player_index(pid)) is not None
                   and bots.POLICIES.get(policies[pid]) is not None]
        privates = self.private_views([pid for pid, _ in playing])  # every bot's, in one pass
        for (pid, k), private in zip(playing, privates, strict=True):
            fn = bots.POLICIES[policies[pid]]
            rng = np.random.default_rng([self.seed, self.st.tick, 1, k])
            for a in fn(self.observation(pid, public, rows, private), rng) or []:
                a = dict(a)
                a["player"] = pid
                out.append(a)
        return out

    def quote(self, action: dict[str, Any]) -> dict[str, Any]:
        """What the action would do now, on a throwaway copy of the state."""
        scratch = self.st.copy()
        if isinstance(action, dict) and action.get("do") == "event":
            return {**act.new_fill(action, scratch.tick), "status": "rejected",
                    "reason": "unknown_action"}
        fill = act.apply_action(scratch, action, params=self.params, rules=self.rules,
                                tick=scratch.tick)
        if fill["status"] == "filled" and fill.get("alpha") and fill.get("tao"):
            fill["avg_price"] = fill["tao"] / fill["alpha"]
            pb = fill.get("price_before") or 0.0
            fill["impact"] = fill["price_after"] / pb - 1.0 if pb else 0.0
        return fill

    # ---- persistence ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        extra = {"history": self.history, "last_epoch": self.last_epoch,
                 "bot_params": self.bot_params}
        if self.period:  # only mid-way through a game epoch with a short tempo
            extra["period"] = self.period
        return {"version": FORMAT_VERSION, "scenario": self.scenario, "seed": self.seed,
                "events": list(self.event_status), "state": self.st.to_dict(),
                "extra": extra}

    def to_json(self) -> str:
        return dumps(self.to_dict())

    @classmethod
    def from_json(cls, s: str) -> "Game":
        d = json.loads(s)
        if d.get("version") != FORMAT_VERSION:
            raise ValueError(f"unsupported game state version {d.get('version')!r}")
        return cls(d["scenario"], d["seed"], State.from_dict(d["state"]), list(d["events"]),
                   d.get("extra"))

    def state_digest(self, totals: bool = True) -> str:
        """sha256 of the canonical state. totals=False leaves out the income totals
        (sim.state.PLAYER_TOTALS, PLAYER_SUBNET_TOTALS), to compare with a state stored before
        they existed."""
        d = self.to_dict()
        if not totals:
            for name in PLAYER_TOTALS + PLAYER_SUBNET_TOTALS:
                d["state"].pop(name, None)
        return digest(d)
