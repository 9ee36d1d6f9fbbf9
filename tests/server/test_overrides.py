"""Overrides cannot silently break a preset (issue #13): the create form shows each preset's
length and events, and an override that would drop or orphan a scripted event is refused with
a message naming the event, unless the teacher explicitly drops it."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.test import Client

from game import simapi
from game.actions.setup import CreateError, Overrides, create_game
from game.models import Game

pytestmark = pytest.mark.django_db

SHIPPED = Path(__file__).resolve().parents[2] / "sim" / "scenarios"


@pytest.fixture
def shipped(settings):
    settings.SCENARIOS_DIR = SHIPPED
    settings.ENGINE_IN_PROCESS = False
    simapi.presets.cache_clear()
    yield
    simapi.presets.cache_clear()


def test_a_shorter_game_that_would_lose_the_foundations_rescue_is_refused(shipped, instructor):
    with pytest.raises(CreateError) as refused:
        create_game(instructor, "one_year_later", Overrides(epochs=6))
    message = str(refused.value)
    assert "\u201cThe Foundation steps in\u201d (epoch 12) would never fire" in message
    assert "game ends after epoch 5" in message
    assert "SN28 pays its holders" not in message  # epoch 2 still fires: not listed
    assert not Game.objects.exists()


def test_fewer_subnets_that_orphan_sn28s_events_are_refused(shipped, instructor):
    with pytest.raises(CreateError) as refused:
        create_game(instructor, "tao_flow_era", Overrides(subnets=3))
    message = str(refused.value)
    assert "\u201cSN28 pays its holders again\u201d (epoch 2) is about SN28" in message
    assert "\u201cThe Foundation steps in\u201d (epoch 12) acts on a subnet or player" in message


def test_the_teacher_can_drop_the_events_explicitly(shipped, instructor):
    game = create_game(instructor, "tao_flow_era",
                                Overrides(subnets=3, drop_events=True))
    titles = [e["title"] for e in json.loads(game.scenario)["events"]]
    assert "SN28 pays its holders again" not in titles
    assert "The Foundation steps in" not in titles
    assert titles  # the events that still make sense stay


def test_overrides_that_keep_every_event_need_no_confirmation(shipped, instructor):
    game = create_game(instructor, "launch_month",
                                Overrides(epochs=20, tick_seconds=3))
    assert [e["epoch"] for e in json.loads(game.scenario)["events"]] == [0, 2, 6]


def test_the_form_shows_the_presets_length_and_events_and_the_refusal(shipped, instructor):
    client = Client()
    client.force_login(instructor)
    page = client.get("/console/").content.decode()
    assert "24 epochs × 6 ticks of 7 s ≈ 17 min · 8 subnets" in page
    assert "The Foundation steps in (epoch 12)" in page
    response = client.post("/console/", {"preset": "one_year_later", "epochs": 6, "bots": "on"})
    assert response.status_code == 400
    assert "The Foundation steps in" in response.content.decode()
    assert not Game.objects.exists()
    response = client.post("/console/", {"preset": "one_year_later", "epochs": 6, "bots": "on",
                                         "drop_events": "on"})
    assert response.status_code == 302
