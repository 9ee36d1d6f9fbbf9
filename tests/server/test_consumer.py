"""The game socket, message by message (docs/protocol.md), through the full ASGI stack."""
from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from serverkit import (
    WAIT,
    closed_with as _closed_with,
    open_socket,
    receive_until,
    session_cookie,
    student_socket,
)

from game import engine, errors
from game.actions import orders
from game.actions.clock import advance, end_game
from game.actions.lobby import JoinError, join_game, kick
from game.actions.start import start_game
from game.models import Command, Game, Seat

pytestmark = pytest.mark.django_db(transaction=True)
db = database_sync_to_async


async def _start(game_id: int) -> None:
    await db(start_game)(game_id)


async def _settle(game_id: int) -> None:
    await db(advance)(game_id, "tick")
    assert await db(engine.settle_tick)(game_id)


async def _instructor(game, instructor):
    cookie = await db(session_cookie)(instructor)
    return await open_socket(game.code, cookies={"sessionid": cookie})


async def test_it_sends_a_student_a_snapshot_on_connect(game):
    seat, _token, comm, snap = await student_socket(game.code, "Alice")
    assert snap["type"] == "snapshot"
    assert snap["game"]["status"] == "lobby" and snap["game"]["code"] == game.code
    assert snap["you"] == {"kind": "student", "seat_id": seat.id, "nickname": "Alice",
                           "role": seat.role, "player": seat.player, "active": False}
    assert snap["roster"] is None and snap["market"] is None
    assert {"nickname": "Alice", "role": seat.role} in snap["lobby"]
    assert snap["seq"] >= 1  # the join was a public lobby message
    await comm.disconnect()


async def test_it_closes_a_socket_without_identity_with_4001(game):
    comm, _ = await open_socket(game.code, expect_snapshot=False)
    assert await _closed_with(comm) == errors.CLOSE_NO_IDENTITY


async def test_it_closes_a_socket_with_a_wrong_seat_token_with_4001(game):
    comm, _ = await open_socket(game.code, cookies={f"seat_{game.code}": "not-a-token"},
                                expect_snapshot=False)
    assert await _closed_with(comm) == errors.CLOSE_NO_IDENTITY


async def test_it_closes_a_socket_for_an_unknown_game_with_4004(game):
    comm, _ = await open_socket("ZZZZZZ", expect_snapshot=False)
    assert await _closed_with(comm) == errors.CLOSE_NO_GAME


async def test_it_refuses_a_foreign_origin_and_admits_the_same_origin(game, settings):
    from channels.testing import WebsocketCommunicator

    from game.asgi import application

    settings.ALLOWED_HOSTS = ["*"]  # even with a wildcard, another site may not connect
    _seat, token = await db(join_game)(game.code, "Eve")
    foreign = WebsocketCommunicator(application, f"/ws/game/{game.code}/", headers=[
        (b"host", b"192.168.1.20:8000"), (b"origin", b"http://evil.example"),
        (b"cookie", f"seat_{game.code}={token}".encode())])
    connected, _ = await foreign.connect(timeout=WAIT)
    assert not connected
    comm, snap = await open_socket(game.code, cookies={f"seat_{game.code}": token},
                                   host="192.168.1.20:8000", origin="http://192.168.1.20:8000")
    assert snap["type"] == "snapshot"
    await comm.disconnect()


async def test_it_gives_the_instructor_the_roster_and_the_projector_no_private_data(
        game, instructor):
    await db(join_game)(game.code, "Bob")
    comm, snap = await _instructor(game, instructor)
    assert snap["you"]["kind"] == "instructor"
    assert [r["nickname"] for r in snap["roster"]] == ["Bob"]
    assert snap["events"][0]["text"] == "Something happens."
    proj, psnap = await open_socket(game.code, query=f"projector={game.projector_token}")
    assert psnap["you"]["kind"] == "projector" and psnap["roster"] is None
    assert "text" not in psnap["events"][0]
    await comm.disconnect()
    await proj.disconnect()


