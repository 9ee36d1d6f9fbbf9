"""The chain's rules of 2025-26 as switches (docs/mechanism.md "Rule sets"), each against the
formula the chain source gives, and the fast path at the thresholds where a rule changes
behaviour (a halving inside a sub-step, the root-sell flag)."""
from __future__ import annotations

import numpy as np
import pytest
from _helpers import classroom, make_scenario

from sim import Game, actions as act, coinbase
from sim.params import CHAIN_OWNER_CUT, RULE_SETS, RULES, Params

REL = 1e-9


def _one_block(subnets, rules, root=0.0, params=None, players=None, blocks=1):
    g = Game.from_scenario(make_scenario(subnets=subnets, rules=rules, root=root, params=params,
                                         players=players,
                                         clock={"blocks_per_tick": blocks, "epochs": 10,
                                                "ticks_per_epoch": 5}))
    return g, g.step([], exact=True, bots=False)


# ---- the fast path at a halving ---------------------------------------------------------------
def _halving_tick(exact: bool) -> float:
    """TAO issued by one 7,200-block tick that starts 1,000 blocks before the 10.5M halving."""
    g = Game.from_scenario(make_scenario(
        subnets=[{"id": 1, "tao": 5000.0, "alpha": 10000.0, "moving_price": 0.5},
                 {"id": 2, "tao": 1000.0, "alpha": 10000.0, "moving_price": 0.1}],
        params={"tao_issued": 10_500_000.0 - 1000.0},
        clock={"blocks_per_tick": 7200, "ticks_per_epoch": 1, "epochs": 2}))
    before = g.st.tao_issued
    g.step([], exact=exact, bots=False)
    return g.st.tao_issued - before


def test_the_fast_path_does_not_skip_a_halving_inside_a_sub_step():
    # 1,000 blocks at 1 TAO, then 6,200 at 0.5: 4,100 TAO on both paths (the fast path issued
    # 4,500 when a sub-step's emission was fixed at its start)
    exact, fast = _halving_tick(True), _halving_tick(False)
    assert exact == pytest.approx(4100.0, rel=1e-12)
    assert fast == pytest.approx(4100.0, rel=1e-12)


@pytest.mark.parametrize("label,_date,rules", RULE_SETS, ids=[r[0] for r in RULE_SETS])
def test_the_fast_path_stays_within_half_a_percent_across_a_halving_on_every_rule_set(
        label, _date, rules):
    def run(exact):
        scn = make_scenario(
            subnets=[{"id": 1, "tao": 5000.0, "alpha": 10000.0, "moving_price": 0.5,
                      "flow_ema": 30.0, "miner_burn": 0.5},
                     {"id": 2, "tao": 300.0, "alpha": 10000.0, "alpha_out": 1000.0,
                      "moving_price": 0.1, "flow_ema": 10.0, "age_blocks": 10000}],
            rules=list(rules), root=1e6, params={"tao_issued": 10_500_000.0 - 1000.0},
            players=[{"id": "a", "tao": 1e4}],
            actions=[{"tick": 0, "player": "a", "do": "stake", "subnet": 2, "tao": 50.0}],
            clock={"blocks_per_tick": 7200, "ticks_per_epoch": 1, "epochs": 2})
        g = Game.from_scenario(scn)
        g.step([], exact=exact, bots=False)
        return g
    f, e = run(False), run(True)
    assert f.st.tao_issued == pytest.approx(e.st.tao_issued, rel=1e-9)
    for name in ("tau", "x", "o", "m"):
        assert getattr(f.st, name) == pytest.approx(getattr(e.st, name), rel=5e-3), name


# ---- tao_flow cutoff and exponent ----------------------------------------------------------
def test_flow_shares_with_a_negative_cutoff_share_among_negative_flows():
    s = coinbase.flow_shares(np.array([-100.0, -300.0, -400.0]), cutoff=-1000.0)
    assert s.tolist() == pytest.approx([0.75, 0.25, 0.0], rel=REL)
    # the plain rule (cutoff 0) gives nobody anything there
    assert coinbase.flow_shares(np.array([-100.0, -300.0, -400.0])).tolist() == [0.0] * 3


def test_flow_shares_raise_the_offsets_to_the_exponent():
    s = coinbase.flow_shares(np.array([2.0, 3.0, 5.0]), exponent=2.0)
    assert s.tolist() == pytest.approx([4 / 38, 9 / 38, 25 / 38], rel=REL)


