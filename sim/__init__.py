"""dTAO Classroom's economy: a pure Python + numpy simulator of Bittensor's dynamic TAO.

The facade is `Game` (docs/architecture.md); the mechanism is docs/mechanism.md.
"""
from __future__ import annotations

from sim.game import Game, TickResult
from sim.invariants import InvariantError
from sim.params import DEFAULTS, RULES, Params
from sim.scenario import ScenarioError, load_scenario

__all__ = ["Game", "TickResult", "InvariantError", "Params", "DEFAULTS", "RULES",
           "load_scenario", "ScenarioError"]

