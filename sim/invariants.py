"""Post-conditions checked after every tick (docs/style.md "invariants last"): TAO and alpha
conservation, no negative balance or reserve, and the constant-product bound on swaps.
A violation raises InvariantError; the game must not continue from a broken state."""
from __future__ import annotations

import numpy as np

from sim.state import State

REL_TOL = 1e-9  # relative to the magnitudes summed: float rounding, never a real leak
NEG_TOL = 1e-9


class InvariantError(AssertionError):
    pass


def tao_accounts(st: State) -> tuple[float, float, float]:
    """(TAO held now, TAO that should be held, scale for the tolerance)."""
    act = st.active
    held_parts = [
        float(st.tao.sum()),
        float(st.tau[act].sum()),
        float(st.root.sum()),
        st.root_network,
        float(st.pend_root_tao[act].sum()),
        float(st.revenue[act].sum()),
        st.tao_outside,
    ]
    held = sum(held_parts)
    expected = st.tao_initial + st.tao_minted + st.tao_external - st.tao_burned
    # Root stake only moves by exact user amounts, so it adds rounding of its own size's ulp,
    # not a relative error: keep it out of the relative scale so a small leak next to a large
    # root stake is still caught.
    root = float(st.root.sum()) + st.root_network
    moving = sum(abs(v) for v in held_parts) - root
    scale = moving + abs(st.tao_minted) + abs(st.tao_burned) + abs(st.tao_external) + 1.0
    return held, expected, scale + root * 1e-6


def check_tao(st: State) -> None:
    held, expected, scale = tao_accounts(st)
    if abs(held - expected) > REL_TOL * scale:
        raise InvariantError(f"TAO not conserved: held {held!r}, expected {expected!r}")


def check_alpha(st: State) -> None:
    """Per active subnet: x + o equals issuance accounting, and every outstanding alpha is in a
    holder balance, the network bucket or a pending pot."""
    act = st.active
    A = st.x + st.o
    scale = np.abs(st.x) + np.abs(st.o) + np.abs(st.alpha_issued) + 1.0
    bad = act & (np.abs(A - st.alpha_issued) > REL_TOL * scale)
    if bad.any():
        i = int(np.nonzero(bad)[0][0])
        raise InvariantError(f"alpha issuance off on subnet {int(st.netuid[i])}: "
                             f"x+o={A[i]!r} issued={st.alpha_issued[i]!r}")
    held = (st.alpha.sum(axis=0) + st.net_alpha + st.pend_owner + st.pend_miner + st.pend_val
            + st.pend_root_alpha)
    bad = act & (np.abs(held - st.o) > REL_TOL * (np.abs(st.o) + held + 1.0))
    if bad.any():
        i = int(np.nonzero(bad)[0][0])
        raise InvariantError(f"alpha outstanding off on subnet {int(st.netuid[i])}: "
                             f"o={st.o[i]!r} held={held[i]!r}")


def check_non_negative(st: State) -> None:
    act = st.active
    for name in ("tau", "x"):
        v = getattr(st, name)[act]
        if (v <= 0.0).any():
            raise InvariantError(f"non-positive reserve {name}")
    for name in ("o", "net_alpha", "pend_owner", "pend_miner", "pend_val", "pend_root_alpha",
                 "pend_root_tao", "revenue", "m"):
        v = getattr(st, name)[act]
        if (v < -NEG_TOL * (1.0 + np.abs(v))).any():
            raise InvariantError(f"negative {name}")
    for name in ("tao", "root"):
        if (getattr(st, name) < -NEG_TOL).any():
            raise InvariantError(f"negative player {name}")
    if (st.alpha < -NEG_TOL).any():
        raise InvariantError("negative player alpha")
    if not all(np.isfinite(getattr(st, n)).all() for n in ("tau", "x", "o", "m", "tao")):
        raise InvariantError("non-finite value in state")


def check_k(k_before: float, k_after: float) -> None:
    """Constant product: a fee-free swap keeps k, a fee only grows it; never decreases.
    (Vectors: pass (1.0, min of k_after / k_before).)"""
    if k_after < k_before * (1.0 - REL_TOL):
        raise InvariantError(f"constant product decreased: {k_before!r} -> {k_after!r}")


def check_all(st: State) -> None:
    check_non_negative(st)
    check_tao(st)
    check_alpha(st)
