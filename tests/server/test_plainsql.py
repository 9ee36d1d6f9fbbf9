"""game/plainsql.py `instances` gives what `list(queryset)` gives (every field, the state, the
related object cached), and the engine's write of a tick's outcomes (`engine._write_outcomes`)
stores each command's own four columns, on SQLite and (the PostgreSQL pass) PostgreSQL."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from game import engine, plainsql
from game.actions.lobby import join_game
from game.actions.orders import submit_command
from game.actions.start import start_game
from game.models import Command, CommandStatus, Seat

pytestmark = pytest.mark.django_db


def _fields(obj):
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


def test_instances_are_the_orms_own_with_every_field_and_the_game_cached(game):
    for name in ("Ann", "Bob", "Cy"):
        join_game(game.code, name)
    start_game(game.id)  # seats active, roles and players set, bots seated
    Seat.objects.filter(game=game, nickname="Bob").update(kicked=True, stand_in_worth=12.5)
    query = Seat.objects.filter(game_id=game.id).order_by("id")
    orm = list(query)
    built = plainsql.instances(query, game=game)
    assert len(built) == len(orm) > 3
    for ours, theirs in zip(built, orm, strict=True):
        assert type(ours) is Seat and ours == theirs
        assert _fields(ours) == _fields(theirs)
        assert (ours._state.adding, ours._state.db) == (False, theirs._state.db)
    with CaptureQueriesContext(connection) as queries:
        assert all(s.game is game for s in built)  # cached, as a related manager does
    assert queries.captured_queries == []
    # They save and reload as the ORM's do.
    built[0].nickname = "Renamed"
    built[0].save(update_fields=["nickname"])
    assert Seat.objects.get(pk=built[0].pk).nickname == "Renamed"
    built[1].refresh_from_db()
    assert built[1].nickname == orm[1].nickname


def test_instances_without_a_related_object_read_it_as_the_orm_would(game):
    join_game(game.code, "Ann")
    seat = plainsql.instances(Seat.objects.filter(game_id=game.id, nickname="Ann"))[0]
    with CaptureQueriesContext(connection) as queries:
        assert seat.game.pk == game.pk
    assert len(queries.captured_queries) == 1


def test_a_ticks_outcomes_are_each_commands_own(game):
    seats = [join_game(game.code, name)[0] for name in ("Ann", "Bob", "Cy")]
    start_game(game.id)
    for i, seat in enumerate(seats):
        submit_command(seat.id, f"c-{i}", {"do": "stake", "subnet": 1, "tao": 5.0 + i}, game.id)
    cmds = list(Command.objects.filter(game=game, client_id__isnull=False).order_by("id"))
    outcomes = [(CommandStatus.FILLED, 3, "", '{"ref": 1}'),
                (CommandStatus.REJECTED, 3, "insufficient_tao", None),
                (CommandStatus.FILLED, 4, "", '{"ref": "x\\u00e9\\"q"}')]
    for c, (status, tick, reason, fill) in zip(cmds, outcomes, strict=True):
        c.status, c.settled_tick, c.reason, c.fill = status, tick, reason, fill
    with CaptureQueriesContext(connection) as queries:
        engine._write_outcomes(cmds)
    if connection.vendor == "postgresql":  # one statement for every row, not one per row
        [query] = queries.captured_queries
        assert "unnest(" in query["sql"] and " times: " not in query["sql"]
    stored = list(Command.objects.filter(game=game, client_id__isnull=False).order_by("id")
                  .values_list("status", "settled_tick", "reason", "fill"))
    assert stored == outcomes
    others = Command.objects.filter(game=game, client_id__isnull=True)
    assert not others.filter(settled_tick__in=[3, 4]).exists()  # no other row touched
