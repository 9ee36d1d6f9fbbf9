"""`python -m sim ticktime`: what one tick costs, fast path against the exact path, in one run.

Prints (never asserts; timings are not tests):
- the median wall time of one tick of 64 subnets x 1,000 players x 500 orders on the fast path,
- the same on the exact (block-by-block) path, with fewer repeats, and the ratio;
- the median time of a tick that also closes an epoch (consensus over every player);
- simulated years per second for the bot-only presets (fast path).

`--quick` shrinks every size so the whole thing takes a second or two (the tests run it).
"""
from __future__ import annotations

import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from sim.game import Game
from sim.headless import play_scenario
from sim.scenario import load_scenario

PRESETS = Path(__file__).resolve().parent / "scenarios"
BLOCKS_PER_YEAR = 7200 * 365


@dataclass(frozen=True)
class Size:
    subnets: int
    players: int
    orders: int
    blocks_per_tick: int
    ticks_per_epoch: int
    fast_repeats: int
    exact_repeats: int
    epoch_repeats: int
    presets: tuple[str, ...]
    day_blocks: int


# 7,200 blocks a tick (a chain day): the fast-vs-exact target is for blocks_per_tick >= 7,200.
FULL = Size(subnets=64, players=1000, orders=500, blocks_per_tick=7200, ticks_per_epoch=10,
            fast_repeats=15, exact_repeats=3, epoch_repeats=3,
            presets=("launch_month", "one_year_later", "tao_flow_era"), day_blocks=7200)
QUICK = Size(subnets=4, players=20, orders=10, blocks_per_tick=60, ticks_per_epoch=3,
             fast_repeats=2, exact_repeats=1, epoch_repeats=1, presets=(), day_blocks=360)


def bench_scenario(size: Size) -> dict[str, Any]:
    """A synthetic market: `subnets` AI-work subnets with launch-like prices summing to ~1, and
    `players` human speculators (no bots: orders come from the benchmark, 500 a tick)."""
    rng = np.random.default_rng(0)
    prices = rng.uniform(0.5, 1.5, size.subnets)
    prices = prices / prices.sum()
    subnets = [{"id": i + 1, "name": f"SN{i + 1}", "tao": float(50_000 * p), "alpha": 50_000.0,
                "alpha_out": 100_000.0, "moving_price": float(p), "mechanism": "ai_work"}
               for i, p in enumerate(prices)]
    players = [{"id": f"p{k}", "role": "speculator", "tao": 1000.0} for k in range(size.players)]
    ticks = size.fast_repeats + size.exact_repeats + 4
    epochs = ticks // size.ticks_per_epoch + 2 + size.epoch_repeats
    return load_scenario({
        "name": "bench", "seed": 1, "params": {"moving_alpha": 3e-4},
        "clock": {"blocks_per_tick": size.blocks_per_tick, "ticks_per_epoch": size.ticks_per_epoch,
                  "epochs": epochs},
        "root": {"stake": 6_000_000.0}, "subnets": subnets, "players": players,
    })


