"""Load and validate scenario files (docs/scenario-format.md, docs/scenarios.md).

`load_scenario(path_or_dict)` returns the normalized scenario: a plain dict, every default
filled in, numbers coerced to their contract types, so that the engine, the server and the
result document all read one shape. A bad file raises `ScenarioError(field, reason)` whose
message names the field path (`subnets[2].mechanism: unknown mechanism 'meme'`); nothing runs.

Extra fields are allowed everywhere (the format is a contract other tools extend) and are kept
as they are. Fields this project adds on top of the contract, for the class server:

- `role_defaults`: {role: {"tao": x, "root_stake": y}} — what a student joining in that role
  starts with (a root validator's `root_stake` is its own TAO on root).
- `role_mix`: {role: ratio} — how the lobby assigns roles automatically (ratios, any scale).
- `lesson`: [line, ...] — the key lesson lines the debrief page shows.
- `bot_fill`: {role: policy} — which bot policy fills an empty seat of that role.

Loading an already-normalized scenario returns an equal dict (the loader is idempotent), so the
server can store the normalized form and reload it.
"""
from __future__ import annotations

import copy
import json
import math
import tomllib
from decimal import Context
from pathlib import Path
from typing import Any, Iterator, Mapping

from sim import params as engine_params

# Names come from the engine's table (sim.params), so the loader and the engine never disagree.
# docs/mechanism.md regime switches; `launch` is the baseline and always applies.
RULES: tuple[str, ...] = tuple(engine_params.RULES)
MECHANISMS: tuple[str, ...] = tuple(engine_params.MECHANISMS)
MINER_CLASSES: tuple[str, ...] = tuple(engine_params.MINER_CLASSES)
# Roles a scenario seat may have (engine_params.ROLES also lists the instructor, who is no seat).
ROLES: tuple[str, ...] = ("speculator", "subnet_owner", "root_validator")
ACTIONS: tuple[str, ...] = (
    "stake", "unstake", "move", "root_stake", "root_unstake", "set_weights", "set_mechanism",
    "buyback", "register_subnet", "set_miner_burn", "root_register", "root_deregister",
)

# (low, high, low inclusive, high inclusive) for each known parameter; unknown extra params are
# kept but only checked to be finite numbers.
_PARAM_RANGES: dict[str, tuple[float | None, float | None, bool, bool]] = {
    "block_emission": (0.0, 1e6, True, True),
    "tao_issued": (0.0, 21_000_000.0, True, False),
    "tao_weight": (0.0, 1.0, True, True),
    "owner_cut": (0.0, 1.0, True, False),
    "moving_alpha": (0.0, 1.0, False, True),
    "ema_halving_blocks": (0.0, 1e12, False, True),
    "kappa": (0.0, 1.0, False, False),
    "validator_take": (0.0, 1.0, True, True),
    "stake_fee": (0.0, 1e6, True, True),
    "miner_sell_fraction": (0.0, 1.0, True, True),
    "percent_fee_rate": (0.0, 1.0, True, False),
    "min_stake": (0.0, 1e6, True, True),
    "reserve_floor": (0.0, 1e6, False, True),
    "alpha_block_emission": (0.0, 1e6, True, True),
    "flow_beta": (0.0, 1.0, False, True),
    "lock_min": (0.0, 1e9, True, True),
    "lock_interval": (1, 1e12, True, True),
    "registration_open": (0, 1, True, True),
    "pool_seed": (0.0, 1e9, False, True),
    "subnet_limit": (1, 65_535, True, True),
    "immunity_blocks": (0, 1e12, True, True),
    "work_revenue_ratio": (0.0, 1e6, True, True),
}

# Bounds on the clock: a game must end, and a tick must stay computable in real time.
CLOCK_LIMITS: dict[str, tuple[float, float]] = {
    "blocks_per_tick": (1, 10_000_000),
    "ticks_per_epoch": (1, 10_000),
    "epochs": (1, 100_000),
    "tick_seconds": (0.05, 86_400),
}
CLOCK_DEFAULTS: dict[str, Any] = dict(engine_params.CLOCK_DEFAULTS)
MAX_TOTAL_TICKS = 1_000_000
MAX_SEED = 2**63 - 1
MAX_AMOUNT = 1e12  # as sim.actions: far above the 21M TAO supply (catches rao typed as TAO)


