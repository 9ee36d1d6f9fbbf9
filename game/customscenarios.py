"""An instructor's own presets (CustomScenario): made from a preset or a blank scenario, edited
field by field in the console's editor, duplicated, renamed, deleted, imported from and exported
as the scenario JSON file `python -m sim run` reads. Every body saved has passed the simulator's
own validation (sim.load_scenario); a refused change raises EditError and changes nothing.

Private to the instructor: `owned` is the only way to reach one, and another instructor's id
is not found (a 404, like another instructor's game).
"""
from __future__ import annotations

import json
import re
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from game import simapi
from game.models import CustomScenario
from sim.scenario import ROLES, ScenarioError, load_scenario

MAX_PER_OWNER = 200
MAX_BODY = 256 * 1024          # bytes of JSON: far above any preset (the largest is ~10 KB)
MAX_NAME = 200
DRY_RUN_TICKS = 240            # the dry run plays at most this many ticks (a few seconds)
DRY_RUN_PLAYERS = 200          # … with at most this many players (the presets have 30 or fewer)
BLANK_ID = "blank"
# The top-level fields of docs/scenario-format.md, this project's additions
# (sim/scenario.py) and the teacher's guide of a custom preset; an import naming any other is
# refused rather than carried silently.
TOP_LEVEL = frozenset({
    "name", "description", "seed", "rules", "params", "clock", "root", "subnets", "players",
    "actions", "events", "role_defaults", "role_mix", "lesson", "bot_fill", "guide",
})
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class EditError(ValueError):
    """A refused change: `field` is the scenario path it is about ('' for the whole), and
    `code` a stable code (game/errors.py style)."""

    def __init__(self, code: str, message: str, field: str = "") -> None:
        self.code = code
        self.field = field
        self.message = message
        super().__init__(message)


def blank() -> dict[str, Any]:
    """The smallest useful scenario: two subnets, one quiet bot, launch rules."""
    return load_scenario({
        "name": "New scenario", "description": "",
        "clock": {"blocks_per_tick": 1200, "ticks_per_epoch": 6, "epochs": 10,
                  "tick_seconds": 10},
        "subnets": [
            {"id": 1, "name": "Subnet 1", "tao": 5000.0, "alpha": 20000.0},
            {"id": 2, "name": "Subnet 2", "tao": 3000.0, "alpha": 20000.0},
        ],
        "players": [
            {"id": "n1", "role": "speculator", "tao": 500, "bot": "noise_trader"},
            {"id": "foundation", "role": "root_validator", "tao": 0, "root_stake": 100000},
        ],
        "events": [],
    })


def validate(body: Any) -> dict[str, Any]:
    """The body normalized by the simulator's validation, or EditError naming the field."""
    if not isinstance(body, dict):
        raise EditError("bad_scenario", "A scenario is a JSON object.")
    unknown = sorted(set(body) - TOP_LEVEL)
    if unknown:
        raise EditError("unknown_field", f"Unknown field {unknown[0]!r}: a scenario has "
                        f"{', '.join(sorted(TOP_LEVEL))}.", unknown[0])
    try:
        scn = load_scenario(body)
    except ScenarioError as exc:
        raise EditError("bad_scenario", exc.reason, exc.field) from None
    except (TypeError, ValueError, KeyError) as exc:  # a shape the loader did not foresee
        raise EditError("bad_scenario", f"This scenario cannot be read: {exc}") from None
    text = json.dumps(scn, allow_nan=False)
    if len(text.encode("utf-8")) > MAX_BODY:
        raise EditError("too_large", f"The scenario is too large: at most {MAX_BODY // 1024} KB.")
    return scn


def clean_name(name: Any) -> str:
    if not isinstance(name, str) or _CONTROL.search(name):
        raise EditError("bad_name", "A name is plain text.", "name")
    name = " ".join(name.split())
    if not name:
        raise EditError("bad_name", "Give the scenario a name.", "name")
    if len(name) > MAX_NAME:
        raise EditError("bad_name", f"A name has at most {MAX_NAME} characters.", "name")
    return name


def owned(owner: User, scenario_id: Any) -> CustomScenario:
    """The instructor's own scenario; another instructor's (or none): DoesNotExist."""
    try:
        pk = int(scenario_id)
    except (TypeError, ValueError):
        raise CustomScenario.DoesNotExist from None
    return CustomScenario.objects.get(pk=pk, owner=owner)


def _store(owner: User, body: dict[str, Any]) -> CustomScenario:
    with transaction.atomic():
        if CustomScenario.objects.filter(owner=owner).count() >= MAX_PER_OWNER:
            raise EditError("too_many", f"You have {MAX_PER_OWNER} scenarios: delete one first.")
        return CustomScenario.objects.create(owner=owner, name=body["name"][:MAX_NAME], body=body)


