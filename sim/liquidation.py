"""Net worth at liquidation value: what unstaking everything right now would return.

A player's TAO, plus root stake at face value (root converts 1:1, no pool), plus each subnet's
alpha sold through that subnet's pool by the unstake plan (sim.actions.unstake_swap: fee and
slippage included). A sale the chain would refuse (sim.actions.unstake_refusals: below the
minimum, nothing after the fee, a TAO reserve left under the floor) is worth 0, so a net worth
is always what unstaking everything would really return. Pools are independent: selling one
subnet's alpha never moves another's price, so the order of the sales does not matter.

The one rule: the sim's leaderboard and views (sim/game.py), the server's leaderboard and the
debrief (game/leaderboard.py) all value positions here.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from sim import actions
from sim.params import Params
from sim.state import State


def _sales(tau: Any, x: Any, alpha: Any, params: Params, rules: frozenset[str]) -> np.ndarray:
    """TAO that selling `alpha` into pools (tau, x) returns, elementwise (0 where refused)."""
    alpha = np.asarray(alpha, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        res = actions.unstake_swap(tau, x, alpha, params, rules)
        below_minimum, below_floor = actions.unstake_refusals(res, params)
    return np.where((alpha > 0.0) & ~below_minimum & ~below_floor, res.out, 0.0)


def position_values(st: State, params: Params, rules: frozenset[str],
                    k: int | list[int] | None = None) -> np.ndarray:
    """What each alpha position sells for now, over the active subnets in slot order: player
    k's row, these players' rows (k a list) or (k None) every player's (players x active
    subnets)."""
    active = st.active
    alpha = st.alpha[:, active] if k is None else st.alpha[k][..., active]
    return _sales(st.tau[active], st.x[active], alpha, params, rules)


def proceeds(values: np.ndarray) -> Any:
    """The sales added up one after the other in slot order, for one player's row or every
    player's at once: the same roundings whichever way it is asked (numpy's pairwise sum of a
    row would differ from the matrix's in the last bit)."""
    total = np.zeros(values.shape[:-1])
    for j in range(values.shape[-1]):
        total = total + values[..., j]
    return total


def net_worths(st: State, params: Params, rules: frozenset[str]) -> np.ndarray:
    """Every player's liquidation value at once (what a leaderboard needs)."""
    worth: np.ndarray = st.tao + st.root + proceeds(position_values(st, params, rules))
    return worth


def net_worth(st: State, params: Params, rules: frozenset[str], k: int,
              values: np.ndarray | None = None) -> float:
    """Player k's liquidation value, equal to its net_worths() entry; `values`: its
    position_values() when the caller has them."""
    if values is None:
        values = position_values(st, params, rules, k)
    return float(st.tao[k] + st.root[k] + proceeds(values))
