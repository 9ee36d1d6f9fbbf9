"""The engine's tick in its four steps, each run alone: claim, settle, persist, publish."""
from __future__ import annotations

import json

import pytest
from django.db import transaction
from django.utils import timezone

from game import broadcast, engine
from game.actions.clock import advance
from game.actions.lobby import join_game
from game.actions.orders import submit_command
from game.actions.start import start_game
from game.models import Command, Game, TickRow

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_claims_nothing_that_is_not_due(game):
    start_game(game.id)  # the first tick is due a tick length from now
    with transaction.atomic():
        assert engine.claim(game.id, timezone.now()) is None
    assert Game.objects.get(pk=game.id).tick == 0


def test_it_claims_a_due_tick_by_moving_the_stored_clock(game):
    start_game(game.id)
    advance(game.id, "tick")
    with transaction.atomic():
        claimed = engine.claim(game.id, timezone.now())
        assert claimed is not None and claimed.tick == 0  # the tick this call now owns
        assert Game.objects.get(pk=game.id).tick == 1  # no other claim can match the row


def test_each_step_stores_only_its_own_part(game):
    seat, _ = join_game(game.code, "Ann")
    start_game(game.id)
    submit_command(seat.id, "c-1", {"do": "stake", "subnet": 1, "tao": 5.0})
    advance(game.id, "tick")
    now = timezone.now()
    with transaction.atomic():
        claimed = engine.claim(game.id, now)
        assert claimed is not None
        tick = engine.settle(claimed, now)
        assert (tick.t, [c.client_id for c in tick.commands]) == (0, ["c-1"])
        assert [f["ref"] for f in tick.result.fills if f.get("ref")] == [tick.commands[0].id]
        assert TickRow.objects.filter(game=game).count() == 0  # settled, nothing stored yet
        engine.persist(claimed, tick, now)
        assert TickRow.objects.filter(game=game).count() == 1
        assert Command.objects.get(client_id="c-1").status == "filled"
        assert [f["id"] for f in tick.fills_by_seat[seat.id]] == ["c-1"]
        seq = claimed.seq
        frames = engine.publish(claimed, tick, now)
        assert claimed.seq == seq + 1
        assert [group for group, _ in frames] == [broadcast.game_group(game.id)]
        rest = engine.after_tick(claimed, tick, now)
        # the class's privates: one batch to the game's group, carrying each seat's frame
        assert (rest[0][0], rest[0][1]["type"]) == (broadcast.game_group(game.id), broadcast.BATCH)
        frames = broadcast.unbatched(frames + rest)
        groups = [group for group, _ in frames]
        assert groups[:2] == [broadcast.game_group(game.id), broadcast.seat_group(seat.id)]
        assert {json.loads(e["text"])["seq"] for _, e in frames} == {seq + 1}
        private = json.loads(frames[1][1]["text"])
        assert (private["type"], private["tick"], [f["id"] for f in private["fills"]]) == (
            "private", 0, ["c-1"])
        transaction.set_rollback(True)
    assert Game.objects.get(pk=game.id).tick == 0  # the caller saves the game row, not a step
