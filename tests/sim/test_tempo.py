"""Tempo (docs/mechanism.md "Tempo"): the chain epoch's length in blocks is separate from the
game's tick; several chain epochs may settle within one tick, and the game epoch's row sums
them."""
from __future__ import annotations

import pytest
from _helpers import make_scenario

from sim import Game
from sim.scenario import ScenarioError, load_scenario

SPLIT = 0.5 * (1.0 - 0.18)  # the miners' half of the alpha left after the owner cut


def _game(tempo=None, ticks_per_epoch=1, mech="ai_work"):
    clock = {"blocks_per_tick": 1200, "ticks_per_epoch": ticks_per_epoch, "epochs": 4}
    if tempo is not None:
        clock["tempo_blocks"] = tempo
    return Game.from_scenario(make_scenario(
        subnets=[{"id": 1, "tao": 1000.0, "alpha": 10000.0, "alpha_out": 20000.0,
                  "moving_price": 0.1, "mechanism": mech}],
        players=[{"id": "s", "role": "speculator", "tao": 100.0}],
        root=1e5, clock=clock))


def test_a_360_block_tempo_settles_three_chain_epochs_in_a_1200_block_tick():
    g = _game(tempo=360)
    res = g.step([])
    # epochs at blocks 360, 720 and 1080: the last 120 blocks' miner alpha is still pending
    assert float(g.st.pend_miner[0]) == pytest.approx(SPLIT * 120, rel=1e-12)
    # the row reports the three epochs' payouts together: 1,080 blocks of the miners' half
    assert res.epoch_row["subnets"][0]["incentive"]["workers"] == pytest.approx(
        SPLIT * 1080, rel=1e-12)
    res = g.step([])  # epochs at 1440, 1800, 2160: 120 + 960 blocks paid, 240 pending
    assert float(g.st.pend_miner[0]) == pytest.approx(SPLIT * 240, rel=1e-12)
    assert res.epoch_row["subnets"][0]["incentive"]["workers"] == pytest.approx(
        SPLIT * 1080, rel=1e-12)


def test_by_default_the_chain_epoch_is_the_game_epoch():
    g = _game(ticks_per_epoch=2)
    assert g.tempo_blocks == 2400
    assert g.step([]).epoch_row is None
    assert float(g.st.pend_miner[0]) == pytest.approx(SPLIT * 1200, rel=1e-12)
    res = g.step([])
    assert float(g.st.pend_miner[0]) == 0.0
    assert res.epoch_row["subnets"][0]["incentive"]["workers"] == pytest.approx(
        SPLIT * 2400, rel=1e-12)
    explicit = _game(tempo=2400, ticks_per_epoch=2)
    explicit.step([])
    explicit.step([])
    assert explicit.st.to_dict() == g.st.to_dict()


def test_a_game_stored_between_chain_epochs_replays_exactly():
    g = _game(tempo=500, ticks_per_epoch=2)
    g.step([])  # one chain epoch (block 500, 1000) settled, the game epoch still open
    assert g.period
    copy = Game.from_json(g.to_json())
    a, b = g.step([]), copy.step([])
    assert a.epoch_row == b.epoch_row
    assert g.state_digest() == copy.state_digest()


def test_the_scenario_checks_the_tempo():
    scn = {"subnets": [{"id": 1}], "clock": {"tempo_blocks": 360}}
    assert load_scenario(scn)["clock"]["tempo_blocks"] == 360
    assert "tempo_blocks" not in load_scenario({"subnets": [{"id": 1}]})["clock"]
    with pytest.raises(ScenarioError, match="clock.tempo_blocks"):
        load_scenario({"subnets": [{"id": 1}], "clock": {"tempo_blocks": 0}})
