"""The per-block coinbase: docs/mechanism.md worked examples 4-6, 8 and 9, and the regime
switches."""
from __future__ import annotations

import numpy as np
import pytest
from _helpers import make_scenario, matches_doc

from sim import Game, coinbase

REL = 1e-9


def _one_block(subnets, *, rules=None, root=0.0, params=None, players=None):
    g = Game.from_scenario(make_scenario(subnets=subnets, rules=rules, root=root, params=params,
                                         players=players,
                                         clock={"blocks_per_tick": 1, "epochs": 10,
                                                "ticks_per_epoch": 5}))
    return g, g.step([], exact=True)


EXAMPLE_4 = [
    {"id": 1, "tao": 9000.0, "alpha": 10000.0, "moving_price": 0.20},
    {"id": 2, "tao": 2500.0, "alpha": 10000.0, "moving_price": 0.05},
    {"id": 3, "tao": 200.0, "alpha": 10000.0, "moving_price": 0.01},
]


def test_it_shares_emission_by_moving_price_and_caps_injection_worked_example_4():
    g, res = _one_block(EXAMPLE_4)
    rows = res.tick_row["subnets"]
    shares = [0.20 / 0.26, 0.05 / 0.26, 0.01 / 0.26]
    for row, s, doc in zip(rows, shares, ["0.769231", "0.192308", "0.038462"], strict=True):
        assert row["tao_in"] == pytest.approx(s, rel=REL)  # T_i = s_i * E, E = 1
        assert matches_doc(row["tao_in"], doc)
    alpha_in = [shares[0] / 0.9, shares[1] / 0.25, 1.0]  # the third is capped at a = 1
    for row, a, doc in zip(rows, alpha_in, ["0.854701", "0.769231", "1"], strict=True):
        assert row["alpha_in"] == pytest.approx(a, rel=REL)
        assert matches_doc(row["alpha_in"], doc)
    assert rows[0]["price"] == pytest.approx(0.9, rel=REL)  # uncapped: price unchanged
    assert rows[1]["price"] == pytest.approx(0.25, rel=REL)
    assert rows[2]["price"] == pytest.approx((200.0 + shares[2]) / 10001.0, rel=REL)
    assert matches_doc(rows[2]["price"], "0.0200018")  # capped: all TAO went in, price rose
    assert [r["alpha_out"] for r in rows] == pytest.approx([1.0, 1.0, 1.0], rel=REL)
    assert res.tick_row["tao_issued"] == pytest.approx(1.0, rel=REL)


@pytest.mark.parametrize("p,doc", [(0.08, "0.05000009"), (1.7, "0.05000285")])
def test_it_moves_the_ema_towards_the_capped_price_worked_example_5(p, doc):
    m = coinbase.ema_update(np.array([0.05]), np.array([p]), 3e-6)[0]
    assert m == pytest.approx(0.05 + 3e-6 * (min(p, 1.0) - 0.05), rel=REL)
    assert matches_doc(m, doc)


def test_it_updates_the_moving_price_after_the_block_used_it():
    # spot 0.5 (capped pool stays near it), m 0.05: the share used m before the update
    g, res = _one_block([{"id": 1, "tao": 5000.0, "alpha": 10000.0, "moving_price": 0.05},
                         {"id": 2, "tao": 5000.0, "alpha": 10000.0, "moving_price": 0.15}])
    assert res.tick_row["subnets"][0]["tao_in"] == pytest.approx(0.25, rel=REL)
    p = res.tick_row["subnets"][0]["price"]
    assert res.tick_row["subnets"][0]["moving_price"] == pytest.approx(
        0.05 + 3e-6 * (p - 0.05), rel=REL)


