"""An event's `prediction` (docs/scenario-format.md): a question with 2–5 distinct choices, an
optional subnet and answer key (`correct`, one of the choices); a bad one is refused naming the
field; the presets' questions load."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from sim.scenario import ScenarioError, load_scenario

PRESETS = Path(__file__).resolve().parents[2] / "sim" / "scenarios"
GOOD = {"text": "What happens to SN2's price?", "choices": ["Up", "Down"], "subnet": 2}


def _scenario(prediction: object) -> dict:
    return {
        "name": "Two subnets", "seed": 3,
        "clock": {"blocks_per_tick": 100, "ticks_per_epoch": 2, "epochs": 5},
        "root": {"stake": 1000},
        "subnets": [{"id": 1, "tao": 100, "alpha": 1000}, {"id": 2, "tao": 50, "alpha": 1000}],
        "players": [{"id": "alice", "role": "speculator", "tao": 100}],
        "events": [{"epoch": 2, "title": "Boom", "actions": [], "prediction": prediction}],
    }


def _load(tmp_path: Path, prediction: object) -> dict:
    path = tmp_path / "s.json"
    path.write_text(json.dumps(_scenario(prediction)))
    return load_scenario(path)


def test_it_keeps_a_good_prediction(tmp_path):
    assert _load(tmp_path, GOOD)["events"][0]["prediction"] == GOOD


def test_it_keeps_an_answer_key_trimmed_like_the_choices(tmp_path):
    keyed = {**GOOD, "choices": [" Up ", "Down"], "correct": " Up"}
    assert _load(tmp_path, keyed)["events"][0]["prediction"] == {**GOOD, "correct": "Up"}


@pytest.mark.parametrize("prediction, field, reason", [
    ({"text": "No choices?"}, "events[0].prediction.choices", "is required"),
    ({"text": "One?", "choices": ["a"]}, "events[0].prediction.choices",
     "must hold 2 to 5 choices, got 1"),
    ({"text": "Six?", "choices": list("abcdef")}, "events[0].prediction.choices",
     "must hold 2 to 5 choices, got 6"),
    ({"text": "Twice?", "choices": ["a", "a"]}, "events[0].prediction.choices[1]",
     "repeats the choice 'a'"),
    ({"text": "", "choices": ["a", "b"]}, "events[0].prediction.text", "must not be empty"),
    ({"text": "x" * 201, "choices": ["a", "b"]}, "events[0].prediction.text",
     "must be at most 200 characters"),
    ({"text": "Where?", "choices": ["a", "b"], "subnet": 9}, "events[0].prediction.subnet",
     "unknown subnet 9"),
    ({"text": "Extra?", "choices": ["a", "b"], "answer": 1}, "events[0].prediction.answer",
     "unknown field (expected text, choices, subnet, correct)"),
    ({"text": "Key?", "choices": ["a", "b"], "correct": "c"}, "events[0].prediction.correct",
     "must be one of the choices, got 'c'"),
    ({"text": "Key?", "choices": ["a", "b"], "correct": 0}, "events[0].prediction.correct",
     "expected a string, got an integer"),
])
def test_a_bad_prediction_is_refused_naming_the_field(tmp_path, prediction, field, reason):
    with pytest.raises(ScenarioError) as err:
        _load(tmp_path, prediction)
    assert (err.value.field, err.value.reason) == (field, reason)


def test_the_foundation_event_of_every_preset_that_has_one_asks_about_sn28():
    asked = 0
    for path in sorted(PRESETS.glob("*.json")):
        for event in load_scenario(path)["events"]:
            if event["title"] == "The Foundation steps in":
                assert event["prediction"]["subnet"] == 28
                assert "SN28's price" in event["prediction"]["text"]
                asked += 1
    assert asked == 4