async def test_it_accepts_a_command_and_answers_a_repeat_with_the_first_answer(game):
    seat, _t, comm, _ = await student_socket(game.code, "Alice")
    await _start(game.id)
    await receive_until(comm, "status")
    command = {"type": "command", "id": "c-1", "do": "stake", "subnet": 1, "tao": 10.0}
    await comm.send_json_to(command)
    first = await comm.receive_json_from(timeout=WAIT)
    assert first["type"] == "accepted" and first["id"] == "c-1" and first["due_tick"] == 0
    await comm.send_json_to({**command, "tao": 99.0})  # same id: the first answer, nothing new
    again = await comm.receive_json_from(timeout=WAIT)
    assert again["command"] == first["command"] and again["due_tick"] == 0
    assert await db(Command.objects.filter(seat_id=seat.id).count)() == 1
    await comm.disconnect()
    # Another device of the same seat sees the queued order with what it asked for.
    other, snap = await open_socket(game.code, cookies={f"seat_{game.code}": _t})
    [queued] = snap["commands"]
    assert queued["status"] == "queued" and queued["id"] == "c-1"
    assert (queued["do"], queued["subnet"], queued["tao"]) == ("stake", 1, 10.0)
    assert "player" not in queued
    await other.disconnect()


async def test_it_settles_a_tick_and_broadcasts_public_then_private(game):
    seat, _t, comm, _ = await student_socket(game.code, "Alice")
    await _start(game.id)
    status = await receive_until(comm, "status")
    await comm.send_json_to({"type": "command", "id": "c-1", "do": "stake", "subnet": 1,
                             "tao": 10.0})
    await receive_until(comm, "accepted")
    await _settle(game.id)
    tick = await receive_until(comm, "tick")
    assert tick["seq"] == status["seq"] + 1 and tick["tick"] == 0
    assert tick["game"]["tick"] == 1 and tick["market"]["subnets"][0]["id"] == 1
    private = await comm.receive_json_from(timeout=WAIT)
    assert private["type"] == "private" and private["seq"] == tick["seq"]
    [fill] = private["fills"]
    assert fill["id"] == "c-1" and fill["status"] == "filled" and fill["fill"]["alpha"] > 0
    assert private["you"]["alpha"]["1"] == pytest.approx(fill["fill"]["alpha"])
    await comm.disconnect()
    # A reloaded page knows its rank at once: the snapshot carries the tick's rank too.
    _c, again = await open_socket(game.code, cookies={f"seat_{game.code}": _t})
    assert isinstance(private["rank"], int) and again["rank"] == private["rank"]
    await _c.disconnect()


async def test_the_snapshot_points_to_the_chart_history_instead_of_carrying_it(game):
    # The charts' past is served by GET /g/<code>/history (tests/server/test_history.py): a
    # snapshot carrying it grew with the game past what a socket message may be (issue #11).
    await _start(game.id)
    for _ in range(3):
        await _settle(game.id)
    projector, snap = await open_socket(game.code, query=f"projector={game.projector_token}")
    assert snap["history_url"] == f"/g/{game.code}/history"
    assert "history" not in snap and "epoch_rows" not in snap
    await projector.disconnect()


async def test_it_rejects_commands_before_start_and_after_the_end(game):
    seat, _t, comm, _ = await student_socket(game.code, "Alice")
    await comm.send_json_to({"type": "command", "id": "c-1", "do": "stake", "subnet": 1,
                             "tao": 1.0})
    early = await comm.receive_json_from(timeout=WAIT)
    assert early["type"] == "rejected" and early["code"] == "game_not_started"
    await _start(game.id)
    await db(end_game)(game.id)
    await comm.send_json_to({"type": "command", "id": "c-1", "do": "stake", "subnet": 1,
                             "tao": 1.0})
    late = await receive_until(comm, "rejected")
    assert late["code"] == "game_over"
    assert await db(Command.objects.filter(seat_id=seat.id).count)() == 0
    await comm.disconnect()


