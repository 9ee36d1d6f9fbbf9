"""A student's command, cancel, quote and answer read neither the game's state nor its
scenario (game/actions/base.py `lock`, orders, predictions): in a class of a thousand those
columns are hundreds of kB, and every command read them under the game's lock."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from game.actions import orders, predictions
from game.actions.lobby import join_game
from game.actions.start import start_game
from game.models import Command, Game

pytestmark = pytest.mark.django_db

LARGE = ('"game_game"."state"', '"game_game"."scenario"')


def _reads_large_columns(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if any(c in q["sql"] for c in LARGE)]


def test_a_students_messages_leave_the_state_and_the_scenario_unread(game):
    seat, _token = join_game(game.code, "Ann")
    start_game(game.id)
    game = Game.objects.get(pk=game.id)
    assert len(game.state) > 1000 and len(game.scenario) > 500  # what there is to leave
    order = {"do": "stake", "subnet": 1, "tao": 5.0}
    orders.quote(game.id, seat.player, order)  # this process's sim of the tick: read once
    asked = predictions.ask(game.id, text="Up?", choices=["yes", "no"])  # the console's
    with CaptureQueriesContext(connection) as queries:
        accepted = orders.submit_command(seat.id, "c-1", order)
        again = orders.submit_command(seat.id, "c-1", order)  # a replay: the first answer
        quoted = orders.quote(game.id, seat.player, order)
        cancelled = orders.cancel_command(seat.id, "c-1")
        answered = predictions.answer(seat.id, asked["question"], 1)
    assert _reads_large_columns(queries) == []
    assert accepted == again and accepted["due_tick"] == 0 and accepted["type"] == "accepted"
    assert quoted["status"] == "filled" and quoted["tao"] == 5.0
    assert cancelled == {"type": "cancelled", "command": "c-1"}
    assert Command.objects.get(client_id="c-1").status == "cancelled"
    assert answered["choice"] == 1


def test_a_quote_reads_the_state_when_this_process_has_no_sim_of_the_tick(game, monkeypatch):
    from game import simapi

    seat, _token = join_game(game.code, "Ann")
    start_game(game.id)
    monkeypatch.setattr(simapi, "peek", lambda game_id, tick: None)
    with CaptureQueriesContext(connection) as queries:
        quoted = orders.quote(game.id, seat.player, {"do": "stake", "subnet": 1, "tao": 5.0})
    assert quoted["status"] == "filled"
    assert len(_reads_large_columns(queries)) == 1  # the state, on its own
