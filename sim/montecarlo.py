"""Monte Carlo over bot-only games: per-epoch percentile bands across seeds.

Two steps, so a caller can run the games its own way and still get the same bands:
`play(scenario, seed)` is one bot-only game's per-epoch series (bots on, scripted actions and
events as written; human seats do nothing), and `aggregate(results)` the percentiles across
runs, for every epoch, of each subnet's price, emission share and root proportion and of the
network's health. `bands(scenario, runs, seed_base, workers)` is both with seeds seed_base,
seed_base + 1, ... (`python -m sim montecarlo`); the server's job process (game/bands.py,
"your class vs N bot classes") plays one seed at a time to report progress, then aggregates.

One NaN rule: an epoch where no run has a value (a subnet not registered yet), or whose
percentile is not finite, is `null`; otherwise the percentile is over the runs that have one.

The document (JSON; every list is indexed by epoch, `null` where a subnet did not exist yet):

    {
      "kind": "sim.montecarlo/1",
      "scenario": "<name>", "runs": N, "seed_base": S, "seeds": [S, S+1, ...],
      "exact": false,
      "percentiles": [5, 25, 50, 75, 95],
      "epochs": [0, 1, ...],
      "ticks": [t0, t1, ...],                      # the tick closing each epoch
      "network_health": {"p5": [...], "p25": [...], "p50": [...], "p75": [...], "p95": [...]},
      "subnets": {
        "<id>": {"name": "...",
                 "price": {"p5": [...], ...}, "share": {"p5": [...], ...},
                 "root_prop": {"p5": [...], ...}}
      }
    }

Prices, shares and root proportions are read from the tick row that closes each epoch (the state
after the epoch's last tick); network health from the epoch row.
"""
from __future__ import annotations

import math
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Mapping

import numpy as np

from sim.headless import play_scenario

PERCENTILES: tuple[int, ...] = (5, 25, 50, 75, 95)
SUBNET_SERIES: tuple[str, ...] = ("price", "share", "root_prop")


def play(scenario: Mapping[str, Any], seed: int, exact: bool = False) -> dict[str, Any]:
    """One bot-only game; returns its per-epoch series (small: no trades, no tick rows)."""
    doc = play_scenario(scenario, seed=seed, exact=exact, keep_trades=False)
    by_tick = {row["tick"]: row for row in doc["ticks"]}
    series: dict[str, Any] = {"ticks": [], "health": [], "subnets": {}}
    names: dict[int, str] = {s["id"]: s.get("name", str(s["id"])) for s in scenario["subnets"]}
    for k, ep in enumerate(doc["epochs"]):
        row = by_tick[ep["tick"]]
        series["ticks"].append(ep["tick"])
        series["health"].append(float(ep.get("network_health", 0.0)))
        for s in row["subnets"]:
            sid = int(s["id"])
            slot = series["subnets"].setdefault(
                sid, {"name": names.get(sid, s.get("name", f"Subnet {sid}")),
                      **{key: {} for key in SUBNET_SERIES}})
            for key in SUBNET_SERIES:
                slot[key][k] = float(s.get(key, 0.0))
    return series


def _play_args(args: tuple[Mapping[str, Any], int, bool]) -> dict[str, Any]:
    return play(*args)


def _band(matrix: np.ndarray) -> dict[str, list[float | None]]:
    """Percentiles down the runs axis; epochs where no run had a value give None."""
    out: dict[str, list[float | None]] = {}
    have = ~np.all(np.isnan(matrix), axis=0)
    for q in PERCENTILES:
        col: list[float | None] = [None] * matrix.shape[1]
        if have.any():
            with np.errstate(invalid="ignore"):  # an infinite value: not finite, null below
                vals = np.nanpercentile(matrix[:, have], q, axis=0)
            for j, v in zip(np.nonzero(have)[0], vals, strict=True):
                col[int(j)] = float(v) if math.isfinite(v) else None
        out[f"p{q}"] = col
    return out


def aggregate(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-epoch percentile bands across runs of play() (in seed order): the document's
    "percentiles", "epochs", "ticks", "network_health" and "subnets"."""
    runs = len(results)
    n_ep = max(len(r["health"]) for r in results)
    health = np.full((runs, n_ep), np.nan)
    for k, r in enumerate(results):
        health[k, : len(r["health"])] = r["health"]
    ids = sorted({sid for r in results for sid in r["subnets"]})
    subnets: dict[str, Any] = {}
    for sid in ids:
        name = next(r["subnets"][sid]["name"] for r in results if sid in r["subnets"])
        entry: dict[str, Any] = {"name": name}
        for key in SUBNET_SERIES:
            mat = np.full((runs, n_ep), np.nan)
            for k, r in enumerate(results):
                for j, v in r["subnets"].get(sid, {}).get(key, {}).items():
                    mat[k, j] = v
            entry[key] = _band(mat)
        subnets[str(sid)] = entry
    longest = max(results, key=lambda r: len(r["ticks"]))
    return {
        "percentiles": list(PERCENTILES),
        "epochs": list(range(n_ep)),
        "ticks": list(longest["ticks"]),
        "network_health": _band(health),
        "subnets": subnets,
    }


def bands(scenario: Mapping[str, Any], runs: int, seed_base: int = 0, workers: int = 1,
          exact: bool = False) -> dict[str, Any]:
    if runs < 1:
        raise ValueError("runs must be at least 1")
    seeds = [seed_base + k for k in range(runs)]
    jobs = [(scenario, s, exact) for s in seeds]
    if workers > 1 and runs > 1:
        # Each game is independent and deterministic in its seed; map keeps the seed order, so
        # the bands do not depend on the number of workers.
        with ProcessPoolExecutor(max_workers=min(workers, runs)) as pool:
            results = list(pool.map(_play_args, jobs))
    else:
        results = [play(*j) for j in jobs]
    return {
        "kind": "sim.montecarlo/1",
        "scenario": scenario.get("name", ""),
        "runs": runs,
        "seed_base": seed_base,
        "seeds": seeds,
        "exact": exact,
        **aggregate(results),
    }
