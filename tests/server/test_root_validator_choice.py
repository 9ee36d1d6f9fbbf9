"""The public market names the root validators a speculator may stake with (their seat's
nickname, as typed: pages render it as text), the private view carries the real income
totals, and a game stored before those totals existed still verifies by replay."""
from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from game import engine
from game.actions.clock import advance
from game.actions.lobby import join_game, set_role
from game.actions.orders import submit_command
from game.actions.start import start_game
from game.live import identity
from game.models import Game, Seat

pytestmark = pytest.mark.django_db(transaction=True)

VERA = '<b>Vera</b> "V"'


def _settle(game_id: int, ticks: int = 1) -> None:
    for _ in range(ticks):
        advance(game_id, "tick")
        assert engine.settle_tick(game_id)


def _start(game):
    vera, _ = join_game(game.code, VERA)
    nomi, _ = join_game(game.code, "Nomi")
    set_role(game.id, vera.id, "root_validator")
    set_role(game.id, nomi.id, "speculator")
    start_game(game.id)
    return Seat.objects.get(pk=vera.id), Seat.objects.get(pk=nomi.id)


def _student_snapshot(seat: Seat) -> dict:
    return identity.snapshot(identity.Identity(identity.STUDENT, seat.game_id, seat.game.code,
                                               seat_id=seat.id, player=seat.player))


def test_the_market_names_the_root_validators_with_their_seats_nicknames(game):
    vera, nomi = _start(game)
    # students first (a root validator starts with the role's root stake), then the preset's
    # Foundation, which plays without a seat: shown by its player id, as on the leaderboard
    # (each root validator holds a seat on every subnet: no scenario root_seats)
    stored = json.loads(Game.objects.get(pk=game.id).public)
    seats = sorted(s["id"] for s in stored["market"]["subnets"])
    expected = [
        {"id": vera.player, "root_stake": 100000.0, "stake": 100000.0, "nickname": VERA,
         "seats": seats},
        {"id": "otf", "root_stake": 50000.0, "stake": 50000.0, "nickname": "otf",
         "seats": seats}]
    # Labelled from the start (the market stored when the game starts, before any tick)...
    assert stored["market"]["root_validators"] == expected
    assert _student_snapshot(nomi)["market"]["root_validators"] == expected
    # ...and a game started before that (stored without nicknames) gets them in its snapshots.
    for v in stored["market"]["root_validators"]:
        del v["nickname"]
    Game.objects.filter(pk=game.id).update(public=json.dumps(stored))
    assert _student_snapshot(nomi)["market"]["root_validators"] == expected

    # Nomi root-stakes with Vera; after the tick every copy of the market carries the label.
    submit_command(nomi.id, "c-1", {"do": "root_stake", "tao": 10.0,
                                             "validator": vera.player})
    _settle(game.id)
    public = json.loads(Game.objects.get(pk=game.id).public)["market"]
    row = next(v for v in public["root_validators"] if v["id"] == vera.player)
    assert row["nickname"] == VERA
    assert (row["root_stake"], row["stake"]) == (100000.0, 100010.0)
    snap = _student_snapshot(nomi)
    assert snap["private"]["root_validator"] == vera.player
    assert snap["private"]["root_stake"] == 10.0
    assert _student_snapshot(vera)["private"]["nominated"] == 10.0
    assert snap["market"]["root_validators"] == public["root_validators"]


def test_the_private_view_reports_root_dividends_received(game):
    vera, nomi = _start(game)
    submit_command(nomi.id, "c-1", {"do": "root_stake", "tao": 10.0,
                                             "validator": vera.player})
    _settle(game.id, 4)  # two epochs of two ticks
    for seat in (vera, nomi):
        private = _student_snapshot(seat)["private"]
        assert private["root_dividends_tao"] > 0.0
        assert private["root_dividends_alpha"] == {}


def test_a_game_stored_before_the_income_totals_still_verifies_by_replay(game):
    vera, nomi = _start(game)
    submit_command(nomi.id, "c-1", {"do": "stake", "subnet": 1, "tao": 20.0})
    _settle(game.id, 3)
    g = Game.objects.get(pk=game.id)
    state = json.loads(g.state)
    assert state["state"]["root_div_tao"] and any(state["state"]["root_div_tao"])
    out = io.StringIO()
    call_command("verify_replay", g.code, stdout=out)
    assert "MATCH" in out.getvalue()
    # As an older server stored it: no totals at all.
    for name in ("owner_cut_paid", "root_div_alpha", "root_div_tao"):
        del state["state"][name]
    Game.objects.filter(pk=g.id).update(state=json.dumps(state))
    out = io.StringIO()
    call_command("verify_replay", g.code, stdout=out)
    assert "MATCH" in out.getvalue()
    # ... and it still catches a state that differs elsewhere
    state["state"]["tao"][0] += 1.0
    Game.objects.filter(pk=g.id).update(state=json.dumps(state))
    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_replay", g.code, stdout=io.StringIO(), stderr=io.StringIO())
    assert exit_info.value.code == 1


def test_a_root_validator_takes_and_gives_up_seats_through_the_protocol(game):
    from game.errors import ClientError
    from game.live.protocol import action_dict, parse

    vera, nomi = _start(game)
    assert _student_snapshot(vera)["private"]["root_seats"] == [1, 2]

    def command(seat, cid, text):
        return submit_command(seat.id, cid, action_dict(parse(text)))

    command(vera, "s-1", '{"type": "command", "id": "s-1", "do": "root_deregister", "subnet": 2}')
    command(nomi, "s-2", '{"type": "command", "id": "s-2", "do": "root_register", "subnet": 2}')
    _settle(game.id)
    assert _student_snapshot(vera)["private"]["root_seats"] == [1]
    market = json.loads(Game.objects.get(pk=game.id).public)["market"]
    assert next(v for v in market["root_validators"] if v["id"] == vera.player)["seats"] == [1]
    refused = next(c for c in _student_snapshot(nomi)["commands"] if c["id"] == "s-2")
    assert (refused["status"], refused["reason"]) == ("rejected", "not_root_validator")
    command(vera, "s-3", '{"type": "command", "id": "s-3", "do": "root_register", "subnet": 2}')
    _settle(game.id)
    assert _student_snapshot(vera)["private"]["root_seats"] == [1, 2]
    for bad in ('{"type": "command", "id": "b", "do": "root_register"}',
                '{"type": "command", "id": "b", "do": "root_register", "subnet": "2"}',
                '{"type": "command", "id": "b", "do": "root_register", "subnet": 2, "x": 1}'):
        with pytest.raises(ClientError) as refused_message:
            parse(bad)
        assert refused_message.value.code == "invalid"