def test_a_game_reads_the_cutoff_from_its_params():
    g, res = _one_block([{"id": 1, "tao": 100.0, "alpha": 1000.0, "flow_ema": -100.0},
                         {"id": 2, "tao": 100.0, "alpha": 1000.0, "flow_ema": -300.0},
                         {"id": 3, "tao": 100.0, "alpha": 1000.0, "flow_ema": -400.0}],
                        ["launch", "tao_flow"], params={"flow_cutoff": -1000.0})
    assert [r["tao_in"] for r in res.tick_row["subnets"]] == pytest.approx([0.75, 0.25, 0.0],
                                                                           rel=1e-5)


# ---- protocol flow netting -------------------------------------------------------------------
def test_net_flow_scales_the_positive_protocol_flow_to_the_users():
    S = np.array([10.0, 30.0, -5.0])
    P = np.array([40.0, 40.0, -2.0])
    # k = min(1, 40 / 80) = 0.5; negative protocol flow is kept whole
    assert coinbase.net_flow(S, P).tolist() == pytest.approx([-10.0, 10.0, -3.0], rel=REL)


def test_protocol_flow_netting_records_the_injection_as_protocol_flow():
    g, _ = _one_block([{"id": 1, "tao": 1000.0, "alpha": 10000.0, "flow_ema": 5.0},
                       {"id": 2, "tao": 1000.0, "alpha": 10000.0, "flow_ema": 1.0}],
                      ["launch", "tao_flow", "protocol_flow_netting"])
    beta = g.params.flow_beta
    assert g.st.S_proto.tolist() == pytest.approx([beta * 5 / 6, beta * 1 / 6], rel=1e-9)
    g2, _ = _one_block([{"id": 1, "tao": 1000.0, "alpha": 10000.0, "flow_ema": 5.0},
                        {"id": 2, "tao": 1000.0, "alpha": 10000.0, "flow_ema": 1.0}],
                       ["launch", "tao_flow"])
    assert g2.st.S_proto.tolist() == [0.0, 0.0]


# ---- chain buys: buy before inject -----------------------------------------------------------
def test_chain_buys_buy_with_the_surplus_before_injecting():
    # a large surplus so the order shows: T = 1 TAO into a pool at p = 0.01
    sub = [{"id": 1, "tao": 100.0, "alpha": 10000.0, "moving_price": 0.5}]
    for rules in (["launch", "chain_buys"], ["launch", "chain_buys_nov2025"]):
        g, _ = _one_block(sub, rules)
        U = 1.0 - 0.01 * 1.0  # T - p*a
        bought = 10000.0 * U / (100.0 + U)  # at the pool before the injection
        assert g.st.tau[0] == pytest.approx(101.0, rel=REL)
        assert g.st.x[0] == pytest.approx(10000.0 - bought + 1.0, rel=REL)
        assert g.st.alpha_issued[0] == pytest.approx(10000.0 + 2.0 - bought, rel=REL)


def test_chain_buys_of_july_2025_cap_against_the_block_emission_not_alpha_emission():
    # past the first alpha halving a = 0.5 but E = 1: the July form caps at T/p > E
    sub = [{"id": 1, "tao": 100.0, "alpha": 10000.0, "alpha_out": 10_490_000.0,
            "moving_price": 0.5}]
    jul = coinbase.cap_terms(coinbase.regime(Params(), {"chain_buys"}), 1.0,
                             np.array([0.5]), 0.0)
    nov = coinbase.cap_terms(coinbase.regime(Params(), {"chain_buys_nov2025"}), 1.0,
                             np.array([0.5]), 0.0)
    assert jul[0].tolist() == [1.0] and jul[1].tolist() == [0.5]
    assert nov[0].tolist() == [0.5] and nov[1].tolist() == [0.5]
    g, _ = _one_block(sub, ["launch", "chain_buys"])
    U = 1.0 - 0.01 * 1.0
    bought = 10000.0 * U / (100.0 + U)
    assert g.st.x[0] == pytest.approx(10000.0 - bought + 0.5, rel=REL)


# ---- price_shares_2026 -------------------------------------------------------------------------
def test_price_shares_2026_weight_prices_by_the_share_not_burned():
    s = coinbase.price_burn_shares(np.array([0.2, 0.2, 0.1]), np.array([0.5, 0.0, 1.0]))
    assert s.tolist() == pytest.approx([1 / 3, 2 / 3, 0.0], rel=REL)
    # all burned: the plain price shares, so the block's emission is not stranded
    s = coinbase.price_burn_shares(np.array([0.2, 0.2]), np.array([1.0, 1.0]))
    assert s.tolist() == pytest.approx([0.5, 0.5], rel=REL)