def test_it_splits_emission_18_41_41_with_the_root_proportion_worked_example_6():
    # R = 5M, w = 0.18, A = 2M (alpha issuance after this block's alpha_out); no injection
    # (m = 0) and root_claim_keep so the root part stays in a pot we can read.
    g, _ = _one_block([{"id": 1, "tao": 1e6, "alpha": 1e6, "alpha_out": 1e6 - 1.0,
                        "moving_price": 0.0}], rules=["launch", "root_claim_keep"], root=5e6)
    st = g.st
    rho = coinbase.root_proportion(0.18, 5e6, 2e6)
    assert rho == pytest.approx(9 / 29, rel=REL)
    assert matches_doc(rho, "0.3103448")
    assert st.pend_owner[0] == pytest.approx(0.18, rel=REL)
    assert st.pend_miner[0] == pytest.approx(0.41, rel=REL)
    assert st.pend_root_alpha[0] == pytest.approx(0.41 * 9 / 29, rel=REL)
    assert matches_doc(float(st.pend_root_alpha[0]), "0.1272414")
    assert st.pend_val[0] == pytest.approx(0.41 * 20 / 29, rel=REL)
    assert matches_doc(float(st.pend_val[0]), "0.2827586")


def test_it_sells_roots_alpha_into_the_pool_every_block_under_launch():
    g, res = _one_block([{"id": 1, "tao": 1e6, "alpha": 1e6, "alpha_out": 1e6 - 1.0,
                          "moving_price": 0.0}], root=5e6)
    q = 0.41 * 9 / 29
    dt = 1e6 * q / (1e6 + q)  # fee-free constant-product sale
    st = g.st
    assert st.pend_root_tao[0] == pytest.approx(dt, rel=REL)
    assert st.tau[0] == pytest.approx(1e6 - dt, rel=REL)
    assert st.x[0] == pytest.approx(1e6 + q, rel=REL)
    assert st.pend_root_alpha[0] == 0.0


@pytest.mark.parametrize("issued,doc", [(0.0, "1"), (10_499_900.0, "1"), (10_500_000.0, "0.5"),
                                        (15_750_000.0, "0.25"), (18_375_000.0, "0.125")])
def test_it_halves_tao_emission_on_issuance_worked_example_8(issued, doc):
    assert coinbase.halving_emission(issued) == pytest.approx(float(doc), rel=REL)


def test_it_halves_alpha_emission_on_each_subnets_issuance():
    a = coinbase.halving_emission_array(np.array([0.0, 10_499_999.0, 10_500_000.0, 2.1e7]))
    assert a.tolist() == [1.0, 1.0, 0.5, 0.0]


def test_it_shares_by_positive_flow_worked_example_9():
    s = coinbase.flow_shares(np.array([120.0, 30.0, -50.0]))
    assert s == pytest.approx([0.8, 0.2, 0.0], rel=REL)
    assert coinbase.flow_shares(np.array([-1.0, 0.0])).tolist() == [0.0, 0.0]


def test_it_updates_the_flow_ema_with_user_stakes_under_tao_flow():
    g = Game.from_scenario(make_scenario(
        subnets=[{"id": 1, "tao": 100.0, "alpha": 1000.0, "moving_price": 0.1},
                 {"id": 2, "tao": 100.0, "alpha": 1000.0, "moving_price": 0.1}],
        players=[{"id": "a", "tao": 100.0}], rules=["launch", "tao_flow"],
        clock={"blocks_per_tick": 1, "epochs": 4, "ticks_per_epoch": 4}))
    res = g.step([{"do": "stake", "player": "a", "subnet": 1, "tao": 10.0}], exact=True)
    beta = 3.209e-6
    assert g.st.S[0] == pytest.approx(beta * 10.0, rel=REL)
    assert g.st.S[1] == 0.0
    # only the subnet with positive flow gets TAO
    assert [r["tao_in"] for r in res.tick_row["subnets"]] == pytest.approx([1.0, 0.0], rel=REL)
    g.step([], exact=True)
    assert g.st.S[0] == pytest.approx((1 - beta) * beta * 10.0, rel=REL)


