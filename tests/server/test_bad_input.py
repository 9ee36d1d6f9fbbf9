"""Bad input, as a table: every row gets its stable code and changes nothing."""
from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from serverkit import WAIT, closed_with, open_socket, session_cookie, student_socket

from game.actions.clock import end_game
from game.actions.lobby import join_game
from game.actions.orders import submit_command
from game.actions.setup import Overrides, create_game
from game.actions.start import start_game
from game.models import Command, Game, Seat

pytestmark = pytest.mark.django_db(transaction=True)
db = database_sync_to_async

STAKE = {"type": "command", "id": "c-1", "do": "stake", "subnet": 1, "tao": 10.0}


def _with(**changes) -> str:
    return json.dumps({**STAKE, **changes})


# (case, who sends it, the raw text, the expected reply type, the expected code)
CASES = [
    ("malformed JSON", "student", '{"type": "ping"', "error", "bad_json"),
    ("not an object", "student", "[1, 2, 3]", "error", "bad_json"),
    ("a bare string", "student", '"ping"', "error", "bad_json"),
    ("NaN amount", "student", _with().replace("10.0", "NaN"), "error", "bad_json"),
    ("Infinity amount", "student", _with().replace("10.0", "Infinity"), "error", "bad_json"),
    ("an amount beyond a double", "student", _with().replace("10.0", "1e999"), "error",
     "bad_json"),
    ("a string amount", "student", _with(tao="10"), "error", "invalid"),
    ("a boolean amount", "student", _with(tao=True), "error", "invalid"),
    ("a fractional subnet", "student", _with(subnet=1.5), "error", "invalid"),
    ("a numeric id", "student", _with(id=5), "error", "invalid"),
    ("an empty id", "student", _with(id=""), "error", "invalid"),
    ("a negative amount", "student", _with(tao=-5.0), "error", "invalid"),
    ("a zero amount", "student", _with(tao=0.0), "error", "invalid"),
    ("a huge amount", "student", _with(tao=1e13), "error", "invalid"),
    ("a negative limit price", "student", _with(limit_price=-1.0), "error", "invalid"),
    ("a negative weight", "student", json.dumps({
        "type": "command", "id": "w", "do": "set_weights", "subnet": 1,
        "weights": {"workers": -1}}), "error", "invalid"),
    ("an unknown miner class", "student", json.dumps({
        "type": "command", "id": "w", "do": "set_weights", "subnet": 1,
        "weights": {"friends": 1}}), "error", "invalid"),
    ("an unknown field", "student", _with(player="someone_else"), "error", "invalid"),
    ("an unknown action", "student", _with(do="steal"), "error", "invalid"),
    ("a missing field", "student", json.dumps({"type": "command", "id": "c", "do": "stake",
                                               "subnet": 1}), "error", "invalid"),
    ("a NUL in the command id", "student", _with(id="c-\x00"), "error", "bad_value"),
    ("an escape character in the command id", "student", _with(id="c-\x1b[2J"), "error",
     "bad_value"),
    ("a NUL in a subnet name", "student", json.dumps({
        "type": "command", "id": "r", "do": "register_subnet", "name": "net\x00"}), "error",
     "bad_value"),
    ("a C1 control in a validator", "student", json.dumps({
        "type": "command", "id": "s", "do": "root_stake", "tao": 1.0,
        "validator": "p\x85"}), "error", "bad_value"),
    ("a NUL in the id of the command to cancel", "student",
     '{"type": "cancel", "id": "x", "command": "other-1\\u0000"}', "error", "bad_value"),
    ("a NUL in a field name", "student", _with().replace('"do"', '"\\u0000": 1, "do"'),
     "error", "bad_value"),
    ("an unknown type", "student", '{"type": "buy", "id": "x"}', "error", "unknown_type"),
    ("no type at all", "student", '{"id": "x"}', "error", "unknown_type"),
    ("an oversized message", "student", _with(id="x" * 60).replace(
        '"do"', '"pad": "' + "y" * 5000 + '", "do"'), "error", "too_large"),
    ("a student's control op", "student", '{"type": "control", "id": "k", "op": "end"}',
     "error", "forbidden"),
    ("a student's unknown control op", "student",
     '{"type": "control", "id": "k", "op": "explode"}', "error", "invalid"),
    ("a projector's command", "projector", _with(), "error", "read_only"),
    ("a projector's control op", "projector", '{"type": "control", "id": "k", "op": "end"}',
     "error", "read_only"),
    ("a projector's quote", "projector", json.dumps({**STAKE, "type": "quote"}), "error",
     "read_only"),
    ("an instructor's command without a seat", "instructor", _with(), "error", "no_seat"),
    ("cancelling another seat's command", "student",
     '{"type": "cancel", "id": "x", "command": "other-1"}', "error", "unknown_command"),
]


