"""The scenario editor's form: the page's fields named by their scenario path
(`clock.epochs`, `subnets[2].mechanism`, `events[0].actions`), read back into a scenario, and
laid out in sections for the template with each field's value and error.

Reading a form never validates the economy: it turns text into numbers, lists and JSON, and
records what it cannot read. game.customscenarios.validate (the simulator's load_scenario) then
names the field of the first problem, shown beside the input with the longest matching path.
"""
from __future__ import annotations

import copy
import json
import math
import re
from typing import Any, Mapping

from game.actions.lobby import foundation_player
from game.customscenarios import EditError
from game.web import prediction_form
from sim.scenario import MECHANISMS, ROLES, RULES, policy_names

ROLE_LABELS = {"speculator": "Speculator", "subnet_owner": "Subnet owner",
               "root_validator": "Root validator"}
CLOCK = (("clock.blocks_per_tick", "Blocks per tick", "int"),
         ("clock.ticks_per_epoch", "Ticks per epoch", "int"),
         ("clock.epochs", "Epochs (rounds)", "int"),
         ("clock.tick_seconds", "Seconds per tick", "num"))
REGISTRATION = (("params.registration_open", "Registration allowed (1 yes, 0 no)", "int"),
                ("params.lock_min", "Registration cost: the least TAO locked", "num"),
                ("params.subnet_limit", "Subnet limit (a new subnet may register below it)",
                 "int"),
                ("root.stake", "Root stake of the rest of the network (TAO)", "num"))
FOUNDATION = "foundation.root_stake"
SUBNET_FIELDS = (("id", "Id", "int"), ("name", "Name", "text"), ("tao", "Pool TAO", "num"),
                 ("alpha", "Pool alpha", "num"), ("mechanism", "Mechanism", "mechanism"))
EVENT_FIELDS = (("epoch", "Epoch", "int"), ("title", "Title", "text"), ("text", "Text", "area"),
                ("actions", "Actions (JSON list)", "json"),
                ("note", "Teacher's note (what to say before it)", "area"))
# A custom preset's teacher's guide (docs/scenarios.md `guide`), the parts docs/teaching/ has.
GUIDE = (("goal", "The lesson's goal (teacher's guide)"),
         ("timing", "Timing for a 45-minute period"),
         ("discussion", "Discussion questions for the debrief, with their answers"),
         ("misconceptions", "Common student misconceptions"))
MAX_ROWS = 64
_INT = re.compile(r"^[+-]?\d{1,30}$")


class Parsed:
    """A form read into a scenario: `scn` (unreadable values kept as the text typed) and
    `errors` {field path: message}."""

    def __init__(self, scn: dict[str, Any]) -> None:
        self.scn = scn
        self.errors: dict[str, str] = {}


