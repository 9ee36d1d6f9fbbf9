"""Presence that a killed server cannot leave stale (docs/architecture.md, "Presence"): the open
socket count expires with its lease, each process's heartbeat renews its own seats and sweeps
lapsed ones, the engine lets a bot stand in exactly BOT_TAKEOVER_SECONDS after the last sign of
life, and a `presence` message never carries a seq its console has not been sent."""
from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.db.models import F
from django.utils import timezone
from serverkit import WAIT, open_socket, receive_until, session_cookie, student_socket, write_preset

from game import broadcast, engine, simapi
from game.actions.clock import advance
from game.actions.lobby import join_game
from game.actions.presence import presence_beat, seat_connected
from game.actions.setup import Overrides, create_game
from game.actions.start import start_game
from game.models import Game, Seat
from game.readmodel import (
    heartbeat_seconds,
    is_connected,
    presence_event,
    presence_timeout,
    timestamp,
)

pytestmark = [pytest.mark.server, pytest.mark.django_db(transaction=True)]
db = database_sync_to_async

FILL = {"speculator": "early_exiter", "subnet_owner": "ai_owner",
        "root_validator": "diligent_root"}


def _presence(frames: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    return [(g, e["presence"]) for g, e in frames if e["type"] == "presence.send"]


def _stale(seat: Seat, *, sockets: int, age: float, now: Any) -> None:
    """What a killed server leaves behind: a socket count nobody lowers, a lease from then."""
    Seat.objects.filter(pk=seat.pk).update(sockets=sockets,
                                           last_seen=now - timedelta(seconds=age))


def test_a_socket_count_left_by_a_killed_server_expires_with_its_lease(game, settings):
    seat, _ = join_game(game.code, "Ghost")
    now = timezone.now()
    # Defaults: a 10 s lease, renewed every third of it, within the 15 s bot grace.
    assert (presence_timeout(), heartbeat_seconds()) == (10.0, 10.0 / 3)
    _stale(seat, sockets=3, age=9.5, now=now)
    assert is_connected(Seat.objects.get(pk=seat.pk), now)
    _stale(seat, sockets=3, age=10.0, now=now)  # three sockets claimed, none renewed: gone
    assert not is_connected(Seat.objects.get(pk=seat.pk), now)
    # The lease never outlasts the bot grace, whatever PRESENCE_TIMEOUT_SECONDS says.
    settings.BOT_TAKEOVER_SECONDS = 3
    assert presence_timeout() == 3.0
    _stale(seat, sockets=1, age=3.0, now=now)
    assert not is_connected(Seat.objects.get(pk=seat.pk), now)


def test_a_bot_stands_in_at_the_first_tick_bot_takeover_seconds_after_a_crash(
        preset_dir, instructor, settings, frames):
    settings.BOT_TAKEOVER_SECONDS = 15
    write_preset(preset_dir, "filled", bot_fill=FILL)
    simapi.presets.cache_clear()
    game = create_game(instructor, "filled", Overrides())
    seat, _ = join_game(game.code, "Crashed")
    start_game(game.id)
    t0 = timezone.now()
    _stale(seat, sockets=1, age=0, now=t0)  # its server was killed at t0, the counter left at 1

    def tick(at: float) -> int:
        advance(game.id, "tick")
        assert engine.settle_tick(game.id, now=t0 + timedelta(seconds=at))
        return Game.objects.get(pk=game.id).tick - 1

    tick(0)  # the join settles: the seat is a player from here on
    frames.clear()
    tick(14.99)
    assert Seat.objects.get(pk=seat.pk).stand_in_tick is None
    assert _presence(frames) == []
    stood = tick(15.0)
    assert Seat.objects.get(pk=seat.pk).stand_in_tick == stood
    assert _presence(frames) == [(broadcast.instructor_group(game.id),
                                  {"seat_id": seat.id, "connected": False, "status": "stand_in",
                                   "stand_in": True, "away_since": timestamp(
                                       Seat.objects.get(pk=seat.pk).last_seen)})]
    tick(16.0)  # still away: nothing new to tell
    assert Seat.objects.get(pk=seat.pk).stand_in_tick == stood
    assert len(_presence(frames)) == 1
    # The student comes back (on the restarted server): handed back at the next tick.
    Seat.objects.filter(pk=seat.pk).update(sockets=0)  # swept meanwhile
    seat_connected(seat.id)
    Seat.objects.filter(pk=seat.pk).update(last_seen=t0 + timedelta(seconds=16.5))  # its time
    frames.clear()
    tick(17.0)
    assert Seat.objects.get(pk=seat.pk).stand_in_tick is None
    assert _presence(frames) == [(broadcast.instructor_group(game.id),
                                  {"seat_id": seat.id, "connected": True, "status": "playing",
                                   "stand_in": False})]


def test_a_heartbeat_renews_its_own_seats_and_sweeps_lapsed_ones_once(game, frames):
    crashed, _ = join_game(game.code, "Crashed")
    live, _ = join_game(game.code, "Live")
    ours, _ = join_game(game.code, "Ours")
    now = timezone.now()
    _stale(crashed, sockets=2, age=60, now=now)  # its sockets were in a killed process
    _stale(live, sockets=1, age=1, now=now)  # another process renews it
    _stale(ours, sockets=0, age=60, now=now)  # swept while this process was too busy to renew
    frames.clear()
    assert presence_beat([ours.id], now=now) == [crashed.id]
    state = {s.nickname: (s.sockets, s.last_seen) for s in Seat.objects.filter(game=game)}
    assert state == {"Crashed": (0, now - timedelta(seconds=60)),
                     "Live": (1, now - timedelta(seconds=1)), "Ours": (1, now)}
    assert _presence(frames) == [(broadcast.instructor_group(game.id),
                                  {"seat_id": crashed.id, "connected": False,
                                   "status": "lobby", "stand_in": False,
                                   "away_since": timestamp(now - timedelta(seconds=60))})]
    assert presence_beat([], now=now) == []  # told once
    assert len(_presence(frames)) == 1


def test_a_heartbeat_locks_its_seats_in_id_order_before_renewing_them(game, frames):
    """As a game's start saves its seats (in id order): one UPDATE of many rows would lock
    them in the plan's order, and a beat and a start each holding a row the other wanted
    deadlocked on PostgreSQL (a 20 x 100 benchmark run, docs/performance.md)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    seats = [join_game(game.code, f"S{k}")[0] for k in range(3)]
    ids = [s.id for s in reversed(seats)]
    with CaptureQueriesContext(connection) as queries:
        presence_beat(ids)
    seat_sql = [q["sql"] for q in queries.captured_queries if '"game_seat"' in q["sql"]]
    first_lock = next(i for i, q in enumerate(seat_sql) if q.startswith("SELECT"))
    first_update = next(i for i, q in enumerate(seat_sql) if q.startswith("UPDATE"))
    assert first_lock < first_update
    assert seat_sql[first_lock].split(" FOR UPDATE")[0].endswith("ORDER BY 1 ASC")  # by id
    if connection.vendor == "postgresql":
        assert seat_sql[first_lock].endswith("FOR UPDATE")
    assert sorted(Seat.objects.filter(pk__in=ids).values_list("sockets", flat=True)) == [1, 1, 1]


async def test_an_open_socket_keeps_its_seat_present_by_heartbeat(game, settings):
    settings.PRESENCE_TIMEOUT_SECONDS = 1.5  # renewed every 0.5 s
    seat, _t, comm, _snap = await student_socket(game.code, "Steady")
    old = timezone.now() - timedelta(hours=1)
    await db(Seat.objects.filter(pk=seat.pk).update)(last_seen=old)

    def renewed() -> bool:
        s = Seat.objects.get(pk=seat.pk)
        return s.sockets == 1 and s.last_seen > old and is_connected(s)

    deadline = time.monotonic() + WAIT
    while not await db(renewed)():
        assert time.monotonic() < deadline, "the heartbeat never renewed the open socket's lease"
        await asyncio.sleep(0.1)
    await comm.disconnect()
    assert (await db(Seat.objects.get)(pk=seat.pk)).sockets == 0


async def test_a_presence_message_never_runs_ahead_of_the_public_seq(game, instructor):
    console, snap = await open_socket(game.code,
                                      cookies={"sessionid": await db(session_cookie)(instructor)})
    seat, token = await db(join_game)(game.code, "Quick")
    lobby = await receive_until(console, "lobby")
    assert lobby["seq"] == snap["seq"] + 1
    # A tick (or any public message) committed: the database's seq is one ahead of every
    # socket until its broadcast arrives.
    await db(Game.objects.filter(pk=game.id).update)(seq=F("seq") + 1)
    student, _ = await open_socket(game.code, cookies={f"seat_{game.code}": token})
    here = await receive_until(console, "presence")
    # Stamped with what this socket was sent, never the database's newer seq.
    assert here == {"type": "presence", "seq": lobby["seq"], "seat_id": seat.id,
                    "connected": True, "status": "lobby", "stand_in": False}
    await db(Game.objects.filter(pk=game.id).update)(seq=F("seq") + 1)
    await student.disconnect()
    gone = await receive_until(console, "presence")
    assert (gone["seq"], gone["seat_id"], gone["connected"]) == (lobby["seq"], seat.id, False)
    await console.disconnect()


@pytest.mark.parametrize("state", ["playing", "reconnecting", "stand_in", "removed", "lobby",
                                   "left"])
def test_a_connect_or_close_tells_the_console_what_the_roster_says(
        preset_dir, instructor, frames, settings, state):
    """The presence message of a socket opening or closing (one plain SELECT, not the ORM's
    join) says what readmodel.presence_event says of the seat and game as the ORM reads them."""
    from game.actions.presence import seat_disconnected

    settings.BOT_TAKEOVER_SECONDS = 10
    write_preset(preset_dir, "filled", bot_fill=FILL)
    game = create_game(instructor, "filled", Overrides(bots=True))
    seat, _ = join_game(game.code, "Ann")
    if state != "lobby":
        start_game(game.id)
    now = timezone.now()
    if state == "left":  # the game ended and the student closed the page
        Game.objects.filter(pk=game.id).update(status="ended")
    if state == "removed":
        Seat.objects.filter(pk=seat.pk).update(kicked=True)
    seat_connected(seat.id)
    if state != "playing":
        seat_disconnected(seat.id)
    if state == "stand_in":  # gone for longer than BOT_TAKEOVER_SECONDS
        _stale(seat, sockets=0, age=30, now=now)
    if state == "reconnecting":
        _stale(seat, sockets=0, age=1, now=now)
    frames.clear()
    from game.actions.presence import _presence_frames

    told = _presence(_presence_frames(seat.id))
    row = Seat.objects.select_related("game").get(pk=seat.pk)
    expected = _presence([presence_event(row.game, row, timezone.now())])
    assert told == expected
    assert told[0][1]["status"] == state
    assert _presence_frames(10**9) == []  # a seat deleted under its socket: nothing
