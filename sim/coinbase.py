"""The per-block coinbase (chain: coinbase/run_coinbase.rs, block_emission.rs,
subnet_emissions.rs): emission, shares, injection, alpha emission, the 18/41/41 split, the root
sell and the moving price, in that order.

Two paths advance a tick's blocks, both vectorised across subnets:
- `run_blocks_exact` steps every block (the fidelity reference);
- `run_blocks_fast` takes coarse sub-steps: within one, shares, E, alpha emission and the root
  proportion are held at mid-step estimates, the pool gets half the sub-step's injection (in
  closed form, `inject_blocks`), then the whole root sell (a pure sale is path-independent
  under constant product), then the other half (Strang splitting, second order), and the
  moving price follows its closed form at the sub-step's mean capped price. Sub-steps shrink
  where a pool changes fast (thin pools). tests/sim/test_fidelity.py holds it within 0.5% of the exact
  path over a simulated year.
"""
from __future__ import annotations

import math

import numpy as np

from sim.params import TOTAL_SUPPLY, Params
from sim.state import State

# Longest fast-path sub-step (4 a day at 7,200 blocks/tick). With FAST_MAX_CHANGE this keeps
# the fast path within about 1e-4 of the exact path over a simulated year in the launch and
# chain_buys regimes (tests/sim/test_fidelity.py asserts 0.5%), at well over 50x its speed.
FAST_SUBSTEP_BLOCKS = 1800
# ... and shorter where a pool would change by more than this share of a reserve in one.
FAST_MAX_CHANGE = 0.05


# ---- pure helpers (also the worked examples' units) ----------------------------------------
def halving_emission(issued: float, base: float = 1.0) -> float:
    """E = base * 2^-k, k = floor(log2(1 / (1 - I/21M))) (block_emission.rs). Burned TAO lowers
    I, so it can move back before a halving."""
    frac = 1.0 - issued / TOTAL_SUPPLY
    if frac <= 0.0:
        return 0.0
    if frac >= 1.0:
        return base
    k = math.floor(math.log2(1.0 / frac))
    return base * 2.0 ** (-k)


def halving_emission_array(issued: np.ndarray, base: float = 1.0) -> np.ndarray:
    """The same curve per subnet on alpha issuance (alpha emission per block)."""
    frac = 1.0 - issued / TOTAL_SUPPLY
    out = np.zeros_like(frac)
    ok = frac > 0.0
    k = np.floor(np.log2(1.0 / np.minimum(frac[ok], 1.0)))
    out[ok] = base * np.exp2(-k)
    return out


def price_shares(m: np.ndarray) -> np.ndarray:
    """`launch`: s_i = m_i / sum m (moving price, never spot); all zero if no price yet."""
    total = m.sum()
    if total <= 0.0:
        return np.zeros_like(m)
    return m / total


def flow_shares(S: np.ndarray) -> np.ndarray:
    """`tao_flow`: s_i = max(S_i, 0) / sum max(S, 0); nobody gets TAO if no flow is positive."""
    pos = np.maximum(S, 0.0)
    total = pos.sum()
    if total <= 0.0:
        return np.zeros_like(S)
    return pos / total


def root_proportion(w: float, R: float, A: np.ndarray | float) -> np.ndarray | float:
    """rho = w*R / (w*R + A): the root share of the validators' half and of consensus weight."""
    wR = w * R
    return wR / (wR + A) if wR > 0 else A * 0.0


