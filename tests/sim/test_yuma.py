"""Yuma-lite with agreement (docs/mechanism.md "Validators and consensus (Yuma-lite)"): a
validator is paid by stake x agreement with consensus, the subnet's own validator included;
root stake counts only where its validator holds a seat."""
from __future__ import annotations

import numpy as np
import pytest
from _helpers import make_scenario

from sim import Game, coinbase, epoch
from sim.epoch import alpha_validator_pay_ratio, consensus_many, stake_weighted_quantile, yuma_terms
from sim.scenario import ScenarioError, load_scenario

N = 360  # blocks per tick in these tests


def test_the_subnets_own_validator_is_paid_by_its_agreement():
    stake = np.array([0.3, 0.7])  # [the subnet's own validator, a root validator]
    agree = np.array([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]])
    _, _, div, trust = yuma_terms(stake, agree, 0.5)
    assert trust.tolist() == [1.0, 1.0]
    assert alpha_validator_pay_ratio(stake, trust) == 1.0  # all agree: its full (1 - rho) part
    dissent = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])  # the root majority pays workers
    _, inc, div, trust = yuma_terms(stake, dissent, 0.5)
    assert inc.tolist() == [1.0, 0.0, 0.0]
    assert trust.tolist() == [0.0, 1.0] and div.tolist() == [0.0, 1.0]
    assert alpha_validator_pay_ratio(stake, trust) == 0.0  # it agrees with nothing
    half = np.array([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]])  # half its weight on the consensus
    _, _, _, trust = yuma_terms(stake, half, 0.5)
    assert trust.tolist() == [0.5, 1.0]
    # d_0 / sigma_0 = 0.5 * 1.0 / (0.3 * 0.5 + 0.7 * 1.0)
    assert alpha_validator_pay_ratio(stake, trust) == pytest.approx(0.5 / 0.85, rel=1e-12)


def _meme(seats=None, root_stake=1e6, rules=None):
    otf = {"id": "otf", "role": "root_validator", "root_stake": root_stake}
    if seats is not None:
        otf["root_seats"] = seats
    return Game.from_scenario(make_scenario(
        subnets=[{"id": 1, "tao": 1000.0, "alpha": 10000.0, "alpha_out": 20000.0,
                  "moving_price": 0.1, "mechanism": "hold_to_earn"},
                 {"id": 2, "tao": 1000.0, "alpha": 10000.0, "alpha_out": 20000.0,
                  "moving_price": 0.1, "mechanism": "ai_work"}],
        players=[otf, {"id": "h", "role": "speculator", "alpha": {"1": 1000.0}}],
        rules=rules, clock={"blocks_per_tick": N, "ticks_per_epoch": 1, "epochs": 6}))


def _sn1(res):
    return next(s for s in res.epoch_row["subnets"] if s["id"] == 1)


def test_after_a_root_majority_overrules_the_subnet_its_holders_get_nothing_and_the_part_is_recycled():  # noqa: E501
    g = _meme()
    before = _sn1(g.step([]))
    assert before["alpha_dividends"] > 0.0 and before["incentive"]["holders"] > 0.0
    g.step([{"do": "set_weights", "player": "otf", "subnet": 1, "weights": {"workers": 1}}])
    after = _sn1(g.step([]))
    assert after["alpha_dividends"] == 0.0 and after["incentive"]["holders"] == 0.0
    # the epoch by itself: its (1 - rho) part leaves alpha outstanding and issuance
    st = g.st
    coinbase.run_blocks_fast(st, g.params, g.rules, N)
    pend_val, o, issued = float(st.pend_val[0]), float(st.o[0]), float(st.alpha_issued[0])
    held = float(st.alpha[1, 0])
    assert pend_val > 0.0
    epoch.run_epoch(st, g.params, g.rules, lambda i, alpha: 0.0)
    assert float(st.alpha[1, 0]) == held  # the holder is paid nothing
    assert float(st.o[0]) == pytest.approx(o - pend_val, rel=1e-12)
    assert float(st.alpha_issued[0]) == pytest.approx(issued - pend_val, rel=1e-12)


