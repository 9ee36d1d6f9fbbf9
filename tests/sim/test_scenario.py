"""The scenario loader: defaults filled in, bad files rejected naming the field and the reason."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from sim.scenario import ScenarioError, load_scenario, param_defaults

PRESETS = Path(__file__).resolve().parents[2] / "sim" / "scenarios"


def good() -> dict:
    return {
        "name": "Two subnets",
        "seed": 3,
        "rules": ["launch"],
        "params": {"moving_alpha": 3e-4},
        "clock": {"blocks_per_tick": 100, "ticks_per_epoch": 2, "epochs": 5},
        "root": {"stake": 1000},
        "subnets": [
            {"id": 1, "tao": 100, "alpha": 1000},
            {"id": 2, "tao": 50, "alpha": 1000, "mechanism": "hold_to_earn"},
        ],
        "players": [
            {"id": "alice", "role": "speculator", "tao": 100},
            {"id": "bob", "role": "subnet_owner", "subnet": 2, "tao": 10},
            {"id": "otf", "role": "root_validator", "root_stake": 500},
            {"id": "m1", "role": "speculator", "tao": 50, "bot": "momentum"},
        ],
        "actions": [
            {"tick": 0, "player": "alice", "do": "stake", "subnet": 1, "tao": 10},
            {"tick": 1, "player": "alice", "do": "move", "from": 1, "to": 2, "alpha": 1},
            {"tick": 2, "player": "otf", "do": "set_weights", "subnet": 2,
             "weights": {"workers": 1}},
        ],
        "events": [{"epoch": 2, "title": "Rescue", "actions": [
            {"player": "otf", "do": "set_weights", "subnet": 2, "weights": None}]}],
        "my_extra_field": {"kept": True},
    }


def test_it_fills_every_default():
    scn = load_scenario(good())
    assert scn["params"]["moving_alpha"] == 3e-4
    for name in ("block_emission", "tao_issued", "tao_weight", "owner_cut", "moving_alpha",
                 "ema_halving_blocks", "kappa", "validator_take", "stake_fee",
                 "miner_sell_fraction"):  # the contract's names
        assert name in scn["params"]
    for name, value in param_defaults().items():
        if name != "moving_alpha":
            assert scn["params"][name] == pytest.approx(value)
    assert scn["clock"]["tick_seconds"] == 5.0
    assert scn["subnets"][0]["mechanism"] == "ai_work"
    assert scn["subnets"][0]["moving_price"] == pytest.approx(0.1)  # spot, capped at 1
    assert scn["subnets"][1]["alpha_out"] == 0.0
    assert scn["players"][0]["root_stake"] == 0.0
    assert scn["events"][0]["text"] == ""
    assert set(scn["role_defaults"]) == {"speculator", "subnet_owner", "root_validator"}
    assert scn["bot_fill"]["speculator"] in __import__("sim.bots").bots.POLICIES


def test_it_keeps_extra_fields():
    assert load_scenario(good())["my_extra_field"] == {"kept": True}


def test_it_is_idempotent():
    once = load_scenario(good())
    assert load_scenario(once) == once


def test_it_does_not_mutate_its_input():
    src = good()
    before = copy.deepcopy(src)
    load_scenario(src)
    assert src == before


def test_it_reads_json_and_toml_alike(tmp_path):
    (tmp_path / "s.json").write_text(json.dumps(good()))
    toml = """
