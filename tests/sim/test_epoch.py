"""The epoch: simplified Yuma consensus (worked example 7), who decides what miners earn,
dividends, the validator take, and network health."""
from __future__ import annotations

import numpy as np
import pytest
from _helpers import make_scenario, matches_doc

from sim import Game
from sim.epoch import stake_weighted_quantile, yuma

REL = 1e-9
N = 360  # blocks per epoch in these tests


def test_it_reaches_consensus_and_incentive_of_the_toy_worked_example_7():
    C, inc, div = yuma(np.array([0.7, 0.3]), np.array([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]]), 0.5)
    assert C.tolist() == pytest.approx([0.5, 0.5, 0.0], rel=REL)
    assert inc.tolist() == pytest.approx([7 / 17, 10 / 17, 0.0], rel=REL)
    for v, doc in zip(inc, ["0.411765", "0.588235", "0"], strict=True):
        assert matches_doc(float(v), doc)


@pytest.mark.parametrize("values,stake,expected", [
    ([1.0, 0.0], [0.51, 0.49], 1.0),  # a coalition with more than half decides
    ([1.0, 0.0], [0.49, 0.51], 0.0),
    ([1.0, 0.0], [0.5, 0.5], 0.0),  # exactly half does not
    ([0.2, 0.7, 0.4], [0.3, 0.3, 0.4], 0.4),  # the stake-weighted median
])
def test_it_takes_the_stake_weighted_median_as_consensus(values, stake, expected):
    assert stake_weighted_quantile(np.array(values), np.array(stake), 0.5) == expected


def test_it_pays_dividends_by_stake_times_agreement():
    _, inc, div = yuma(np.array([0.6, 0.4]), np.array([[0, 1, 0], [1, 0, 0]]), 0.5)
    assert inc.tolist() == [0.0, 1.0, 0.0]
    assert div.tolist() == [1.0, 0.0]  # the dissenter earns nothing


def test_it_gives_validators_everything_when_no_miner_has_incentive():
    _, inc, div = yuma(np.array([0.5, 0.5]), np.array([[1, 0, 0], [0, 1, 0]]), 0.5)
    assert inc.tolist() == [0.0, 0.0, 0.0]
    assert div.tolist() == [0.5, 0.5]


def _game(subnets, players, root=0.0, rules=None, params=None, actions=None):
    return Game.from_scenario(make_scenario(
        subnets=subnets, players=players, root=root, rules=rules, params=params,
        actions=actions, clock={"blocks_per_tick": N, "ticks_per_epoch": 1, "epochs": 5}))


def test_it_lets_a_root_majority_stop_paying_holders():
    # OTF's w*R = 0.18 * 1e6 = 180,000 against 20,000 alpha staked: root decides
    g = _game([{"id": 1, "tao": 1000.0, "alpha": 10000.0, "alpha_out": 20000.0,
                "moving_price": 0.1, "mechanism": "hold_to_earn"}],
              [{"id": "otf", "role": "root_validator", "root_stake": 1e6}])
    g.step([{"do": "set_weights", "player": "otf", "subnet": 1, "weights": {"workers": 1}}])
    res = g.step([])
    inc = res.epoch_row["subnets"][0]["incentive"]
    assert inc["holders"] == 0.0
    assert inc["workers"] == pytest.approx(0.41 * N, rel=REL)


@pytest.mark.parametrize("weights", [{"workers": 0, "holders": 0, "owner": 0}, {}])
def test_it_lets_a_root_majority_pay_no_one(weights):
    # "custom validator code" that rewards no miner: consensus is zero in every column, so no
    # miner class earns and the validators take the miners' half too
    g = _game([{"id": 1, "tao": 1000.0, "alpha": 10000.0, "alpha_out": 20000.0,
                "moving_price": 0.1, "mechanism": "hold_to_earn"}],
              [{"id": "otf", "role": "root_validator", "root_stake": 1e6}])
    fill = g.step([{"do": "set_weights", "player": "otf", "subnet": 1,
                    "weights": weights}]).fills[0]
    assert fill["status"] == "filled"
    assert g.private_view("otf")["weights"]["1"] == {"workers": 0.0, "holders": 0.0,
                                                      "owner": 0.0}
    inc = g.step([]).epoch_row["subnets"][0]["incentive"]
    assert inc == {"workers": 0.0, "holders": 0.0, "owner": 0.0}


