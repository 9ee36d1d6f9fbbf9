"""The chain's own unit-test numbers through the simulator's functions. Each test names the
subtensor test it mirrors (pallets/subtensor/src/tests/..., at the commit given); amounts in
rao there are TAO or alpha here (1 TAO = 1e9 rao), so a chain figure N rao is N * 1e-9."""
from __future__ import annotations

import numpy as np
import pytest

from sim import coinbase, swap
from sim.params import CHAIN_OWNER_CUT

RAO = 1e-9


def _inject(tau, x, m, E, a=1.0):
    """One block's injection under `launch`: (tau, x, alpha_in)."""
    tau, x, m = (np.asarray(v, dtype=np.float64) for v in (tau, x, m))
    s = coinbase.price_shares(m)
    tau1, x1, ain, _ = coinbase.inject(tau, x, s * E, np.full_like(tau, a), False)
    return tau1, x1, ain


def test_mirrors_coinbase_rs_test_coinbase_tao_issuance_base():
    # coinbase.rs @ f9254ea63: one subnet receives the whole emission, 1,234,567 rao
    tau, _x, _ain = _inject([1.0], [1.0], [1.0], 1_234_567 * RAO)
    assert tau[0] - 1.0 == pytest.approx(1_234_567 * RAO, rel=1e-12)


def test_mirrors_coinbase_rs_test_coinbase_tao_issuance_multiple():
    # three equal subnets: each gets emission / 3 of 3,333,333 rao
    tau, _x, _ain = _inject([1.0] * 3, [1.0] * 3, [1.0] * 3, 3_333_333 * RAO)
    assert (tau - 1.0).tolist() == pytest.approx([1_111_111 * RAO] * 3, rel=1e-6)


def test_mirrors_coinbase_rs_test_coinbase_tao_issuance_different_prices():
    # moving prices 1 and 2, emission 100,000,000 rao: 1/3 and 2/3
    tau, _x, _ain = _inject([1.0, 1.0], [1.0, 1.0], [1.0, 2.0], 100_000_000 * RAO)
    assert (tau - 1.0).tolist() == pytest.approx([100_000_000 / 3 * RAO,
                                                  200_000_000 / 3 * RAO], rel=1e-12)


def test_mirrors_coinbase_rs_test_coinbase_moving_prices():
    # alpha 1: one update takes the moving price to the price (1.0); alpha 0.1: six updates
    # from 0 at price 1 give 0.468559 (= 1 - 0.9^6)
    m = coinbase.ema_update(np.array([0.0]), np.array([1.0]), 1.0)
    assert m.tolist() == [1.0]
    m = np.array([0.0])
    for _ in range(6):
        m = coinbase.ema_update(m, np.array([1.0]), 0.1)
    assert m[0] == pytest.approx(0.468559, abs=1e-12)


def test_mirrors_coinbase_rs_test_coinbase_alpha_issuance_base():
    # pools (1e6, 1e6) rao, equal prices, emission 1e6 rao: alpha_in = 500,000 rao each
    _tau, x, ain = _inject([1e6 * RAO] * 2, [1e6 * RAO] * 2, [1.0, 1.0], 1e6 * RAO)
    assert (ain / RAO).tolist() == pytest.approx([500_000.0] * 2, rel=1e-9)


def test_mirrors_coinbase_rs_test_coinbase_alpha_issuance_different():
    # moving prices 1 and 2 at spot 1: alpha_in = 333,333 and 666,666 rao (emission 1e6 rao)
    _tau, _x, ain = _inject([1e6 * RAO] * 2, [1e6 * RAO] * 2, [1.0, 2.0], 1e6 * RAO)
    assert (ain / RAO).tolist() == pytest.approx([1e6 / 3, 2e6 / 3], rel=1e-9)


def test_mirrors_coinbase_rs_test_coinbase_alpha_issuance_with_cap_trigger():
    # spot 1e-6 (1,000 rao TAO against 1e9 rao alpha): T/p far above the alpha emission, so
    # alpha_in is the whole block's alpha emission, 1e9 rao (1 alpha) on each subnet
    _tau, x, ain = _inject([1000 * RAO] * 2, [1e9 * RAO] * 2, [1.0, 2.0], 1e6 * RAO, a=1.0)
    assert ain.tolist() == [1.0, 1.0]


def test_mirrors_coinbase_rs_test_coinbase_alpha_issuance_with_cap_trigger_and_block_emission():
    # alpha issuance above 21M: no alpha emission, so nothing is injected
    a = coinbase.halving_emission_array(np.array([22_000_000.0, 22_000_000.0]))
    assert a.tolist() == [0.0, 0.0]
    _tau, _x, ain = _inject([1000 * RAO] * 2, [1e9 * RAO] * 2, [1.0, 2.0], 1e6 * RAO, a=0.0)
    assert ain.tolist() == [0.0, 0.0]


