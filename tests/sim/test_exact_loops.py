"""The exact path's two block loops (sim/coinbase.py): on plain floats for a few subnets, on numpy
arrays for many. Both must give the same bits on every rule set and every switch, so the exact
path's results do not depend on how many subnets a game has; the float loop's sums must be
numpy's sums, bit for bit."""
from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
from _helpers import make_scenario

from sim import Game, coinbase
from sim.params import RULE_SETS
from sim.scenario import load_scenario

PRESETS = Path(__file__).resolve().parents[2] / "sim" / "scenarios"


@pytest.mark.parametrize("n", [*range(0, 41), 127, 128, 129, 300, 1000])
def test_it_sums_a_list_as_numpy_sums_the_array_bit_for_bit(n):
    rng = np.random.default_rng(n)
    for trial in range(40):
        v = rng.uniform(-1.0, 1.0, n) * 10.0 ** rng.uniform(-8.0, 8.0, n)
        if trial % 4 == 1:
            v[rng.random(n) < 0.4] = 0.0
        if trial % 4 == 2:
            v[rng.random(n) < 0.4] = -0.0
        if trial % 4 == 3:
            v = -np.abs(v)
        assert np.float64(coinbase.np_sum(v.tolist())).tobytes() == np.add.reduce(v).tobytes()


def _market(rules, params=None, burn=0.5, flows=(50.0, -30.0, 20.0, 10.0)):
    """Four subnets whose moving prices sum to just over 1 and fall below it within the first
    tick (`root_sell_flag` switches), a TAO halving and an alpha halving within the run, weekly
    trades, one owner burning half its miners' emission."""
    actions = []
    for t in range(0, 6, 2):
        sid = 1 + t % 4
        actions += [{"tick": t, "player": "alice", "do": "stake", "subnet": sid, "tao": 200.0},
                    {"tick": t + 1, "player": "alice", "do": "unstake", "subnet": sid,
                     "alpha": 50.0}]
    subnets = [
        {"id": 1, "tao": 2000.0, "alpha": 10000.0, "moving_price": 0.4, "mechanism": "ai_work"},
        {"id": 2, "tao": 500.0, "alpha": 10000.0, "alpha_out": 1000.0, "moving_price": 0.3,
         "mechanism": "hold_to_earn"},
        {"id": 3, "tao": 200.0, "alpha": 10000.0, "alpha_out": 1000.0, "moving_price": 0.2,
         "mechanism": "owner_mined", "miner_burn": burn},
        {"id": 4, "tao": 50.0, "alpha": 20000.0, "alpha_out": 10_500_000.0 - 20000.0 - 500.0,
         "moving_price": 0.1005, "mechanism": "ai_work"},
    ]
    for sub, f in zip(subnets, flows, strict=True):
        sub["flow_ema"] = f
    return make_scenario(seed=3, rules=list(rules), root=6e6,
                         params={"tao_issued": 10_500_000.0 - 500.0, **(params or {})},
                         clock={"blocks_per_tick": 720, "ticks_per_epoch": 2, "epochs": 3},
                         subnets=subnets,
                         players=[{"id": "alice", "tao": 100000.0},
                                  {"id": "bob", "role": "subnet_owner", "subnet": 3,
                                   "tao": 100.0}],
                         actions=actions)


CASES = {label: _market(rules) for label, _date, rules in RULE_SETS}
CASES |= {
    "sell_flag_selling": _market(["launch", "root_sell_flag"]),
    "keep_burn_ramp": _market(["launch", "root_claim_keep", "owner_burn", "ema_age_ramp"]),
    "chain_buys_jul2025": _market(["launch", "chain_buys"]),
    "flow_cutoff_exponent": _market(["tao_flow"], {"flow_cutoff": -50.0, "flow_exponent": 1.5}),
    "flow_plain_no_positive": _market(["tao_flow"], flows=(-5.0, -3.0, -2.0, -1.0)),
    "no_root": {**_market(["launch", "price_shares_2026"]), "root": {"stake": 0.0}},
}


def _states(scn, float_loop_subnets, monkeypatch, ticks=None):
    monkeypatch.setattr(coinbase, "FLOAT_LOOP_SUBNETS", float_loop_subnets)
    g = Game.from_scenario(scn)
    out = []
    while not g.finished and (ticks is None or len(out) < ticks):
        g.step([], exact=True, bots=False)
        out.append({f.name: np.asarray(getattr(g.st, f.name)).tobytes()
                    if isinstance(getattr(g.st, f.name), np.ndarray) else getattr(g.st, f.name)
                    for f in fields(g.st)})
    return out


@pytest.mark.parametrize("name", sorted(CASES))
def test_it_gives_the_same_bits_on_floats_and_on_arrays(name, monkeypatch):
    on_floats = _states(CASES[name], 1000, monkeypatch)
    on_arrays = _states(CASES[name], 0, monkeypatch)
    assert len(on_floats) == 6
    for tick, (f, a) in enumerate(zip(on_floats, on_arrays, strict=True)):
        assert f == a, (name, tick, [k for k in f if f[k] != a[k]])


def test_the_cases_cross_a_tao_halving_an_alpha_halving_and_the_sell_flag(monkeypatch):
    """The switches the loops must agree on are really exercised by `_market`."""
    monkeypatch.setattr(coinbase, "FLOAT_LOOP_SUBNETS", 1000)
    g = Game.from_scenario(CASES["sell_flag_selling"])
    assert float(g.st.m.sum()) > 1.0
    before = coinbase.halving_emission(g.st.tao_issued)
    a_before = coinbase.halving_emission_array(g.st.x + g.st.o)
    g.step([], exact=True, bots=False)
    assert coinbase.halving_emission(g.st.tao_issued) == before / 2
    assert coinbase.halving_emission_array(g.st.x + g.st.o)[3] == a_before[3] / 2
    assert float(g.st.m.sum()) < 1.0  # the flag switched from selling to recycling


def test_it_gives_the_same_bits_on_floats_and_on_arrays_with_many_subnets(monkeypatch):
    """64 subnets (the launch preset): the float loop's sums take numpy's pairwise path."""
    scn = load_scenario(PRESETS / "launch_month.json")
    assert _states(scn, 1000, monkeypatch, ticks=2) == _states(scn, 0, monkeypatch, ticks=2)
