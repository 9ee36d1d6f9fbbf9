"""The teacher decides whether students may register subnets, and at what cost (issue #13, "the
lesson survives"): the create form keeps the preset's setting, forbids registering, or sets the
lock cost's floor; a forbidden registration is refused with a stable code and changes nothing."""
from __future__ import annotations

import json

import pytest
from django.test import Client
from serverkit import SCENARIO

from game import engine
from game.actions.clock import advance
from game.actions.lobby import join_game, set_role
from game.actions.orders import submit_command
from game.actions.setup import CreateError, Overrides, create_game
from game.actions.start import start_game
from game.live import identity
from game.models import Command, Game, Seat

pytestmark = pytest.mark.django_db(transaction=True)


def _params(game: Game) -> dict:
    return json.loads(game.scenario)["params"]


def test_the_preset_setting_is_kept_unless_the_teacher_changes_it(preset_dir, instructor):
    game = create_game(instructor, "test_market", Overrides(seed=1))
    assert (_params(game)["registration_open"], _params(game)["lock_min"]) == (1, 1.0)


def test_the_teacher_can_forbid_registering(preset_dir, instructor):
    game = create_game(instructor, "test_market",
                                Overrides(seed=1, registration="forbid"))
    assert _params(game)["registration_open"] == 0


def test_the_teacher_can_set_the_lock_cost(preset_dir, instructor):
    game = create_game(instructor, "test_market",
                                Overrides(seed=1, registration="cost", lock_cost=250.0))
    assert (_params(game)["registration_open"], _params(game)["lock_min"]) == (1, 250.0)


def test_a_cost_without_an_amount_is_refused(preset_dir, instructor):
    with pytest.raises(CreateError, match="Give the lock cost"):
        create_game(instructor, "test_market",
                             Overrides(seed=1, registration="cost"))
    assert not Game.objects.exists()


def test_the_create_form_carries_the_setting(preset_dir, instructor):
    client = Client()
    client.force_login(instructor)
    page = client.get("/console/").content.decode()
    assert "registering a subnet locks from 1 τ" in page
    assert '<option value="forbid">forbidden</option>' in page
    response = client.post("/console/", {"preset": "test_market", "bots": "on",
                                         "registration": "cost", "lock_cost": "40"})
    assert response.status_code == 302
    assert _params(Game.objects.get())["lock_min"] == 40.0
    response = client.post("/console/", {"preset": "test_market", "registration": "sometimes"})
    assert response.status_code == 400 and Game.objects.count() == 1


def test_a_registration_in_a_game_that_forbids_it_is_refused_and_costs_nothing(
        preset_dir, instructor):
    game = create_game(instructor, "test_market",
                                Overrides(seed=SCENARIO["seed"], registration="forbid"))
    seat, _ = join_game(game.code, "Owen")
    set_role(game.id, seat.id, "subnet_owner")
    start_game(game.id)
    submit_command(seat.id, "reg-1", {"do": "register_subnet", "name": "Mine"})
    advance(game.id, "tick")
    assert engine.settle_tick(game.id)
    command = Command.objects.get(seat=seat, client_id="reg-1")
    assert (command.status, command.reason) == ("rejected", "registration_closed")
    game.refresh_from_db()
    market = json.loads(game.public)["market"]
    assert sorted(s["id"] for s in market["subnets"]) == [1, 2]
    seat = Seat.objects.get(pk=seat.id)
    view = identity.snapshot(identity.Identity(identity.STUDENT, game.id, game.code,
                                               seat_id=seat.id, player=seat.player))
    assert view["private"]["tao"] == view["private"]["contributed"] > 0  # no lock was taken