def _fingerprint(game_id: int) -> tuple:
    g = Game.objects.get(pk=game_id)
    return (g.status, g.tick, g.seq, g.state, g.locked, g.advance_ticks,
            Command.objects.filter(game_id=game_id).count(),
            # ordered: PostgreSQL returns a row updated meanwhile (a presence write) last
            tuple(Seat.objects.filter(game_id=game_id).order_by("id")
                  .values_list("id", "role", "kicked")))


@pytest.mark.parametrize("case,who,text,kind,code", CASES, ids=[c[0] for c in CASES])
async def test_it_answers_bad_input_with_its_code_and_changes_nothing(
        game, instructor, case, who, text, kind, code):
    seat, _t, student, _ = await student_socket(game.code, "Alice")
    other, _t2 = await db(join_game)(game.code, "Bob")
    await db(start_game)(game.id)
    # Bob has a queued command "other-1": Alice must not be able to touch it.
    await db(submit_command)(other.id, "other-1", {"do": "stake", "subnet": 1,
                                                            "tao": 1.0})
    if who == "student":
        comm = student
    elif who == "projector":
        comm, _ = await open_socket(game.code, query=f"projector={game.projector_token}")
    else:
        cookie = await db(session_cookie)(instructor)
        comm, _ = await open_socket(game.code, cookies={"sessionid": cookie})
    before = await db(_fingerprint)(game.id)
    await comm.send_to(text_data=text)
    while True:
        reply = await comm.receive_json_from(timeout=WAIT)
        if reply["type"] in ("error", "rejected", "accepted"):
            break
    assert (reply["type"], reply.get("code")) == (kind, code), case
    assert isinstance(reply["message"], str) and "seq" in reply
    assert await db(_fingerprint)(game.id) == before
    for c in {student, comm}:
        await c.disconnect()


@pytest.mark.parametrize("moment,code", [("before start", "game_not_started"),
                                         ("after the end", "game_over")])
async def test_it_rejects_a_well_formed_command_outside_play(game, moment, code):
    _seat, _t, comm, _ = await student_socket(game.code, "Alice")
    if moment == "after the end":
        await db(start_game)(game.id)
        await db(end_game)(game.id)
    before = await db(_fingerprint)(game.id)
    await comm.send_json_to(STAKE)
    while (reply := await comm.receive_json_from(timeout=WAIT))["type"] != "rejected":
        pass
    assert reply["code"] == code and reply["id"] == "c-1"
    assert await db(_fingerprint)(game.id) == before
    await comm.disconnect()


async def test_it_refuses_a_seat_token_from_another_game(game, instructor):
    other_game = await db(create_game)(instructor, "test_market",
                                                Overrides(seed=3))
    _seat, token = await db(join_game)(other_game.code, "Mallory")
    comm, _ = await open_socket(game.code, cookies={f"seat_{game.code}": token},
                                expect_snapshot=False)
    assert await closed_with(comm) == 4001
