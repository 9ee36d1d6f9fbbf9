"""A snapshot's public part is built once per (game, seq) in a process and shared by its sockets
(game/live/publicpart.py), and never outlives its seq: after a public change the next snapshot
tells it. The seat's own part stays per socket."""
from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.db import database_sync_to_async
from serverkit import open_socket

from game import engine
from game.actions import announcements, predictions
from game.actions.clock import advance
from game.actions.lobby import join_game
from game.actions.orders import submit_command
from game.actions.start import start_game
from game.live import identity, publicpart

pytestmark = pytest.mark.django_db(transaction=True)

PUBLIC = ("seq", "game", "market", "leaderboard", "lobby", "history_url", "next_round",
          "question", "announcement", "eyes_up")


@pytest.fixture
def builds(monkeypatch: Any) -> list[int]:
    """The seq of every public part built, in order (this process's cache emptied first)."""
    made: list[int] = []
    real = publicpart.build

    def counting(game: Any) -> publicpart.Public:
        made.append(game.seq)
        return real(game)

    publicpart.clear_cache()
    monkeypatch.setattr(publicpart, "build", counting)
    yield made
    publicpart.clear_cache()


def _student(seat: Any) -> dict[str, Any]:
    return identity.snapshot(identity.Identity(identity.STUDENT, seat.game_id, seat.game.code,
                                               seat_id=seat.id, player=seat.player))


def _public(snap: dict[str, Any]) -> dict[str, Any]:
    return {k: snap[k] for k in PUBLIC}


async def test_a_class_reconnecting_at_once_shares_one_build_and_keeps_its_own_parts(
        game, builds):
    joined = [await database_sync_to_async(join_game)(game.code, f"Kid {i}") for i in range(6)]
    opened = await asyncio.gather(*(
        open_socket(game.code, cookies={f"seat_{game.code}": token}) for _seat, token in joined))
    snaps = [snap for _comm, snap in opened]
    assert builds == [6]  # six sockets at once, one build, at the seq of the sixth join
    assert [s["you"]["seat_id"] for s in snaps] == [seat.id for seat, _ in joined]
    assert [s["you"]["nickname"] for s in snaps] == [f"Kid {i}" for i in range(6)]
    assert all(_public(s) == _public(snaps[0]) for s in snaps)
    assert [e["nickname"] for e in snaps[0]["lobby"]] == [f"Kid {i}" for i in range(6)]
    # a snapshot asked for at the same seq is served from the same build
    comm = opened[0][0]
    await comm.send_json_to({"type": "snapshot"})
    again = await comm.receive_json_from(timeout=5)
    assert again["type"] == "snapshot" and _public(again) == _public(snaps[0])
    assert builds == [6]
    for comm, _snap in opened:
        await comm.disconnect()


def test_every_public_change_reaches_the_next_snapshot(game, builds):
    alice, _ = join_game(game.code, "Alice")
    first = _student(alice)
    assert _student(alice) == first and builds == [1]
    bob, _ = join_game(game.code, "Bob")  # the lobby
    second = _student(alice)
    assert second["seq"] == 2 and [e["nickname"] for e in second["lobby"]] == ["Alice", "Bob"]
    assert second["game"]["players"] == 2
    start_game(game.id)  # the status, the market
    started = _student(alice)
    assert (started["seq"], started["game"]["status"]) == (3, "running")
    assert started["market"] is not None and started["private"] is not None
    advance(game.id, "tick")
    assert engine.settle_tick(game.id)  # a tick
    ticked = _student(alice)
    assert (ticked["seq"], ticked["game"]["tick"]) == (4, 1)
    assert ticked["market"] != started["market"]
    announcements.announce(game.id, "Eyes on the board")
    told = _student(alice)
    assert (told["seq"], told["announcement"]) == (5, {"number": 1, "text": "Eyes on the board"})
    predictions.ask(game.id, text="Up or down?", choices=["Up", "Down"])
    asked = _student(alice)
    assert (asked["seq"], asked["question"]["text"], asked["my_answer"]) == (6, "Up or down?", None)
    assert builds == [1, 2, 3, 4, 5, 6]