def test_a_root_validator_without_a_seat_cannot_overrule_the_subnet():
    g = _meme(seats=[2])  # seated on subnet 2 only
    assert g.private_view("otf")["root_seats"] == [2]
    g.step([{"do": "set_weights", "player": "otf", "subnet": 1, "weights": {"workers": 1}}])
    after = _sn1(g.step([]))
    assert after["incentive"]["holders"] > 0.0 and after["alpha_dividends"] > 0.0
    # ... and it takes a seat: now its stake counts and it stops the holders' pay
    fill = g.step([{"do": "root_register", "player": "otf", "subnet": 1}]).fills[0]
    assert fill["status"] == "filled"
    assert g.private_view("otf")["root_seats"] == [1, 2]
    after = _sn1(g.step([]))
    assert after["incentive"]["holders"] == 0.0 and after["alpha_dividends"] == 0.0


def test_a_root_validator_without_a_seat_earns_nothing_there():
    seated, unseated = _meme(), _meme(seats=[2])
    for g in (seated, unseated):
        g.step([])
    assert seated.st.root_div_tao[0] > 0.0
    # unseated on subnet 1: only subnet 2's root dividends reach it
    one = _meme(seats=[])
    one.step([])
    assert one.st.root_div_tao[0] == 0.0
    assert 0.0 < unseated.st.root_div_tao[0] < seated.st.root_div_tao[0]


def test_root_register_and_deregister_are_for_root_validators_and_round_trip():
    g = _meme()
    fills = g.step([{"do": "root_deregister", "player": "otf", "subnet": 1},
                    {"do": "root_register", "player": "h", "subnet": 1},
                    {"do": "root_deregister", "player": "otf", "subnet": 99}]).fills
    by = {(f["do"], f["player"], f["subnet"]): f for f in fills}
    assert by[("root_deregister", "otf", 1)]["status"] == "filled"
    assert by[("root_register", "h", 1)]["reason"] == "not_root_validator"
    assert by[("root_deregister", "otf", 99)]["reason"] == "unknown_subnet"
    assert g.private_view("otf")["root_seats"] == [2]
    assert g.public_view()["root_validators"][0]["seats"] == [2]
    again = Game.from_json(g.to_json())
    assert again.state_digest() == g.state_digest()
    assert again.private_view("otf")["root_seats"] == [2]


def test_a_student_root_validator_earns_more_by_voting_with_consensus():
    """The foundation's stake decides; the student's 100k earns its root dividends on a subnet
    only by agreeing with the consensus there."""
    def run(student_weights):
        g = Game.from_scenario(make_scenario(
            subnets=[{"id": 1, "tao": 1000.0, "alpha": 10000.0, "alpha_out": 20000.0,
                      "moving_price": 0.1, "mechanism": "hold_to_earn"}],
            players=[{"id": "otf", "role": "root_validator", "root_stake": 1e6},
                     {"id": "student", "role": "root_validator", "root_stake": 1e5}],
            clock={"blocks_per_tick": N, "ticks_per_epoch": 1, "epochs": 3}))
        g.step([{"do": "set_weights", "player": "otf", "subnet": 1, "weights": {"workers": 1}},
                {"do": "set_weights", "player": "student", "subnet": 1,
                 "weights": student_weights}])
        return float(g.st.root_div_tao[1]), float(g.st.root_div_tao[0])
    with_consensus, _ = run({"workers": 1})
    against, otf_gets = run({"holders": 1})
    assert with_consensus > 0.0 and against == 0.0
    assert otf_gets > 0.0


def test_a_scenarios_root_seats_are_checked():
    base = {"subnets": [{"id": 1}], "players": [
        {"id": "v", "role": "root_validator", "root_stake": 10.0, "root_seats": [1, 1]}]}
    assert load_scenario(base)["players"][0]["root_seats"] == [1]
    bad = {"subnets": [{"id": 1}], "players": [
        {"id": "v", "role": "root_validator", "root_seats": [7]}]}
    with pytest.raises(ScenarioError, match=r"players\[0\].root_seats\[0\]: unknown subnet 7"):
        load_scenario(bad)
    spec = {"subnets": [{"id": 1}], "players": [{"id": "s", "root_seats": [1]}]}
    with pytest.raises(ScenarioError, match="only a root_validator"):
        load_scenario(spec)


def test_the_vectorised_consensus_is_the_stake_weighted_median_of_each_subnet():
    rng = np.random.default_rng(7)
    values = rng.choice([0.0, 0.25, 0.5, 1.0], size=(200, 4, 3))
    stake = rng.choice([0.0, 1.0, 2.0, 3.0], size=(200, 4))
    got = consensus_many(values, stake, 0.5)
    want = [[stake_weighted_quantile(values[n, :, j], stake[n], 0.5) for j in range(3)]
            for n in range(200)]
    assert got.tolist() == want