def create(owner: User, start: str) -> CustomScenario:
    """A new scenario of `owner` from a preset's id, or from the blank one."""
    if start == BLANK_ID:
        body = blank()
    else:
        try:
            body = simapi.load_preset(start)
        except KeyError:
            raise EditError("unknown_preset", "There is no such preset.", "start") from None
        body["name"] = f"{body['name']} (my copy)"[:MAX_NAME]
    return _store(owner, validate(body))


def duplicate(owner: User, scenario_id: Any) -> CustomScenario:
    src = owned(owner, scenario_id)
    body = dict(src.body)
    body["name"] = f"{src.name} (copy)"[:MAX_NAME]
    return _store(owner, validate(body))


def rename(owner: User, scenario_id: Any, name: Any) -> CustomScenario:
    with transaction.atomic():
        obj = CustomScenario.objects.select_for_update().get(pk=owned(owner, scenario_id).pk)
        obj.name = clean_name(name)
        obj.body = {**obj.body, "name": obj.name}
        obj.save(update_fields=["name", "body", "updated_at"])
        return obj


def delete(owner: User, scenario_id: Any) -> None:
    owned(owner, scenario_id).delete()


def save(owner: User, scenario_id: Any, body: dict[str, Any]) -> CustomScenario:
    """Replace a scenario's body with an edited one (validated first: nothing changes if not)."""
    scn = validate(body)
    name = clean_name(scn["name"])
    scn["name"] = name
    with transaction.atomic():
        obj = CustomScenario.objects.select_for_update().get(pk=owned(owner, scenario_id).pk)
        obj.name, obj.body = name, scn
        obj.save(update_fields=["name", "body", "updated_at"])
        return obj


def _no_constant(token: str) -> Any:
    raise EditError("bad_json", f"{token} is not a number JSON allows.")


def parse_json(raw: bytes) -> Any:
    """An uploaded file's JSON (UTF-8, an optional BOM), NaN and Infinity refused."""
    if len(raw) > MAX_BODY:
        raise EditError("too_large", f"The file is too large: at most {MAX_BODY // 1024} KB.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise EditError("bad_json", "The file is not UTF-8 text.") from None
    try:
        return json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise EditError("bad_json", f"The file is not valid JSON: {exc.msg} at line "
                        f"{exc.lineno}, column {exc.colno}.") from None


def import_file(owner: User, raw: bytes) -> CustomScenario:
    scn = validate(parse_json(raw))
    scn["name"] = clean_name(scn["name"])
    return _store(owner, scn)


def export_text(obj: CustomScenario) -> str:
    """The scenario JSON file the CLI reads (`python -m sim run <file>`)."""
    return json.dumps(obj.body, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def for_game(owner: User, preset: str) -> dict[str, Any] | None:
    """The body behind a create-form choice `custom:<id>` of this owner; None when the choice
    is not a custom one; CustomScenario.DoesNotExist for another instructor's."""
    if not preset.startswith("custom:"):
        return None
    return dict(owned(owner, preset.removeprefix("custom:")).body)


def dry_run(body: dict[str, Any]) -> dict[str, Any]:
    """The scenario played by its bots alone through the headless path, cut to its first
    DRY_RUN_TICKS ticks (whole epochs): {"ticks": [tick...], "epochs_played", "epochs",
    "subnets": [{"id", "name", "price": [...], "share": [...]}]}. The price is each subnet's
    pool price (TAO per alpha), the share its share of the block's TAO emission."""
    scn = validate(body)
    clock = scn["clock"]
    epochs = max(1, min(clock["epochs"], DRY_RUN_TICKS // clock["ticks_per_epoch"]))
    if clock["ticks_per_epoch"] > DRY_RUN_TICKS:
        raise EditError("too_long", f"The dry run plays at most {DRY_RUN_TICKS} ticks: an "
                        f"epoch of {clock['ticks_per_epoch']} ticks is longer.",
                        "clock.ticks_per_epoch")
    if len(scn["players"]) > DRY_RUN_PLAYERS:
        raise EditError("too_long", f"The dry run plays at most {DRY_RUN_PLAYERS} players: "
                        f"this scenario has {len(scn['players'])}.", "players")
    short = dict(scn)
    short["clock"] = {**clock, "epochs": epochs}
    result = simapi.play_headless(short, seed=scn["seed"])
    names = {s["id"]: s["name"] for s in scn["subnets"]}
    series: dict[int, dict[str, Any]] = {}
    for row in result["ticks"]:
        for s in row["subnets"]:
            one = series.setdefault(s["id"], {"id": s["id"], "name": names.get(
                s["id"], f"Subnet {s['id']}"), "price": [], "share": [], "from": row["tick"]})
            one["price"].append(round(s["price"], 6))
            one["share"].append(round(s["share"], 6))
    return {"ticks": [row["tick"] for row in result["ticks"]], "epochs_played": epochs,
            "epochs": clock["epochs"], "ticks_per_epoch": clock["ticks_per_epoch"],
            "subnets": [series[k] for k in sorted(series)]}


def role_names() -> tuple[str, ...]:
    return ROLES
