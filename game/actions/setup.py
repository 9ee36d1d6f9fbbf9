"""Creating a game: the preset with the teacher's overrides (refused if they would break its
scripted events), stored in the lobby under a fresh join code."""
from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from game import names, simapi
from game.customscenarios import for_game
from game.jsontext import dumps
from game.models import CustomScenario, Game
from sim.scenario import ScenarioError, load_scenario


class CreateError(ValueError):
    pass


@dataclass(frozen=True)
class Overrides:
    name: str | None = None
    epochs: int | None = None
    tick_seconds: float | None = None
    subnets: int | None = None
    starting_tao: float | None = None
    role_mix: dict[str, float] | None = None
    bots: bool = True
    # Create the game without the scripted events the other overrides would drop or orphan
    # (otherwise such overrides are refused, naming the events).
    drop_events: bool = False
    # Registering subnets: None keeps the preset's setting, "forbid" closes it, "cost" opens
    # it with `lock_cost` as the lock cost's floor (docs/scenario-format.md `registration_open`).
    registration: str | None = None
    lock_cost: float | None = None
    # None (the console): a fresh random seed for every game, so bot moves and settlement order
    # cannot be read from the preset in the public repository. Tests and tools pass one.
    seed: int | None = None


def _refers_to(action: dict[str, Any], keep_subnets: set[int], keep_players: set[str]) -> bool:
    for key in ("subnet", "from", "to"):
        if key in action and action[key] not in keep_subnets:
            return False
    player = action.get("player")
    if player is not None and player != "instructor" and player not in keep_players:
        return False
    validator = action.get("validator")
    return validator is None or validator in keep_players


def prune(scn: dict[str, Any]) -> None:
    """Drop scripted actions that refer to subnets or players no longer in the scenario."""
    subnets = {s["id"] for s in scn["subnets"]}
    n_reg = sum(1 for a in scn.get("actions", []) if a.get("do") == "register_subnet")
    top = max(subnets, default=0)
    subnets |= set(range(top + 1, top + 1 + n_reg))
    players = {p["id"] for p in scn["players"]}
    scn["actions"] = [a for a in scn.get("actions", []) if _refers_to(a, subnets, players)]
    for event in scn.get("events", []):
        event["actions"] = [a for a in event.get("actions", [])
                            if _refers_to(a, subnets, players)]


_SUBNET_MENTION = re.compile(r"\bSN ?(\d+)\b")


def event_problems(before: dict[str, Any], after: dict[str, Any]) -> dict[int, str]:
    """The scripted events of `before` that `after` (the preset with overrides applied, before
    any event is removed) would lose or leave pointing at nothing: past the game's last epoch,
    an action dropped because its subnet or player is gone, or a title or text that names a
    subnet ("SN28") the game no longer has. {event index: one sentence for the teacher}."""
    epochs = after["clock"]["epochs"]
    subnets = {s["id"] for s in after["subnets"]}
    out: dict[int, str] = {}
    for i, (old, new) in enumerate(zip(before.get("events", []), after.get("events", []),
                                           strict=False)):
        label = f"\u201c{old['title']}\u201d (epoch {old['epoch']})"
        asks = old.get("prediction") or {}  # its question is about a subnet too (issue #16)
        words = f"{old['title']} {old.get('text', '')} {asks.get('text', '')}"
        mentioned = {int(m) for m in _SUBNET_MENTION.findall(words)}
        if asks.get("subnet") is not None:
            mentioned.add(int(asks["subnet"]))
        if old["epoch"] >= epochs:
            out[i] = f"{label} would never fire: the game ends after epoch {epochs - 1}."
        elif len(new.get("actions", [])) < len(old.get("actions", [])):
            out[i] = f"{label} acts on a subnet or player this game would not have."
        elif mentioned - subnets:
            missing = ", ".join(f"SN{n}" for n in sorted(mentioned - subnets))
            out[i] = f"{label} is about {missing}, which this game would not have."
    return out