async def test_it_quotes_without_storing_anything(game):
    _seat, _t, comm, _ = await student_socket(game.code, "Alice")
    await comm.send_json_to({"type": "quote", "id": "q-0", "do": "stake", "subnet": 1,
                             "tao": 10.0})
    assert (await comm.receive_json_from(timeout=WAIT))["code"] == "game_not_started"
    await _start(game.id)
    await comm.send_json_to({"type": "quote", "id": "q-1", "do": "stake", "subnet": 1,
                             "tao": 10.0})
    reply = await receive_until(comm, "quote")
    assert reply["id"] == "q-1" and reply["quote"]["status"] == "filled"
    assert reply["quote"]["alpha"] > 0 and reply["quote"]["price_after"] > reply["quote"][
        "price_before"]
    assert await db(Command.objects.count)() == 0
    await comm.disconnect()


async def test_it_cancels_a_queued_command_but_not_a_settled_one(game):
    _seat, _t, comm, _ = await student_socket(game.code, "Alice")
    await _start(game.id)
    for cid in ("c-1", "c-2"):
        await comm.send_json_to({"type": "command", "id": cid, "do": "stake", "subnet": 1,
                                 "tao": 5.0})
        await receive_until(comm, "accepted")
    await comm.send_json_to({"type": "cancel", "id": "x-1", "command": "c-1"})
    cancelled = await comm.receive_json_from(timeout=WAIT)
    assert cancelled == {"type": "cancelled", "id": "x-1", "command": "c-1",
                         "seq": cancelled["seq"]}
    await comm.send_json_to({"type": "cancel", "id": "x-2", "command": "nope"})
    assert (await comm.receive_json_from(timeout=WAIT))["code"] == "unknown_command"
    await _settle(game.id)
    private = await receive_until(comm, "private")
    assert [f["id"] for f in private["fills"]] == ["c-2"]  # the cancelled one never settled
    await comm.send_json_to({"type": "cancel", "id": "x-3", "command": "c-2"})
    error = await comm.receive_json_from(timeout=WAIT)
    assert error["code"] == "not_cancellable" and error["ref"] == "x-3"
    await comm.disconnect()


async def test_it_answers_ping_and_snapshot(game):
    _seat, _t, comm, snap = await student_socket(game.code, "Alice")
    await comm.send_json_to({"type": "ping", "id": "p-1"})
    pong = await comm.receive_json_from(timeout=WAIT)
    assert pong["type"] == "pong" and pong["id"] == "p-1" and pong["seq"] == snap["seq"]
    await comm.send_json_to({"type": "snapshot"})
    again = await comm.receive_json_from(timeout=WAIT)
    assert again["type"] == "snapshot" and again["seq"] == snap["seq"]
    await comm.disconnect()


async def test_it_lets_only_the_instructor_control(game, instructor):
    _seat, _t, student, _ = await student_socket(game.code, "Alice")
    await student.send_json_to({"type": "control", "id": "k-1", "op": "start"})
    assert (await student.receive_json_from(timeout=WAIT))["code"] == "forbidden"
    comm, _ = await _instructor(game, instructor)
    await comm.send_json_to({"type": "command", "id": "c-1", "do": "stake", "subnet": 1,
                             "tao": 1.0})
    assert (await comm.receive_json_from(timeout=WAIT))["code"] == "no_seat"
    proj, _ = await open_socket(game.code, query=f"projector={game.projector_token}")
    for message in ({"type": "control", "id": "k", "op": "start"},
                    {"type": "command", "id": "c", "do": "stake", "subnet": 1, "tao": 1.0}):
        await proj.send_json_to(message)
        assert (await proj.receive_json_from(timeout=WAIT))["code"] == "read_only"
    assert (await db(Game.objects.get)(pk=game.id)).status == "lobby"
    for c in (student, comm, proj):
        await c.disconnect()