def random_orders(game: Game, n: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    """n affordable orders from distinct random players: stakes, unstakes and moves."""
    pub = game.public_view()
    ids = [int(s["id"]) for s in pub["subnets"]]
    roster = [p["id"] for p in game.scenario["players"]]
    who = rng.choice(len(roster), size=min(n, len(roster)), replace=False)
    orders: list[dict[str, Any]] = []
    for k in who:
        pid = roster[int(k)]
        priv = game.private_view(pid)
        tao = float(priv.get("tao", 0.0))
        held = {int(s): float(a) for s, a in (priv.get("alpha") or {}).items() if float(a) > 0}
        r = rng.random()
        if held and r < 0.35:
            sid = sorted(held)[int(rng.integers(len(held)))]
            orders.append({"player": pid, "do": "unstake", "subnet": sid,
                           "alpha": held[sid] * float(rng.uniform(0.1, 0.9))})
        elif held and r < 0.5 and len(ids) > 1:
            sid = sorted(held)[int(rng.integers(len(held)))]
            to = ids[int(rng.integers(len(ids)))]
            if to != sid:
                orders.append({"player": pid, "do": "move", "from": sid, "to": to,
                               "alpha": held[sid] * 0.5})
        elif tao > 1.0:
            orders.append({"player": pid, "do": "stake", "subnet": ids[int(rng.integers(len(ids)))],
                           "tao": tao * float(rng.uniform(0.01, 0.1))})
    return orders


def _time_ticks(game: Game, size: Size, repeats: int, exact: bool, rng: np.random.Generator,
                epoch_ticks: bool) -> list[float]:
    """Wall times of `repeats` ticks; only ticks that do (or do not) close an epoch count."""
    times: list[float] = []
    while len(times) < repeats and not game.finished:
        closes = (game.tick + 1) % size.ticks_per_epoch == 0
        orders = random_orders(game, size.orders, rng)
        t0 = time.perf_counter()
        game.step(orders, exact=exact, bots=False)
        dt = time.perf_counter() - t0
        if closes == epoch_ticks:
            times.append(dt)
    return times


def _ms(x: float) -> str:
    return f"{x * 1e3:9.2f} ms"


def run_ticktime(quick: bool = False, out: TextIO = sys.stdout) -> dict[str, float]:
    size = QUICK if quick else FULL
    rng = np.random.default_rng(12345)
    scn = bench_scenario(size)
    figures: dict[str, float] = {}
    w = out.write
    w(f"sim ticktime{' --quick' if quick else ''}: {size.subnets} subnets x "
      f"{size.players} players x {size.orders} orders a tick, "
      f"{size.blocks_per_tick} blocks a tick\n")

    game = Game.from_scenario(scn)
    game.step(random_orders(game, size.orders, rng), bots=False)  # warm-up (first stakes)
    fast = _time_ticks(game, size, size.fast_repeats, False, rng, epoch_ticks=False)
    exact = _time_ticks(game, size, size.exact_repeats, True, rng, epoch_ticks=False)
    epoch = _time_ticks(game, size, size.epoch_repeats, False, rng, epoch_ticks=True)
    figures["tick_fast_s"] = statistics.median(fast)
    figures["tick_exact_s"] = statistics.median(exact)
    figures["exact_over_fast"] = figures["tick_exact_s"] / figures["tick_fast_s"]
    w(f"  one tick, fast path   (median of {len(fast):2d}): {_ms(figures['tick_fast_s'])}\n")
    w(f"  one tick, exact path  (median of {len(exact):2d}): {_ms(figures['tick_exact_s'])}"
      f"   <- baseline: block by block\n")
    w(f"  exact / fast, whole tick: {figures['exact_over_fast']:.1f}x"
      f"   (the {size.orders} orders settle the same way on both paths)\n")
    if epoch:
        figures["epoch_tick_fast_s"] = statistics.median(epoch)
        w(f"  a tick closing an epoch, fast (median of {len(epoch):2d}): "
          f"{_ms(figures['epoch_tick_fast_s'])}\n")

    # The block loop alone, at a chain day per tick (the format's default clock): no orders, so
    # the figure is the coinbase itself, fast path against block by block.
    day = dict(scn)
    day["clock"] = dict(scn["clock"], blocks_per_tick=size.day_blocks,
                        ticks_per_epoch=10_000 if not quick else 1_000)
    for exact_path in (False, True):
        g = Game.from_scenario(load_scenario(day))
        reps = size.exact_repeats if exact_path else size.fast_repeats
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            g.step([], exact=exact_path, bots=False)
            times.append(time.perf_counter() - t0)
        figures[f"advance_{'exact' if exact_path else 'fast'}_s"] = statistics.median(times)
    figures["advance_exact_over_fast"] = figures["advance_exact_s"] / figures["advance_fast_s"]
    w(f"  advance {size.day_blocks} blocks, no orders: fast {_ms(figures['advance_fast_s'])}, "
      f"exact {_ms(figures['advance_exact_s'])} "
      f"({figures['advance_exact_over_fast']:.1f}x; target >= 50x)\n")

    names = size.presets
    if quick:
        # A tiny bot-only game still exercises the whole loop (bots, epochs, events).
        tiny = dict(scn)
        tiny["players"] = [dict(p, bot="noise_trader") for p in scn["players"]]
        games = [("quick bot game", load_scenario(tiny))]
    else:
        games = [(n, load_scenario(PRESETS / f"{n}.json")) for n in names]
        # The launch story stretched over a simulated year: a chain day per tick.
        year = load_scenario(PRESETS / "launch_month.json")
        year["clock"] = dict(year["clock"], blocks_per_tick=7200, ticks_per_epoch=15, epochs=24)
        year["events"] = []
        games.append(("launch_month over a year", load_scenario(year)))
    for name, s in games:
        t0 = time.perf_counter()
        doc = play_scenario(s, keep_trades=False)
        dt = time.perf_counter() - t0
        blocks = s["clock"]["blocks_per_tick"] * len(doc["ticks"])
        years = blocks / BLOCKS_PER_YEAR
        ratio = years / dt if dt > 0 else float("inf")
        figures[f"years_per_s:{name}"] = ratio
        w(f"  bot-only game {name!r}: {len(doc['ticks'])} ticks, {years:.3f} simulated years "
          f"in {dt:.2f} s = {ratio:.2f} simulated years/s\n")
    return figures
