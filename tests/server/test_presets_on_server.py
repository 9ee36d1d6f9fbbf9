"""Every shipped preset (sim/scenarios/*.json) runs on the server: create, seat a class, start
with the Foundation taken, settle ticks, replay."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from game import engine, simapi
from game.actions.clock import advance
from game.actions.lobby import join_game, set_foundation
from game.actions.orders import submit_command
from game.actions.setup import Overrides, create_game
from game.actions.start import start_game
from game.debrief.replay import replay
from game.live import identity
from game.models import Game, Seat

pytestmark = pytest.mark.django_db(transaction=True)
PRESETS = sorted(p.stem for p in (Path(__file__).resolve().parents[2] / "sim" / "scenarios")
                 .glob("*.json"))


@pytest.fixture
def shipped(settings):
    settings.SCENARIOS_DIR = Path(__file__).resolve().parents[2] / "sim" / "scenarios"
    simapi.presets.cache_clear()
    yield
    simapi.presets.cache_clear()


def test_the_console_offers_every_shipped_preset(shipped):
    assert [p["id"] for p in simapi.presets()] != []
    assert sorted(p["id"] for p in simapi.presets()) == PRESETS


@pytest.mark.parametrize("preset", PRESETS)
def test_it_runs_a_shipped_preset(shipped, instructor, preset):
    game = create_game(instructor, preset, Overrides(
        epochs=2, drop_events=True, seed=simapi.load_preset(preset)["seed"]))
    seats = [join_game(game.code, f"Student {i}")[0] for i in range(10)]
    set_foundation(game.id, True)
    start_game(game.id)
    game.refresh_from_db()
    scn = json.loads(game.scenario)
    roles = {p["id"]: p["role"] for p in scn["players"]}
    assert all(roles[s.player] == Seat.objects.get(pk=s.pk).role for s in seats)
    owners = [p["subnet"] for p in scn["players"] if p["role"] == "subnet_owner"]
    assert len(owners) == len(set(owners))  # one owner per subnet
    foundation = Seat.objects.get(game=game, kind="foundation")
    assert roles[foundation.player] == "root_validator"
    for seat in seats[:3]:
        submit_command(seat.id, "c-1", {"do": "stake", "subnet": scn["subnets"][0]["id"],
                                                 "tao": 10.0})
    for _ in range(3):
        advance(game.id, "tick")
        assert engine.settle_tick(game.id)
    game.refresh_from_db()
    snap = identity.snapshot(identity.Identity("student", game.id, game.code, seats[0].id,
                                               seats[0].player))
    assert snap["private"]["net_worth"] > 0 and snap["market"]["subnets"]
    assert replay(Game.objects.get(pk=game.id)).ok