def test_price_shares_2026_cap_the_injection_at_rho_times_a_and_chain_buy_the_rest():
    R, w = 1e6, 0.18
    A = 10000.0 + 10000.0
    rho = w * R / (w * R + A)
    g, _ = _one_block([{"id": 1, "tao": 1000.0, "alpha": 10000.0, "alpha_out": 10000.0,
                        "moving_price": 0.5}],
                      ["launch", "price_shares_2026", "root_claim_keep"], root=R)
    p = 0.1
    assert 1.0 / p > rho  # the cap binds
    U = 1.0 - p * rho
    bought = 10000.0 * U / (1000.0 + U)
    assert g.st.tau[0] == pytest.approx(1001.0, rel=REL)
    assert g.st.x[0] == pytest.approx(10000.0 - bought + rho, rel=REL)
    assert g.st.tick_alpha_in[0] == pytest.approx(rho, rel=REL)


def test_an_owner_burning_miner_emission_loses_share_under_price_shares_2026_only():
    subs = [{"id": 1, "tao": 1000.0, "alpha": 10000.0, "moving_price": 0.1, "miner_burn": 1.0},
            {"id": 2, "tao": 1000.0, "alpha": 10000.0, "moving_price": 0.1}]
    g, res = _one_block(subs, ["launch", "owner_burn", "price_shares_2026"])
    assert [r["tao_in"] for r in res.tick_row["subnets"]] == pytest.approx([0.0, 1.0])
    g, res = _one_block(subs, ["launch", "owner_burn"])
    assert [r["tao_in"] for r in res.tick_row["subnets"]] == pytest.approx([0.5, 0.5])


# ---- owner burn ----------------------------------------------------------------------------
def test_owner_burn_recycles_the_burned_share_of_the_miners_part():
    subs = [{"id": 1, "tao": 1000.0, "alpha": 10000.0, "moving_price": 0.1, "miner_burn": 0.25}]
    g, _ = _one_block(subs, ["launch", "owner_burn"])
    r2 = 0.82 * 0.5
    assert g.st.pend_miner[0] == pytest.approx(0.75 * r2, rel=REL)
    assert g.st.alpha_issued[0] == pytest.approx(10000.0 + 0.1 / 0.1 + 1.0 - 0.25 * r2,
                                                 rel=REL)
    g, _ = _one_block(subs, ["launch"])  # without the rule the setting burns nothing
    assert g.st.pend_miner[0] == pytest.approx(r2, rel=REL)


def test_only_the_owner_sets_the_burn_and_only_between_0_and_1():
    g = Game.from_scenario(make_scenario(
        subnets=[{"id": 1, "tao": 1000.0, "alpha": 10000.0}],
        players=[{"id": "o", "role": "subnet_owner", "subnet": 1}, {"id": "s"}],
        rules=["launch", "owner_burn"]))
    f = act.apply_action(g.st, {"do": "set_miner_burn", "player": "s", "subnet": 1,
                                "fraction": 0.5}, params=g.params, rules=g.rules, tick=0)
    assert f["reason"] == "not_owner"
    f = act.apply_action(g.st, {"do": "set_miner_burn", "player": "o", "subnet": 1,
                                "fraction": 1.5}, params=g.params, rules=g.rules, tick=0)
    assert f["reason"] == "invalid_amount" and g.st.miner_burn[0] == 0.0
    f = act.apply_action(g.st, {"do": "set_miner_burn", "player": "o", "subnet": 1,
                                "fraction": 0.5}, params=g.params, rules=g.rules, tick=0)
    assert f["status"] == "filled" and g.st.miner_burn[0] == 0.5


# ---- root sell flag ------------------------------------------------------------------------
def test_root_sell_flag_recycles_root_alpha_while_moving_prices_sum_to_at_most_one():
    subs = [{"id": 1, "tao": 1000.0, "alpha": 10000.0, "alpha_out": 10000.0,
             "moving_price": 0.3},
            {"id": 2, "tao": 1000.0, "alpha": 10000.0, "alpha_out": 10000.0,
             "moving_price": 0.3}]
    g, _ = _one_block(subs, ["launch", "root_sell_flag"], root=1e6)
    assert g.st.pend_root_tao.tolist() == [0.0, 0.0]  # nothing sold
    rho = 0.18e6 / (0.18e6 + 20000.0 + 1.0 + 1.0)  # A after alpha_in (capped at a) and out
    q = rho * 0.41
    assert g.st.pend_val[0] == pytest.approx(0.41 - q, rel=1e-9)
    assert g.st.alpha_issued[0] == pytest.approx(20000.0 + 1.0 + 1.0 - q, rel=1e-9)
    subs[1]["moving_price"] = 0.8  # sum 1.1 > 1: sold as at launch
    g, _ = _one_block(subs, ["launch", "root_sell_flag"], root=1e6)
    assert (g.st.pend_root_tao > 0.0).all()


