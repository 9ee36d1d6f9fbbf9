"""The debrief: what happened in a game and why, derived after the fact.

Everything comes from what the server stored: the started scenario, the seed and the command
log. `analyse(game)` replays them through sim (bots=False, exactly as game/debrief/replay.py
does), so it sees every fill, scripted and event ones included, and every player's balances at every
tick, and checks the replay against the stored state. From that it derives:

- per-tick market series (price, emission share, root proportion) and per-epoch health;
- scrubber frames: at each tick the event banner showing, the top players and top holders;
- who captured the emission: TAO value of emission received, per subnet and per role;
- each player's P&L split into price moves, emission income, trading fees and slippage, exit
  slippage and subnet registration, against "just holding TAO".

The result is cached as JSON under VAR_DIR/debrief/ keyed by game id and tick (a settled tick
never changes, so a cached analysis of tick N is never stale).

"Your class vs N bot classes" (`start_bands`) plays the started scenario N times with bots in
every seat in a separate, lower-priority process (bands.py: one job per game, a machine-wide
cap, the rest queued), which writes its progress and then the percentile bands to a cache file.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from django.conf import settings

import sim
from game import leaderboard
from game.commandlog import Replay
from game.debrief import bands, ledger
from game.debrief.replay import digests as replay_digests
from game.models import ROLES, Game, Seat
from game.names import subnet_label

log = logging.getLogger(__name__)

ANALYSIS_VERSION = 2


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
    by_player = {s.player: s for s in Seat.objects.filter(game=game)}

    def nick(pid: str) -> str:
        seat = by_player.get(pid)
        return seat.nickname if seat else pid

    played = Replay(game)
    names = ledger.Names()
    books = ledger.Books()
    emission = ledger.Emission()
    story = ledger.Story(nick)
    fills: list[dict[str, Any]] = []
    before = ledger.balances(played.sim)
    for t, cmds, res in played:
        sim_game = played.sim
        names.learn(sim_game)
        prices = ledger.prices(sim_game)
        fills += ledger.fill_records(t, res.fills, {c.id: c.actor for c in cmds})
        after = ledger.balances(sim_game)
        books.add_tick(res.fills, before, after, prices, names.roles)
        story.add_tick(t, res, sim_game, names.roles)
        emission.add_epoch(res.epoch_row, prices)
        before = after

    replay_ok = True
    if game.state:
        stored, replayed = replay_digests(played.sim, game.state)
        replay_ok = stored == replayed
    players = _players(game, played.sim, by_player, books, story, names.roles)

    # Per role: every player's whole emission income (alpha valued when received, plus TAO
    # such as root dividends, which no single subnet column can hold).
    by_role_total = {role: 0.0 for role in ROLES}
    for p in players:
        by_role_total[p["role"]] = by_role_total.get(p["role"], 0.0) + p["breakdown"]["income"]
    external = sum(v["workers"] for v in emission.by_subnet.values())

    clock = scn.get("clock", {})
    return {
        "version": ANALYSIS_VERSION,
        "game": {"code": game.code, "name": game.name, "status": game.status, "tick": game.tick,
                 "total_ticks": game.total_ticks, "ticks_per_epoch": game.ticks_per_epoch,
                 "epochs": clock.get("epochs"), "seed": game.seed,
                 "scenario": scn.get("name", ""), "lesson": list(scn.get("lesson") or [])},
        "replay_ok": replay_ok,
        "subnets": [{"id": sid, "name": name, "label": subnet_label(sid, name)}
                    for sid, name in sorted(names.subnets.items())],
        "ticks": story.ticks,
        "epochs": story.epochs,
        "events": story.events,
        "frames": story.frames,
        "fills": fills,
        "players": players,
        "emission": {
            "by_subnet": {str(k): {**v, "total": sum(v.values())}
                          for k, v in sorted(emission.by_subnet.items())},
            "by_role": {**by_role_total, "external_miners": external},
            "by_subnet_role": {str(k): v for k, v in sorted(books.by_subnet_role.items())},
        },
    }


def _players(game: Game, sim_game: sim.Game, by_player: dict[str, Seat], books: ledger.Books,
             story: ledger.Story, roles: dict[str, str]) -> list[dict[str, Any]]:
    """Final standings and each player's P&L breakdown."""
    infos = leaderboard.seat_map(game)
    rows = leaderboard.standings(sim_game, infos)
    history = leaderboard.rank_history(story.epochs, roles)
    players = []
    for r in rows:
        pid = r["player"]
        a_ = books.accounts.get(pid, {"income": 0.0, "trading": 0.0, "registration": 0.0})
        prices = ledger.prices(sim_game)
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
            "net_worth_by_tick": story.net_worth.get(pid, []),
            "rank_by_epoch": history.get(pid, [None] * len(story.epochs)),
        })
    return players


def _clean(x: float) -> float:
    """Float noise of a remainder (1e-12 of a 1e5 balance) shown as the zero it is."""
    return 0.0 if abs(x) < 1e-9 else float(x)


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
    """Queue the bot-class runs (game/debrief/bands.py: one job per game, BANDS_MAX_JOBS at once)
    unless done or already queued or running: (status, HTTP status)."""
    game_id = game.id
    return bands.JOBS.start(
        cache_dir(), _key(game), runs, bots_only(json.loads(game.scenario)),
        int(game.seed) + 1,  # never the class's own seed
        lambda: Game.objects.filter(pk=game_id).exists(),
        max_jobs=settings.BANDS_MAX_JOBS, queue_max=settings.BANDS_QUEUE_MAX)