name = "Two subnets"
seed = 3
rules = ["launch"]
my_extra_field = {kept = true}
[params]
moving_alpha = 3e-4
[clock]
blocks_per_tick = 100
ticks_per_epoch = 2
epochs = 5
[root]
stake = 1000
[[subnets]]
id = 1
tao = 100
alpha = 1000
[[subnets]]
id = 2
tao = 50
alpha = 1000
mechanism = "hold_to_earn"
[[players]]
id = "alice"
role = "speculator"
tao = 100
[[players]]
id = "bob"
role = "subnet_owner"
subnet = 2
tao = 10
[[players]]
id = "otf"
role = "root_validator"
root_stake = 500
[[players]]
id = "m1"
role = "speculator"
tao = 50
bot = "momentum"
[[actions]]
tick = 0
player = "alice"
do = "stake"
subnet = 1
tao = 10
[[actions]]
tick = 1
player = "alice"
do = "move"
from = 1
to = 2
alpha = 1
[[actions]]
tick = 2
player = "otf"
do = "set_weights"
subnet = 2
weights = {workers = 1}
[[events]]
epoch = 2
title = "Rescue"
[[events.actions]]
player = "otf"
do = "set_weights"
subnet = 2
"""
    (tmp_path / "s.toml").write_text(toml)
    from_json = load_scenario(tmp_path / "s.json")
    from_toml = load_scenario(str(tmp_path / "s.toml"))
    # TOML has no null: weights left out mean "follow the mechanism", as null does.
    assert from_toml == from_json


def _set(path: str, value):
    """A mutation of good(): set the value at a dotted path (list indexes as numbers)."""
    def mutate(d: dict) -> dict:
        keys = path.split(".")
        cur = d
        for k in keys[:-1]:
            cur = cur[int(k)] if isinstance(cur, list) else cur[k]
        last = keys[-1]
        if value is _DELETE:
            del cur[int(last) if isinstance(cur, list) else last]
        elif isinstance(cur, list):
            cur[int(last)] = value
        else:
            cur[last] = value
        return d
    return mutate


_DELETE = object()

BAD = [
    # (mutation, field named, words in the reason)
    (_set("rules", ["launch", "moon"]), "rules[1]", "unknown rule 'moon'"),
    (_set("rules", ["tao_flow", "tao_flow"]), "rules[1]", "duplicate"),
    (_set("subnets.1.mechanism", "meme"), "subnets[1].mechanism", "unknown mechanism 'meme'"),
    (_set("subnets.1.id", 1), "subnets[1].id", "duplicate subnet id 1"),
    (_set("subnets.0.tao", -5), "subnets[0].tao", "must be >="),
    (_set("subnets.0.alpha", "lots"), "subnets[0].alpha", "expected a number"),
    (_set("subnets.0.moving_price", 1.5), "subnets[0].moving_price", "must be <= 1"),
    (_set("subnets.0.flow_ema", "high"), "subnets[0].flow_ema", "expected a number"),
    (_set("players.1.subnet", 9), "players[1].subnet", "unknown subnet 9"),
    (_set("players.2.id", "alice"), "players[2].id", "duplicate player id 'alice'"),
    (_set("players.0.role", "miner"), "players[0].role", "unknown role 'miner'"),
    (_set("players.3.bot", "hodler9000"), "players[3].bot", "unknown bot policy"),
    (_set("players.0.tao", -1), "players[0].tao", "must be >="),
    (_set("players.1.subnet", _DELETE), "players[1].subnet", "is required"),
    (_set("actions.0.player", "zoe"), "actions[0].player", "unknown player 'zoe'"),
    (_set("actions.0.subnet", 7), "actions[0].subnet", "unknown subnet 7"),
    (_set("actions.0.do", "borrow"), "actions[0].do", "unknown action 'borrow'"),
    (_set("actions.0.tao", 0), "actions[0].tao", "must be >"),
    (_set("actions.0.tick", 10), "actions[0].tick", "must be <= 9"),
    (_set("actions.1.to", 1), "actions[1].to", "must differ"),
    (_set("actions.2.weights", {"whales": 1}), "actions[2].weights.whales", "unknown miner class"),
    (_set("events.0.actions.0.player", "ghost"), "events[0].actions[0].player", "unknown player"),
    (_set("events.0.epoch", 5), "events[0].epoch", "must be <= 4"),
    (_set("clock.blocks_per_tick", 0), "clock.blocks_per_tick", "must be >= 1"),
    (_set("clock.epochs", 2.5), "clock.epochs", "expected an integer"),
    (_set("clock.tick_seconds", 10**9), "clock.tick_seconds", "must be <="),
    (_set("params.tao_weight", 2), "params.tao_weight", "must be <= 1"),
    (_set("params.moving_alpha", 0), "params.moving_alpha", "must be > 0"),
    (_set("params.ema_halving_blocks", 10.5), "params.ema_halving_blocks", "expected an integer"),
    (_set("seed", -1), "seed", "must be >= 0"),
    (_set("players", {"alice": {}}), "players", "expected a list"),
    (_set("role_mix", {"pirate": 1}), "role_mix.pirate", "unknown role"),
    (_set("bot_fill", {"speculator": "nope"}), "bot_fill.speculator", "unknown bot policy"),
]


@pytest.mark.parametrize("mutate, field, reason", BAD, ids=[b[1] + ":" + b[2] for b in BAD])
def test_it_rejects_a_bad_file_naming_field_and_reason(mutate, field, reason):
    with pytest.raises(ScenarioError) as info:
        load_scenario(mutate(good()))
    assert info.value.field == field
    assert reason in info.value.reason
    assert str(info.value).startswith(field + ": ")


@pytest.mark.parametrize("path, value, said", [
    ("subnets.0.tao", 10**400, "subnets[0].tao: must be finite, got 1e+400"),
    ("clock.epochs", 10**400, "clock.epochs: must be <= "),
    ("seed", -(10**20), "seed: must be >= 0, got -1e+20"),
    ("clock.epochs", 10**15 + 1, "got 1e+15"),
], ids=["float-overflow", "int-over", "int-under", "16-digits"])
def test_a_huge_integer_is_refused_in_a_line_that_quotes_it_short(path, value, said):
    # A JSON number of 400 digits is a Python int: float() of it overflows. The refusal is the
    # scenario's own error (not an OverflowError), and it quotes the number short.
    with pytest.raises(ScenarioError) as info:
        load_scenario(_set(path, value)(good()))
    assert said in str(info.value)
    assert len(str(info.value)) < 80


def test_it_rejects_unreadable_files(tmp_path):
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(ScenarioError, match="not valid JSON"):
        load_scenario(tmp_path / "broken.json")
    with pytest.raises(ScenarioError, match="no such file"):
        load_scenario(tmp_path / "missing.json")
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(ScenarioError, match="top level must be an object"):
        load_scenario(tmp_path / "list.json")


def test_it_accepts_references_to_subnets_registered_during_the_game():
    scn = good()
    scn["actions"] += [
        {"tick": 3, "player": "bob", "do": "register_subnet", "mechanism": "ai_work"},
        {"tick": 4, "player": "alice", "do": "stake", "subnet": 3, "tao": 1},
    ]
    assert load_scenario(scn)["actions"][-1]["subnet"] == 3


def test_it_accepts_the_format_documents_example():
    """docs/scenario-format.md's example file (with the subnet 2 its `move` refers to)."""
    example = {
        "name": "Launch month: the meme subnet",
        "description": "One line shown to the instructor.",
        "seed": 7,
        "rules": ["launch"],
        "params": {
            "block_emission": 1.0, "tao_issued": 0, "tao_weight": 0.18, "owner_cut": 0.18,
            "moving_alpha": 3e-6, "ema_halving_blocks": 201600, "kappa": 0.5,
            "validator_take": 0.18, "stake_fee": 0.00005, "miner_sell_fraction": 0.5,
        },
        "clock": {"blocks_per_tick": 7200, "ticks_per_epoch": 1, "epochs": 30, "tick_seconds": 5},
        "root": {"stake": 6000000},
        "subnets": [
            {"id": 1, "name": "Text prompting", "tao": 1000, "alpha": 20000, "alpha_out": 0,
             "moving_price": 0.05, "mechanism": "ai_work", "age_blocks": 0},
            {"id": 2, "name": "Meme", "tao": 100, "alpha": 20000},
        ],
        "players": [
            {"id": "alice", "role": "speculator", "tao": 1000},
            {"id": "bob", "role": "subnet_owner", "subnet": 1, "tao": 100},
            {"id": "otf", "role": "root_validator", "tao": 0, "root_stake": 5000000},
            {"id": "m1", "role": "speculator", "tao": 500, "bot": "momentum"},
        ],
        "actions": [
            {"tick": 0, "player": "alice", "do": "stake", "subnet": 1, "tao": 100},
            {"tick": 3, "player": "alice", "do": "unstake", "subnet": 1, "alpha": 50},
            {"tick": 4, "player": "alice", "do": "move", "from": 1, "to": 2, "alpha": 10},
            {"tick": 5, "player": "bob", "do": "set_mechanism", "subnet": 1,
             "mechanism": "hold_to_earn"},
            {"tick": 5, "player": "otf", "do": "set_weights", "subnet": 1,
             "weights": {"workers": 1}},
        ],
        "events": [{"epoch": 3, "title": "A meme subnet launches", "text": "…", "actions": []}],
    }
    scn = load_scenario(example)
    assert scn["actions"][2] == {"tick": 4, "player": "alice", "do": "move", "from": 1, "to": 2,
                                 "alpha": 10.0}
    assert scn["subnets"][0]["moving_price"] == 0.05
    assert scn["params"]["ema_halving_blocks"] == 201600


def test_it_rejects_bad_toml_naming_the_file(tmp_path):
    (tmp_path / "bad.toml").write_text("name = \n")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_scenario(tmp_path / "bad.toml")
