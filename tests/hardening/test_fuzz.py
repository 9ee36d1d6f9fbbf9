"""Protocol fuzzing against the live consumer (the real ASGI app, through WebsocketCommunicator).

Whatever a socket sends (valid shapes with hostile values, random JSON, random text or bytes):
- every message gets exactly one answer, and an `error` carries a stable code from game/errors.py
  (never `internal`: that would be a server fault found by the fuzzer);
- an `error` or `rejected` answer means the game's stored state did not change;
- no frame ever carries a traceback or a source path;
- a second socket of the same game keeps working (its ping is answered).
"""
from __future__ import annotations

import json
import math
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from hypothesis import given, strategies as st
from serverkit import WAIT, join, open_socket

from game.actions.start import start_game
from game.errors import ERROR_CODES, REJECT_CODES
from game.models import Command, Game, Seat

pytestmark = [pytest.mark.server, pytest.mark.django_db(transaction=True), pytest.mark.slow]
db = database_sync_to_async

REPLIES = {"error", "accepted", "rejected", "quote", "cancelled", "ok", "pong", "snapshot"}
LEAKS = ("Traceback", 'File "', ".py\"", ".py'", "/work/", "site-packages")


def digest(game_id: int) -> tuple:
    """Everything a message could change: the game row, every seat, every command."""
    g = Game.objects.get(pk=game_id)
    return (g.status, g.tick, g.seq, g.state, g.public, g.locked, g.advance_ticks,
            g.tick_seconds, json.dumps(g.event_status, sort_keys=True),
            tuple(Seat.objects.filter(game_id=game_id).order_by("id").values_list(
                "id", "nickname", "role", "player", "kicked", "active", "kind")),
            tuple(Command.objects.filter(game_id=game_id).order_by("id").values_list(
                "id", "client_id", "status", "action", "due_tick")))


# --- strategies ------------------------------------------------------------------------------

hostile_number = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(min_value=-2**70, max_value=2**70),
    st.sampled_from([0, -0.0, 1e-320, 1e12, 1e12 + 1, 1e13, 4096, 4097, -1, 2**53 + 1]),
    st.booleans(), st.none(), st.text(max_size=8), st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
hostile_text = st.one_of(
    st.text(max_size=80), st.sampled_from([
        "", " ", "c-1", "x" * 64, "x" * 65, "\u202eevil", "\u200b", "<script>alert(1)</script>",
        "'; DROP TABLE game_game; --", "../../etc/passwd", "%s%s%n", "\x00", "p1", "otf",
        "instructor"]),
    st.integers(), st.none(), st.booleans())
FIELDS = ["id", "do", "subnet", "tao", "alpha", "limit_price", "from", "to", "validator",
          "weights", "mechanism", "name", "command", "op", "seconds", "unit", "seat_id", "role",
          "event", "action", "on", "player", "type"]


@st.composite
def shaped_message(draw: Any) -> dict[str, Any]:
    """A message of a real type, with real and made-up fields holding hostile values."""
    msg: dict[str, Any] = {"type": draw(st.sampled_from(
        ["command", "quote", "cancel", "control", "snapshot", "ping", "Command", "", "pong"]))}
    if draw(st.booleans()):
        msg["id"] = draw(hostile_text)
    msg["do"] = draw(st.one_of(st.sampled_from(
        ["stake", "unstake", "move", "root_stake", "root_unstake", "set_weights",
         "set_mechanism", "buyback", "register_subnet", "join", "steal"]), hostile_text))
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=6, unique=True)):
        if name == "type":
            continue
        msg[name] = draw(st.one_of(hostile_number, hostile_text))
    return msg


json_value = st.recursive(
    st.one_of(st.none(), st.booleans(), st.floats(allow_nan=False, allow_infinity=False),
              st.integers(min_value=-2**64, max_value=2**64), st.text(max_size=20)),
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.text(max_size=10), children, max_size=4)),
    max_leaves=12)

raw_frame = st.one_of(
    shaped_message().map(lambda m: ("text", json.dumps(m))),   # NaN/Infinity stay literal
    json_value.map(lambda v: ("text", json.dumps(v))),
    st.text(max_size=200).map(lambda t: ("text", t)),
    st.binary(max_size=200).map(lambda b: ("bytes", b)),
    st.sampled_from([("text", '{"type": "command", "id": "c", "do": "stake", "subnet": 1, '
                              '"tao": 1e999}'),
                     ("text", '{"type": "ping", "id": "a", "id": "b"}'),
                     ("text", '{"type": "ping"}' + " " * 5000),
                     ("text", "[" * 3000 + "]" * 3000),
                     ("text", '{"type":"cancel","id":"x","command":"c-other"}')]))


