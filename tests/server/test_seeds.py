"""Each new game draws its own seed (the preset's seed is public), stored on the game and in its
scenario, so replay, the debrief and the export reproduce it; tests and tools may pass one."""
from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.test import Client
from serverkit import SCENARIO

from game import engine
from game.actions.clock import advance
from game.actions.lobby import join_game
from game.actions.orders import submit_command
from game.actions.setup import MAX_SEED, Overrides, create_game
from game.actions.start import start_game
from game.debrief import replay
from game.models import Game

pytestmark = pytest.mark.django_db


def test_every_game_from_the_console_draws_a_fresh_seed(preset_dir, instructor):
    client = Client()
    client.force_login(instructor)
    for _ in range(3):
        assert client.post("/console/", {"preset": "test_market"}).status_code == 302
    seeds = [g.seed for g in Game.objects.filter(owner=instructor)]
    assert len(set(seeds)) == 3 and SCENARIO["seed"] not in seeds
    assert all(0 <= s < MAX_SEED for s in seeds)
    for game in Game.objects.filter(owner=instructor):
        assert json.loads(game.scenario)["seed"] == game.seed  # stored with its scenario


def test_a_game_with_a_drawn_seed_replays_and_exports_it(preset_dir, instructor):
    game = create_game(instructor, "test_market", Overrides())
    assert game.seed != SCENARIO["seed"]
    seats = [join_game(game.code, f"Student {k}")[0] for k in range(8)]
    start_game(game.id)
    for k, seat in enumerate(seats):  # one tick, 8 orders (8! orders): the seed picks one
        submit_command(seat.id, f"c-{k}", {"do": "stake", "subnet": 1,
                                                    "tao": 10.0 * (k + 1)})
    for _ in range(3):
        advance(game.id, "tick")
        assert engine.settle_tick(game.id)
    game.refresh_from_db()
    assert replay.replay(game).ok
    # The stored seed is the one that matters: the preset's would settle another order.
    assert not replay.replay(Game(**{**{f.attname: getattr(game, f.attname)
                                        for f in Game._meta.concrete_fields},
                                     "seed": SCENARIO["seed"]})).ok
    client = Client()
    client.force_login(instructor)
    with zipfile.ZipFile(io.BytesIO(client.get(f"/console/{game.code}/export.zip").content)) as z:
        assert json.loads(z.read("scenario.json"))["seed"] == game.seed
        assert json.loads(z.read("game.json"))["game"]["seed"] == game.seed


def test_a_seed_may_be_given(preset_dir, instructor):
    game = create_game(instructor, "test_market", Overrides(seed=12345))
    assert game.seed == 12345 and json.loads(game.scenario)["seed"] == 12345
