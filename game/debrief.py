"""The debrief: what happened in a game and why, derived after the fact.

Everything comes from what the server stored: the started scenario, the seed and the command
log. `analyse(game)` replays them through sim (bots=False, exactly as `game.replay` does), so
it sees every fill, scripted and event ones included, and every player's balances at every
tick, and checks the replay against the stored state. From that it derives:

- per-tick market series (price, emission share, root proportion) and per-epoch health;
- scrubber frames: at each tick the event banner showing, the top players and top holders;
- who captured the emission: TAO value of emission received, per subnet and per role;
- each player's P&L split into price moves, emission income, trading fees and slippage, exit
  slippage and subnet registration, against "just holding TAO".

The result is cached as JSON under VAR_DIR/debrief/ keyed by game id and tick (a settled tick
never changes, so a cached analysis of tick N is never stale).

"Your class vs N bot classes" (`start_bands`) plays the started scenario N times with bots in
every seat in a separate, lower-priority process (game/bands.py: one job per game, a machine-wide
cap, the rest queued), which writes its progress and then the percentile bands to a cache file.
"""
from __future__ import annotations

import json
import logging
import math
from itertools import groupby
from pathlib import Path
from typing import Any

from django.conf import settings

from game import bands, leaderboard, names, simapi
from game.models import Command, Game, Seat
from game.replay import digests as replay_digests

log = logging.getLogger(__name__)

ANALYSIS_VERSION = 2
TOP_FRAME = 5  # players shown on each scrubber frame
TOP_HOLDERS = 3  # holders shown per subnet on each frame
TRADE_DOS = ("stake", "unstake", "move", "buyback", "root_stake", "root_unstake",
             "register_subnet")


# --- cache files ------------------------------------------------------------------------------

def cache_dir() -> Path:
    path = Path(settings.VAR_DIR) / "debrief"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _key(game: Game) -> str:
    # The code as well as the id: a database rebuilt under the same VAR_DIR reuses ids.
    return f"g{game.id}-{game.code}"


def purge_cache(game_id: int) -> None:
    """Forget every cached file of a game (the game was deleted); cancel its bands job."""
    bands.JOBS.cancel(cache_dir(), f"g{game_id}-")
    for path in cache_dir().glob(f"g{game_id}-*"):
        try:
            path.unlink()
        except OSError:
            pass


# --- the replay -------------------------------------------------------------------------------

def command_log(game: Game) -> dict[int, list[Command]]:
    """Settled commands per tick in settlement order: the input the engine gave sim.step."""
    rows = (Command.objects.filter(game=game, settled_tick__isnull=False)
            .select_related("seat").order_by("settled_tick", "id"))
    return {t: list(cmds) for t, cmds in groupby(rows, key=lambda c: c.settled_tick)}


def _snapshot(sim_game: Any) -> dict[str, tuple[float, float, dict[int, float]]]:
    st = sim_game.st
    nets = [int(n) for n in st.netuid]
    return {pid: (float(st.tao[k]), float(st.root[k]),
                  {nets[i]: float(st.alpha[k, i]) for i in range(len(nets))})
            for k, pid in enumerate(st.ids)}


def _prices(sim_game: Any) -> dict[int, float]:
    st = sim_game.st
    return {int(st.netuid[i]): (float(st.tau[i] / st.x[i]) if st.active[i] and st.x[i] > 0
                                else 0.0) for i in range(len(st.netuid))}


