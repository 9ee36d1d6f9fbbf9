"""Constant-product swaps: docs/mechanism.md worked examples 1-3, limits, fees, refusals."""
from __future__ import annotations

import math

import pytest
from _helpers import classroom, matches_doc

from sim import swap
from sim.params import Params

REL = 1e-9
FEE = Params().stake_fee


def test_it_stakes_100_tao_into_a_pool_with_the_flat_fee_worked_example_1():
    res = swap.stake(1000.0, 10000.0, 100.0, FEE)
    # exact: dx = x*T'/(tau+T'), T' = 100 - 0.00005
    net = 100.0 - FEE
    assert res.out == pytest.approx(10000.0 * net / (1000.0 + net), rel=REL)
    assert matches_doc(res.out, "909.090496")
    assert res.tao == 1100.0  # the fee stays in the TAO reserve
    assert matches_doc(res.alpha, "9090.909504")
    assert matches_doc(res.tao / res.alpha, "0.1209999945")


def test_it_unstakes_500_alpha_with_the_flat_fee_worked_example_2():
    res = swap.unstake_flat(1100.0, 9090.909504, 500.0, FEE)
    gross = 1100.0 * 500.0 / (9090.909504 + 500.0)
    assert res.out == pytest.approx(gross - FEE, rel=REL)
    assert matches_doc(res.out, "57.345919")
    assert res.tao == pytest.approx(1100.0 - gross + FEE, rel=REL)
    assert matches_doc(res.tao, "1042.654081")


def test_it_round_trips_a_fee_free_stake_worked_example_3():
    res = swap.stake(1.0, 1.0, 1.0, 0.0)
    assert res.out == pytest.approx(0.5, rel=REL)
    assert res.tao / res.alpha == pytest.approx(4.0, rel=REL)
    back = swap.unstake_flat(res.tao, res.alpha, res.out, 0.0)
    assert back.out == pytest.approx(1.0, rel=REL)
    assert (back.tao, back.alpha) == pytest.approx((1.0, 1.0), rel=REL)


@pytest.mark.parametrize("tau,x,limit", [(1000.0, 10000.0, 0.2), (1.0, 1.0, 121.0),
                                         (5e5, 2e6, 0.26)])
def test_it_buys_up_to_exactly_the_limit_price_without_fee(tau, x, limit):
    t = swap.max_buy_for_limit(tau, x, limit)
    assert t == pytest.approx(math.sqrt(limit * tau * x) - tau, rel=REL)
    res = swap.stake(tau, x, t, 0.0)
    assert res.tao / res.alpha == pytest.approx(limit, rel=REL)
    # with the flat fee the price lands just under the limit
    res = swap.stake(tau, x, t, FEE)
    assert res.tao / res.alpha <= limit


@pytest.mark.parametrize("tau,x,limit", [(1000.0, 10000.0, 0.05), (9.0, 1.0, 1.0)])
def test_it_sells_down_to_exactly_the_limit_price_without_fee(tau, x, limit):
    a = swap.max_sell_for_limit(tau, x, limit)
    assert a == pytest.approx(math.sqrt(tau * x / limit) - x, rel=REL)
    res = swap.unstake_flat(tau, x, a, 0.0)
    assert res.tao / res.alpha == pytest.approx(limit, rel=REL)
    res = swap.unstake_flat(tau, x, a, FEE)
    assert res.tao / res.alpha >= limit


def test_it_takes_the_percent_fee_from_the_input():
    rate = 33 / 65535
    res = swap.stake(1000.0, 10000.0, 100.0, swap.fee_for(100.0, FEE, rate))
    net = 100.0 * (1 - rate)
    assert res.out == pytest.approx(10000.0 * net / (1000.0 + net), rel=REL)
    assert res.tao == 1100.0
    sell = swap.unstake_percent(1000.0, 10000.0, 100.0, 100.0 * rate)
    assert sell.out == pytest.approx(1000.0 * 100.0 * (1 - rate) / (10000.0 + 100.0 * (1 - rate)),
                                     rel=REL)
    assert sell.alpha == 10100.0  # the alpha fee stays in the pool


def test_it_moves_staking_10_tao_into_a_one_one_pool_to_about_121():
    res = swap.stake(1.0, 1.0, 10.0, 0.0)
    assert res.tao / res.alpha == pytest.approx(121.0, rel=REL)


def test_it_never_lowers_k_on_a_swap():
    for fee in (0.0, FEE):
        s = swap.stake(700.0, 3000.0, 55.0, fee)
        assert s.tao * s.alpha >= 700.0 * 3000.0 * (1 - 1e-12)
        u = swap.unstake_flat(700.0, 3000.0, 55.0, fee)
        assert u.tao * u.alpha >= 700.0 * 3000.0 * (1 - 1e-12)


