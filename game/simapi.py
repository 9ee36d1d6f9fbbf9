"""The server's only door into sim/: presets, building and caching sim.Game objects.

A sim.Game is rebuilt from the stored JSON text; the per-process cache is keyed by
(game id, tick) because the state at a given tick is unique (ticks settle exactly once), so a
cached object can never be stale. Callers must not mutate a cached object (the engine always
works on a fresh copy).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings

import sim

_CACHE_SIZE = 64
_cache: OrderedDict[tuple[int, int], sim.Game] = OrderedDict()
_lock = threading.Lock()


@lru_cache(maxsize=1)
def presets() -> tuple[dict[str, str], ...]:
    """The preset scenarios, sorted by name: [{"id": file stem, "name", "description", and what
    the create form shows of it: "epochs", "ticks_per_epoch", "tick_seconds", "minutes" (the
    game's length at that tick), "subnets", "registration_open", "lock_min" (the registration
    lock cost's floor), "events" [{"epoch", "title"}]}]."""
    out = []
    for path in sorted(Path(settings.SCENARIOS_DIR).glob("*.json")):
        try:
            scn = sim.load_scenario(path)
        except Exception:  # a broken preset is left out of the menu, not fatal to the server
            continue
        clock = scn["clock"]
        ticks = clock["epochs"] * clock["ticks_per_epoch"]
        out.append({"id": path.stem, "name": scn["name"], "description": scn["description"],
                    "epochs": clock["epochs"], "ticks_per_epoch": clock["ticks_per_epoch"],
                    "tick_seconds": clock["tick_seconds"],
                    "minutes": round(ticks * clock["tick_seconds"] / 60),
                    "subnets": len(scn["subnets"]),
                    "registration_open": bool(scn["params"].get("registration_open", 1)),
                    "lock_min": scn["params"].get("lock_min"),
                    "events": [{"epoch": e["epoch"], "title": e["title"]}
                               for e in scn.get("events", [])]})
    return tuple(sorted(out, key=lambda p: p["name"]))


def load_preset(preset_id: str) -> dict[str, Any]:
    ids = {p["id"] for p in presets()}
    if preset_id not in ids:
        raise KeyError(preset_id)
    return sim.load_scenario(Path(settings.SCENARIOS_DIR) / f"{preset_id}.json")


def new_sim(scenario: dict[str, Any], seed: int) -> sim.Game:
    return sim.Game.from_scenario(scenario, seed=seed)


def fresh(state: str) -> sim.Game:
    """A private, mutable sim.Game from stored state text."""
    return sim.Game.from_json(state)


def cached(game_id: int, tick: int, state: str) -> sim.Game:
    """A shared read-only sim.Game for (game, tick): snapshots, quotes, views."""
    key = (game_id, tick)
    with _lock:
        obj = _cache.get(key)
        if obj is not None:
            _cache.move_to_end(key)
            return obj
    obj = fresh(state)
    remember(game_id, tick, obj)
    return obj


def peek(game_id: int, tick: int) -> sim.Game | None:
    """The cached sim.Game for (game, tick), if this process has it (no state needed)."""
    with _lock:
        return _cache.get((game_id, tick))


def remember(game_id: int, tick: int, obj: sim.Game) -> None:
    with _lock:
        _cache[(game_id, tick)] = obj
        _cache.move_to_end((game_id, tick))
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)


def clear_cache() -> None:
    with _lock:
        _cache.clear()


def play_headless(scenario: dict[str, Any], seed: int) -> dict[str, Any]:
    """A normalized scenario played to its end with its bots and no trades kept (the
    simulator's headless path, sim/headless.py): the scenario editor's dry run."""
    from sim.headless import play_scenario
    return play_scenario(scenario, seed=seed, keep_trades=False)
