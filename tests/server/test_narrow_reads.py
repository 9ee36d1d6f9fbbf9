"""A student's command, cancel, quote and answer read neither the game's state nor its
scenario (game/actions/base.py `lock`, orders, predictions): in a class of a thousand those
columns are hundreds of kB, and every command read them under the game's lock."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from game import errors
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


def test_a_command_from_a_socket_takes_four_statements_and_only_its_own_games_seat(
        game, instructor):
    """From a socket (which knows its seat's game): a replay check, the game's lock, the seat,
    the insert, and nothing sorted. A seat of another game is never taken for this one."""
    from game.actions.setup import Overrides, create_game
    from game.models import Seat

    seat, _token = join_game(game.code, "Ann")
    start_game(game.id)
    order = {"do": "stake", "subnet": 1, "tao": 5.0}
    with CaptureQueriesContext(connection) as queries:
        accepted = orders.submit_command(seat.id, "c-1", order, game.id)
    sql = [q["sql"] for q in queries.captured_queries
           if not q["sql"].startswith(("SAVEPOINT", "RELEASE", "BEGIN", "COMMIT"))]
    assert [s.split()[0] for s in sql] == ["SELECT", "SELECT", "SELECT", "INSERT"]
    assert not any("ORDER BY" in s for s in sql)
    assert accepted == {"type": "accepted", "id": "c-1", "command": Command.objects.get(
        client_id="c-1").id, "due_tick": 0}
    assert orders.submit_command(seat.id, "c-1", order, game.id) == accepted  # a replay
    other = create_game(instructor, "test_market", Overrides())
    with pytest.raises(Seat.DoesNotExist):
        orders.submit_command(seat.id, "c-2", order, other.id)
    assert not Command.objects.filter(client_id="c-2").exists()


def test_a_students_handshake_takes_one_statement_and_only_its_own_games_seat(game, instructor):
    """A reconnect storm is a class's handshakes at once: the game by its code and the seat its
    token opens come in one statement (game/live/identity.py `resolve`). A token opens only
    its own game's seat, and not once the seat was kicked."""
    from game.actions.setup import Overrides, create_game
    from game.live import identity
    from game.models import Seat

    seat, token = join_game(game.code, "Ann")
    with CaptureQueriesContext(connection) as queries:
        ident = identity.resolve(game.code.lower(), projector=None, user=None, seat_token=token)
    assert ident == identity.Identity(identity.STUDENT, game.id, game.code, seat_id=seat.id,
                                      player=seat.player)
    assert len(queries.captured_queries) == 1
    other = create_game(instructor, "test_market", Overrides())
    assert identity.resolve(other.code, projector=None, user=None,
                            seat_token=token) == errors.CLOSE_NO_IDENTITY
    assert identity.resolve("NOSUCH", projector=None, user=None,
                            seat_token=token) == errors.CLOSE_NO_GAME
    assert identity.resolve(game.code, projector=None, user=None,
                            seat_token=None) == errors.CLOSE_NO_IDENTITY
    assert identity.resolve(game.code, projector=game.projector_token, user=None,
                            seat_token=None) == identity.Identity(identity.PROJECTOR, game.id,
                                                                  game.code)
    Seat.objects.filter(pk=seat.id).update(kicked=True)
    assert identity.resolve(game.code, projector=None, user=None,
                            seat_token=token) == errors.CLOSE_NO_IDENTITY


def test_a_snapshot_reads_the_seat_and_its_orders_as_the_orm_would(game):
    """identity.snapshot's own part in plain SQL (round 6): the seat's fields it shows and the
    last 50 orders placed with a client id, oldest first, equal what the ORM reads; another
    seat's orders and the bots' (no client id) are left out."""
    import json

    from game.commandlog import order_view
    from game.live import identity
    from game.models import Seat

    ann, _ = join_game(game.code, "Ann")
    bob, _ = join_game(game.code, "Bob")
    start_game(game.id)
    rows = []
    for k in range(55):
        status = ("filled", "rejected", "queued")[k % 3]
        fill = json.dumps({"status": status, "tao": k / 3}) if status != "queued" else None
        rows.append(Command(game_id=game.id, seat=ann, client_id=f"a-{k}", actor="human",
                            do=("stake", "unstake")[k % 2], due_tick=k, status=status,
                            settled_tick=k if fill else None, fill=fill,
                            reason="price" if status == "rejected" else "",
                            action=json.dumps({"do": "stake", "subnet": 1, "tao": k,
                                               "player": ann.player})))
    rows.append(Command(game_id=game.id, seat=ann, client_id=None, actor="bot", do="stake",
                        due_tick=3, action=json.dumps({"do": "stake", "subnet": 2, "tao": 1})))
    rows.append(Command(game_id=game.id, seat=bob, client_id="b-1", actor="human", do="stake",
                        due_tick=3, action=json.dumps({"do": "stake", "subnet": 2, "tao": 1})))
    Command.objects.bulk_create(rows)
    Seat.objects.filter(pk=ann.pk).update(role="subnet_owner", nickname="Ann B")
    snap = identity.snapshot(identity.Identity(identity.STUDENT, game.id, game.code,
                                               seat_id=ann.id, player=ann.player))
    seat = Seat.objects.get(pk=ann.pk)
    recent = Command.objects.filter(seat=seat).exclude(client_id=None).order_by("-id")[:50]
    assert snap["commands"] == [order_view(c) for c in reversed(list(recent))]
    assert [c["id"] for c in snap["commands"]] == [f"a-{k}" for k in range(5, 55)]
    assert snap["you"] == {"kind": "student", "seat_id": seat.id, "nickname": "Ann B",
                           "role": "subnet_owner", "player": seat.player,
                           "active": seat.active}