def _trade_effect(fill: dict[str, Any]) -> tuple[float, float, dict[int, float], float, float,
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


def _clean(x: float) -> float:
    """Float noise of a remainder (1e-12 of a 1e5 balance) shown as the zero it is."""
    return 0.0 if abs(x) < 1e-9 else float(x)


def analyse(game: Game, use_cache: bool = True) -> dict[str, Any]:
    """The debrief document of a game at its current tick (see the module docstring)."""
    path = cache_dir() / f"{_key(game)}-t{game.tick}-v{ANALYSIS_VERSION}.json"
    if use_cache and path.exists():
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            pass  # a damaged cache file is simply rebuilt
    doc = _analyse(game)
    bands.write_atomic(path, bands.dumps(doc))
    for old in cache_dir().glob(f"{_key(game)}-t*.json"):
        if old != path:  # an earlier tick's analysis (viewed mid-game) is superseded
            try:
                old.unlink()
            except OSError:
                pass
    return doc


def _analyse(game: Game) -> dict[str, Any]:
    scn = json.loads(game.scenario)
    seats = list(Seat.objects.filter(game=game))
    by_player = {s.player: s for s in seats}
    sim_game = simapi.new_sim(scn, game.seed)
    log_by_tick = command_log(game)
    roles: dict[str, str] = {}
    subnet_names: dict[int, str] = {}

    def nick(pid: str) -> str:
        seat = by_player.get(pid)
        return seat.nickname if seat else pid

    ticks: list[dict[str, Any]] = []
    epochs: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    fills_out: list[dict[str, Any]] = []
    frames: list[dict[str, Any]] = []
    nw_series: dict[str, list[float | None]] = {}
    acc: dict[str, dict[str, float]] = {}  # per player: income, trading, registration
    income_by_subnet_role: dict[int, dict[str, float]] = {}
    emission_by_subnet: dict[int, dict[str, float]] = {}
    banner: dict[str, Any] | None = None

    def account(pid: str) -> dict[str, float]:
        return acc.setdefault(pid, {"income": 0.0, "trading": 0.0, "registration": 0.0})

    for t in range(game.tick):
        cmds = log_by_tick.get(t, [])
        actor = {c.id: c.actor for c in cmds}
        before = _snapshot(sim_game)
        res = sim_game.step([{**json.loads(c.action), "ref": c.id} for c in cmds], bots=False)
        st = sim_game.st
        for k, pid in enumerate(st.ids):
            roles[pid] = st.roles[k]
        for i in range(len(st.netuid)):
            subnet_names[int(st.netuid[i])] = st.names[i]
        prices = _prices(sim_game)

        # Expected balance changes from this tick's fills; what is left over is emission.
        expect: dict[str, list[Any]] = {}
        for f in res.fills:
            ref = f.get("ref")
            source = ("event" if "event" in f and f.get("do") != "event" else
                      actor.get(ref, "scripted") if ref is not None else "scripted")
            if f.get("do") in TRADE_DOS or f.get("do") == "join":
                fills_out.append({
                    "tick": t, "player": f.get("player"), "do": f.get("do"),
                    "subnet": f.get("subnet"), "from": f.get("from"), "to": f.get("to"),
                    "tao": f.get("tao"), "alpha": f.get("alpha"),
                    "alpha_received": f.get("alpha_received"), "fee": f.get("fee"),
                    "price_before": f.get("price_before"), "price_after": f.get("price_after"),
                    "limit_price": f.get("limit_price"), "status": f.get("status"),
                    "reason": f.get("reason"), "source": source, "command": ref})
            if f.get("status") != "filled" or not isinstance(f.get("player"), str):
                continue
            pid = f["player"]
            e = expect.setdefault(pid, [0.0, 0.0, {}])
            if f.get("do") == "join":
                before.setdefault(pid, (0.0, 0.0, {}))
                e[0] += float(f.get("tao") or 0.0)
                e[1] += float(f.get("root_stake") or 0.0)
                continue
            d_tao, d_root, d_alpha, cost, income, reg = _trade_effect(f)
            e[0] += d_tao
            e[1] += d_root
            for sid, a in d_alpha.items():
                e[2][sid] = e[2].get(sid, 0.0) + a
            a_ = account(pid)
            a_["trading"] += _finite(cost)
            a_["income"] += _finite(income)
            a_["registration"] += _finite(reg)
        after = _snapshot(sim_game)
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
                    slot = income_by_subnet_role.setdefault(sid, {})
                    slot[role] = slot.get(role, 0.0) + value
            if abs(got) > 1e-12:
                account(pid)["income"] += _finite(got)
            nw_series.setdefault(pid, [None] * t)

        row = res.tick_row
        ticks.append(row)
        for ev in res.events or []:
            banner = {"index": ev.get("index"), "title": ev.get("title", ""),
                      "text": ev.get("text", ""), "tick": t, "epoch": row["epoch"]}
            events.append(banner)
        if res.epoch_row is not None:
            ep = res.epoch_row
            epochs.append({"epoch": ep["epoch"], "tick": ep["tick"],
                           "network_health": ep["network_health"],
                           "players": [{"id": p["id"], "net_worth": p["net_worth"]}
                                       for p in ep["players"]]})
            for s in ep["subnets"]:
                sid = int(s["id"])
                p = prices.get(sid, 0.0)
                slot = emission_by_subnet.setdefault(sid, {
                    "workers": 0.0, "holders": 0.0, "owner": 0.0, "validators": 0.0,
                    "root_tao": 0.0})
                for cls in ("workers", "holders", "owner"):
                    slot[cls] += float(s["incentive"].get(cls, 0.0)) * p
                slot["validators"] += float(s.get("alpha_dividends", 0.0)) * p
                slot["root_tao"] += float(s.get("root_dividends_tao", 0.0))

        worth = {pid: leaderboard.liquidation_value(sim_game, pid) for pid in st.ids}
        for pid, v in worth.items():
            nw_series.setdefault(pid, [None] * t).append(v)
        ranked = leaderboard.rank_rows((pid, roles[pid], v) for pid, v in worth.items())
        holders: dict[str, list[dict[str, Any]]] = {}
        for i in range(len(st.netuid)):
            if not st.active[i]:
                continue
            col = st.alpha[:, i]
            order = sorted(range(len(st.ids)), key=lambda k: (-float(col[k]), st.ids[k]))
            holders[str(int(st.netuid[i]))] = [
                {"nickname": nick(st.ids[k]), "role": st.roles[k], "alpha": float(col[k])}
                for k in order[:TOP_HOLDERS] if col[k] > 0]
        frames.append({
            "tick": t, "epoch": row["epoch"], "banner": banner,
            "top": [{"rank": r["rank"], "nickname": nick(r["player"]), "role": r["role"],
                     "net_worth": r["net_worth"]} for r in ranked[:TOP_FRAME]],
            "holders": holders})

    replay_ok = True
    if game.state:
        stored, replayed = replay_digests(sim_game, game.state)
        replay_ok = stored == replayed

    # Final standings and each player's P&L breakdown.
    infos = leaderboard.seat_map(game)
    rows = leaderboard.standings(sim_game, infos)
    history = leaderboard.rank_history(epochs, roles)
    players = []
    for r in rows:
        pid = r["player"]
        a_ = acc.get(pid, {"income": 0.0, "trading": 0.0, "registration": 0.0})
        prices = _prices(sim_game)
        k = sim_game.st.player_index(pid)
        mark = sum(float(sim_game.st.alpha[k, i]) * prices[int(sim_game.st.netuid[i])]
                   for i in range(len(sim_game.st.netuid)))
        sold = sum(h.value for h in leaderboard.holdings(sim_game, pid))
        exit_slip = max(0.0, mark - sold)
        total = r["pnl"]
        # Price moves are what is left: the change in value of what was held, at mid prices.
        moves = total - a_["income"] + a_["trading"] + exit_slip + a_["registration"]
        seat = by_player.get(pid)
        players.append({
            **r, "actor": "human" if seat is not None and seat.kind == "human" else (
                "instructor" if seat is not None and seat.kind == "foundation" else "bot"),
            "breakdown": {"price_moves": _clean(moves), "income": _clean(a_["income"]),
                          "fees_slippage": _clean(-a_["trading"]),
                          "exit_slippage": _clean(-exit_slip),
                          "registration": _clean(-a_["registration"]),
                          "total": _clean(total)},
            "hold_tao": r["contributed"], "vs_hold": total,
            "net_worth_by_tick": nw_series.get(pid, []),
            "rank_by_epoch": history.get(pid, [None] * len(epochs)),
        })

    # Per role: every player's whole emission income (alpha valued when received, plus TAO
    # such as root dividends, which no single subnet column can hold).
    by_role_total = {role: 0.0 for role in leaderboard.ROLES}
    for p in players:
        by_role_total[p["role"]] = by_role_total.get(p["role"], 0.0) + p["breakdown"]["income"]
    external = sum(v["workers"] for v in emission_by_subnet.values())

    clock = scn.get("clock", {})
    return {
        "version": ANALYSIS_VERSION,
        "game": {"code": game.code, "name": game.name, "status": game.status, "tick": game.tick,
                 "total_ticks": game.total_ticks, "ticks_per_epoch": game.ticks_per_epoch,
                 "epochs": clock.get("epochs"), "seed": game.seed,
                 "scenario": scn.get("name", ""), "lesson": list(scn.get("lesson") or [])},
        "replay_ok": replay_ok,
        "subnets": [{"id": sid, "name": name, "label": names.subnet_label(sid, name)}
                    for sid, name in sorted(subnet_names.items())],
        "ticks": ticks,
        "epochs": epochs,
        "events": events,
        "frames": frames,
        "fills": fills_out,
        "players": players,
        "emission": {
            "by_subnet": {str(k): {**v, "total": sum(v.values())}
                          for k, v in sorted(emission_by_subnet.items())},
            "by_role": {**by_role_total, "external_miners": external},
            "by_subnet_role": {str(k): v for k, v in sorted(income_by_subnet_role.items())},
        },
    }


# --- views of the document ----------------------------------------------------------------------

def class_path(doc: dict[str, Any]) -> dict[str, Any]:
    """The class's per-epoch path in the Monte Carlo bands' layout (the tick closing each
    epoch), so both can be drawn on the same axis."""
    by_tick = {row["tick"]: row for row in doc["ticks"]}
    out: dict[str, Any] = {"epochs": [], "network_health": [], "subnets": {}}
    for ep in doc["epochs"]:
        row = by_tick.get(ep["tick"])
        if row is None:
            continue
        j = len(out["epochs"])
        out["epochs"].append(ep["epoch"])
        out["network_health"].append(ep["network_health"])
        for s in row["subnets"]:
            slot = out["subnets"].setdefault(str(s["id"]), {
                "price": [], "share": [], "root_prop": []})
            for key in ("price", "share", "root_prop"):
                series = slot[key]
                series.extend([None] * (j - len(series)))
                series.append(s[key])
    return out


def private_report(doc: dict[str, Any], player_id: str) -> dict[str, Any] | None:
    """One student's slice: their own trades, P&L, rank; the class's public series. No other
    player's holdings or P&L."""
    me = next((p for p in doc["players"] if p["player"] == player_id), None)
    if me is None:
        return None
    traded = sorted({int(f[k]) for f in doc["fills"] if f["player"] == player_id
                     for k in ("subnet", "from", "to") if f.get(k) is not None})
    return {
        "game": doc["game"], "subnets": doc["subnets"], "events": doc["events"],
        "ticks": [{"tick": r["tick"], "epoch": r["epoch"],
                   "subnets": [{"id": s["id"], "price": s["price"]} for s in r["subnets"]]}
                  for r in doc["ticks"]],
        "traded": traded,
        "me": {k: me[k] for k in ("nickname", "role", "rank", "role_rank", "net_worth",
                                  "contributed", "pnl", "breakdown", "hold_tao", "vs_hold",
                                  "net_worth_by_tick", "rank_by_epoch")},
        "players": len(doc["players"]),
        "role_players": sum(1 for p in doc["players"] if p["role"] == me["role"]),
        "trades": [f for f in doc["fills"] if f["player"] == player_id and f["do"] != "join"],
    }


# --- your class vs N bot classes ----------------------------------------------------------------

def bots_only(scn: dict[str, Any]) -> dict[str, Any]:
    """The started scenario with a bot in every seat that had none (the role's filler)."""
    out = json.loads(json.dumps(scn))
    fill = out.get("bot_fill") or {}
    for p in out.get("players", []):
        if not p.get("bot") and fill.get(p.get("role")):
            p["bot"] = fill[p["role"]]
    return out


def bands_status(game: Game, runs: int) -> dict[str, Any]:
    return bands.JOBS.status(cache_dir(), _key(game), runs)


def start_bands(game: Game, runs: int) -> tuple[dict[str, Any], int]:
    """Queue the bot-class runs (game/bands.py: one job per game, BANDS_MAX_JOBS at once)
    unless done or already queued or running: (status, HTTP status)."""
    game_id = game.id
    return bands.JOBS.start(
        cache_dir(), _key(game), runs, bots_only(json.loads(game.scenario)),
        int(game.seed) + 1,  # never the class's own seed
        lambda: Game.objects.filter(pk=game_id).exists(),
        max_jobs=settings.BANDS_MAX_JOBS, queue_max=settings.BANDS_QUEUE_MAX)
