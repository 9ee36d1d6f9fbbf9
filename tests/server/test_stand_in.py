"""A stand-in that holds, not plays (issue #13): while a student is away the seat is held, not
traded (their mechanism, weights, validator and money untouched), and when they come back the
seat's private message says what happened meanwhile."""
from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from serverkit import write_preset

from game import broadcast, engine, simapi
from game.actions.clock import advance
from game.actions.lobby import join_game, set_role
from game.actions.presence import seat_connected
from game.actions.setup import Overrides, create_game
from game.actions.start import start_game
from game.models import Command, Game, Seat

pytestmark = [pytest.mark.server, pytest.mark.django_db(transaction=True)]

# Bots that always act when they play: a stand-in that played would be seen at once.
FILL = {"speculator": "early_exiter", "subnet_owner": "ai_owner",
        "root_validator": "diligent_root"}


def _privates(frames, seat_id: int) -> list[dict[str, Any]]:
    return [json.loads(e["text"]) for g, e in frames
            if g == broadcast.seat_group(seat_id) and e.get("type") == "frame.send"
            and json.loads(e["text"])["type"] == "private"]


@pytest.mark.parametrize("role", ["speculator", "subnet_owner", "root_validator"])
def test_the_stand_in_holds_the_seat_and_tells_the_student_on_return(
        preset_dir, instructor, settings, frames, role):
    settings.BOT_TAKEOVER_SECONDS = 15
    write_preset(preset_dir, "filled", bot_fill=FILL)
    simapi.presets.cache_clear()
    game = create_game(instructor, "filled", Overrides(seed=3))
    seat, _ = join_game(game.code, "Sleepy")
    set_role(game.id, seat.id, role)
    start_game(game.id)
    t0 = timezone.now()
    Seat.objects.filter(pk=seat.pk).update(sockets=0, last_seen=t0)

    def tick(at: float) -> int:
        advance(game.id, "tick")
        assert engine.settle_tick(game.id, now=t0 + timedelta(seconds=at))
        return Game.objects.get(pk=game.id).tick - 1

    tick(0)                                   # the student's join settles
    before = json.loads(Game.objects.get(pk=game.id).state)
    held_from = tick(20)                      # away for 20 s: the stand-in holds the seat
    tick(25)
    tick(30)
    assert Seat.objects.get(pk=seat.pk).stand_in_tick == held_from
    assert not Command.objects.filter(seat=seat, actor="bot").exists()  # never traded
    after = json.loads(Game.objects.get(pk=game.id).state)
    for field in ("mech", "owner", "root_val", "weights"):  # their standing choices
        assert after["state"][field] == before["state"][field], field
    frames.clear()
    seat_connected(seat.id)          # back
    Seat.objects.filter(pk=seat.pk).update(last_seen=t0 + timedelta(seconds=34))
    back_at = tick(35)
    assert Seat.objects.get(pk=seat.pk).stand_in_tick is None
    (private,) = _privates(frames, seat.id)
    note = private["while_away"]
    assert (note["from_tick"], note["to_tick"], note["orders"]) == (held_from, back_at, 0)
    assert note["net_worth_now"] == private["you"]["net_worth"]
    assert note["net_worth_before"] > 0.0
    frames.clear()
    tick(36)                                  # said once
    assert "while_away" not in _privates(frames, seat.id)[0]
