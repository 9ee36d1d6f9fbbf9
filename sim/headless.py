"""The headless loop: a scenario played to its end with its bots, no server.

Scripted actions and events are the Game's own (it settles each scripted action at its tick
and fires events at epoch ends), so the loop only steps. `python -m sim run` writes what it
returns; the Monte Carlo bands (sim/montecarlo.py) and the benchmark (sim/ticktime.py) play
through it too.
"""
from __future__ import annotations

from typing import Any, Mapping

from sim.game import Game


def play_scenario(scenario: Mapping[str, Any], seed: int | None = None, exact: bool = False,
                  keep_trades: bool = True) -> dict[str, Any]:
    """Play a (normalized) scenario to its end with bots and scripted actions; return the result
    document of docs/scenario-format.md."""
    scn = dict(scenario)
    if seed is not None:
        scn["seed"] = int(seed)
    game = Game.from_scenario(scn, seed=scn["seed"])
    ticks: list[dict[str, Any]] = []
    epochs: list[dict[str, Any]] = []
    trades: list[dict[str, Any]] = []
    while not game.finished:
        res = game.step([], exact=exact, bots=True)
        ticks.append(res.tick_row)
        if res.epoch_row is not None:
            epochs.append(res.epoch_row)
        if keep_trades:
            trades.extend(res.fills)
    return {"scenario": scn, "ticks": ticks, "epochs": epochs, "trades": trades}