def test_it_injects_only_p_times_a_and_buys_and_burns_with_the_surplus_under_chain_buys():
    g, res = _one_block([{"id": 1, "tao": 200.0, "alpha": 10000.0, "moving_price": 0.01},
                         {"id": 2, "tao": 9000.0, "alpha": 10000.0, "moving_price": 0.25}],
                        rules=["launch", "chain_buys"])
    s = 0.01 / 0.26
    p = 0.02
    tau1, x1 = 200.0 + p * 1.0, 10001.0
    surplus = s - p
    bought = x1 * surplus / (tau1 + surplus)
    st = g.st
    assert st.tau[0] == pytest.approx(200.0 + s, rel=REL)  # all T ends in the pool
    assert st.x[0] == pytest.approx(x1 - bought, rel=REL)
    assert st.alpha_issued[0] == pytest.approx(10000.0 + 1.0 + 1.0 - bought, rel=REL)


def test_it_slows_young_subnets_ema_under_ema_age_ramp():
    g, res = _one_block([{"id": 1, "tao": 500.0, "alpha": 1000.0, "moving_price": 0.1,
                          "age_blocks": 201600}], rules=["launch", "ema_age_ramp"])
    p = res.tick_row["subnets"][0]["price"]
    assert g.st.m[0] == pytest.approx(0.1 + 3e-6 * 0.5 * (p - 0.1), rel=REL)


def test_it_keeps_alpha_emission_fixed_whatever_the_price_and_share():
    g, res = _one_block(EXAMPLE_4, root=1e6)
    st = g.st
    rows = res.tick_row["subnets"]
    assert st.ep_alpha_out.tolist() == [1.0, 1.0, 1.0]
    assert st.pend_owner.tolist() == pytest.approx([0.18] * 3, rel=REL)
    assert st.pend_miner.tolist() == pytest.approx([0.41] * 3, rel=REL)
    # root's part of each alpha was sold into the pool: x grew by alpha_in + root's alpha
    for i, row in enumerate(rows):
        root_alpha = row["alpha"] - 10000.0 - row["alpha_in"]
        assert st.pend_val[i] + root_alpha == pytest.approx(0.41, rel=REL)


@pytest.mark.parametrize("rules", [["launch"], ["launch", "chain_buys"], ["launch", "tao_flow"],
                                   ["launch", "root_claim_keep", "ema_age_ramp"]])
def test_it_agrees_between_fast_and_exact_paths_over_a_few_days(rules):
    scn = make_scenario(subnets=EXAMPLE_4, root=2e6, rules=rules,
                        players=[{"id": "a", "tao": 1e4}],
                        actions=[{"tick": 0, "player": "a", "do": "stake", "subnet": 2,
                                  "tao": 500.0}],
                        clock={"blocks_per_tick": 7200, "epochs": 3, "ticks_per_epoch": 1})
    if "tao_flow" in rules:
        for s, f in zip(scn["subnets"], (50.0, 30.0, 20.0), strict=True):
            s["flow_ema"] = f
    fast, exact = Game.from_scenario(scn), Game.from_scenario(scn)
    for _ in range(3):
        rf, re_ = fast.step([]), exact.step([], exact=True)
        for a, b in zip(rf.tick_row["subnets"], re_.tick_row["subnets"], strict=True):
            for k in ("tao", "alpha", "alpha_out", "price", "moving_price", "share"):
                assert a[k] == pytest.approx(b[k], rel=5e-3, abs=1e-12), k


def test_it_follows_a_newly_registered_thin_pool_closely_on_the_fast_path():
    # a (1, 1) pool right after registration changes by a large factor every block: the fast
    # path must shorten its sub-steps down to single chain blocks there
    from _helpers import classroom

    scn = classroom(clock={"blocks_per_tick": 7200, "ticks_per_epoch": 1, "epochs": 5})
    fast, exact = Game.from_scenario(scn), Game.from_scenario(scn)
    reg = [{"do": "register_subnet", "player": "alice"}]
    rf, re_ = fast.step(reg), exact.step(reg, exact=True)
    for _ in range(3):
        rf, re_ = fast.step([]), exact.step([], exact=True)
    a, b = rf.tick_row["subnets"][-1], re_.tick_row["subnets"][-1]
    assert a["id"] == b["id"] == 4
    for k in ("tao", "alpha", "alpha_out", "price", "moving_price", "share"):
        assert a[k] == pytest.approx(b[k], rel=1e-3), k
