"""Scores a class can read (issue #13): students are ranked among students only, by return on
what each brought in; bots, the Foundation and scenario players are listed apart; equal
returns share a rank; each student's page gets "rank N of M students"."""
from __future__ import annotations

import pytest
from gamekit import EVIL_NICKS, LATE_NICK

from game import leaderboard, simapi

pytestmark = pytest.mark.server


def _row(player, role, net_worth, contributed, kind="human", nickname=None):
    return {"player": player, "role": role, "net_worth": net_worth, "contributed": contributed,
            "kind": kind, "nickname": nickname or player}


ROWS = [
    _row("otf", "root_validator", 5_000_000.0, 5_000_000.0, kind="foundation"),
    _row("bot1", "speculator", 9_000.0, 1_000.0, kind="bot"),
    _row("p1", "speculator", 1_100.0, 1_000.0),          # +10%
    _row("p2", "root_validator", 101_000.0, 100_000.0),  # +1%
    _row("p3", "subnet_owner", 330.0, 300.0),            # +10%: ties with p1
    _row("p4", "speculator", 900.0, 1_000.0),            # -10%
]


def test_the_board_ranks_students_only_by_return_with_shared_ranks_for_ties():
    board = leaderboard.student_board(ROWS)
    assert [r["player"] for r in board] == ["p1", "p3", "p2", "p4"]
    assert [r["student_rank"] for r in board] == [1, 1, 3, 4]
    assert [r["return"] for r in board] == [pytest.approx(0.1), pytest.approx(0.1),
                                            pytest.approx(0.01), pytest.approx(-0.1)]
    assert {r["player"]: r["student_role_rank"] for r in board} == {
        "p1": 1, "p4": 2, "p3": 1, "p2": 1}
    assert [r["player"] for r in leaderboard.others(ROWS)] == ["otf", "bot1"]


def test_a_class_that_has_done_nothing_is_all_rank_one():
    rows = [_row(f"p{i}", "speculator", 1_000.0, 1_000.0) for i in range(28)]
    ranks = leaderboard.student_ranks(rows)
    assert {r["rank"] for r in ranks.values()} == {1}
    assert ranks["p17"] == {"rank": 1, "of": 28, "role_rank": 1, "role_of": 28}


def test_the_projectors_podium_shows_students_with_their_return():
    top = leaderboard.top(ROWS, 3)
    assert [(r["rank"], r["nickname"]) for r in top] == [(1, "p1"), (1, "p3"), (3, "p2")]
    assert set(top[0]) == {"rank", "nickname", "role", "net_worth", "return"}


def test_a_seat_that_is_no_students_has_no_rank():
    assert leaderboard.rank_fields(None) == {"rank": None, "rank_of": None}
    assert leaderboard.rank_fields({"rank": 2, "of": 5, "role_rank": 1, "role_of": 2}) == {
        "rank": 2, "rank_of": 5}


@pytest.mark.django_db(transaction=True)
def test_a_played_game_ranks_its_students_and_tells_each_one(finished):
    from game.live import identity

    game, seats = finished
    sim_game = simapi.fresh(game.state)
    rows = leaderboard.standings(sim_game, leaderboard.seat_map(game))
    board = leaderboard.student_board(rows)
    students = set(EVIL_NICKS) | {LATE_NICK}
    assert {r["nickname"] for r in board} == students  # no bot, no Foundation
    returns = [r["return"] for r in board]
    assert returns == sorted(returns, reverse=True)
    me = seats[EVIL_NICKS[1]][0]
    snap = identity.snapshot(identity.Identity(identity.STUDENT, game.id, game.code,
                                               seat_id=me.id, player=me.player))
    mine = next(r for r in board if r["player"] == me.player)
    assert (snap["rank"], snap["rank_of"]) == (mine["student_rank"], len(students))
    public = __import__("json").loads(game.public)
    assert [r["nickname"] for r in public["leaderboard"]] == [r["nickname"] for r in board][
        :len(public["leaderboard"])]