class ScenarioError(ValueError):
    """A scenario that cannot run. `field` is the path (`players[3].subnet`), `reason` why."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}" if field else reason)


def param_defaults() -> dict[str, Any]:
    """Every engine parameter with its docs/mechanism.md default (sim.params.DEFAULTS)."""
    return dict(engine_params.DEFAULTS)


def policy_names() -> tuple[str, ...]:
    from sim.bots import POLICIES
    return tuple(POLICIES)


# --- small typed checkers: each raises ScenarioError naming the field -------------------------

def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _num(v: Any, field: str, *, lo: float | None = None, hi: float | None = None,
         lo_incl: bool = True, hi_incl: bool = True) -> float:
    if not _is_num(v):
        raise ScenarioError(field, f"expected a number, got {_tname(v)}")
    try:
        x = float(v)
    except OverflowError:  # an integer past a float's range (a JSON number of 400 digits)
        raise ScenarioError(field, f"must be finite, got {_fmt_int(v)}") from None
    if not math.isfinite(x):
        raise ScenarioError(field, "must be finite")
    if lo is not None and (x < lo or (x == lo and not lo_incl)):
        raise ScenarioError(field, f"must be {'>=' if lo_incl else '>'} {_fmt(lo)}, got {_fmt(x)}")
    if hi is not None and (x > hi or (x == hi and not hi_incl)):
        raise ScenarioError(field, f"must be {'<=' if hi_incl else '<'} {_fmt(hi)}, got {_fmt(x)}")
    return x


def _amount(v: Any, field: str, *, positive: bool = False) -> float:
    return _num(v, field, lo=0.0, hi=MAX_AMOUNT, lo_incl=not positive)


def _int(v: Any, field: str, *, lo: int | None = None, hi: int | None = None) -> int:
    # 3.0 is accepted as 3 (TOML/JSON writers differ); 3.5 is not.
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if not isinstance(v, int) or isinstance(v, bool):
        raise ScenarioError(field, f"expected an integer, got {_tname(v)}")
    if lo is not None and v < lo:
        raise ScenarioError(field, f"must be >= {lo}, got {_fmt_int(v)}")
    if hi is not None and v > hi:
        raise ScenarioError(field, f"must be <= {hi}, got {_fmt_int(v)}")
    return v


def _str(v: Any, field: str, *, nonempty: bool = True) -> str:
    if not isinstance(v, str):
        raise ScenarioError(field, f"expected a string, got {_tname(v)}")
    if nonempty and not v.strip():
        raise ScenarioError(field, "must not be empty")
    return v


def _obj(v: Any, field: str) -> dict[str, Any]:
    if not isinstance(v, Mapping):
        raise ScenarioError(field, f"expected an object, got {_tname(v)}")
    return dict(v)


def _list(v: Any, field: str) -> list[Any]:
    if not isinstance(v, list):
        raise ScenarioError(field, f"expected a list, got {_tname(v)}")
    return v


def _choice(v: Any, field: str, allowed: tuple[str, ...], what: str) -> str:
    s = _str(v, field)
    if s not in allowed:
        raise ScenarioError(field, f"unknown {what} {s!r} (expected one of {', '.join(allowed)})")
    return s


def _tname(v: Any) -> str:
    if v is None:
        return "null"
    return {bool: "a boolean", str: "a string", list: "a list", dict: "an object",
            int: "an integer", float: "a number"}.get(type(v), type(v).__name__)


def _fmt(x: float) -> str:
    return f"{x:g}"


def _fmt_int(v: int) -> str:
    """An integer as typed, or in the short form _fmt uses once it is longer than 15 digits (an
    error message quotes a 400-digit number as 1e+400)."""
    return str(v) if abs(v) < 10**15 else format(Context(prec=6).create_decimal(v).normalize(), "g")


def _require(d: Mapping[str, Any], key: str, field: str) -> Any:
    if key not in d:
        raise ScenarioError(f"{field}.{key}" if field else key, "is required")
    return d[key]


# --- the loader -------------------------------------------------------------------------------

def read_scenario_file(path: str | Path) -> dict[str, Any]:
    """Parse a scenario file (JSON, or TOML by extension) without validating it."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ScenarioError("file", f"no such file: {p}") from None
    except OSError as exc:
        raise ScenarioError("file", f"cannot read {p}: {exc.strerror or exc}") from None
    if p.suffix.lower() == ".toml":
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ScenarioError("file", f"{p} is not valid TOML: {exc}") from None
    else:
        try:
            data = json.loads(raw.decode("utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ScenarioError("file", f"{p} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ScenarioError("file", f"{p}: the top level must be an object")
    return data


def load_scenario(source: str | Path | Mapping[str, Any]) -> dict[str, Any]:
    """Validate a scenario (a path to JSON/TOML, or a dict) and return it normalized."""
    if isinstance(source, Mapping):
        data = copy.deepcopy(dict(source))
    else:
        data = read_scenario_file(source)
    return normalize(data)


def normalize(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = dict(data)  # extra top-level fields pass through untouched

    out["name"] = _str(data.get("name", "Untitled scenario"), "name")
    out["description"] = _str(data.get("description", ""), "description", nonempty=False)
    out["seed"] = _int(data.get("seed", 0), "seed", lo=0, hi=MAX_SEED)

    out["rules"] = _rules(data.get("rules", ["launch"]))
    out["params"] = _params(data.get("params", {}))
    out["clock"] = clock = _clock(data.get("clock", {}))
    out["root"] = _root(data.get("root", {}))
    out["subnets"] = subnets = _subnets(data.get("subnets", []))
    subnet_ids = {s["id"] for s in subnets}
    out["players"] = players = _players(data.get("players", []), subnet_ids)
    player_ids = {p["id"] for p in players}
    total_ticks = clock["epochs"] * clock["ticks_per_epoch"]

    # A register_subnet action creates the next id; later actions may refer to it, so ids up to
    # max + (number of registrations) are accepted as references.
    n_reg = sum(1 for a in _iter_all_actions(data) if isinstance(a, Mapping)
                and a.get("do") == "register_subnet")
    max_id = max(subnet_ids, default=0)
    may_exist = subnet_ids | set(range(max_id + 1, max_id + 1 + n_reg))

    out["actions"] = [
        _action(a, f"actions[{i}]", player_ids, may_exist, total_ticks, with_tick=True)
        for i, a in enumerate(_list(data.get("actions", []), "actions"))
    ]
    out["events"] = _events(data.get("events", []), player_ids, may_exist, clock["epochs"])

    out["role_defaults"] = _role_defaults(data.get("role_defaults", {}))
    out["role_mix"] = _role_mix(data.get("role_mix", {}))
    out["lesson"] = [_str(x, f"lesson[{i}]") for i, x in
                     enumerate(_list(data.get("lesson", []), "lesson"))]
    out["bot_fill"] = _bot_fill(data.get("bot_fill", {}))
    return out


def _iter_all_actions(data: dict[str, Any]) -> Iterator[Any]:
    acts = data.get("actions", [])
    if isinstance(acts, list):
        yield from acts
    evs = data.get("events", [])
    if isinstance(evs, list):
        for e in evs:
            if isinstance(e, Mapping) and isinstance(e.get("actions"), list):
                yield from e["actions"]


def _rules(v: Any) -> list[str]:
    rules = _list(v, "rules")
    allowed = RULES
    seen: list[str] = []
    for i, r in enumerate(rules):
        name = _choice(r, f"rules[{i}]", allowed, "rule")
        if name in seen:
            raise ScenarioError(f"rules[{i}]", f"duplicate rule {name!r}")
        seen.append(name)
    # launch is the baseline every other switch modifies; keep it explicit and first.
    if "launch" not in seen:
        seen.insert(0, "launch")
    return seen


def _params(v: Any) -> dict[str, Any]:
    given = _obj(v, "params")
    out: dict[str, Any] = param_defaults()
    for key, val in given.items():
        field = f"params.{key}"
        lo, hi, lo_incl, hi_incl = _PARAM_RANGES.get(key, (None, None, True, True))
        if key in out and isinstance(out[key], int) and not isinstance(out[key], bool):
            # an integer parameter (a count of blocks or subnets) stays an integer
            x = _int(val, field)
            _num(x, field, lo=lo, hi=hi, lo_incl=lo_incl, hi_incl=hi_incl)
            out[key] = x
        elif key in out:
            out[key] = _num(val, field, lo=lo, hi=hi, lo_incl=lo_incl, hi_incl=hi_incl)
        else:
            # An extra parameter the engine does not know: kept as given (the format allows
            # extra fields; another tool may read it).
            out[key] = val
    return out


def _clock(v: Any) -> dict[str, Any]:
    given = _obj(v, "clock")
    out = dict(given)
    for key, default in CLOCK_DEFAULTS.items():
        lo, hi = CLOCK_LIMITS[key]
        field = f"clock.{key}"
        val = given.get(key, default)
        if key == "tick_seconds":
            out[key] = _num(val, field, lo=lo, hi=hi)
        else:
            out[key] = _int(val, field, lo=int(lo), hi=int(hi))
    if out["epochs"] * out["ticks_per_epoch"] > MAX_TOTAL_TICKS:
        raise ScenarioError("clock", f"epochs x ticks_per_epoch must be <= {MAX_TOTAL_TICKS}")
    # Optional: the chain epoch's length in blocks (Yuma runs every tempo_blocks blocks). Absent
    # means blocks_per_tick x ticks_per_epoch (one chain epoch per game epoch), so it is not
    # filled in: scenarios written before it existed normalise as before.
    if given.get("tempo_blocks") is not None:
        out["tempo_blocks"] = _int(given["tempo_blocks"], "clock.tempo_blocks", lo=1,
                                   hi=int(CLOCK_LIMITS["blocks_per_tick"][1]))
        ticks = out["epochs"] * out["ticks_per_epoch"]
        if ticks * out["blocks_per_tick"] // out["tempo_blocks"] > MAX_TOTAL_TICKS:
            raise ScenarioError("clock.tempo_blocks",
                                f"at most {MAX_TOTAL_TICKS} chain epochs in a game")
    return out


def _root(v: Any) -> dict[str, Any]:
    given = _obj(v, "root")
    out = dict(given)
    out["stake"] = _amount(given.get("stake", 0.0), "root.stake")
    return out


def _subnets(v: Any) -> list[dict[str, Any]]:
    items = _list(v, "subnets")
    out: list[dict[str, Any]] = []
    seen: dict[int, int] = {}
    for i, s in enumerate(items):
        f = f"subnets[{i}]"
        s = _obj(s, f)
        sid = _int(_require(s, "id", f), f"{f}.id", lo=1, hi=65_535)  # 0 is root
        if sid in seen:
            raise ScenarioError(f"{f}.id", f"duplicate subnet id {sid} (also subnets[{seen[sid]}])")
        seen[sid] = i
        n = dict(s)
        n["id"] = sid
        n["name"] = _str(s.get("name", f"Subnet {sid}"), f"{f}.name")
        # A pool opens at (1 TAO, 1 alpha) on chain; reserves below the swap floor cannot trade.
        n["tao"] = _num(s.get("tao", 1.0), f"{f}.tao", lo=0.01, hi=MAX_AMOUNT)
        n["alpha"] = _num(s.get("alpha", 1.0), f"{f}.alpha", lo=0.01, hi=MAX_AMOUNT)
        n["alpha_out"] = _amount(s.get("alpha_out", 0.0), f"{f}.alpha_out")
        # Default moving price: the pool's spot price, capped at 1 as the EMA input is. (A
        # brand-new registration starts at 0 on chain, but scenario subnets are live markets,
        # and all-zero moving prices would leave the emission shares undefined.)
        spot = n["tao"] / n["alpha"]
        n["moving_price"] = _num(s.get("moving_price", min(spot, 1.0)), f"{f}.moving_price",
                                 lo=0.0, hi=1.0)
        n["mechanism"] = _choice(s.get("mechanism", "ai_work"), f"{f}.mechanism", MECHANISMS,
                                 "mechanism")
        n["age_blocks"] = _int(s.get("age_blocks", 0), f"{f}.age_blocks", lo=0)
        if "flow_ema" in s:  # `tao_flow`: the starting EMA of net TAO flow (may be negative)
            n["flow_ema"] = _num(s["flow_ema"], f"{f}.flow_ema", lo=-MAX_AMOUNT, hi=MAX_AMOUNT)
        if "miner_burn" in s:  # `owner_burn`: share of the miners' emission the owner burns
            n["miner_burn"] = _num(s["miner_burn"], f"{f}.miner_burn", lo=0.0, hi=1.0)
        out.append(n)
    return out


def _players(v: Any, subnet_ids: set[int]) -> list[dict[str, Any]]:
    items = _list(v, "players")
    out: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    owners: dict[int, str] = {}
    policies = policy_names()
    for i, p in enumerate(items):
        f = f"players[{i}]"
        p = _obj(p, f)
        pid = _str(_require(p, "id", f), f"{f}.id")
        if pid in seen:
            raise ScenarioError(f"{f}.id",
                                f"duplicate player id {pid!r} (also players[{seen[pid]}])")
        if pid == "instructor":
            raise ScenarioError(f"{f}.id", "'instructor' is reserved for the instructor's commands")
        seen[pid] = i
        n = dict(p)
        n["id"] = pid
        n["role"] = role = _choice(p.get("role", "speculator"), f"{f}.role", ROLES, "role")
        n["tao"] = _amount(p.get("tao", 0.0), f"{f}.tao")
        n["root_stake"] = _amount(p.get("root_stake", 0.0), f"{f}.root_stake")
        if role == "subnet_owner":
            n["subnet"] = _owned_subnet(p, f, pid, subnet_ids, owners)
        elif "subnet" in p and p["subnet"] is not None:
            raise ScenarioError(f"{f}.subnet",
                                f"only a subnet_owner owns a subnet (role is {role})")
        if "alpha" in p:  # starting alpha holdings {subnet id: amount} (extra field)
            n["alpha"] = _holdings(p["alpha"], f"{f}.alpha", subnet_ids)
        if p.get("root_seats") is not None:  # root validator: subnets it holds a seat on
            if role != "root_validator":
                raise ScenarioError(f"{f}.root_seats",
                                    f"only a root_validator holds root seats (role is {role})")
            n["root_seats"] = _root_seats(p["root_seats"], f"{f}.root_seats", subnet_ids)
        if p.get("bot") is not None:
            n["bot"] = _choice(p["bot"], f"{f}.bot", policies, "bot policy")
        else:
            n.pop("bot", None)
        out.append(n)
    return out


def _owned_subnet(p: Mapping[str, Any], f: str, pid: str, subnet_ids: set[int],
                  owners: dict[int, str]) -> int:
    """A subnet owner's subnet: one that exists and nobody else owns (noted in `owners`)."""
    sid = _int(_require(p, "subnet", f), f"{f}.subnet", lo=1)
    if sid not in subnet_ids:
        raise ScenarioError(f"{f}.subnet", f"unknown subnet {sid}")
    if sid in owners:
        raise ScenarioError(f"{f}.subnet", f"subnet {sid} already owned by {owners[sid]!r}")
    owners[sid] = pid
    return sid


def _holdings(v: Any, f: str, subnet_ids: set[int]) -> dict[str, float]:
    """Starting alpha {subnet id: amount}, keys normalised to the id's text."""
    norm: dict[str, float] = {}
    for k, a in _obj(v, f).items():
        try:
            sid = int(k)
        except (TypeError, ValueError):
            raise ScenarioError(f"{f}.{k}", "expected a subnet id") from None
        if sid not in subnet_ids:
            raise ScenarioError(f"{f}.{k}", f"unknown subnet {sid}")
        norm[str(sid)] = _amount(a, f"{f}.{k}")
    return norm


def _root_seats(v: Any, f: str, subnet_ids: set[int]) -> list[int]:
    """A root validator's seats: known subnet ids, sorted, each once."""
    seats: list[int] = []
    for j, x in enumerate(_list(v, f)):
        sid = _int(x, f"{f}[{j}]", lo=1)
        if sid not in subnet_ids:
            raise ScenarioError(f"{f}[{j}]", f"unknown subnet {sid}")
        if sid not in seats:
            seats.append(sid)
    return sorted(seats)


_NEEDS: dict[str, tuple[str, ...]] = {
    "stake": ("subnet", "tao"),
    "unstake": ("subnet", "alpha"),
    "move": ("from", "to", "alpha"),
    "root_stake": ("tao",),
    "root_unstake": ("tao",),
    "set_weights": ("subnet",),  # weights absent or null = follow the mechanism (TOML has no null)
    "set_mechanism": ("subnet", "mechanism"),
    "buyback": ("subnet", "tao"),
    "register_subnet": (),
    "set_miner_burn": ("subnet", "fraction"),  # `owner_burn` (docs/mechanism.md)
    "root_register": ("subnet",),
    "root_deregister": ("subnet",),
}


def _action(a: Any, f: str, player_ids: set[str], subnet_ids: set[int], total_ticks: int,
            *, with_tick: bool) -> dict[str, Any]:
    a = _obj(a, f)
    n = dict(a)
    if with_tick:
        n["tick"] = _int(_require(a, "tick", f), f"{f}.tick", lo=0, hi=total_ticks - 1)
    player = _str(_require(a, "player", f), f"{f}.player")
    if player not in player_ids and player != "instructor":
        raise ScenarioError(f"{f}.player", f"unknown player {player!r}")
    do = _choice(_require(a, "do", f), f"{f}.do", ACTIONS, "action")
    for key in _NEEDS[do]:
        _require(a, key, f)
    for key in ("subnet", "from", "to"):
        if key in _NEEDS[do]:
            sid = _int(a[key], f"{f}.{key}", lo=1)
            if sid not in subnet_ids:
                raise ScenarioError(f"{f}.{key}", f"unknown subnet {sid}")
            n[key] = sid
    for key in ("tao", "alpha"):
        if key in _NEEDS[do]:
            n[key] = _amount(a[key], f"{f}.{key}", positive=True)
    _action_options(a, f, do, player_ids, n)
    return n


def _action_options(a: Mapping[str, Any], f: str, do: str, player_ids: set[str],
                    n: dict[str, Any]) -> None:
    """Into `n`, an action's fields beyond its subnets and amounts, checked in this order:
    limit price, burn fraction, a move's two subnets differ, weights, mechanism, and a root
    stake's validator must be a player."""
    if "limit_price" in a and a["limit_price"] is not None:
        if do not in ("stake", "unstake"):
            raise ScenarioError(f"{f}.limit_price", "only stake and unstake take a limit price")
        n["limit_price"] = _num(a["limit_price"], f"{f}.limit_price", lo=0.0, lo_incl=False,
                                hi=MAX_AMOUNT)
    if do == "set_miner_burn":
        n["fraction"] = _num(a["fraction"], f"{f}.fraction", lo=0.0, hi=1.0)
    if do == "move" and n["from"] == n["to"]:
        raise ScenarioError(f"{f}.to", "must differ from 'from'")
    if do == "set_weights":
        n["weights"] = _weights(a.get("weights"), f"{f}.weights")
    if do in ("set_mechanism",) or (do == "register_subnet" and "mechanism" in a):
        n["mechanism"] = _choice(a["mechanism"], f"{f}.mechanism", MECHANISMS, "mechanism")
    if "validator" in a and a["validator"] is not None:
        v = _str(a["validator"], f"{f}.validator")
        if v not in player_ids:
            raise ScenarioError(f"{f}.validator", f"unknown player {v!r}")


def _weights(v: Any, f: str) -> dict[str, float] | None:
    if v is None:  # null = follow the subnet's mechanism again
        return None
    w = _obj(v, f)
    out: dict[str, float] = {}
    for k, x in w.items():
        if k not in MINER_CLASSES:
            raise ScenarioError(f"{f}.{k}", f"unknown miner class {k!r} "
                                f"(expected one of {', '.join(MINER_CLASSES)})")
        out[k] = _num(x, f"{f}.{k}", lo=0.0, hi=MAX_AMOUNT)
    if not out or sum(out.values()) <= 0:
        raise ScenarioError(f, "weights must have a positive total")
    return out


def _events(v: Any, player_ids: set[str], subnet_ids: set[int], epochs: int
            ) -> list[dict[str, Any]]:
    items = _list(v, "events")
    out: list[dict[str, Any]] = []
    for i, e in enumerate(items):
        f = f"events[{i}]"
        e = _obj(e, f)
        n = dict(e)
        n["epoch"] = _int(_require(e, "epoch", f), f"{f}.epoch", lo=0, hi=epochs - 1)
        n["title"] = _str(_require(e, "title", f), f"{f}.title")
        n["text"] = _str(e.get("text", ""), f"{f}.text", nonempty=False)
        # An event's actions run when it fires, whatever the tick: they carry no tick.
        n["actions"] = [
            _action(a, f"{f}.actions[{j}]", player_ids, subnet_ids, 1, with_tick=False)
            for j, a in enumerate(_list(e.get("actions", []), f"{f}.actions"))
        ]
        if "prediction" in e:
            n["prediction"] = prediction(e["prediction"], f"{f}.prediction", subnet_ids)
        out.append(n)
    return out


PREDICTION_TEXT_MAX = 200
PREDICTION_CHOICE_MAX = 80
PREDICTION_CHOICES = (2, 5)


def prediction(v: Any, f: str, subnet_ids: set[int] | None = None) -> dict[str, Any]:
    """An event's prediction question: `text`, 2–5 distinct `choices`, and optionally the
    `subnet` whose price the debrief sets beside the class's answers and the `correct` choice
    (the answer key the grade sheet marks answers by). Also the server's check of a question
    the instructor types (subnet_ids None: any subnet id)."""
    d = _obj(v, f)
    for key in d:
        if key not in ("text", "choices", "subnet", "correct"):
            raise ScenarioError(f"{f}.{key}",
                                "unknown field (expected text, choices, subnet, correct)")
    text = _str(_require(d, "text", f), f"{f}.text").strip()
    if len(text) > PREDICTION_TEXT_MAX:
        raise ScenarioError(f"{f}.text", f"must be at most {PREDICTION_TEXT_MAX} characters")
    raw = _list(_require(d, "choices", f), f"{f}.choices")
    lo, hi = PREDICTION_CHOICES
    if not lo <= len(raw) <= hi:
        raise ScenarioError(f"{f}.choices", f"must hold {lo} to {hi} choices, got {len(raw)}")
    choices = []
    for j, c in enumerate(raw):
        c = _str(c, f"{f}.choices[{j}]").strip()
        if len(c) > PREDICTION_CHOICE_MAX:
            raise ScenarioError(f"{f}.choices[{j}]",
                                f"must be at most {PREDICTION_CHOICE_MAX} characters")
        if c in choices:
            raise ScenarioError(f"{f}.choices[{j}]", f"repeats the choice {c!r}")
        choices.append(c)
    out: dict[str, Any] = {"text": text, "choices": choices}
    if d.get("subnet") is not None:
        sid = _int(d["subnet"], f"{f}.subnet", lo=0)
        if subnet_ids is not None and sid not in subnet_ids:
            raise ScenarioError(f"{f}.subnet", f"unknown subnet {sid}")
        out["subnet"] = sid
    if d.get("correct") is not None:
        key = _str(d["correct"], f"{f}.correct").strip()
        if key not in choices:
            raise ScenarioError(f"{f}.correct", f"must be one of the choices, got {key!r}")
        out["correct"] = key
    return out


def _role_defaults(v: Any) -> dict[str, dict[str, float]]:
    given = _obj(v, "role_defaults")
    out: dict[str, dict[str, float]] = {}
    for role in ROLES:
        d = _obj(given.get(role, {}), f"role_defaults.{role}")
        n = dict(d)
        n["tao"] = _amount(d.get("tao", 1000.0 if role != "root_validator" else 0.0),
                           f"role_defaults.{role}.tao")
        n["root_stake"] = _amount(d.get("root_stake", 100_000.0 if role == "root_validator"
                                        else 0.0), f"role_defaults.{role}.root_stake")
        out[role] = n
    for role in given:
        if role not in ROLES:
            raise ScenarioError(f"role_defaults.{role}", f"unknown role {role!r}")
    return out


def _role_mix(v: Any) -> dict[str, float]:
    given = _obj(v, "role_mix")
    if not given:
        given = {"speculator": 0.7, "subnet_owner": 0.2, "root_validator": 0.1}
    out: dict[str, float] = {}
    for role, x in given.items():
        if role not in ROLES:
            raise ScenarioError(f"role_mix.{role}", f"unknown role {role!r}")
        out[role] = _num(x, f"role_mix.{role}", lo=0.0, hi=1e6)
    if sum(out.values()) <= 0:
        raise ScenarioError("role_mix", "ratios must have a positive total")
    return out


def _bot_fill(v: Any) -> dict[str, str]:
    given = _obj(v, "bot_fill")
    defaults = {"speculator": "noise_trader", "subnet_owner": "ai_owner",
                "root_validator": "diligent_root"}
    policies = policy_names()
    out: dict[str, str] = {}
    for role in given:
        if role not in ROLES:
            raise ScenarioError(f"bot_fill.{role}", f"unknown role {role!r}")
    for role in ROLES:
        out[role] = _choice(given.get(role, defaults[role]), f"bot_fill.{role}", policies,
                            "bot policy")
    return out