def test_mirrors_coinbase_rs_test_owner_cut_base():
    # SubnetOwnerCut 0 -> no cut; u16::MAX -> the whole 1e9 rao; the runtime's 11,796 -> 18%
    for cut_u16, expected in ((0, 0.0), (65_535, 1.0)):
        assert cut_u16 / 65_535 * 1.0 == expected
    assert CHAIN_OWNER_CUT == 11_796 / 65_535
    assert CHAIN_OWNER_CUT == pytest.approx(0.18, abs=1e-4)


def test_mirrors_coinbase_rs_test_pending_swapped():
    # root TAO 1, tao weight 1.0, alpha issuance 3: rho = 1 / (1 + 3) = 0.25, and root's
    # alpha of a 1-alpha block (owner cut 0 in the test runtime) is 0.25 * 1 / 2 = 125,000,000 rao
    rho = coinbase.root_proportion(1.0, 1.0, 3.0)
    assert rho == 0.25
    assert rho * (1.0 - 0.0) * 1.0 * 0.5 / RAO == pytest.approx(125_000_000, rel=1e-12)


def test_mirrors_block_emission_halvings_of_get_block_emission_for_issuance():
    # block_emission.rs: 1 TAO a block until 10.5M issued, then 0.5, 0.25, ...
    E = coinbase.halving_emission
    assert [E(0.0), E(10_499_999.0), E(10_500_000.0), E(15_750_000.0), E(18_375_000.0)] == [
        1.0, 1.0, 0.5, 0.25, 0.125]


def test_mirrors_subnet_emissions_rs_get_shares_both_negative_above_cutoff():
    # subnet_emissions.rs @ 32982b7f9 (2025-10-23): S = (-100, -300, -400), TaoFlowCutoff -1000
    s = coinbase.flow_shares(np.array([-100.0, -300.0, -400.0]), cutoff=-1000.0)
    assert s.tolist() == pytest.approx([0.75, 0.25, 0.0], rel=1e-12)


def test_mirrors_subnet_emissions_rs_get_shares_both_below_cutoff_zero_emission():
    # S = (1000, 2000), cutoff 2000: both at or below the cutoff, no share
    assert coinbase.flow_shares(np.array([1000.0, 2000.0]), cutoff=2000.0).tolist() == [0.0, 0.0]


@pytest.mark.parametrize("flow2", [2000.00001, 2000.001, 5000.0])
def test_mirrors_subnet_emissions_rs_get_shares_one_below_cutoff_other_full_emission(flow2):
    s = coinbase.flow_shares(np.array([1000.0, flow2]), cutoff=2000.0)
    assert s[1] > 0.999_999 and s[0] < 1e-6


def test_mirrors_subnet_emissions_rs_inplace_pow_normalize_regular_case():
    # p = 1: (2, 3, 5) -> (0.2, 0.3, 0.5)
    s = coinbase.flow_shares(np.array([2.0, 3.0, 5.0]))
    assert s.tolist() == pytest.approx([0.2, 0.3, 0.5], rel=1e-12)


@pytest.mark.parametrize("p", [1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 2.0])
def test_mirrors_subnet_emissions_rs_inplace_pow_normalize_fractional_exponent(p):
    s = coinbase.flow_shares(np.array([2.0, 3.0, 5.0]), exponent=p)
    tot = 2.0 ** p + 3.0 ** p + 5.0 ** p
    assert s.tolist() == pytest.approx([2.0 ** p / tot, 3.0 ** p / tot, 5.0 ** p / tot],
                                       rel=1e-12)
    assert s.sum() == pytest.approx(1.0, abs=1e-12)


def test_mirrors_subnet_emissions_rs_inplace_pow_normalize_all_zero_inputs():
    assert coinbase.flow_shares(np.zeros(3)).tolist() == [0.0, 0.0, 0.0]


def test_mirrors_staking_rs_test_add_stake_fee_goes_to_subnet_tao():
    # staking.rs @ f9254ea63: the flat fee is credited to SubnetTAO (it stays in the pool)
    res = swap.stake(1000.0, 10000.0, 100.0, fee=0.00005)
    assert res.tao == 1100.0  # the whole input, fee included, is in the TAO reserve


def test_mirrors_staking_rs_test_remove_stake_fee_goes_to_subnet_tao():
    res = swap.unstake_flat(1000.0, 10000.0, 100.0, fee=0.00005)
    assert res.tao == pytest.approx(1000.0 - res.gross + 0.00005, rel=1e-15)
    assert res.out == pytest.approx(res.gross - 0.00005, rel=1e-15)