def test_the_fast_path_ends_a_sub_step_where_the_root_sell_flag_turns():
    # moving prices summing to just under 1 and rising: the flag turns about 80 blocks into
    # the tick, so root alpha is recycled before and sold after
    def run(exact, rules):
        scn = make_scenario(
            subnets=[{"id": 1, "tao": 9000.0, "alpha": 10000.0, "alpha_out": 5000.0,
                      "moving_price": 0.4999},
                     {"id": 2, "tao": 9000.0, "alpha": 10000.0, "alpha_out": 5000.0,
                      "moving_price": 0.4999}],
            rules=rules, root=1e6,
            clock={"blocks_per_tick": 7200, "ticks_per_epoch": 5, "epochs": 2})
        g = Game.from_scenario(scn)
        g.step([], exact=exact, bots=False)
        return g
    flagged = ["launch", "root_sell_flag"]
    f, e, plain = run(False, flagged), run(True, flagged), run(True, ["launch"])
    recycled = plain.st.alpha_issued[0] - e.st.alpha_issued[0]
    whole_tick = 0.41 * 0.9 * 7200  # rho is about 0.9
    assert 0.0 < recycled < 0.05 * whole_tick, recycled
    assert f.st.pend_root_tao == pytest.approx(e.st.pend_root_tao, rel=5e-3)
    # within a block's root alpha of the exact path (a sub-step ignoring the turn recycles
    # for its whole length: hundreds of alpha)
    assert f.st.alpha_issued == pytest.approx(e.st.alpha_issued, abs=1.0)


# ---- fees and the owner cut --------------------------------------------------------------------
def _trade_game(rules):
    return Game.from_scenario(make_scenario(
        subnets=[{"id": 1, "tao": 1000.0, "alpha": 10000.0},
                 {"id": 2, "tao": 1000.0, "alpha": 10000.0}],
        players=[{"id": "a", "tao": 1000.0, "alpha": {"1": 100.0}}], rules=rules))


def test_the_percent_fee_leaves_the_pool_under_percent_fee_out():
    rate = Params().percent_fee_rate
    g = _trade_game(["launch", "percent_fee", "percent_fee_out"])
    f = act.apply_action(g.st, {"do": "stake", "player": "a", "subnet": 2, "tao": 100.0},
                         params=g.params, rules=g.rules, tick=0)
    assert f["fee"] == pytest.approx(100.0 * rate, rel=REL)
    assert g.st.tau[1] == pytest.approx(1000.0 + 100.0 * (1 - rate), rel=REL)
    assert g.st.tao_outside == pytest.approx(100.0 * rate, rel=REL)
    f = act.apply_action(g.st, {"do": "unstake", "player": "a", "subnet": 1, "alpha": 50.0},
                         params=g.params, rules=g.rules, tick=0)
    assert g.st.x[0] == pytest.approx(10000.0 + 50.0 * (1 - rate), rel=REL)
    g2 = _trade_game(["launch", "percent_fee"])  # the fee stays in the pool
    act.apply_action(g2.st, {"do": "stake", "player": "a", "subnet": 2, "tao": 100.0},
                     params=g2.params, rules=g2.rules, tick=0)
    assert g2.st.tau[1] == pytest.approx(1100.0, rel=REL)


@pytest.mark.parametrize("rules,fee", [(["launch"], 2 * 0.00005),
                                       (["launch", "move_half_fee"], 0.00005),
                                       (["launch", "move_one_fee"], 0.00005)])
def test_a_move_pays_the_fee_its_rule_set_charges(rules, fee):
    g = _trade_game(rules)
    f = act.apply_action(g.st, {"do": "move", "player": "a", "from": 1, "to": 2,
                                "alpha": 50.0}, params=g.params, rules=g.rules, tick=0)
    assert f["fee"] == pytest.approx(fee, rel=REL)
    if "move_one_fee" in rules:  # the whole fee on the unstake leg
        assert f["tao"] == pytest.approx(1000.0 * 50 / 10050 - 0.00005, rel=REL)