# --- the live check --------------------------------------------------------------------------

def _clean(text: str) -> None:
    for leak in LEAKS:
        assert leak not in text, f"a frame leaks {leak!r}: {text[:300]}"


async def _answer(comm: Any) -> tuple[dict[str, Any] | None, int | None]:
    """The reply to the last message, or the close code if the server closed the socket."""
    while True:
        out = await comm.receive_output(timeout=WAIT)
        if out["type"] == "websocket.close":
            return None, out["code"]
        _clean(out.get("text") or "")
        msg = json.loads(out["text"])
        if msg["type"] in REPLIES:
            return msg, None


async def _neighbour_alive(comm: Any) -> None:
    await comm.send_json_to({"type": "ping", "id": "n"})
    while True:
        out = await comm.receive_output(timeout=WAIT)
        assert out["type"] == "websocket.send", "the neighbour's socket was closed"
        _clean(out["text"])
        msg = json.loads(out["text"])
        if msg["type"] == "pong" and msg["id"] == "n":
            return


def _check_reply(reply: dict[str, Any]) -> None:
    assert reply["type"] in REPLIES
    if reply["type"] == "error":
        assert reply["code"] in ERROR_CODES and reply["code"] != "internal", reply
        assert isinstance(reply["message"], str)
    if reply["type"] == "rejected":
        assert reply["code"] in REJECT_CODES
    assert isinstance(reply.get("seq"), int)


async def _run(game_id: int, code: str, frames: list[tuple[str, Any]], who: str) -> None:
    from channels.layers import channel_layers

    channel_layers.backends = {}  # each example has its own event loop
    _seat, token = await join(code)
    _seat2, token2 = await join(code)
    if who == "projector":
        token_game = await db(Game.objects.get)(pk=game_id)
        comm, _ = await open_socket(code, query=f"projector={token_game.projector_token}")
    else:
        comm, _ = await open_socket(code, cookies={f"seat_{code}": token})
    neighbour, _ = await open_socket(code, cookies={f"seat_{code}": token2})
    try:
        for kind, payload in frames:
            before = await db(digest)(game_id)
            # send_input, not send_to: an empty frame is a frame too.
            await comm.send_input({"type": "websocket.receive",
                                   ("bytes" if kind == "bytes" else "text"): payload})
            reply, closed = await _answer(comm)
            if closed is not None:
                # Only the size limit (or flooding) may close a socket, and only with its code.
                assert closed in (4008, 4009), closed
                assert await db(digest)(game_id) == before
                await neighbour_check(neighbour)
                return
            _check_reply(reply)
            if reply["type"] in ("error", "rejected"):
                assert await db(digest)(game_id) == before, (payload, reply)
            await neighbour_check(neighbour)
    finally:
        await comm.disconnect()
        await neighbour.disconnect()


async def neighbour_check(neighbour: Any) -> None:
    await _neighbour_alive(neighbour)


@pytest.fixture
def running_game(game: Any, settings: Any) -> Any:
    settings.WS_RATE_BURST = 10_000  # the fuzzer tests parsing here, not the rate limit
    start_game(game.id)
    return Game.objects.get(pk=game.id)


@given(frames=st.lists(raw_frame, min_size=1, max_size=6))
def test_it_never_changes_state_on_invalid_message(running_game: Any, frames: list) -> None:
    async_to_sync(_run)(running_game.id, running_game.code, frames, "student")


@given(frames=st.lists(shaped_message().map(lambda m: ("text", json.dumps(m))),
                       min_size=1, max_size=6))
def test_it_never_lets_a_projector_change_anything(running_game: Any, frames: list) -> None:
    async_to_sync(_run)(running_game.id, running_game.code, frames, "projector")


@given(frames=st.lists(raw_frame, min_size=1, max_size=4))
def test_it_answers_every_message_in_the_lobby_with_a_stable_code(game: Any, settings: Any,
                                                                   frames: list) -> None:
    settings.WS_RATE_BURST = 10_000
    async_to_sync(_run)(game.id, game.code, frames, "student")


def test_the_fuzz_strategies_produce_non_finite_numbers() -> None:
    """Guard on the generator itself: NaN must reach the socket as a literal (bad_json)."""
    assert json.dumps({"x": math.nan}) == '{"x": NaN}'