async def test_it_runs_every_control_op(game, instructor):
    seat, _t, student, _ = await student_socket(game.code, "Alice")
    other, _t2, kicked, _ = await student_socket(game.code, "Bob")
    comm, _ = await _instructor(game, instructor)

    async def op(op: str, **fields):
        await comm.send_json_to({"type": "control", "id": f"k-{op}", "op": op, **fields})
        while True:
            reply = await comm.receive_json_from(timeout=WAIT)
            if reply["type"] in ("ok", "error") and reply.get("id", reply.get("ref")) == f"k-{op}":
                return reply

    assert (await op("set_role", seat_id=seat.id, role="subnet_owner"))["type"] == "ok"
    assert (await op("set_role", seat_id=9999, role="speculator"))["code"] == "unknown_seat"
    assert (await op("auto_roles"))["type"] == "ok"
    assert (await op("foundation", on=True))["type"] == "ok"
    assert (await op("lock"))["type"] == "ok"
    with pytest.raises(JoinError):
        await db(join_game)(game.code, "Late")
    assert (await op("unlock"))["type"] == "ok"
    assert (await op("kick", seat_id=other.id))["type"] == "ok"
    assert await _closed_with(kicked) == errors.CLOSE_KICKED
    assert (await op("event", event=0, action="fire"))["code"] == "bad_state"
    assert (await op("start"))["type"] == "ok"
    assert (await op("start"))["code"] == "bad_state"
    assert (await op("tick_seconds", seconds=2.5))["type"] == "ok"
    assert (await op("pause"))["type"] == "ok"
    assert (await op("advance", unit="epoch"))["result"] == {"ticks": 2}
    assert (await op("event", event=7, action="fire"))["code"] == "unknown_event"
    assert (await op("event", event=0, action="fire"))["result"] == {"due_tick": 0}
    assert (await op("resume"))["type"] == "ok"
    g = await db(Game.objects.get)(pk=game.id)
    assert (g.status, g.tick_seconds, g.advance_ticks, g.locked) == ("running", 2.5, 2, False)
    assert (await db(Seat.objects.get)(pk=seat.id)).role == "subnet_owner"  # by hand survives
    assert await db(engine.settle_tick)(game.id)
    g = await db(Game.objects.get)(pk=game.id)
    assert g.event_status["0"] == "fired"
    # The instructor now holds the Foundation seat and can trade with it.
    await comm.send_json_to({"type": "command", "id": "f-1", "do": "root_unstake", "tao": 1.0})
    assert (await receive_until(comm, "accepted"))["id"] == "f-1"
    assert (await op("end"))["type"] == "ok"
    assert (await op("pause"))["code"] == "bad_state"
    for c in (student, comm):
        await c.disconnect()


async def test_it_closes_a_kicked_students_socket_with_4010(game, instructor):
    seat, token, comm, _ = await student_socket(game.code, "Alice")
    await db(kick)(game.id, seat.id)
    assert await _closed_with(comm) == errors.CLOSE_KICKED
    again, _ = await open_socket(game.code, cookies={f"seat_{game.code}": token},
                                 expect_snapshot=False)
    assert await _closed_with(again) == errors.CLOSE_NO_IDENTITY


async def test_it_limits_message_size_and_rate(game, settings):
    settings.WS_RATE_BURST = 3
    settings.WS_RATE_PER_SECOND = 0.01
    settings.WS_RATE_STRIKES = 4
    _s, _t, comm, _ = await student_socket(game.code, "Alice")
    for i in range(7):
        await comm.send_json_to({"type": "ping", "id": f"p-{i}"})
    replies = [await comm.receive_json_from(timeout=WAIT) for _ in range(6)]
    assert [r["type"] for r in replies] == ["pong"] * 3 + ["error"] * 3
    assert {r["code"] for r in replies[3:]} == {"rate_limited"}
    assert await _closed_with(comm) == errors.CLOSE_FLOODING  # the 4th strike in a row

    _s2, _t2, big, _ = await student_socket(game.code, "Bob")
    await big.send_to(text_data='{"type":"ping","id":"' + "x" * 5000 + '"}')
    error = await big.receive_json_from(timeout=WAIT)
    assert error["code"] == "too_large"
    assert (await big.receive_output(timeout=WAIT))["code"] == errors.CLOSE_TOO_LARGE


