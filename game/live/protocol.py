"""Inbound WebSocket messages: one declarative schema per message type (docs/protocol.md).

Everything is strict: unknown fields, wrong JSON types and non-finite or out-of-range numbers
are refused, so nothing past this module has to re-check shapes.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal, Union

import orjson
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from game import names
from game.errors import ClientError
from game.inputguard import has_control
from sim.actions import MAX_AMOUNT  # the simulator's own bound: one number

ClientId = Annotated[str, Field(min_length=1, max_length=64)]
Amount = Annotated[float, Field(gt=0, le=MAX_AMOUNT, allow_inf_nan=False)]
Price = Annotated[float, Field(gt=0, le=MAX_AMOUNT, allow_inf_nan=False)]
SubnetId = Annotated[int, Field(ge=0, le=4096)]
Weight = Annotated[float, Field(ge=0, le=1e6, allow_inf_nan=False)]
Mechanism = Literal["ai_work", "hold_to_earn", "owner_mined"]
PlayerRef = Annotated[str, Field(min_length=1, max_length=40)]


def _subnet_name(raw: str) -> str:
    try:
        return names.clean_subnet_name(raw)
    except names.NicknameError as exc:  # pydantic reports it as `invalid`, with the message
        raise ValueError(str(exc)) from None


# Shown on every phone and the projector: the nickname filter (invisible and control characters
# dropped, the blocklist), not only a length.
SubnetName = Annotated[str, Field(min_length=1, max_length=120), AfterValidator(_subnet_name)]


class Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False, frozen=True)


# --- the actions a seat can take (the `do` of a command or a quote) ---------------------------

class Stake(Strict):
    do: Literal["stake"]
    subnet: SubnetId
    tao: Amount
    limit_price: Price | None = None


class Unstake(Strict):
    do: Literal["unstake"]
    subnet: SubnetId
    alpha: Amount
    limit_price: Price | None = None


class Move(Strict):
    model_config = ConfigDict(populate_by_name=False)
    do: Literal["move"]
    from_: SubnetId = Field(alias="from")
    to: SubnetId
    alpha: Amount


class RootStake(Strict):
    do: Literal["root_stake"]
    tao: Amount
    validator: PlayerRef | None = None


class RootUnstake(Strict):
    do: Literal["root_unstake"]
    tao: Amount
    validator: PlayerRef | None = None


class RootRegister(Strict):
    """A root validator takes a seat on a subnet: its root stake counts there (sim/epoch.py)."""
    do: Literal["root_register"]
    subnet: SubnetId


class RootDeregister(Strict):
    do: Literal["root_deregister"]
    subnet: SubnetId


class Weights(Strict):
    """Relative weights over the miner classes; all zero means "pay no one"."""
    workers: Weight = 0.0
    holders: Weight = 0.0
    owner: Weight = 0.0


class SetWeights(Strict):
    do: Literal["set_weights"]
    subnet: SubnetId
    weights: Weights | None


class SetMechanism(Strict):
    do: Literal["set_mechanism"]
    subnet: SubnetId
    mechanism: Mechanism


class Buyback(Strict):
    do: Literal["buyback"]
    subnet: SubnetId
    tao: Amount


class RegisterSubnet(Strict):
    do: Literal["register_subnet"]
    name: SubnetName | None = None
    mechanism: Mechanism | None = None


ACTIONS = (Stake, Unstake, Move, RootStake, RootUnstake, RootRegister, RootDeregister, SetWeights,
           SetMechanism, Buyback, RegisterSubnet)


def action_dict(model: BaseModel) -> dict[str, Any]:
    """The sim action for a validated action model (without the player, which the seat gives)."""
    data = model.model_dump(by_alias=True, exclude_none=True, exclude={"type", "id"})
    if data.get("do") == "set_weights":
        weights = data.get("weights")
        data["weights"] = None if weights is None else {k: v for k, v in weights.items() if v}
    return data


def _with(base: type[Strict], name: str, **fields: Any) -> type[Strict]:
    """A message model = an action model plus the envelope fields (type, id)."""
    return type(name, (base,), {"__annotations__": dict(fields), "__module__": __name__})


# --- the envelopes -----------------------------------------------------------------------------

CommandMsg = Annotated[
    Union[tuple(_with(a, "Command" + a.__name__, type=Literal["command"], id=ClientId)
                for a in ACTIONS)],
    Field(discriminator="do"),
]
QuoteMsg = Annotated[
    Union[tuple(_with(a, "Quote" + a.__name__, type=Literal["quote"], id=ClientId)
                for a in ACTIONS)],
    Field(discriminator="do"),
]


class CancelMsg(Strict):
    type: Literal["cancel"]
    id: ClientId
    command: ClientId


class SnapshotMsg(Strict):
    type: Literal["snapshot"]
    id: ClientId | None = None


class PingMsg(Strict):
    type: Literal["ping"]
    id: ClientId | None = None


class _Control(Strict):
    type: Literal["control"]
    id: ClientId


class SimpleControl(_Control):
    op: Literal["start", "pause", "resume", "end", "lock", "unlock", "auto_roles"]


class TickSecondsControl(_Control):
    op: Literal["tick_seconds"]
    seconds: Annotated[float, Field(ge=1, le=600, allow_inf_nan=False)]


class AdvanceControl(_Control):
    op: Literal["advance"]
    unit: Literal["tick", "epoch"] = "tick"


class KickControl(_Control):
    op: Literal["kick"]
    seat_id: Annotated[int, Field(ge=1)]


class SetRoleControl(_Control):
    op: Literal["set_role"]
    seat_id: Annotated[int, Field(ge=1)]
    role: Literal["speculator", "subnet_owner", "root_validator"]  # models.ROLES


class EventControl(_Control):
    op: Literal["event"]
    event: Annotated[int, Field(ge=0, le=10_000)]
    action: Literal["fire", "hold", "skip"]


class FoundationControl(_Control):
    op: Literal["foundation"]
    on: bool


class PlayAgainControl(_Control):
    """The next round of an ended game (game/rounds.py); `setting` is checked there, so an
    unknown one gets its own code (unknown_setting) rather than `invalid`."""
    op: Literal["play_again"]
    setting: Annotated[str, Field(min_length=1, max_length=40)] | None = None
    value: bool | Annotated[float, Field(allow_inf_nan=False)] | Annotated[
        str, Field(max_length=40)] | None = None


class RoundControl(_Control):
    op: Literal["practice", "to_real"]


ControlMsg = Annotated[
    Union[SimpleControl, TickSecondsControl, AdvanceControl, KickControl, SetRoleControl,
          EventControl, FoundationControl, PlayAgainControl, RoundControl],
    Field(discriminator="op"),
]

_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    "command": TypeAdapter(CommandMsg),
    "quote": TypeAdapter(QuoteMsg),
    "cancel": TypeAdapter(CancelMsg),
    "control": TypeAdapter(ControlMsg),
    "snapshot": TypeAdapter(SnapshotMsg),
    "ping": TypeAdapter(PingMsg),
}
MESSAGE_TYPES = tuple(_ADAPTERS)


def parse(text: str | bytes) -> Any:
    """JSON text → a validated message model, or ClientError(bad_json|unknown_type|invalid)."""
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        # orjson also refuses NaN/Infinity literals and numbers beyond a double's range.
        raise ClientError("bad_json", "the message is not valid JSON") from None
    if not isinstance(data, dict):
        raise ClientError("bad_json", "the message must be a JSON object")
    if has_control(data):
        # NUL and the other control characters, in any string (value or key): PostgreSQL
        # cannot store a NUL at all, and no field of the protocol needs any of them.
        ref = data.get("id") if isinstance(data.get("id"), str) else None
        raise ClientError("bad_value", "a text field contains a control character",
                          ref=None if ref is None or has_control(ref) else ref)
    ref = data.get("id") if isinstance(data.get("id"), str) else None
    kind = data.get("type")
    adapter = _ADAPTERS.get(kind) if isinstance(kind, str) else None
    if adapter is None:
        raise ClientError("unknown_type", f"unknown message type {kind!r}"[:120], ref=ref)
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        details = [{"loc": ".".join(str(p) for p in e["loc"]), "msg": e["msg"]}
                   for e in exc.errors(include_url=False, include_input=False)][:10]
        raise ClientError("invalid", "the message does not match its schema", ref=ref,
                          details=details) from None