def test_the_seats_own_part_is_read_per_socket_at_the_same_seq(game, builds, instructor):
    alice, _ = join_game(game.code, "Alice")
    bob, _ = join_game(game.code, "Bob")
    start_game(game.id)
    q = predictions.ask(game.id, text="Up or down?", choices=["Up", "Down"])
    predictions.answer(alice.id, q["question"], 1)  # an answer is no public message
    a, b = _student(alice), _student(bob)
    assert a["my_answer"] == {"question": q["question"], "choice": 1} and b["my_answer"] is None
    assert (a["you"]["seat_id"], b["you"]["seat_id"]) == (alice.id, bob.id)
    teacher = identity.snapshot(identity.Identity(
        identity.INSTRUCTOR, game.id, game.code, user_id=instructor.pk))
    assert teacher["events"] == [{"index": 0, "epoch": 2, "title": "Boom", "status": "pending",
                                  "text": "Something happens."}]
    assert a["events"] == [{"index": 0, "epoch": 2, "title": "Boom", "status": "pending"}]
    assert teacher["answers"] == {"question": q["question"], "answered": 1, "of": 2}
    assert a["answers"] is None and a["roster"] is None
    assert [r["nickname"] for r in teacher["roster"]][:2] == ["Alice", "Bob"]
    assert _public(teacher) == _public(a) == _public(b) and len(builds) == 1


def test_a_class_reconnecting_at_once_works_out_its_ranks_once_per_tick(game, monkeypatch):
    """The students' ranks (every seat of the game read, every player's standing) are worked
    out by one thread per (game, tick). The first time the others wait for it; later, while
    the next tick's are being worked out, they take the previous tick's instead of waiting."""
    import threading
    import time

    from django.db import connection

    from game import leaderboard as lb

    seats = [join_game(game.code, f"Kid {i}")[0] for i in range(5)]
    start_game(game.id)
    identity._rank_cache.clear()
    builds: list[float] = []  # when each build ended
    real = lb.student_ranks

    def slow_ranks(rows: Any) -> Any:
        time.sleep(0.5)  # long enough for every other thread to miss the cache meanwhile
        builds.append(time.monotonic())
        return real(rows)

    monkeypatch.setattr(lb, "student_ranks", slow_ranks)
    snaps: dict[int, dict[str, Any]] = {}
    done: dict[int, float] = {}

    def reconnect_all() -> None:
        def one(seat: Any) -> None:
            try:
                snaps[seat.id] = _student(seat)
                done[seat.id] = time.monotonic()
            finally:
                connection.close()

        threads = [threading.Thread(target=one, args=(seat,)) for seat in seats]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    reconnect_all()
    assert len(builds) == 1 and min(done.values()) > builds[0]  # four waited for the first
    assert [(s["rank"], s["rank_of"]) for s in snaps.values()] == [(1, 5)] * 5  # all equal
    # A tick: seats[0] stakes, the pool's price doubles: it leads, the other four tie second.
    submit_command(seats[0].id, "c-1", {"do": "stake", "subnet": 1, "tao": 500.0})
    advance(game.id, "tick")
    assert engine.settle_tick(game.id)
    now = [1, 2, 2, 2, 2]
    builds.clear()
    snaps.clear()
    reconnect_all()
    assert len(builds) == 1
    # the four that came during the build did not wait: they had the last tick's ranks
    assert sorted(done.values())[3] < builds[0]
    assert [snaps[s.id]["rank"] for s in seats] == [
        now[i] if done[s.id] > builds[0] else 1 for i, s in enumerate(seats)]
    assert [_student(s)["rank"] for s in seats] == now and len(builds) == 1  # built once


@pytest.mark.parametrize("students", [2, 9])
def test_the_ranks_are_worked_out_in_one_query_whatever_the_class_size(
        game, students, django_assert_num_queries):
    """The rank table reads the game's seats in one query: not one more per seat (the related
    manager with `only()` columns read each row's game id back, one query a seat: 1,000 in a
    reconnect storm of 1,000 students)."""
    seats = [join_game(game.code, f"Kid {i}")[0] for i in range(students)]
    start_game(game.id)
    identity._rank_cache.clear()
    shared = publicpart.shared(game.id)
    sim_game = identity._sim_game(shared.game)
    with django_assert_num_queries(1):
        rank = identity._rank(shared.game, sim_game, seats[0].player)
    assert rank == {"rank": 1, "rank_of": students}
