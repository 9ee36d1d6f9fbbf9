"""What the console says about each seat comes from one server rule (seat_status),
the same one the engine follows to hand an absent student's seat to a bot; the roster reaches
the console when a tick changes a status; any game can be deleted by its owner."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from django.utils import timezone
from serverkit import open_socket, receive_until, session_cookie, student_socket

from game import engine, standin
from game.actions.clock import advance, delete_game, end_game, pause_game
from game.actions.lobby import join_game, kick
from game.actions.start import start_game
from game.models import Command, Game, Seat, Status
from game.readmodel import roster, roster_after_tick, seat_status

db = database_sync_to_async


def _seat(game, nickname):
    seat, _token = join_game(game.code, nickname)
    return Seat.objects.get(pk=seat.pk)


def _policies(game, now):
    game.refresh_from_db()
    return standin.bot_policies(game, list(game.seats.all()), json.loads(game.scenario), now)


@pytest.mark.django_db
def test_a_seats_status_follows_one_rule_the_engine_follows_too(game, settings):
    settings.BOT_TAKEOVER_SECONDS = 15.0
    ada = _seat(game, "Ada")
    assert seat_status(game, ada, timezone.now()) == "lobby"
    start_game(game.id)
    game.refresh_from_db()
    ada.refresh_from_db()
    now = timezone.now()

    def status_at(last_seen, sockets):
        Seat.objects.filter(pk=ada.pk).update(last_seen=last_seen, sockets=sockets)
        ada.refresh_from_db()
        return seat_status(game, ada, now)

    assert status_at(now, 1) == "playing"
    assert ada.player not in _policies(game, now)
    # Gone for less than BOT_TAKEOVER_SECONDS: the connection is lost, no bot holds the seat.
    assert status_at(now - timedelta(seconds=14.9), 0) == "reconnecting"
    assert ada.player not in _policies(game, now)
    # From BOT_TAKEOVER_SECONDS on, the bot holds it: the console says so, the engine does it.
    assert status_at(now - timedelta(seconds=15), 0) == "stand_in"
    assert ada.player in _policies(game, now)
    # Without bots the seat is only away.
    Game.objects.filter(pk=game.pk).update(bots=False)
    game.refresh_from_db()
    assert seat_status(game, ada, now) == "away"
    assert ada.player not in _policies(game, now)
    # A late joiner is "joining" until the tick that settles their join, then playing.
    Game.objects.filter(pk=game.pk).update(bots=True)
    game.refresh_from_db()
    late = _seat(game, "Late")
    Seat.objects.filter(pk=late.pk).update(sockets=1, last_seen=timezone.now())
    late.refresh_from_db()
    assert seat_status(game, late, timezone.now()) == "joining"
    advance(game.id, "tick")
    assert engine.settle_tick(game.id)
    game.refresh_from_db()
    late.refresh_from_db()
    assert seat_status(game, late, timezone.now()) == "playing"
    # Kicked, and after the end: no bot words any more.
    kick(game.id, late.pk)
    late.refresh_from_db()
    assert seat_status(game, late, timezone.now()) == "removed"
    end_game(game.id)
    game.refresh_from_db()
    Seat.objects.filter(pk=ada.pk).update(sockets=0, last_seen=now - timedelta(seconds=60))
    ada.refresh_from_db()
    assert seat_status(game, ada, timezone.now()) == "left"
    rows = {r["nickname"]: r["status"] for r in roster(game) if r["kind"] == "human"}
    assert rows == {"Ada": "left", "Late": "removed"}
    assert {r["status"] for r in roster(game) if r["kind"] == "bot"} == {"bot"}


@pytest.mark.django_db(transaction=True)
async def test_the_console_gets_the_roster_when_a_tick_changes_a_status(game, instructor):
    await db(start_game)(game.id)
    cookie = await db(session_cookie)(instructor)
    console, _snap = await open_socket(game.code, cookies={"sessionid": cookie})
    seat, _t, phone, _ = await student_socket(game.code, "Late Lucy")
    joined = await receive_until(console, "roster")  # with the join: not in the sim yet
    assert [(r["nickname"], r["status"]) for r in joined["roster"] if r["kind"] == "human"] \
        == [("Late Lucy", "joining")]
    here = await receive_until(console, "presence")
    assert (here["seat_id"], here["connected"], here["status"]) == (seat.id, True, "joining")
    await db(advance)(game.id, "tick")
    assert await db(engine.settle_tick)(game.id)
    tick = await receive_until(console, "tick")
    after = await receive_until(console, "roster")  # the tick made her a player
    assert after["seq"] == tick["seq"]
    assert [(r["nickname"], r["status"]) for r in after["roster"] if r["kind"] == "human"] \
        == [("Late Lucy", "playing")]
    # A tick that changes no status sends no roster.
    await db(advance)(game.id, "tick")
    assert await db(engine.settle_tick)(game.id)
    await receive_until(console, "tick")
    await phone.disconnect()
    gone = await receive_until(console, "presence")
    assert (gone["connected"], gone["status"]) == (False, "reconnecting")
    await console.disconnect()


def _csrf_client(owner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    page = client.get("/console/")
    return client, page.cookies["csrftoken"].value if "csrftoken" in page.cookies \
        else client.cookies["csrftoken"].value


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["lobby", "ended_from_lobby", "running", "paused"])
def test_the_owner_deletes_any_game_from_the_games_list(game, instructor, django_user_model,
                                                        how):
    ada = _seat(game, "Ada")
    if how != "lobby":
        if how == "ended_from_lobby":
            end_game(game.id)
        else:
            start_game(game.id)
            if how == "paused":
                pause_game(game.id)
            Command.objects.create(game=game, seat=ada, do="stake", action="{}", due_tick=0)
    client, token = _csrf_client(instructor)
    listing = client.get("/console/").content.decode()
    # Every game has a delete form in the list (CSRF token inside, confirmation in games.js).
    form = f'<form method="post" action="/console/{game.code}/delete" class="inline delete-game"'
    assert form in listing and "js/games" in listing
    assert client.post(f"/console/{game.code}/delete").status_code == 403  # no CSRF token
    other = Client()
    other.force_login(django_user_model.objects.create_user("other", password="x-long-pw-1"))
    assert other.post(f"/console/{game.code}/delete").status_code == 404
    assert Game.objects.filter(pk=game.pk).exists()
    response = client.post(f"/console/{game.code}/delete", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response["Location"] == "/console/"
    assert not Game.objects.filter(pk=game.pk).exists()
    assert not Seat.objects.filter(pk=ada.pk).exists()
    assert not Command.objects.filter(seat_id=ada.pk).exists()
    assert f"/console/{game.code}/" not in client.get("/console/").content.decode()


@pytest.mark.django_db(transaction=True)
async def test_deleting_a_running_game_tells_its_sockets_and_the_engine_skips_it(game):
    await db(start_game)(game.id)
    _seat, _t, phone, _ = await student_socket(game.code, "Ada")
    await db(advance)(game.id, "tick")
    await db(delete_game)(game.id)
    status = await receive_until(phone, "status")
    assert (status["reason"], status["game"]["status"]) == ("deleted", Status.ENDED)
    # The engine had listed it as due: it finds no game and settles nothing (no traceback).
    assert await db(engine.settle_tick)(game.id) is False
    await phone.disconnect()


@pytest.mark.django_db
def test_a_new_absence_reaches_the_console_even_when_the_status_reads_the_same(game, settings):
    """A student who came back and left again between two ticks is told to the console by
    two presence messages ("playing", then "reconnecting"); once the bot holds the seat again,
    the tick's roster must say so, although the previous tick's roster said "stand_in" too."""
    settings.BOT_TAKEOVER_SECONDS = 15.0
    ada = _seat(game, "Ada")
    start_game(game.id)
    game.refresh_from_db()
    now = timezone.now()
    fill = json.loads(game.scenario)["bot_fill"]

    def tick_roster(last_seen):
        Seat.objects.filter(pk=ada.pk).update(sockets=0, last_seen=last_seen)
        frames = roster_after_tick(game, list(game.seats.all()), now, fill)
        return [json.loads(event["text"]) for _group, event in frames]

    first = tick_roster(now - timedelta(seconds=40))
    assert [(r["nickname"], r["status"]) for r in first[0]["roster"] if r["kind"] == "human"] \
        == [("Ada", "stand_in")]
    assert tick_roster(now - timedelta(seconds=40)) == []  # nothing changed: nothing sent
    again = tick_roster(now - timedelta(seconds=20))  # back, then gone again: a new absence
    assert [(r["nickname"], r["status"]) for r in again[0]["roster"] if r["kind"] == "human"] \
        == [("Ada", "stand_in")]
