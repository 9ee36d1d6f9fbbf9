"""Small scenario builders for the simulator's own tests: a dict shaped like load_scenario's
output (defaults filled from sim.params), so the core tests do not depend on sim.scenario."""
from __future__ import annotations

import copy
from typing import Any

from sim.params import CLOCK_DEFAULTS, DEFAULTS, PLAYER_DEFAULTS, SUBNET_DEFAULTS


def make_scenario(*, subnets: list[dict[str, Any]], players: list[dict[str, Any]] | None = None,
                  rules: list[str] | None = None, params: dict[str, Any] | None = None,
                  clock: dict[str, Any] | None = None, root: float = 0.0,
                  actions: list[dict[str, Any]] | None = None,
                  events: list[dict[str, Any]] | None = None, seed: int = 1) -> dict[str, Any]:
    return {
        "name": "test", "description": "", "seed": seed,
        "rules": list(rules or ["launch"]),
        "params": {**DEFAULTS, **(params or {})},
        "clock": {**CLOCK_DEFAULTS, **(clock or {})},
        "root": {"stake": float(root)},
        "subnets": [{"name": f"S{s['id']}", **SUBNET_DEFAULTS, **s} for s in subnets],
        "players": [{**PLAYER_DEFAULTS, **p} for p in (players or [])],
        "actions": copy.deepcopy(actions or []),
        "events": copy.deepcopy(events or []),
    }


def classroom(**over: Any) -> dict[str, Any]:
    """Three subnets (one per mechanism), a speculator, an owner, a root validator."""
    base: dict[str, Any] = dict(
        subnets=[
            {"id": 1, "tao": 1000.0, "alpha": 10000.0, "alpha_out": 2000.0,
             "moving_price": 0.1, "mechanism": "ai_work"},
            {"id": 2, "tao": 500.0, "alpha": 10000.0, "alpha_out": 1000.0,
             "moving_price": 0.05, "mechanism": "hold_to_earn"},
            {"id": 3, "tao": 200.0, "alpha": 10000.0, "alpha_out": 500.0,
             "moving_price": 0.02, "mechanism": "owner_mined"},
        ],
        players=[
            {"id": "alice", "role": "speculator", "tao": 1000.0},
            {"id": "bob", "role": "subnet_owner", "subnet": 2, "tao": 100.0},
            {"id": "otf", "role": "root_validator", "tao": 10.0, "root_stake": 100000.0},
        ],
        root=500000.0,
        clock={"blocks_per_tick": 360, "ticks_per_epoch": 2, "epochs": 10},
    )
    base.update(over)
    return make_scenario(**base)


def matches_doc(value: float, printed: str, rel: float = 1e-9) -> bool:
    """True if `value` equals a figure printed in docs/mechanism.md: within `rel` relative
    tolerance, or, where the document rounds, equal to the printed figure at the printed
    number of decimals (half a unit in its last place)."""
    p = float(printed)
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return abs(value - p) <= max(rel * abs(p), 0.5 * 10.0 ** (-decimals))
