"""What the server reads for a tick, a snapshot or a presence beat does not grow with the class:
as many queries for a class of 3 as for a class of 12. A query per seat is a thousand in a
lecture hall; the snapshot's rank table did exactly that once, unseen by tests of small classes
(docs/performance.md, round 4)."""
from __future__ import annotations

from typing import Any, Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from serverfixtures import SCENARIO

from game import engine, simapi
from game.actions.clock import advance
from game.actions.lobby import join_game
from game.actions.orders import submit_command
from game.actions.presence import presence_beat
from game.actions.setup import Overrides, create_game
from game.actions.start import start_game
from game.live import identity, publicpart
from game.models import Game, Seat

pytestmark = pytest.mark.django_db

SIZES = (3, 12)


def _queries(fn: Callable[[], Any]) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        fn()
    return [q["sql"] for q in captured.captured_queries]


def _class(instructor: Any, students: int) -> tuple[Game, list[Seat]]:
    """A running game of `students` present students, one tick in, each with a queued order."""
    game = create_game(instructor, "test_market", Overrides(seed=SCENARIO["seed"]))
    seats = [join_game(game.code, f"Kid {i}")[0] for i in range(students)]
    start_game(game.id)
    Seat.objects.filter(game=game).update(sockets=1, last_seen=timezone.now())
    advance(game.id, "tick")
    assert engine.settle_tick(game.id)
    for seat in seats:
        submit_command(seat.id, "c-1", {"do": "stake", "subnet": 1, "tao": 5.0})
    advance(game.id, "tick")
    return Game.objects.get(pk=game.id), seats


def _fresh_caches() -> None:
    simapi.clear_cache()
    publicpart.clear_cache()
    identity._rank_cache.clear()


def _per_size(instructor: Any, frames: Any, measure: Callable[[Game, list[Seat]], Any]
              ) -> list[list[str]]:
    out = []
    for students in SIZES:
        game, seats = _class(instructor, students)
        _fresh_caches()
        out.append(_queries(lambda game=game, seats=seats: measure(game, seats)))
    return out


def test_a_tick_reads_and_writes_the_same_number_of_times_for_any_class(
        preset_dir, instructor, frames):
    small, large = _per_size(instructor, frames, lambda game, seats: engine.settle_tick(game.id))
    assert len(small) == len(large), "\n".join(large)


@pytest.mark.parametrize("kind", ["student", "instructor", "projector"])
def test_a_snapshot_reads_the_same_number_of_times_for_any_class(
        preset_dir, instructor, frames, kind):
    def snapshot(game: Game, seats: list[Seat]) -> None:
        if kind == "student":
            ident = identity.Identity(identity.STUDENT, game.id, game.code, seat_id=seats[0].id,
                                      player=seats[0].player)
        elif kind == "instructor":
            host = Seat.objects.filter(game=game, kind="foundation").first()
            ident = identity.Identity(identity.INSTRUCTOR, game.id, game.code,
                                      seat_id=host.id if host else None,
                                      player=host.player if host else None,
                                      user_id=instructor.id)
        else:
            ident = identity.Identity(identity.PROJECTOR, game.id, game.code)
        identity.snapshot(ident)

    small, large = _per_size(instructor, frames, snapshot)
    assert len(small) == len(large), "\n".join(large)


def test_a_presence_beat_reads_and_writes_the_same_number_of_times_for_any_class(
        preset_dir, instructor, frames):
    small, large = _per_size(instructor, frames, lambda game, seats: presence_beat(
        [s.id for s in seats]))
    assert len(small) == len(large), "\n".join(large)
