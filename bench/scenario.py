"""The scenario the benchmark and the scale-out tests play: small, fast to settle, long enough."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PRESET = "bench_market"
SUBNETS = [1, 2, 3, 4, 5, 6, 7, 8]


def scenario(epochs: int = 200, tick_seconds: float = 2.0) -> dict[str, Any]:
    return {
        "name": "Bench market",
        "description": "Eight subnets, a Foundation root validator and two bots.",
        "seed": 11,
        "clock": {"blocks_per_tick": 100, "ticks_per_epoch": 5, "epochs": epochs,
                  "tick_seconds": tick_seconds},
        "root": {"stake": 100000},
        # Everyone trades: owners and root validators would reject most of our stake orders.
        "role_mix": {"speculator": 1.0, "subnet_owner": 0.0, "root_validator": 0.0},
        "role_defaults": {"speculator": {"tao": 100000}},
        "subnets": [{"id": i, "name": f"Subnet {i}", "tao": 1000.0 * i, "alpha": 20000.0}
                    for i in SUBNETS],
        "players": [
            {"id": "otf", "role": "root_validator", "tao": 0, "root_stake": 50000},
            {"id": "m1", "role": "speculator", "tao": 500, "bot": "momentum"},
            {"id": "n1", "role": "speculator", "tao": 500, "bot": "noise_trader"},
        ],
        "events": [],
    }


def write(directory: Path, **kw: Any) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{PRESET}.json"
    path.write_text(json.dumps(scenario(**kw)))
    return path