def test_the_chain_owner_cut_is_11796_of_65535():
    g, _ = _one_block([{"id": 1, "tao": 1000.0, "alpha": 10000.0}],
                      ["launch", "chain_owner_cut"])
    assert g.st.pend_owner[0] == pytest.approx(11796 / 65535, rel=1e-15)
    assert CHAIN_OWNER_CUT == 11796 / 65535
    g, _ = _one_block([{"id": 1, "tao": 1000.0, "alpha": 10000.0}], ["launch"])
    assert g.st.pend_owner[0] == pytest.approx(0.18, rel=1e-15)


def test_every_historical_rule_set_names_only_known_rules():
    assert [d for _l, d, _r in RULE_SETS] == sorted(d for _l, d, _r in RULE_SETS)
    for _label, _date, rules in RULE_SETS:
        assert set(rules) <= set(RULES)


def test_a_scenario_may_script_an_owner_burning_its_miners_emission():
    from sim.scenario import ScenarioError, load_scenario

    scn = {"name": "burn", "rules": ["launch", "owner_burn"],
           "clock": {"blocks_per_tick": 10, "ticks_per_epoch": 1, "epochs": 2},
           "subnets": [{"id": 1, "tao": 100.0, "alpha": 1000.0}],
           "players": [{"id": "o", "role": "subnet_owner", "subnet": 1}],
           "actions": [{"tick": 0, "player": "o", "do": "set_miner_burn", "subnet": 1,
                        "fraction": 0.25}]}
    g = Game.from_scenario(load_scenario(scn))
    res = g.step([], bots=False)
    assert [f["status"] for f in res.fills] == ["filled"] and g.st.miner_burn[0] == 0.25
    scn["actions"][0]["fraction"] = 2.0
    with pytest.raises(ScenarioError):
        load_scenario(scn)


def _presets():
    from pathlib import Path

    return sorted((Path(__file__).resolve().parents[2] / "sim" / "scenarios").glob("*.json"))


@pytest.mark.parametrize("path", _presets(), ids=lambda p: p.stem)
def test_the_fast_path_stays_within_half_a_percent_on_a_preset_tick_crossing_a_halving(path):
    from sim.coinbase import _next_halving
    from sim.scenario import load_scenario

    scn = load_scenario(path)
    blocks = scn["clock"]["blocks_per_tick"]
    halving = _next_halving(scn["params"]["tao_issued"])
    scn["params"]["tao_issued"] = halving - blocks // 3
    f, e = Game.from_scenario(scn), Game.from_scenario(scn)
    f.step([], bots=False)
    e.step([], exact=True, bots=False)
    assert e.st.tao_issued > halving  # the tick crosses the halving
    assert f.st.tao_issued == pytest.approx(e.st.tao_issued, rel=1e-12)
    for name in ("tau", "x", "o", "m"):
        assert getattr(f.st, name) == pytest.approx(getattr(e.st, name), rel=5e-3), name


# ---- root_restake: the launch chain staked root's TAO dividends on root -----------------------

def _two_epochs(rules: list[str]) -> tuple[Game, float, float, float]:
    g = Game.from_scenario(classroom(rules=rules))
    k = g.st.player_index("otf")
    tao0, root0, net0 = float(g.st.tao[k]), float(g.st.root[k]), float(g.st.root_network)
    for _ in range(4):  # two epochs of two ticks
        g.step([])
    return g, tao0, root0, net0


def test_root_restake_stakes_root_dividends_on_root_instead_of_paying_them():
    """coinbase/run_coinbase.rs @ f9254ea63 (Feb 2025): `increase_stake_for_hotkey_on_subnet`
    on the root netuid for the validator's take and its nominators' part."""
    g, tao0, root0, net0 = _two_epochs(["launch", "root_restake"])
    k = g.st.player_index("otf")
    received = float(g.st.root_div_tao[k])
    assert received > 0.0
    assert float(g.st.tao[k]) == tao0                     # nothing paid liquid
    assert float(g.st.root[k]) == pytest.approx(root0 + received, rel=1e-12)
    assert float(g.st.root_network) > net0                # the network's stake compounds too
    paid, _, _, _ = _two_epochs(["launch"])
    assert float(paid.st.tao[k]) == pytest.approx(tao0 + float(paid.st.root_div_tao[k]),
                                                  rel=1e-12)
    assert float(paid.st.root[k]) == root0 and float(paid.st.root_network) == net0


def test_root_restake_is_part_of_the_early_rule_sets_only():
    with_restake = [label for label, _, rules in RULE_SETS if "root_restake" in rules]
    assert with_restake == ["launch", "ema_age_ramp", "chain_buys", "tao_flow"]