def inject(tau: np.ndarray, x: np.ndarray, T: np.ndarray, a: np.ndarray, chain_buys: bool
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Injection of T TAO against at most a alpha: returns (tau, x, alpha_in, alpha_destroyed).

    `launch`: all T goes in and alpha_in = min(T/p, a), so when the cap binds the price rises.
    `chain_buys`: only p*a TAO goes in with the a alpha; the surplus buys alpha (no fee), which
    is destroyed."""
    want = T * x / tau  # T / p
    ain = np.minimum(want, a)
    if not chain_buys:
        return tau + T, x + ain, ain, np.zeros_like(T)
    tin = np.where(want > a, tau / x * a, T)
    surplus = T - tin
    tau1, x1 = tau + tin, x + ain
    bought = x1 * surplus / (tau1 + surplus)
    return tau1 + surplus, x1 - bought, ain, bought


def inject_blocks(tau: np.ndarray, x: np.ndarray, T: np.ndarray, a: np.ndarray, h: float,
                  chain_buys: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """h consecutive blocks of injection (no sell between), aggregated: returns (tau, x,
    alpha_in, alpha_destroyed). Whether the cap binds (T*x > a*tau) cannot change during such a
    run, so each regime has a closed form:
    - uncapped: T and T/p go in at a constant price;
    - capped, `launch`: h*T TAO and h*a alpha go in;
    - capped, `chain_buys`: tau grows linearly (u = tau + T*t) and, to first order per block,
      dx/dt = 2a - T*x/u, so x(u) = a*u/T + (x0*tau0 - a*tau0^2/T)/u; the difference from
      x0 + h*a is the alpha bought and destroyed."""
    capped = T * x > a * tau
    u = tau + h * T
    uncapped_x = x * u / tau
    if not chain_buys:
        x_new = np.where(capped, x + h * a, uncapped_x)
        return u, x_new, x_new - x, np.zeros_like(x)
    safe_T = np.where(capped, T, 1.0)
    capped_x = a * u / safe_T + (x * tau - a * tau * tau / safe_T) / u
    x_new = np.where(capped, capped_x, uncapped_x)
    ain = np.where(capped, h * a, uncapped_x - x)
    return u, x_new, ain, x + ain - x_new


def ema_update(m: np.ndarray, p: np.ndarray, alpha: np.ndarray | float) -> np.ndarray:
    """m <- (1 - alpha) m + alpha min(p, 1): the cap bounds what a thin pumped pool can claim."""
    return m + alpha * (np.minimum(p, 1.0) - m)


def ema_alpha(params: Params, age: np.ndarray, age_ramp: bool) -> np.ndarray | float:
    """`ema_age_ramp`: young subnets' EMA moves slower, alpha * t / (t + H)."""
    if not age_ramp:
        return params.moving_alpha
    return params.moving_alpha * age / (age + params.ema_halving_blocks)


# ---- the tick's blocks -----------------------------------------------------------------------
class _Work:
    """Compact copies of the emitting subnets' arrays for one tick, written back at the end."""

    FIELDS = ("tau", "x", "o", "m", "S", "pend_owner", "pend_miner", "pend_val",
              "pend_root_alpha", "pend_root_tao", "alpha_issued", "ep_alpha_out",
              "tick_tao_in", "tick_alpha_in")

    def __init__(self, st: State) -> None:
        self.idx = np.nonzero(st.active & st.emitting)[0]
        for f in self.FIELDS:
            setattr(self, f, getattr(st, f)[self.idx].astype(np.float64))
        self.age = st.age[self.idx].astype(np.float64)
        self.flow = st.flow[self.idx].copy()

    def write_back(self, st: State, n: int) -> None:
        for f in self.FIELDS:
            getattr(st, f)[self.idx] = getattr(self, f)
        st.age[self.idx] += n
        st.flow[self.idx] = 0.0


def _next_halving(issued: float) -> float:
    """Issuance at which the emission next halves (21M * (1 - 2^-(k+1)))."""
    frac = 1.0 - issued / TOTAL_SUPPLY
    if frac <= 0.0:
        return math.inf
    k = math.floor(math.log2(1.0 / frac)) if frac < 1.0 else 0
    return TOTAL_SUPPLY * (1.0 - 2.0 ** (-(k + 1)))


def run_blocks_exact(st: State, params: Params, rules: frozenset[str], n: int) -> None:
    """Advance n blocks one by one (the reference path). Written for speed: per-block work is
    a couple of dozen small vector operations; quantities that are linear in the block count
    (owner and miner pots, alpha_out) are added once at the end unless a halving falls inside
    the tick."""
    st.tick_tao_in[:] = 0.0
    st.tick_alpha_in[:] = 0.0
    w = _Work(st)
    if w.idx.size == 0 or n <= 0:
        st.block += max(n, 0)
        return
    chain_buys = "chain_buys" in rules
    keep = "root_claim_keep" in rules
    tao_flow = "tao_flow" in rules
    ramp = "ema_age_ramp" in rules
    c, beta, H = params.owner_cut, params.flow_beta, params.ema_halving_blocks
    alpha_ema = params.moving_alpha
    wR = params.tao_weight * st.root_total()
    tau, x, m, S, age = w.tau, w.x, w.m, w.S, w.age
    A = x + w.o  # alpha issuance; the root sell only moves alpha from o to x
    I = st.tao_issued
    E = halving_emission(I, params.block_emission)
    I_next = _next_halving(I)
    a = halving_emission_array(A, params.alpha_block_emission)
    # alpha issuance grows by at most 2a per block; only near a halving (or when chain buys
    # destroy alpha) must a be re-evaluated every block
    a_lo = TOTAL_SUPPLY * (1.0 - 2.0 ** -np.floor(np.log2(1.0 / np.maximum(
        1.0 - A / TOTAL_SUPPLY, 1e-300))))
    a_hi = TOTAL_SUPPLY * (1.0 - 0.5 * (1.0 - a_lo / TOTAL_SUPPLY))
    watch_a = bool(((a_hi - A) < 3.0 * n * params.alpha_block_emission).any()) or chain_buys
    r2 = (1.0 - c) * a * 0.5
    a_sum = np.zeros_like(A)
    r2_sum = np.zeros_like(A)
    q_sum = np.zeros_like(A)
    tin_sum = np.zeros_like(A)
    ain_sum = np.zeros_like(A)
    destroyed_sum = np.zeros_like(A)
    root_tao = np.zeros_like(A)
    minted = 0.0
    for b in range(n):
        if I >= I_next:  # 1. emission on issuance: a halving happened this tick
            E = halving_emission(I, params.block_emission)
            I_next = _next_halving(I)
        if watch_a:  # 4. alpha emission on each subnet's issuance
            a = halving_emission_array(A, params.alpha_block_emission)
            r2 = (1.0 - c) * a * 0.5
            a_sum += a
            r2_sum += r2
        if tao_flow:  # 2. shares
            S = (1.0 - beta) * S + beta * w.flow if b == 0 else S * (1.0 - beta)
            pos = np.maximum(S, 0.0)
            tot = pos.sum()
            s = pos / tot if tot > 0.0 else None
        else:
            tot = m.sum()
            s = m / tot if tot > 0.0 else None
        if s is not None and E > 0.0:  # 3. injection
            T = s * E
            if chain_buys:
                tau, x, ain, destroyed = inject(tau, x, T, a, True)
                destroyed_sum += destroyed
                A = A + ain - destroyed
            else:
                ain = np.minimum(T * x / tau, a)
                tau = tau + T
                x = x + ain
                A = A + ain
            tin_sum += T
            ain_sum += ain
            I += E
            minted += E
        A = A + a  # alpha_out = a always
        # 5. split: the root share of the validators' half
        q = wR * r2 / (wR + A) if wR > 0.0 else r2 * 0.0
        q_sum += q
        if not keep:  # 6. root sell every block, no fee (`launch`)
            x = x + q
            dt = tau * q / x
            tau = tau - dt
            root_tao += dt
        # 7. moving price after the emission used it
        p = np.minimum(tau / x, 1.0)
        if ramp:
            t_age = age + b
            m = m + alpha_ema * t_age / (t_age + H) * (p - m)
        else:
            m = m + alpha_ema * (p - m)
    if not watch_a:
        a_sum = a * n
        r2_sum = r2 * n
    w.tau, w.x, w.m, w.S = tau, x, m, S
    w.o = A - x
    w.tick_tao_in += tin_sum
    w.tick_alpha_in += ain_sum
    w.alpha_issued += ain_sum + a_sum - destroyed_sum
    w.ep_alpha_out += a_sum
    w.pend_owner += c * a_sum
    w.pend_miner += r2_sum
    w.pend_val += r2_sum - q_sum
    if keep:
        w.pend_root_alpha += q_sum
    else:
        w.pend_root_tao += root_tao
    st.tao_issued = I
    st.tao_minted += minted
    w.write_back(st, n)
    st.block += n


def run_blocks_fast(st: State, params: Params, rules: frozenset[str], n: int,
                    substep: int | None = None) -> None:
    """Advance n blocks in coarse sub-steps (see the module docstring)."""
    st.tick_tao_in[:] = 0.0
    st.tick_alpha_in[:] = 0.0
    w = _Work(st)
    if w.idx.size == 0 or n <= 0:
        st.block += max(n, 0)
        return
    chain_buys = "chain_buys" in rules
    keep = "root_claim_keep" in rules
    tao_flow = "tao_flow" in rules
    ramp = "ema_age_ramp" in rules
    c, beta = params.owner_cut, params.flow_beta
    wR = params.tao_weight * st.root_total()
    tau, x, o, m, S, age = w.tau, w.x, w.o, w.m, w.S, w.age
    I = st.tao_issued
    minted = 0.0
    max_h = substep or FAST_SUBSTEP_BLOCKS
    done = 0
    j = 0
    while done < n:
        E = halving_emission(I, params.block_emission)
        # Sub-step length: even steps of at most max_h blocks, shortened so that no pool
        # changes by more than FAST_MAX_CHANGE of a reserve within one (thin pools, heavy
        # capped injection): accuracy is spent where the dynamics are fast.
        remaining = n - done
        h = -(-remaining // -(-remaining // max_h))
        s0 = flow_shares(S) if tao_flow else price_shares(m)
        a0 = halving_emission_array(x + o, params.alpha_block_emission)
        rel = float(np.max(np.maximum(s0 * E / tau, a0 / x)))
        if rel > 0.0:
            h = min(h, max(1, int(FAST_MAX_CHANGE / rel)))
        half = 0.5 * h
        alpha_m = ema_alpha(params, age + half, ramp)
        if tao_flow:
            # the tick's user flow enters S in its first block only
            f = w.flow if j == 0 else 0.0
            decay_half = (1.0 - beta) ** half
            S_mid = decay_half * S + (beta * (1.0 - beta) ** (half - 1.0) * f if j == 0 else 0.0)
            s = flow_shares(S_mid)
            S = (1.0 - beta) ** h * S + (beta * (1.0 - beta) ** (h - 1.0) * f if j == 0 else 0.0)
        else:
            p_hat = np.minimum(tau / x, 1.0)
            m_mid = p_hat + (m - p_hat) * (1.0 - alpha_m) ** half
            s = price_shares(m_mid)
        A0 = x + o
        a = halving_emission_array(A0, params.alpha_block_emission)
        T = s * E
        p0 = np.minimum(tau / x, 1.0)
        # Strang splitting: half the injection, the whole root sell, the other half.
        tau, x, ain1, d1 = inject_blocks(tau, x, T, a, half, chain_buys)
        A_mid = x + o + a * half
        rho = wR / (wR + A_mid) if wR > 0 else 0.0
        r2 = (1.0 - c) * a * 0.5
        q = rho * r2 * h
        o = o + a * h
        if keep:
            w.pend_root_alpha += q
        else:
            dt = tau * q / (x + q)
            tau = tau - dt
            x = x + q
            o = o - q
            w.pend_root_tao += dt
        tau, x, ain2, d2 = inject_blocks(tau, x, T, a, h - half, chain_buys)
        ain = ain1 + ain2
        Tsum = float(T.sum()) * h
        I += Tsum
        minted += Tsum
        w.tick_tao_in += T * h
        w.tick_alpha_in += ain
        w.alpha_issued += ain + a * h - d1 - d2
        w.ep_alpha_out += a * h
        w.pend_owner += c * a * h
        w.pend_miner += r2 * h
        w.pend_val += r2 * h - q
        # moving price: closed form at the sub-step's mean capped price
        p_bar = 0.5 * (p0 + np.minimum(tau / x, 1.0))
        m = p_bar + (m - p_bar) * (1.0 - alpha_m) ** h
        age = age + h
        done += h
        j += 1
    w.tau, w.x, w.o, w.m, w.S = tau, x, o, m, S
    st.tao_issued = I
    st.tao_minted += minted
    w.write_back(st, n)
    st.block += n


def current_shares(st: State, rules: frozenset[str]) -> np.ndarray:
    """Emission shares the next block would use, over all slots (0 for inactive)."""
    out = np.zeros(st.n_subnets)
    idx = np.nonzero(st.active & st.emitting)[0]
    if idx.size:
        out[idx] = flow_shares(st.S[idx]) if "tao_flow" in rules else price_shares(st.m[idx])
    return out
