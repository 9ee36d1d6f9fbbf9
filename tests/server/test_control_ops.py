"""The console's ops: every op the protocol accepts runs its action (game/actions/control.py),
with the arguments the typed message carries."""
from __future__ import annotations

import json
import typing

import pytest

from game.actions import control as control_ops
from game.actions.lobby import join_game
from game.actions.setup import Overrides, create_game
from game.live.protocol import ControlMsg, SimpleControl, parse
from game.models import Game, Seat

pytestmark = pytest.mark.django_db


def _ops() -> set[str]:
    union = typing.get_args(ControlMsg)[0]
    return {op for model in typing.get_args(union)
            for op in typing.get_args(model.model_fields["op"].annotation)}


def test_it_has_an_action_for_every_op_without_arguments():
    assert set(control_ops.SIMPLE) == set(typing.get_args(
        SimpleControl.model_fields["op"].annotation))


def test_it_runs_every_op_of_the_protocol(monkeypatch):
    ran: list[tuple[str, dict[str, object]]] = []
    for op in control_ops.SIMPLE:
        monkeypatch.setitem(control_ops.SIMPLE, op, lambda gid, _op=op: ran.append((_op, {})))
    for module, name in ((control_ops.clock, "set_tick_seconds"), (control_ops.clock, "advance"),
                         (control_ops.lobby, "kick"), (control_ops.lobby, "set_role"),
                         (control_ops.clock, "scripted_event"),
                         (control_ops.lobby, "set_foundation"),
                         (control_ops.rounds, "play_again"), (control_ops.rounds, "practice"),
                         (control_ops.rounds, "to_real")):
        monkeypatch.setattr(module, name, lambda gid, _n=name, **kw: ran.append((_n, kw)))
    ops = _ops()
    messages = [{"op": op} for op in sorted(control_ops.SIMPLE)] + [
        {"op": "tick_seconds", "seconds": 3.0}, {"op": "advance", "unit": "epoch"},
        {"op": "kick", "seat_id": 4}, {"op": "set_role", "seat_id": 4, "role": "speculator"},
        {"op": "event", "event": 0, "action": "hold"}, {"op": "foundation", "on": True},
        {"op": "play_again", "setting": "rules", "value": "tao_flow"}, {"op": "practice"},
        {"op": "to_real"}]
    for fields in messages:
        control_ops.control(7, parse(json.dumps({"type": "control", "id": "x", **fields})))
    assert {m["op"] for m in messages} == ops
    assert ran == [(op, {}) for op in sorted(control_ops.SIMPLE)] + [
        ("set_tick_seconds", {"seconds": 3.0}), ("advance", {"unit": "epoch"}),
        ("kick", {"seat_id": 4}), ("set_role", {"seat_id": 4, "role": "speculator"}),
        ("scripted_event", {"event": 0, "action": "hold"}), ("set_foundation", {"on": True}),
        ("play_again", {"setting": "rules", "value": "tao_flow"}), ("practice", {}),
        ("to_real", {})]


def test_it_passes_the_message_fields_by_name(instructor):
    game = create_game(instructor, "launch_month", Overrides(seed=1))
    seat, _ = join_game(game.code, "Ann")
    control_ops.control(game.id, parse(
        '{"type": "control", "id": "x", "op": "set_role", "seat_id": %d,'
        ' "role": "root_validator"}' % seat.id))
    control_ops.control(game.id, parse(
        '{"type": "control", "id": "y", "op": "tick_seconds", "seconds": 7.5}'))
    control_ops.control(game.id, parse('{"type": "control", "id": "z", "op": "lock"}'))
    game = Game.objects.get(pk=game.id)
    assert Seat.objects.get(pk=seat.id).role == "root_validator"
    assert (game.tick_seconds, game.locked) == (7.5, True)