async def test_it_broadcasts_the_lobby_and_sends_the_roster_to_the_instructor(game, instructor):
    comm, snap = await _instructor(game, instructor)
    seat, _t, student, _ = await student_socket(game.code, "Alice")
    lobby = await receive_until(comm, "lobby")
    assert lobby["seq"] == snap["seq"] + 1 and lobby["players"] == 1
    assert lobby["lobby"] == [{"nickname": "Alice", "role": seat.role}]
    joined = await receive_until(comm, "roster")  # sent with the join, before the socket
    # a default value is left out of a roster row (ROSTER_DEFAULTS): not connected
    assert [(r["nickname"], r.get("connected")) for r in joined["roster"]] == [("Alice", None)]
    # Presence changes are one small message per seat, not the whole roster again.
    here = await receive_until(comm, "presence")
    assert here == {"type": "presence", "seq": lobby["seq"], "seat_id": seat.id,
                    "connected": True, "status": "lobby", "stand_in": False}
    await student.disconnect()
    gone = await receive_until(comm, "presence")
    assert (gone["seat_id"], gone["connected"]) == (seat.id, False)
    comm2, snap2 = await _instructor(game, instructor)  # a fresh console sees the same
    assert [(r["nickname"], r.get("connected")) for r in snap2["roster"]] == [("Alice", None)]
    await comm2.disconnect()
    await comm.disconnect()


async def test_it_rejects_a_late_joiners_command_until_their_join_settles(game):
    await _start(game.id)
    seat, _t, comm, snap = await student_socket(game.code, "Late")
    assert snap["you"]["active"] is False
    await comm.send_json_to({"type": "command", "id": "c-1", "do": "stake", "subnet": 1,
                             "tao": 1.0})
    assert (await receive_until(comm, "rejected"))["code"] == "seat_not_active"
    await _settle(game.id)
    await receive_until(comm, "private")
    await comm.send_json_to({"type": "command", "id": "c-1", "do": "stake", "subnet": 1,
                             "tao": 1.0})
    assert (await receive_until(comm, "accepted"))["due_tick"] == 1
    await comm.disconnect()


async def test_it_refuses_a_quote_after_the_end(game):
    _seat, _t, comm, _ = await student_socket(game.code, "Alice")
    await _start(game.id)
    await db(end_game)(game.id)
    await comm.send_json_to({"type": "quote", "id": "q-1", "do": "stake", "subnet": 1,
                             "tao": 1.0})
    reply = await receive_until(comm, "error")
    assert (reply["code"], reply["ref"]) == ("game_over", "q-1")
    await comm.disconnect()


async def test_it_answers_a_server_fault_with_internal_and_keeps_the_socket(game, monkeypatch):
    _seat, _t, comm, _ = await student_socket(game.code, "Alice")
    await _start(game.id)

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(orders, "submit_command", broken)
    await comm.send_json_to({"type": "command", "id": "c-1", "do": "stake", "subnet": 1,
                             "tao": 1.0})
    reply = await receive_until(comm, "error")
    assert (reply["code"], reply["ref"]) == ("internal", "c-1")
    await comm.send_json_to({"type": "ping", "id": "p"})
    assert (await receive_until(comm, "pong"))["id"] == "p"
    await comm.disconnect()


async def test_it_caps_the_lobby_list_but_not_the_count(game, settings):
    settings.LOBBY_BROADCAST_MAX = 2
    _seat, _t, comm, _ = await student_socket(game.code, "Alice")
    for name in ("Bob", "Cy"):
        await db(join_game)(game.code, name)
    await receive_until(comm, "lobby")
    lobby = await receive_until(comm, "lobby")
    assert lobby["players"] == 3
    assert [e["nickname"] for e in lobby["lobby"]] == ["Bob", "Cy"]
    await comm.send_json_to({"type": "snapshot"})
    snap = await receive_until(comm, "snapshot")
    assert [e["nickname"] for e in snap["lobby"]] == ["Bob", "Cy"]  # as the broadcast
    assert snap["game"]["players"] == 3
    await comm.disconnect()
