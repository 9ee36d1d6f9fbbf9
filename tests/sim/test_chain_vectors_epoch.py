"""The chain's own epoch vectors (opentensor/subtensor pallets/subtensor/src/tests/epoch.rs),
run through sim.epoch's Yuma-lite (docs/mechanism.md "Validators and consensus (Yuma-lite)").

Yuma-lite takes the chain's bonds with the EMA step at 1 (each epoch's bonds are that epoch's
stake x clipped weights, column-normalised), so it matches the chain wherever the bonds carry
no memory: the first epoch of a vote, and the first epoch after a switch. Where the chain's
bonds remember earlier epochs it differs; the test below shows the chain's figure is the EMA
(step 0.1) of Yuma-lite's."""
from __future__ import annotations

import numpy as np
import pytest

from sim.epoch import yuma_terms

U16 = 65_535
KAPPA = 32_767 / U16  # the chain's default kappa (u16)


def _rows(u16_rows):
    """Weights as the chain stores them (u16), row-normalised as the epoch does."""
    w = np.array(u16_rows, dtype=np.float64)
    return w / w.sum(axis=1, keepdims=True)


def test_it_mirrors_test_bonds_first_epoch():
    """epoch.rs test_bonds, first epoch: four validators with stake 1, 2, 3, 4 all weight four
    servers u16::MAX/4, /2, *3/4, MAX. The chain prints C = W, Tv ~ 1, I = [0.0999975582,
    0.2000012207, 0.2999926752, 0.4000085455] and D = [0.0999999978, 0.1999999983,
    0.3000000012, 0.4000000022] (fixed point, hence the 1e-8 tolerance)."""
    weights = [[U16 // 4, U16 // 2, (U16 // 4) * 3, U16]] * 4
    stake = np.array([1.0, 2.0, 3.0, 4.0])
    C, inc, div, trust = yuma_terms(stake, _rows(weights), KAPPA)
    assert C.tolist() == pytest.approx([0.0999975584, 0.2000012207, 0.2999926754,
                                        0.400008545], abs=1e-9)
    assert trust.tolist() == pytest.approx([0.9999999995] * 4, abs=1e-9)
    assert inc.tolist() == pytest.approx([0.0999975582, 0.2000012207, 0.2999926752,
                                          0.4000085455], abs=1e-9)
    assert div.tolist() == pytest.approx([0.0999999978, 0.1999999983, 0.3000000012,
                                          0.4000000022], abs=1e-8)


def test_it_mirrors_test_bonds_second_epoch_up_to_the_bonds_ema():
    """epoch.rs test_bonds, second epoch: validator 1 sets a self-weight only (masked: it
    weights no server). The chain: Tv = [0, 1, 1, 1], consensus and incentive unchanged,
    DeltaB (norm) = [0, 0.2222222215, 0.3333333323, 0.4444444457] and D = [0.0899967032,
    0.2022211233, 0.303334432, 0.404447741]. Yuma-lite's dividends are the chain's DeltaB;
    the chain's D is their EMA with the default BondsMovingAverage (step 0.1) from the first
    epoch's D."""
    servers = [U16 // 4, U16 // 2, (U16 // 4) * 3, U16]
    W = np.vstack([np.zeros(4), _rows([servers] * 3)])  # validator 1: no server weights
    stake = np.array([1.0, 2.0, 3.0, 4.0])
    C, inc, div, trust = yuma_terms(stake, W, KAPPA)
    assert C.tolist() == pytest.approx([0.0999975584, 0.2000012207, 0.2999926754,
                                        0.400008545], abs=1e-9)
    assert trust.tolist() == pytest.approx([0.0, 0.9999999995, 0.9999999995, 0.9999999995],
                                           abs=1e-9)
    assert inc.tolist() == pytest.approx([0.0999975582, 0.2000012207, 0.2999926754,
                                          0.4000085455], abs=1e-9)
    assert div.tolist() == pytest.approx([0.0, 0.2222222215, 0.3333333323, 0.4444444457],
                                         abs=1e-8)
    first = np.array([0.0999999978, 0.1999999983, 0.3000000012, 0.4000000022])
    chain_d = 0.9 * first + 0.1 * div
    assert chain_d.tolist() == pytest.approx([0.0899967032, 0.2022211233, 0.303334432,
                                              0.404447741], abs=1e-5)


def test_it_mirrors_test_yuma_3_kappa_moves_first_epochs_0_and_1():
    """epoch.rs test_yuma_3_kappa_moves_first: validators A, B, C with stake 8, 1, 1 and two
    servers. Epoch 0, all on server 1: dividends [0.8, 0.1, 0.1]. Epoch 1, A (the kappa
    majority) moves to server 2 and B, C stay: [1.0, 0, 0]. (From epoch 2 on the chain's
    bonds remember who moved first, [0.9382, 0.0618, 0] where Yuma-lite gives [8/9, 1/9, 0]:
    the departure docs/mechanism.md names.)"""
    stake = np.array([8.0, 1.0, 1.0])
    _, _, div, _ = yuma_terms(stake, _rows([[U16, 0]] * 3), KAPPA)
    assert div.tolist() == pytest.approx([0.8, 0.1, 0.1], abs=1e-12)
    _, inc, div, _ = yuma_terms(stake, _rows([[0, U16], [U16, 0], [U16, 0]]), KAPPA)
    assert inc.tolist() == [0.0, 1.0]
    assert div.tolist() == [1.0, 0.0, 0.0]
