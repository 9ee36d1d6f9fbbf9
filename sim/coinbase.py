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
  where a pool changes fast (thin pools). tests/sim/test_fidelity.py holds it within 0.5% of
  the exact path over a simulated year.
"""
from __future__ import annotations

import math

import numpy as np

from sim.invariants import check_k
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


def _alpha_bounds(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Issuance interval [lo, hi) within which each subnet's alpha emission stays the same."""
    frac = np.maximum(1.0 - A / TOTAL_SUPPLY, 1e-300)
    k = np.floor(np.log2(1.0 / np.minimum(frac, 1.0)))
    lo = TOTAL_SUPPLY * (1.0 - np.exp2(-k))
    hi = TOTAL_SUPPLY * (1.0 - np.exp2(-(k + 1.0)))
    return lo, hi


def _start_tick(st: State, n: int) -> "_Work | None":
    """Reset the tick's totals and take the emitting subnets' arrays; None (with the block
    count advanced) when there is nothing to step."""
    st.tick_tao_in[:] = 0.0
    st.tick_alpha_in[:] = 0.0
    w = _Work(st)
    if w.idx.size == 0 or n <= 0:
        st.block += max(n, 0)
        return None
    return w


def run_blocks_exact(st: State, params: Params, rules: frozenset[str], n: int) -> None:
    """Advance n blocks one by one (the reference path).

    Written for speed, since a year is 2.6M blocks: each block is about twenty in-place vector
    operations. Quantities that only add up (pots, alpha_out, the TAO of the root sell, the
    alpha injected) are recovered once at the end from the reserves' change, and a subnet's
    alpha emission is recomputed only when its issuance crosses a halving threshold."""
    w = _start_tick(st, n)
    if w is None:
        return
    chain_buys = "chain_buys" in rules
    keep = "root_claim_keep" in rules
    tao_flow = "tao_flow" in rules
    ramp = "ema_age_ramp" in rules
    c, beta, H = params.owner_cut, params.flow_beta, params.ema_halving_blocks
    alpha_ema = params.moving_alpha
    wR = params.tao_weight * st.root_total()
    tau, x, m, S, age = w.tau, w.x, w.m, w.S, w.age
    tau0, x0 = tau.copy(), x.copy()
    A = x + w.o  # alpha issuance; the root sell only moves alpha from o to x
    B = A + wR  # the root proportion's denominator, w*R + A
    I = st.tao_issued
    E = halving_emission(I, params.block_emission)
    I_next = _next_halving(I)
    a = halving_emission_array(A, params.alpha_block_emission)
    a_lo, a_hi = _alpha_bounds(A)
    # issuance grows by at most 2a a block; chain buys can also shrink it
    watch_a = chain_buys or bool(((a_hi - A) < 2.0 * n * a + 1.0).any())
    r2 = (1.0 - c) * a * 0.5
    wRr2 = wR * r2
    a_sum = np.zeros_like(A)
    r2_sum = np.zeros_like(A)
    seg = 0  # first block of the current run of constant alpha emission
    q_sum = np.zeros_like(A)
    tin_sum = np.zeros_like(A)
    destroyed_sum = np.zeros_like(A)
    T = np.empty_like(A)
    ain = np.empty_like(A)
    q = np.empty_like(A)
    tmp = np.empty_like(A)
    minted = 0.0
    for b in range(n):
        if I >= I_next:  # 1. emission on issuance: a halving happened this tick
            E = halving_emission(I, params.block_emission)
            I_next = _next_halving(I)
        if watch_a:  # 4. alpha emission on each subnet's issuance
            A_now = B - wR
            if ((A_now >= a_hi) | (A_now < a_lo)).any():
                a_sum += a * (b - seg)
                r2_sum += r2 * (b - seg)
                seg = b
                a = halving_emission_array(A_now, params.alpha_block_emission)
                a_lo, a_hi = _alpha_bounds(A_now)
                r2 = (1.0 - c) * a * 0.5
                wRr2 = wR * r2
        if tao_flow:  # 2. shares
            S = (1.0 - beta) * S + beta * w.flow if b == 0 else S * (1.0 - beta)
            share_of = np.maximum(S, 0.0)
        else:
            share_of = m
        tot = float(share_of.sum())
        if tot > 0.0 and E > 0.0:  # 3. injection, T_i = s_i * E
            np.multiply(share_of, E / tot, out=T)
            if chain_buys:
                tau, x, ain_b, destroyed = inject(tau, x, T, a, True)
                destroyed_sum += destroyed
                B += ain_b
                B -= destroyed
            else:
                np.multiply(T, x, out=tmp)
                tmp /= tau
                np.minimum(tmp, a, out=ain)  # alpha_in = min(T/p, a)
                tau += T
                x += ain
                B += ain
            tin_sum += T
            I += E
            minted += E
        B += a  # alpha_out = a always
        # 5. split: root's share of the validators' half, q = rho * r/2
        np.divide(wRr2, B, out=q)
        q_sum += q
        if not keep:  # 6. root sell every block, no fee (`launch`)
            x += q
            np.multiply(tau, q, out=tmp)
            tmp /= x
            tau -= tmp
        # 7. moving price after the emission used it: m += alpha_eff * (min(p, 1) - m)
        np.divide(tau, x, out=tmp)
        np.minimum(tmp, 1.0, out=tmp)
        tmp -= m
        if ramp:
            t_age = age + b
            tmp *= alpha_ema * t_age / (t_age + H)
        else:
            tmp *= alpha_ema
        m += tmp
    a_sum += a * (n - seg)
    r2_sum += r2 * (n - seg)
    sold = 0.0 if keep else q_sum
    ain_sum = x - x0 + destroyed_sum - sold  # x moved only by injection, burns and the sell
    w.tau, w.x, w.m, w.S = tau, x, m, S
    w.o = B - wR - x
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
        w.pend_root_tao += tau0 + tin_sum - tau  # tau moved only by injection and the sell
    st.tao_issued = I
    st.tao_minted += minted
    w.write_back(st, n)
    st.block += n


