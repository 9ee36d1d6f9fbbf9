"""Announcements and eyes-up (issue #16): a typed message reaches every socket until replaced or
cleared; eyes-up pauses a running game and lifting it resumes it; bad input gets a stable code
and changes nothing."""
from __future__ import annotations

import json
from typing import Any

import pytest
from channels.db import database_sync_to_async as db
from serverkit import open_socket, receive_until, session_cookie, student_socket

from game.actions import announcements
from game.actions.clock import end_game, pause_game
from game.actions.start import start_game
from game.errors import ClientError
from game.models import Classroom, Game

pytestmark = pytest.mark.django_db(transaction=True)


def _state(game_id: int) -> tuple[Any, ...]:
    game = Game.objects.get(pk=game_id)
    room = Classroom.objects.filter(game=game).first()
    return (game.seq, game.status, game.next_tick_at,
            room and (room.announcement, room.announcement_number, room.eyes_up))


def test_an_announcement_replaces_the_one_before_and_is_cleared(game, frames):
    assert announcements.announce(game.id, "  Welcome!  ") == {"number": 1}
    assert announcements.announce(game.id, "Five minutes left.") == {"number": 2}
    announcements.clear(game.id)
    announcements.clear(game.id)  # nothing left to clear: nothing sent
    sent = [json.loads(f[1]["text"]) for f in frames]
    assert [m["announcement"] for m in sent] == [
        {"number": 1, "text": "Welcome!"}, {"number": 2, "text": "Five minutes left."}, None]
    assert all(f[0] == f"game.{game.id}" for f in frames)  # every socket of the game


@pytest.mark.parametrize("text, code", [
    ("x" * (announcements.ANNOUNCEMENT_MAX + 1), "text_too_long"),
    ("   ", "empty_text"),
])
def test_a_bad_announcement_is_refused_and_changes_nothing(game, text, code):
    announcements.announce(game.id, "Kept.")
    before = _state(game.id)
    with pytest.raises(ClientError) as err:
        announcements.announce(game.id, text)
    assert err.value.code == code
    assert _state(game.id) == before


def test_an_announcement_at_the_limit_is_taken(game):
    announcements.announce(game.id, "x" * announcements.ANNOUNCEMENT_MAX)
    assert len(Classroom.objects.get(game=game).announcement) == announcements.ANNOUNCEMENT_MAX


def test_eyes_up_pauses_a_running_game_and_lifting_it_resumes(game, frames):
    start_game(game.id)
    assert announcements.eyes_up(game.id, True) == {"eyes_up": True, "status": "paused"}
    assert Game.objects.get(pk=game.id).next_tick_at is None
    before = _state(game.id)
    assert announcements.eyes_up(game.id, True) == {"eyes_up": True, "status": "paused"}
    assert _state(game.id) == before  # a replay changes nothing
    assert announcements.eyes_up(game.id, False) == {"eyes_up": False, "status": "running"}
    assert Game.objects.get(pk=game.id).next_tick_at is not None
    kinds = [(m["type"], m.get("reason", m.get("on")))
             for m in (json.loads(f[1]["text"]) for f in frames) if m["type"] != "roster"]
    assert kinds[-4:] == [("status", "pause"), ("eyes_up", True), ("status", "resume"),
                          ("eyes_up", False)]


def test_lifting_eyes_up_leaves_a_game_the_teacher_had_paused_paused(game):
    start_game(game.id)
    pause_game(game.id)
    announcements.eyes_up(game.id, True)
    assert announcements.eyes_up(game.id, False) == {"eyes_up": False, "status": "paused"}


def test_eyes_up_is_refused_after_the_end(game):
    start_game(game.id)
    end_game(game.id)
    before = _state(game.id)
    with pytest.raises(ClientError) as err:
        announcements.eyes_up(game.id, True)
    assert err.value.code == "bad_state"
    assert _state(game.id) == before


async def test_an_announcement_and_eyes_up_reach_every_socket_and_students_cannot_send_them(
        game):
    _seat, _token, phone, snap = await student_socket(game.code, "Alice")
    assert (snap["announcement"], snap["eyes_up"]) == (None, False)
    projector, _ = await open_socket(game.code, query=f"projector={game.projector_token}")
    cookie = await db(session_cookie)(game.owner)
    console, _ = await open_socket(game.code, cookies={"sessionid": cookie})
    await phone.send_json_to({"type": "control", "id": "k", "op": "announce", "text": "hi"})
    assert (await receive_until(phone, "error"))["code"] == "forbidden"
    await console.send_json_to({"type": "control", "id": "k-1", "op": "announce",
                                "text": "Look at the projector."})
    for comm in (phone, projector, console):
        msg = await receive_until(comm, "announcement")
        assert msg["announcement"] == {"number": 1, "text": "Look at the projector."}
    await console.send_json_to({"type": "control", "id": "k-2", "op": "announce",
                                "text": "y" * 281})
    assert (await receive_until(console, "error"))["code"] == "text_too_long"
    await console.send_json_to({"type": "control", "id": "k-3", "op": "eyes_up", "on": True})
    for comm in (phone, projector, console):
        assert (await receive_until(comm, "eyes_up"))["on"] is True
    await phone.send_json_to({"type": "snapshot"})
    again = await receive_until(phone, "snapshot")
    assert again["eyes_up"] is True
    assert again["announcement"] == {"number": 1, "text": "Look at the projector."}
    for comm in (phone, projector, console):
        await comm.disconnect()
