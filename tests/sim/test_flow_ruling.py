"""Which swaps count as `tao_flow`'s f_i ("TAO staked minus TAO unstaked on i, users only").

The ruling (docs/architecture.md): a *user* swap is any stake or unstake someone submits and pays
the user fee for — students, bots, and the external miners who sell part of their alpha each
epoch (on chain they are users like any other). *Protocol* swaps — the block's injection, and
under `chain_buys` the surplus TAO that buys alpha to destroy — are not flow.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest
from _helpers import make_scenario

from sim import Game, actions as act

N = 10  # blocks per tick


def _game(rules: list[str], sell: float) -> Game:
    return Game.from_scenario(make_scenario(
        subnets=[{"id": 1, "tao": 1000.0, "alpha": 10000.0, "alpha_out": 100.0,
                  "moving_price": 0.1, "mechanism": "ai_work"},
                 {"id": 2, "tao": 1000.0, "alpha": 10000.0, "alpha_out": 100.0,
                  "moving_price": 0.1, "mechanism": "hold_to_earn"}],
        players=[], rules=rules, params={"miner_sell_fraction": sell},
        clock={"blocks_per_tick": N, "ticks_per_epoch": 1, "epochs": 5}))


def test_protocol_swaps_are_not_flow() -> None:
    # One subnet seeded with positive flow so TAO is emitted; chain_buys makes the protocol
    # buy alpha with the surplus every block. No user trades, no miner sales.
    g = _game(["tao_flow", "chain_buys"], sell=0.0)
    g.st.S[:] = [5.0, 0.0]
    g.step([], exact=True)
    beta = g.params.flow_beta
    # S only decays: nothing the protocol swapped entered it
    assert g.st.S[0] == pytest.approx(5.0 * (1.0 - beta) ** N, rel=1e-12)
    assert g.st.S[1] == 0.0
    assert np.all(g.st.flow == 0.0)


def test_an_external_miners_sale_is_negative_user_flow() -> None:
    g = _game(["tao_flow"], sell=0.5)
    # what the same unstake by a student would count: its gross TAO (before the fee)
    _sold, plan = act.plan_unstake(copy.deepcopy(g.st), g.params, g.rules, 0, 50.0, None)
    out = g._miner_sell(0, 50.0)
    assert out == pytest.approx(plan.out, rel=1e-12)
    assert g.st.flow[0] == pytest.approx(-plan.gross, rel=1e-12) and plan.gross > out
    assert g.st.flow[1] == 0.0