def run_blocks_fast(st: State, params: Params, rules: frozenset[str], n: int,
                    substep: int | None = None) -> None:
    """Advance n blocks in coarse sub-steps (see the module docstring)."""
    w = _start_tick(st, n)
    if w is None:
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
        T0 = s0 * E
        q0 = 0.0 if keep else (wR / (wR + x + o) if wR > 0 else 0.0) * (1.0 - c) * a0 * 0.5
        # per-block relative change of each reserve: injection into tau; injection and the
        # root sell into x
        rel = float(np.max(np.maximum(T0 / tau, (np.minimum(T0 * x / tau, a0) + q0) / x)))
        if rel > 0.0:
            h = min(h, max(1, int(FAST_MAX_CHANGE / rel)))
        # Mid-step points, shifted as the chain's order requires: block j of the sub-step
        # (1..h) takes its share from m after block j-1 (lag) but from S and A after its own
        # update (lead), and its moving price from the price after block j. With h = 1 this
        # is exactly one chain block.
        lead = 0.5 * (h + 1)
        lag = 0.5 * (h - 1)
        alpha_m = ema_alpha(params, age + lag, ramp)
        if tao_flow:
            # the tick's user flow enters S in its first block only
            f = w.flow if j == 0 else 0.0
            S_mid = (1.0 - beta) ** lead * S + (
                beta * (1.0 - beta) ** (lead - 1.0) * f if j == 0 else 0.0)
            s = flow_shares(S_mid)
            S = (1.0 - beta) ** h * S + (beta * (1.0 - beta) ** (h - 1.0) * f if j == 0 else 0.0)
        else:
            p_hat = np.minimum(tau / x, 1.0)
            m_mid = p_hat + (m - p_hat) * (1.0 - alpha_m) ** lag
            s = price_shares(m_mid)
        A0 = x + o
        a = halving_emission_array(A0, params.alpha_block_emission)
        T = s * E
        p0 = np.minimum(tau / x, 1.0)
        # Strang splitting: (about) half the injection, the whole root sell, the rest.
        tau, x, ain1, d1 = inject_blocks(tau, x, T, a, lead, chain_buys)
        A_mid = x + o + a * lead
        rho = wR / (wR + A_mid) if wR > 0 else 0.0
        r2 = (1.0 - c) * a * 0.5
        q = rho * r2 * h
        o = o + a * h
        if keep:
            w.pend_root_alpha += q
        else:
            k_before = tau * x
            dt = tau * q / (x + q)
            tau = tau - dt
            x = x + q
            o = o - q
            w.pend_root_tao += dt
            check_k(1.0, float(np.min(tau * x / k_before)))  # a fee-free sale keeps k
        tau, x, ain2, d2 = inject_blocks(tau, x, T, a, h - lead, chain_buys)
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
        # moving price: closed form at the mean of the capped prices after each block
        p_bar = p0 + (np.minimum(tau / x, 1.0) - p0) * (h + 1) / (2.0 * h)
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