def test_it_cannot_stop_the_holders_once_root_weighs_under_half():
    g = _game([{"id": 1, "tao": 1000.0, "alpha": 10000.0, "alpha_out": 200000.0,
                "moving_price": 0.1, "mechanism": "hold_to_earn"}],
              [{"id": "otf", "role": "root_validator", "root_stake": 1e6}])
    res = g.step([{"do": "set_weights", "player": "otf", "subnet": 1,
                   "weights": {"workers": 1}}])
    inc = res.epoch_row["subnets"][0]["incentive"]
    assert inc["workers"] == 0.0
    assert inc["holders"] == pytest.approx(0.41 * N, rel=REL)


def test_it_pays_holders_and_alpha_dividends_pro_rata_and_the_owner_its_cut():
    g = _game([{"id": 1, "tao": 1000.0, "alpha": 10000.0, "alpha_out": 3000.0,
                "moving_price": 0.1, "mechanism": "hold_to_earn"}],
              [{"id": "alice", "tao": 500.0}, {"id": "bob", "role": "subnet_owner",
                                                "subnet": 1}])
    g.step([{"do": "stake", "player": "alice", "subnet": 1, "tao": 100.0}])
    held = g.st.alpha[:, 0].copy()  # bob holds his first epoch's cut
    assert held[1] == pytest.approx(0.18 * N, rel=REL)
    share = held / float(held.sum() + g.st.net_alpha[0])
    g.step([])
    # no root: holders get the miners' half, alpha validators (the same holders) the rest;
    # the owner's cut comes on top, after the pro-rata payouts
    gain = g.st.alpha[:, 0] - held
    assert gain[0] == pytest.approx(share[0] * 0.82 * N, rel=REL)
    assert gain[1] == pytest.approx(share[1] * 0.82 * N + 0.18 * N, rel=REL)


def test_it_keeps_the_validator_take_from_nominators_root_dividends():
    g = _game([{"id": 1, "tao": 1000.0, "alpha": 10000.0, "alpha_out": 10000.0,
                "moving_price": 0.1, "mechanism": "ai_work"}],
              [{"id": "otf", "role": "root_validator", "root_stake": 1000.0},
               {"id": "carol", "tao": 3000.0}],
              actions=[{"tick": 0, "player": "carol", "do": "root_stake", "tao": 3000.0,
                        "validator": "otf"}])
    res = g.step([])
    y = res.epoch_row["subnets"][0]["root_dividends_tao"]
    assert y > 0
    assert float(g.st.tao[1]) == pytest.approx(0.75 * y * 0.82, rel=REL)
    assert float(g.st.tao[0]) == pytest.approx(0.25 * y + 0.75 * y * 0.18, rel=REL)


def test_it_shares_the_root_pot_by_stake_times_agreement_among_root_validators():
    # the network's root follows ai_work; OTF (3/4 of root) insists on holders: consensus is
    # OTF's, so the network's validator, disagreeing, earns none of the root pot
    g = _game([{"id": 1, "tao": 1000.0, "alpha": 10000.0, "alpha_out": 1000.0,
                "moving_price": 0.1, "mechanism": "ai_work"}],
              [{"id": "otf", "role": "root_validator", "root_stake": 3e5}], root=1e5)
    g.step([{"do": "set_weights", "player": "otf", "subnet": 1, "weights": {"holders": 1}}])
    tao_before = float(g.st.tao[0])
    outside_before = g.st.tao_outside
    res = g.step([])
    y = res.epoch_row["subnets"][0]["root_dividends_tao"]
    assert float(g.st.tao[0]) - tao_before == pytest.approx(y, rel=REL)
    assert g.st.tao_outside == outside_before


