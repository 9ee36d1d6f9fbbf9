"""dTAO Classroom's economy: a pure Python + numpy simulator of Bittensor's dynamic TAO.

The facade is `Game` (docs/architecture.md); the mechanism is docs/mechanism.md.
"""
from __future__ import annotations

from typing import Any

from sim.game import Game, TickResult
from sim.invariants import InvariantError
from sim.params import DEFAULTS, RULES, Params

__all__ = ["Game", "TickResult", "InvariantError", "Params", "DEFAULTS", "RULES",
           "load_scenario", "ScenarioError"]


def __getattr__(name: str) -> Any:
    # load_scenario / ScenarioError live in sim.scenario (owned separately); import lazily so
    # the core works before and without it.
    if name in ("load_scenario", "ScenarioError"):
        from sim import scenario

        return getattr(scenario, name)
    raise AttributeError(name)
