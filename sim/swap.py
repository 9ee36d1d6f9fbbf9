"""Constant-product pool math (scalars). Staking buys alpha, unstaking sells it.

Chain: pallets/subtensor/src/staking/stake_utils.rs. The pool has protocol liquidity only, so
constant product is exact. All functions are pure: they return amounts and the new reserves and
leave validation (minimums, floors, balances) to the caller.
"""
from __future__ import annotations

import math
from typing import NamedTuple


class SwapResult(NamedTuple):
    out: float  # what the trader receives (alpha for a stake, TAO for an unstake), fees excluded
    fee: float  # fee charged (TAO for flat fees and percent fee on stake; alpha on unstake)
    tao: float  # TAO reserve after
    alpha: float  # alpha reserve after
    gross: float  # before the flat fee: alpha bought, or TAO the pool paid out
    # `percent_fee_out`: the fee taken out of the pool (TAO on a stake, alpha on an unstake)
    removed: float = 0.0


def fee_for(amount: float, flat_fee: float, percent_rate: float | None) -> float:
    """Fee on an input: flat TAO under `launch`, a share of the input under `percent_fee`."""
    if percent_rate is not None:
        return amount * percent_rate
    return flat_fee


def stake(tau: float, x: float, tao_in: float, fee: float = 0.0, fee_out: bool = False
          ) -> SwapResult:
    """Buy alpha with `tao_in` TAO. The fee is taken from the input and stays in the TAO
    reserve (launch chain: stake_utils.rs credits it to SubnetTAO), or with `fee_out` leaves
    the pool (`percent_fee_out`: the swap pallet books it to the fee accumulators, not the
    reserve)."""
    net = tao_in - fee
    d_alpha = x * net / (tau + net)
    if fee_out:
        return SwapResult(d_alpha, fee, tau + net, x - d_alpha, d_alpha, fee)
    return SwapResult(d_alpha, fee, tau + tao_in, x - d_alpha, d_alpha)


def unstake_flat(tau: float, x: float, alpha_in: float, fee: float = 0.0) -> SwapResult:
    """Sell `alpha_in` alpha; the seller gets the gross TAO less a flat TAO fee, which stays in
    the TAO reserve."""
    gross = tau * alpha_in / (x + alpha_in)
    return SwapResult(gross - fee, fee, tau - gross + fee, x + alpha_in, gross)


def unstake_percent(tau: float, x: float, alpha_in: float, fee_alpha: float,
                    fee_out: bool = False) -> SwapResult:
    """Sell `alpha_in` alpha under `percent_fee`: the fee is a share of the input (alpha) that
    stays in the alpha reserve, or with `fee_out` leaves the pool; the rest is swapped."""
    net = alpha_in - fee_alpha
    gross = tau * net / (x + net)
    if fee_out:
        return SwapResult(gross, fee_alpha, tau - gross, x + net, gross, fee_alpha)
    return SwapResult(gross, fee_alpha, tau - gross, x + alpha_in, gross)


def max_buy_for_limit(tau: float, x: float, limit: float) -> float:
    """Largest TAO input keeping the post-trade price <= limit: sqrt(L*tau*x) - tau. With a fee
    the post-trade price is lower still, so the bound holds."""
    return math.sqrt(limit * tau * x) - tau


def max_sell_for_limit(tau: float, x: float, limit: float) -> float:
    """Largest alpha input keeping the post-trade price >= limit: sqrt(tau*x/L) - x."""
    return math.sqrt(tau * x / limit) - x


def price(tau: float, x: float) -> float:
    return tau / x