def apply_overrides(scn: dict[str, Any], o: Overrides) -> dict[str, Any]:
    """The preset with the teacher's overrides. An override that would drop or orphan a
    scripted event (event_problems) is refused with CreateError naming the events, unless the
    teacher asked to drop them (`drop_events`): a preset's events are its lesson."""
    before = scn
    scn = json.loads(json.dumps(scn))
    if o.epochs is not None:
        scn["clock"]["epochs"] = o.epochs
        scn["actions"] = [a for a in scn.get("actions", [])
                          if a["tick"] < o.epochs * scn["clock"]["ticks_per_epoch"]]
    if o.tick_seconds is not None:
        scn["clock"]["tick_seconds"] = float(o.tick_seconds)
    if o.subnets is not None and o.subnets != len(scn["subnets"]):
        subnets = scn["subnets"]
        if o.subnets < len(subnets):
            scn["subnets"] = subnets[:o.subnets]
            kept = {s["id"] for s in scn["subnets"]}
            scn["players"] = [p for p in scn["players"]
                              if p.get("subnet") is None or p["subnet"] in kept]
            for p in scn["players"]:
                if isinstance(p.get("alpha"), dict):
                    p["alpha"] = {k: v for k, v in p["alpha"].items() if int(k) in kept}
        else:
            template = subnets[-1] if subnets else {"tao": 1000.0, "alpha": 20000.0}
            next_id = max((s["id"] for s in subnets), default=0) + 1
            for k in range(o.subnets - len(subnets)):
                extra = {key: template[key] for key in ("tao", "alpha", "moving_price",
                                                         "mechanism") if key in template}
                extra.update({"id": next_id + k, "name": f"Subnet {next_id + k}",
                              "alpha_out": 0.0, "age_blocks": 0})
                subnets.append(extra)
    if o.role_mix:
        scn["role_mix"] = dict(o.role_mix)
    registration_override(scn, o)
    prune(scn)
    problems = event_problems(before, scn)
    if problems and not o.drop_events:
        raise CreateError("These settings would break the preset's scripted events: "
                          + " ".join(problems.values())
                          + " Change the settings, or tick \u201cdrop these events\u201d.")
    scn["events"] = [e for i, e in enumerate(scn.get("events", [])) if i not in problems]
    return scn


def registration_override(scn: dict[str, Any], o: Overrides) -> None:
    """The teacher's registration setting on the scenario's params: "forbid" sets
    `registration_open` 0 (a registration is refused `registration_closed`); "cost" opens it
    with `lock_cost` as `lock_min`, the floor the chain's doubling-and-decay rule starts from."""
    params = scn.setdefault("params", {})
    if o.registration == "forbid":
        params["registration_open"] = 0
    elif o.registration == "cost":
        if o.lock_cost is None:
            raise CreateError("Give the lock cost (in TAO) a registration should start at.")
        params["registration_open"] = 1
        params["lock_min"] = float(o.lock_cost)


MAX_SEED = 2 ** 53  # exact in JSON and in the browser's numbers


def create_game(owner: User, preset: str, overrides: Overrides) -> Game:
    """A new game in the lobby, from a preset scenario (or one of the owner's own,
    `custom:<id>`) and the instructor's overrides."""
    try:
        # `custom:<id>`: one of the owner's own presets (game/customscenarios.py).
        base = for_game(owner, preset) or simapi.load_preset(preset)
    except (KeyError, CustomScenario.DoesNotExist):
        raise CreateError(f"unknown preset {preset!r}") from None
    try:
        scn = load_scenario(apply_overrides(base, overrides))
    except ScenarioError as exc:
        raise CreateError(str(exc)) from None
    clock = scn["clock"]
    # Stored on the game and in its scenario: replay, the debrief and exports reproduce it.
    scn["seed"] = secrets.randbelow(MAX_SEED) if overrides.seed is None else int(overrides.seed)
    with transaction.atomic():
        for _ in range(20):
            code = names.new_code()
            if not Game.objects.filter(code=code).exists():
                break
        else:  # 31^6 ≈ 887M codes: only reachable if the table is absurdly full
            raise CreateError("could not allocate a join code")
        return Game.objects.create(
            code=code, owner=owner, name=(overrides.name or scn["name"])[:200], preset=preset,
            scenario=dumps(scn), seed=scn["seed"], bots=overrides.bots,
            role_mix=scn["role_mix"], starting_tao=overrides.starting_tao,
            total_ticks=clock["epochs"] * clock["ticks_per_epoch"],
            ticks_per_epoch=clock["ticks_per_epoch"], tick_seconds=clock["tick_seconds"],
            projector_token=names.new_token(),
        )