def _set(d: dict[str, Any], dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    for k in keys[:-1]:
        if not isinstance(d.get(k), dict):
            d[k] = {}
        d = d[k]
    d[keys[-1]] = value


def _get(d: Any, dotted: str) -> Any:
    for k in dotted.split("."):
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


def _number(text: str, kind: str) -> Any:
    text = text.strip()
    if kind == "int" and _INT.match(text):
        return int(text)
    try:
        x = float(text)
    except ValueError:
        raise EditError("bad_number", "Type a number.") from None
    if not math.isfinite(x):
        raise EditError("bad_number", "Type a finite number.")
    return x


def _no_constant(token: str) -> Any:
    raise ValueError(f"{token} is not a number JSON allows")


def _json(text: str) -> Any:
    try:
        return json.loads(text, parse_constant=_no_constant)
    except ValueError as exc:
        raise EditError("bad_json", f"Not valid JSON: {exc}.") from None


def _convert(raw: str, kind: str) -> Any:
    if kind in ("int", "num"):
        return _number(raw, kind)
    if kind == "json":
        return _json(raw or "[]")
    return raw


def _read(out: Parsed, target: dict[str, Any], key: str, path: str, raw: str | None,
          kind: str) -> None:
    if raw is None:
        return
    try:
        target[key] = _convert(raw, kind)
    except EditError as exc:
        target[key] = raw
        out.errors[path] = exc.message


def _read_at(out: Parsed, scn: dict[str, Any], path: str, raw: str, kind: str) -> None:
    """_read for a dotted path: the converted value, or what was typed with its error."""
    try:
        _set(scn, path, _convert(raw, kind))
    except EditError as exc:
        _set(scn, path, raw)
        out.errors[path] = exc.message


def _rows(post: Mapping[str, Any], name: str, old: list[Any], fields: tuple[tuple[str, str, str],
          ...], out: Parsed) -> list[dict[str, Any]]:
    try:
        count = min(max(int(post.get(f"{name}.count", len(old))), 0), MAX_ROWS)
    except (TypeError, ValueError):
        count = len(old)
    rows = []
    by_id = {str(r.get("id")): r for r in old if isinstance(r, dict) and "id" in r}
    for i in range(count):
        if name == "subnets":  # a subnet's other fields (moving price, age …) follow its id
            base = by_id.get(str(post.get(f"{name}[{i}].id", "")).strip(), {})
        elif post.get(f"{name}[{i}].extra") is not None:  # an event's other fields, kept
            try:
                base = _json(post.get(f"{name}[{i}].extra") or "{}")
            except EditError:
                base = {}
            base = base if isinstance(base, dict) else {}
        else:
            base = old[i] if i < len(old) and isinstance(old[i], dict) else {}
        row = copy.deepcopy(base)
        for key, _label, kind in fields:
            _read(out, row, key, f"{name}[{i}].{key}", post.get(f"{name}[{i}].{key}"),
                  "json" if kind == "json" else kind)
        if row.get("note") == "":
            row.pop("note")
        if name == "events":
            prediction_form.read(row, i, post, out.errors)
        rows.append(row)
    return rows


def read(body: dict[str, Any], post: Mapping[str, Any]) -> Parsed:
    """The stored body with the posted fields applied (`post` is request.POST)."""
    out = Parsed(copy.deepcopy(body))
    scn = out.scn
    for key in ("name", "description"):
        if post.get(key) is not None:
            scn[key] = post.get(key)
    for path, _label, kind in CLOCK + REGISTRATION:
        raw = post.get(path)
        if raw is None or (path.startswith("params.") and raw.strip() == ""):
            continue
        _read_at(out, scn, path, raw, kind)
    if post.get("rules.present") is not None:
        scn["rules"] = list(post.getlist("rules"))  # type: ignore[attr-defined]
    for role in ROLES:
        for path, kind in ((f"role_defaults.{role}.tao", "num"),
                           (f"role_defaults.{role}.root_stake", "num"),
                           (f"role_mix.{role}", "num"), (f"bot_fill.{role}", "text")):
            raw = post.get(path)
            if raw is not None:
                _read_at(out, scn, path, raw, kind)
    if post.get("players") is not None:
        _read(out, scn, "players", "players", post.get("players"), "json")
    scn["subnets"] = _rows(post, "subnets", body.get("subnets", []), SUBNET_FIELDS, out)
    scn["events"] = _rows(post, "events", body.get("events", []), EVENT_FIELDS, out)
    _foundation(out, post.get(FOUNDATION))
    _owners(out, post)
    guide = dict(scn["guide"]) if isinstance(scn.get("guide"), dict) else {}
    for key, _label in GUIDE:  # the teacher's guide: an emptied part is dropped
        raw = post.get(f"guide.{key}")
        if raw is not None:
            guide[key] = raw
            if not raw.strip():
                guide.pop(key)
    if guide:
        scn["guide"] = guide
    else:
        scn.pop("guide", None)
    return out


def _seat(scn: dict[str, Any]) -> dict[str, Any] | None:
    """The Foundation's player in the scenario (game.actions.lobby.foundation_player), or None."""
    players = scn.get("players")
    if not isinstance(players, list):
        return None
    ids = [p.get("id") for p in players if isinstance(p, dict)]
    if not all(isinstance(i, str) for i in ids):
        return None
    wanted = foundation_player({**scn, "players": [p for p in players if isinstance(p, dict)]})
    return next((p for p in players if isinstance(p, dict) and p.get("id") == wanted), None)


def _foundation(out: Parsed, raw: str | None) -> None:
    """The Foundation seat's root stake (it wins over the players box): empty = no Foundation
    player in the scenario (the instructor who takes the seat then gets a quarter of the
    network's root stake)."""
    players = out.scn.get("players")
    if raw is None or not isinstance(players, list) or "players" in out.errors:
        return
    seat = _seat(out.scn)
    if not raw.strip():
        if seat is not None:
            players.remove(seat)
        return
    try:
        stake = _number(raw, "num")
    except EditError as exc:
        out.errors[FOUNDATION] = exc.message
        return
    if seat is None:
        players.append({"id": "foundation", "role": "root_validator", "tao": 0.0,
                        "root_stake": stake})
    else:
        seat["root_stake"] = stake


KEEP, NO_OWNER = "", "none"


def owner_of(scn: dict[str, Any], sid: Any) -> dict[str, Any] | None:
    players = scn.get("players")
    return next((p for p in players if isinstance(p, dict) and p.get("role") == "subnet_owner"
                 and p.get("subnet") == sid), None) if isinstance(players, list) else None


def _owners(out: Parsed, post: Mapping[str, Any]) -> None:
    """Each subnet row's owner choice (it wins over the players box): "" keeps the players
    box's owner, "none" removes it, a bot policy makes (or sets) a bot owner `owner<id>`."""
    players = out.scn.get("players")
    if not isinstance(players, list) or "players" in out.errors:
        return
    for i, row in enumerate(out.scn["subnets"]):
        choice = post.get(f"subnets[{i}].owner")
        sid = row.get("id")
        if not choice or not isinstance(sid, int):
            continue
        seat = owner_of(out.scn, sid)
        if choice == NO_OWNER:
            if seat is not None:
                players.remove(seat)
        elif seat is not None:
            seat["bot"] = choice
        else:
            tao = (out.scn.get("role_defaults") or {}).get("subnet_owner", {}).get("tao", 1000.0)
            players.append({"id": f"owner{sid}", "role": "subnet_owner", "subnet": sid,
                            "tao": tao, "bot": choice})


def add_row(scn: dict[str, Any], what: str) -> None:
    if what == "subnet" and len(scn["subnets"]) < MAX_ROWS:
        ids = [s["id"] for s in scn["subnets"] if isinstance(s.get("id"), int)]
        nid = max(ids, default=0) + 1
        scn["subnets"].append({"id": nid, "name": f"Subnet {nid}", "tao": 1000.0,
                               "alpha": 20000.0, "mechanism": "ai_work"})
    elif what == "event" and len(scn["events"]) < MAX_ROWS:
        scn["events"].append({"epoch": 0, "title": "", "text": "", "actions": []})


def remove_row(scn: dict[str, Any], what: str) -> None:
    """`what` is "subnets.3" or "events.0"; a removed subnet's owner goes with it."""
    name, _, index = what.partition(".")
    if name in ("subnets", "events") and index.isdigit() and int(index) < len(scn[name]):
        gone = scn[name].pop(int(index))
        if name == "subnets" and isinstance(gone, dict) and isinstance(scn.get("players"), list):
            scn["players"] = [p for p in scn["players"] if not (
                isinstance(p, dict) and p.get("role") == "subnet_owner"
                and p.get("subnet") == gone.get("id"))]


# --- the page's layout ---------------------------------------------------------------------------

def _text(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "json":
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if isinstance(value, float):
        return f"{value:.15g}"
    return str(value)


def _field(path: str, label: str, kind: str, value: Any, errors: dict[str, str],
           choices: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"name": path, "label": label, "kind": kind, "value": _text(value, kind),
            "error": errors.get(path, ""), "choices": choices,
            "id": "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", path)}


def _kind_choices(kind: str) -> tuple[str, tuple[str, ...]]:
    if kind == "mechanism":
        return "choice", MECHANISMS
    return kind, ()


def layout(scn: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    """The editor's sections: lists of fields {name, label, kind, value, error, choices, id}."""
    def f(path: str, label: str, kind: str, value: Any, choices: tuple[str, ...] = ()
          ) -> dict[str, Any]:
        return _field(path, label, kind, value, errors, choices)

    roles = []
    for role in ROLES:
        fields = [f(f"role_defaults.{role}.tao", "Starting TAO", "num",
                    _get(scn, f"role_defaults.{role}.tao"))]
        if role == "root_validator":
            fields.append(f(f"role_defaults.{role}.root_stake", "Starting root stake", "num",
                            _get(scn, f"role_defaults.{role}.root_stake")))
        fields += [f(f"role_mix.{role}", "Share of the class (ratio)", "num",
                     _get(scn, f"role_mix.{role}")),
                   f(f"bot_fill.{role}", "Bot for an empty seat", "choice",
                     _get(scn, f"bot_fill.{role}"), tuple(policy_names()))]
        roles.append({"role": role, "label": ROLE_LABELS[role], "fields": fields})

    def rows(name: str, spec: tuple[tuple[str, str, str], ...]) -> list[dict[str, Any]]:
        out = []
        for i, row in enumerate(scn.get(name) or []):
            row = row if isinstance(row, dict) else {}
            cells = []
            for key, label, kind in spec:
                k, choices = _kind_choices(kind)
                cells.append(f(f"{name}[{i}].{key}", label, k, row.get(key), choices))
            if name == "subnets":
                seat = owner_of(scn, row.get("id"))
                label = ("Owner: keep " + (f"{seat.get('id')} ({seat.get('bot') or 'a seat'})"
                                           if seat else "none"))
                cells.append(f(f"{name}[{i}].owner", "Owner (a bot, or none)", "owner",
                               "", (KEEP, NO_OWNER, *policy_names())) | {"keep": label})
            keys = {key for key, _label, _kind in spec} | {"prediction"}
            extra = json.dumps({k: v for k, v in row.items() if k not in keys},
                               ensure_ascii=False)
            asked = prediction_form.cells(i, row, f) if name == "events" else []
            out.append({"index": i, "fields": cells, "row": row, "extra": extra,
                        "prediction": asked})
        return out

    return {
        "basics": [f("name", "Name", "text", scn.get("name")),
                   f("description", "Description", "area", scn.get("description"))],
        "clock": [f(p, label, k, _get(scn, p)) for p, label, k in CLOCK],
        "rules": [{"name": r, "checked": r in (scn.get("rules") or []),
                   "id": f"rule-{r}"} for r in RULES],
        "rules_error": errors.get("rules", ""),
        "registration": [f(p, label, k, _get(scn, p)) for p, label, k in REGISTRATION],
        "roles": roles,
        "roles_error": errors.get("role_mix", "") or errors.get("role_defaults", ""),
        "foundation": f(FOUNDATION, "The Foundation seat's root stake (TAO; empty: none)",
                        "num", (_seat(scn) or {}).get("root_stake")),
        "players": f("players", "Players: bots, subnet owners and the Foundation seat (JSON)",
                     "json", scn.get("players")),
        "subnets": rows("subnets", SUBNET_FIELDS),
        "events": rows("events", EVENT_FIELDS),
        "guide": [f(f"guide.{key}", label, "area", _get(scn, f"guide.{key}"))
                  for key, label in GUIDE],
    }


def field_names(page: dict[str, Any]) -> list[str]:
    names = [x["name"] for k in ("basics", "clock", "registration") for x in page[k]]
    names += [x["name"] for r in page["roles"] for x in r["fields"]]
    names += ["players", FOUNDATION] + [f"guide.{key}" for key, _label in GUIDE]
    names += [x["name"] for k in ("subnets", "events") for r in page[k]
              for x in r["fields"] + r["prediction"]]
    return names


def place_error(page: dict[str, Any], field: str, message: str,
                scn: dict[str, Any] | None = None) -> str:
    """Put a validation error beside the field whose path is the longest prefix of `field`
    (`players[3].subnet` → the players box); return the path used ('' if none matched)."""
    seat = _seat(scn) if scn is not None else None
    if seat is not None and scn is not None and \
            field == f"players[{scn['players'].index(seat)}].root_stake":
        return FOUNDATION
    best = ""
    for name in field_names(page):
        if (field == name or field.startswith(name + ".") or field.startswith(name + "[")) \
                and len(name) > len(best):
            best = name
    return best