def test_it_gives_validators_the_miners_half_when_stake_is_split_evenly():
    # alpha stake 18,000 (holders) against w*R = 0.25 * 72,000 = 18,000 (workers): no column
    # has more than half the stake, so no miner earns and validators take it all
    g = _game([{"id": 1, "tao": 1000.0, "alpha": 10000.0, "alpha_out": 18000.0,
                "moving_price": 0.1, "mechanism": "hold_to_earn"}],
              [{"id": "otf", "role": "root_validator", "root_stake": 72000.0}],
              rules=["launch", "root_claim_keep"], params={"tao_weight": 0.25},
              actions=[{"tick": 0, "player": "otf", "do": "set_weights", "subnet": 1,
                        "weights": {"workers": 1}}])
    res = g.step([])
    sub = res.epoch_row["subnets"][0]
    assert sub["incentive"] == {"workers": 0.0, "holders": 0.0, "owner": 0.0}
    assert sub["alpha_dividends"] == pytest.approx(0.82 * N, rel=REL)


def test_it_measures_network_health_as_the_share_of_emission_paying_for_ai_work():
    g = _game([{"id": 1, "tao": 1000.0, "alpha": 10000.0, "alpha_out": 100.0,
                "moving_price": 0.1, "mechanism": "ai_work"},
               {"id": 2, "tao": 3000.0, "alpha": 10000.0, "alpha_out": 100.0,
                "moving_price": 0.1, "mechanism": "hold_to_earn"}], [],
              params={"miner_sell_fraction": 0.0})
    res = g.step([])
    p1, p2 = (r["price"] for r in res.tick_row["subnets"])
    assert res.epoch_row["network_health"] == pytest.approx(
        0.41 * N * p1 / (N * p1 + N * p2), rel=REL)


def test_it_lets_external_miners_sell_and_books_ai_work_revenue():
    g = _game([{"id": 1, "tao": 1000.0, "alpha": 10000.0, "alpha_out": 100.0,
                "moving_price": 0.1, "mechanism": "ai_work"}],
              [{"id": "bob", "role": "subnet_owner", "subnet": 1}],
              params={"miner_sell_fraction": 0.5, "work_revenue_ratio": 0.5})
    g.step([])
    # half the workers' alpha was sold into the pool; revenue is half the TAO value paid
    st = g.st
    assert st.net_alpha[0] == pytest.approx(100.0 + 0.82 * N - 0.41 * N * 0.5, rel=REL)
    assert st.revenue[0] > 0.0
    assert st.tao_external == pytest.approx(float(st.revenue[0]), rel=REL)


def test_it_pays_the_owner_cut_to_the_network_when_no_player_owns_the_subnet():
    g = _game([{"id": 1, "tao": 1000.0, "alpha": 10000.0, "alpha_out": 100.0,
                "moving_price": 0.1, "mechanism": "owner_mined"}], [],
              params={"miner_sell_fraction": 0.0})
    res = g.step([])
    assert res.epoch_row["subnets"][0]["incentive"]["owner"] == pytest.approx(0.41 * N, rel=REL)
    assert g.st.net_alpha[0] == pytest.approx(100.0 + N, rel=REL)  # no players: all of it


def test_it_pays_root_dividends_as_alpha_under_root_claim_keep():
    g = _game([{"id": 1, "tao": 1000.0, "alpha": 10000.0, "alpha_out": 10000.0,
                "moving_price": 0.1, "mechanism": "ai_work"}],
              [{"id": "carol", "tao": 3000.0}], root=1000.0,
              rules=["launch", "root_claim_keep"],
              actions=[{"tick": 0, "player": "carol", "do": "root_stake", "tao": 3000.0}])
    res = g.step([], exact=True)
    assert res.epoch_row["subnets"][0]["root_dividends_tao"] == 0.0
    # one subnet takes all of E = 1 at price 0.1: capped, so issuance grows 2 alpha a block;
    # carol holds 3/4 of the network validator's root stake, so 3/4 of root's alpha
    w_r = 0.18 * 4000.0
    root_alpha = sum(0.41 * w_r / (w_r + 20000.0 + 2.0 * b) for b in range(1, N + 1))
    assert float(g.st.alpha[0, 0]) == pytest.approx(0.75 * root_alpha, rel=REL)