# ---- swap rules as actions ------------------------------------------------------------------
def _game(**over):
    from sim import Game

    return Game.from_scenario(classroom(**over))


@pytest.mark.parametrize("action,reason", [
    ({"do": "stake", "player": "alice", "subnet": 1, "tao": 0.0004}, "below_minimum"),
    ({"do": "stake", "player": "alice", "subnet": 1, "tao": 5000.0}, "insufficient_tao"),
    ({"do": "stake", "player": "alice", "subnet": 9, "tao": 1.0}, "unknown_subnet"),
    ({"do": "stake", "player": "zed", "subnet": 1, "tao": 1.0}, "unknown_player"),
    ({"do": "stake", "player": "alice", "subnet": 1, "tao": float("nan")}, "invalid_amount"),
    ({"do": "stake", "player": "alice", "subnet": 1, "tao": float("inf")}, "invalid_amount"),
    ({"do": "stake", "player": "alice", "subnet": 1, "tao": -1.0}, "invalid_amount"),
    ({"do": "stake", "player": "alice", "subnet": 1, "tao": 0}, "invalid_amount"),
    ({"do": "stake", "player": "alice", "subnet": 1, "tao": 1e300}, "invalid_amount"),
    ({"do": "stake", "player": "alice", "subnet": 1, "tao": "5"}, "invalid_amount"),
    ({"do": "stake", "player": "alice", "subnet": 1, "tao": True}, "invalid_amount"),
    ({"do": "stake", "player": "alice", "subnet": 1}, "missing_field"),
    ({"do": "unstake", "player": "alice", "subnet": 1, "alpha": 1.0}, "insufficient_alpha"),
    ({"do": "stake", "player": "alice", "subnet": 1, "tao": 10.0, "limit_price": 0.1},
     "limit_not_met"),
    ({"do": "teleport", "player": "alice"}, "unknown_action"),
    ({"do": "move", "player": "alice", "from": 1, "to": 1, "alpha": 1.0}, "same_subnet"),
])
def test_it_rejects_bad_trades_with_a_stable_reason(action, reason):
    from sim.actions import REASONS

    g = _game()
    before = g.state_digest()
    fill = g.quote(action)
    assert fill["status"] == "rejected" and fill["reason"] == reason
    assert reason in REASONS
    assert g.state_digest() == before


def test_it_refuses_a_swap_that_would_drain_a_reserve_below_the_floor():
    g = _game(subnets=[{"id": 1, "tao": 0.02, "alpha": 0.02, "moving_price": 0.5}],
              players=[{"id": "alice", "role": "speculator", "tao": 1000.0}], root=0.0)
    fill = g.quote({"do": "stake", "player": "alice", "subnet": 1, "tao": 10.0})
    assert fill["reason"] == "reserve_floor"


def test_it_partially_fills_a_limited_buy_up_to_the_limit_price():
    g = _game()
    limit = 0.11  # pool (1000, 10000): spot 0.1
    cap = math.sqrt(limit * 1000.0 * 10000.0) - 1000.0
    fill = g.quote({"do": "stake", "player": "alice", "subnet": 1, "tao": 500.0,
                    "limit_price": limit})
    assert fill["status"] == "filled"
    assert fill["tao"] == pytest.approx(cap, rel=REL)
    assert fill["price_after"] <= limit


def test_it_partially_fills_a_limited_sell_down_to_the_limit_price():
    g = _game()
    g.step([{"do": "stake", "player": "alice", "subnet": 1, "tao": 500.0}])
    tau, x = g.st.tau[0], g.st.x[0]
    limit = 0.95 * tau / x
    fill = g.quote({"do": "unstake", "player": "alice", "subnet": 1,
                    "alpha": float(g.st.alpha[0, 0]), "limit_price": limit})
    assert fill["status"] == "filled"
    assert fill["alpha"] == pytest.approx(math.sqrt(tau * x / limit) - x, rel=REL)
    assert fill["price_after"] >= limit


def test_it_moves_stake_as_an_unstake_then_a_stake():
    g = _game()
    g.step([{"do": "stake", "player": "alice", "subnet": 1, "tao": 100.0}])
    st = g.st
    a = float(st.alpha[0, 0])
    t1, x1, t2, x2 = map(float, (st.tau[0], st.x[0], st.tau[1], st.x[1]))
    fill = g.quote({"do": "move", "player": "alice", "from": 1, "to": 2, "alpha": a})
    out = swap.unstake_flat(t1, x1, a, FEE)
    back = swap.stake(t2, x2, out.out, FEE)
    assert fill["status"] == "filled"
    assert fill["tao"] == pytest.approx(out.out, rel=REL)
    assert fill["alpha_received"] == pytest.approx(back.out, rel=REL)
