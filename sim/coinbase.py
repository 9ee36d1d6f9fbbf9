"""The per-block coinbase (chain: coinbase/run_coinbase.rs, block_emission.rs,
subnet_emissions.rs): emission, shares, injection, alpha emission, the 18/41/41 split, the root
sell and the moving price, in that order.

Two paths advance a tick's blocks:
- `run_blocks_exact` steps every block (the fidelity reference), on plain floats for a few
  subnets and vectorised across subnets for many, with the same bits either way;
- `run_blocks_fast`, vectorised across subnets, takes coarse sub-steps: within one, shares,
  E, alpha emission and the root proportion are held at mid-step estimates, the pool gets half
  the sub-step's injection (in closed form, `inject_blocks`), then the whole root sell (a pure
  sale is path-independent under constant product), then the other half (Strang splitting,
  second order), and the moving price follows its closed form at the sub-step's mean capped
  price. Sub-steps shrink
  where a pool changes fast (thin pools). tests/sim/test_fidelity.py holds it within 0.5% of
  the exact path over a simulated year.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, NamedTuple, cast

import numpy as np

from sim.invariants import check_k
from sim.params import CHAIN_OWNER_CUT, TOTAL_SUPPLY, Params
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
    return cast(np.ndarray, m / total)


def price_burn_shares(m: np.ndarray, burned: np.ndarray) -> np.ndarray:
    """`price_shares_2026`: s_i ~ (m_i / sum m) * (1 - burned_i), renormalised; the plain price
    shares if every weight is zero (subnet_emissions.rs get_shares, 5c1b38081, 2026-06-22)."""
    base = price_shares(m)
    weighted = base * (1.0 - np.minimum(burned, 1.0))
    total = weighted.sum()
    if total <= 0.0:
        return base
    return cast(np.ndarray, weighted / total)


def flow_shares(S: np.ndarray, cutoff: float = 0.0, exponent: float = 1.0) -> np.ndarray:
    """`tao_flow`: s_i = z_i^p / sum z^p with z_i = max(S_i - L, 0) and
    L = max(cutoff, min(min_j S_j, 0)) (subnet_emissions.rs get_lower_limit and
    inplace_pow_normalize, TaoFlowCutoff 32982b7f9 2025-10-23). With cutoff 0 and p = 1:
    max(S_i, 0) / sum max(S, 0), and nobody gets TAO if no flow is positive."""
    if S.size == 0:
        return np.zeros_like(S)
    L = max(float(cutoff), min(float(S.min()), 0.0))
    z = np.maximum(S - L, 0.0)
    if exponent != 1.0:
        top = z.max()
        z = (z / top) ** exponent if top > 0.0 else z
    total = z.sum()
    if total <= 0.0:
        return np.zeros_like(S)
    return cast(np.ndarray, z / total)


def net_flow(S: np.ndarray, S_proto: np.ndarray) -> np.ndarray:
    """`protocol_flow_netting`: S_i - k * P_i for positive protocol EMA P_i (negative P_i, root
    selling more than the injection, is kept whole), k = min(1, sum S+ / sum P+)
    (subnet_emissions.rs get_shares_flow, 923fbcdc8 2026-05-19)."""
    pos_p = np.maximum(S_proto, 0.0)
    psum = float(pos_p.sum())
    k = min(1.0, float(np.maximum(S, 0.0).sum()) / psum) if psum > 0.0 else 0.0
    return S - np.where(S_proto > 0.0, k * S_proto, S_proto)


def root_proportion(w: float, R: float, A: np.ndarray | float) -> np.ndarray | float:
    """rho = w*R / (w*R + A): the root share of the validators' half and of consensus weight."""
    wR = w * R
    return wR / (wR + A) if wR > 0 else A * 0.0


class Regime(NamedTuple):
    """The switches the block loop reads, resolved once per tick (docs/mechanism.md)."""

    shares: str  # "price" (launch), "flow" (`tao_flow`), "price_burn" (`price_shares_2026`)
    buys: str  # "none" (launch), "jul2025", "nov2025", "2026"
    keep: bool  # `root_claim_keep`
    sell_flag: bool  # `root_sell_flag`
    netting: bool  # `protocol_flow_netting` (with "flow" shares)
    ramp: bool  # `ema_age_ramp`
    burn: bool  # `owner_burn`
    c: float  # owner cut
    cutoff: float
    exponent: float


def regime(params: Params, rules: frozenset[str] | set[str]) -> Regime:
    """Later rules win where two would decide the same thing: `price_shares_2026` replaced
    `tao_flow` and the chain buys of 2025 on chain (c3841130c, 2026-06-22)."""
    if "price_shares_2026" in rules:
        shares, buys = "price_burn", "2026"
    else:
        shares = "flow" if "tao_flow" in rules else "price"
        buys = ("nov2025" if "chain_buys_nov2025" in rules
                else "jul2025" if "chain_buys" in rules else "none")
    c = CHAIN_OWNER_CUT if "chain_owner_cut" in rules else params.owner_cut
    return Regime(shares, buys, "root_claim_keep" in rules, "root_sell_flag" in rules,
                  "protocol_flow_netting" in rules and shares == "flow",
                  "ema_age_ramp" in rules, "owner_burn" in rules, c,
                  params.flow_cutoff, params.flow_exponent)


def shares_of(rg: Regime, m: np.ndarray, S: np.ndarray, S_proto: np.ndarray,
              burned: np.ndarray) -> np.ndarray:
    """Emission shares under the regime."""
    if rg.shares == "flow":
        return flow_shares(net_flow(S, S_proto) if rg.netting else S, rg.cutoff, rg.exponent)
    if rg.shares == "price_burn":
        return price_burn_shares(m, burned if rg.burn else np.zeros_like(m))
    return price_shares(m)


def cap_terms(rg: Regime, E: float, a: np.ndarray, rho: np.ndarray | float
              ) -> tuple[np.ndarray, np.ndarray]:
    """(q, j) per subnet: injection is capped when T/p > q, and then j alpha go in with p*q TAO
    and the rest of T buys alpha first.
    - launch: q = j = a, and all T goes in (no buy);
    - `chain_buys` (Jul 2025, c329448de 2025-07-29): q = E (the block emission: capped when
      p < s), j = a;
    - `chain_buys_nov2025` (7a9b662e6 2025-11-06): q = j = a;
    - `price_shares_2026` (c3841130c 2026-06-22): q = j = rho * a."""
    if rg.buys == "jul2025":
        return np.full_like(a, E), a
    if rg.buys == "2026":
        q = rho * a
        return q, q
    return a, a


def inject(tau: np.ndarray, x: np.ndarray, T: np.ndarray, a: np.ndarray, chain_buys: bool,
           q: np.ndarray | None = None, j: np.ndarray | None = None
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Injection of T TAO for one block: returns (tau, x, alpha_in, alpha_destroyed).

    `launch`: all T goes in and alpha_in = min(T/p, a), so when the cap binds the price rises.
    Chain buys (every form; q, j from `cap_terms`, default q = j = a): when T/p > q the surplus
    T - p*q first buys alpha from the pool (no fee), which is destroyed, then p*q TAO (at the
    price before the buy) and j alpha go in: the chain buys before it injects
    (run_coinbase.rs: the swap precedes the reserve increments in every form)."""
    q = a if q is None else q
    j = a if j is None else j
    want = T * x / tau  # T / p
    if not chain_buys:
        ain = np.minimum(want, a)
        return tau + T, x + ain, ain, np.zeros_like(T)
    capped = want > q
    surplus = np.where(capped, T - tau / x * q, 0.0)
    bought = x * surplus / (tau + surplus)
    ain = np.where(capped, j, want)
    return tau + T, x - bought + ain, ain, bought


def inject_blocks(tau: np.ndarray, x: np.ndarray, T: np.ndarray, a: np.ndarray, h: float,
                  chain_buys: bool, q: np.ndarray | None = None, j: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """h consecutive blocks of injection (no sell between), aggregated: returns (tau, x,
    alpha_in, alpha_destroyed). Whether the cap binds (T*x > q*tau) is taken as fixed during
    such a run, so each regime has a closed form:
    - uncapped: T and T/p go in at a constant price;
    - capped, `launch`: h*T TAO and h*a alpha go in;
    - capped, chain buys: tau grows linearly (u = tau + T*t) and, to first order per block,
      dx/dt = q + j - T*x/u, so x(u) = g*u/T + (x0*tau0 - g*tau0^2/T)/u with g = (q + j)/2;
      the difference from x0 + h*j is the alpha bought and destroyed."""
    q = a if q is None else q
    j = a if j is None else j
    capped = T * x > q * tau
    u = tau + h * T
    uncapped_x = x * u / tau
    if not chain_buys:
        x_new = np.where(capped, x + h * a, uncapped_x)
        return u, x_new, x_new - x, np.zeros_like(x)
    safe_T = np.where(capped, T, 1.0)
    g = 0.5 * (q + j)
    capped_x = g * u / safe_T + (x * tau - g * tau * tau / safe_T) / u
    x_new = np.where(capped, capped_x, uncapped_x)
    ain = np.where(capped, h * j, uncapped_x - x)
    return u, x_new, ain, x + ain - x_new


def ema_update(m: np.ndarray, p: np.ndarray, alpha: np.ndarray | float) -> np.ndarray:
    """m <- (1 - alpha) m + alpha min(p, 1): the cap bounds what a thin pumped pool can claim."""
    return cast(np.ndarray, m + alpha * (np.minimum(p, 1.0) - m))


def ema_alpha(params: Params, age: np.ndarray, age_ramp: bool) -> np.ndarray | float:
    """`ema_age_ramp`: young subnets' EMA moves slower, alpha * t / (t + H)."""
    if not age_ramp:
        return params.moving_alpha
    return cast(np.ndarray, params.moving_alpha * age / (age + params.ema_halving_blocks))


# ---- the tick's blocks -----------------------------------------------------------------------
@dataclass
class _Work:
    """Compact copies of the emitting subnets' arrays for one tick, written back at the end."""

    idx: np.ndarray  # the emitting subnets' slots
    tau: np.ndarray
    x: np.ndarray
    o: np.ndarray
    m: np.ndarray
    S: np.ndarray
    S_proto: np.ndarray
    pend_owner: np.ndarray
    pend_miner: np.ndarray
    pend_val: np.ndarray
    pend_root_alpha: np.ndarray
    pend_root_tao: np.ndarray
    alpha_issued: np.ndarray
    ep_alpha_out: np.ndarray
    tick_tao_in: np.ndarray
    tick_alpha_in: np.ndarray
    age: np.ndarray
    flow: np.ndarray
    burn: np.ndarray

    # what write_back() copies into the State's arrays of the same names
    FIELDS: ClassVar[tuple[str, ...]] = (
        "tau", "x", "o", "m", "S", "S_proto", "pend_owner", "pend_miner", "pend_val",
        "pend_root_alpha", "pend_root_tao", "alpha_issued", "ep_alpha_out", "tick_tao_in",
        "tick_alpha_in")

    @classmethod
    def take(cls, st: State) -> _Work:
        idx = np.nonzero(st.active & st.emitting)[0]
        copies = {f: getattr(st, f)[idx].astype(np.float64) for f in cls.FIELDS}
        return cls(idx=idx, **copies, age=st.age[idx].astype(np.float64),
                   flow=st.flow[idx].copy(),
                   burn=np.clip(st.miner_burn[idx].astype(np.float64), 0.0, 1.0))

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
    w = _Work.take(st)
    if w.idx.size == 0 or n <= 0:
        st.block += max(n, 0)
        return None
    return w


def _share_weights(rg: Regime, m: np.ndarray, S: np.ndarray, S_proto: np.ndarray,
                   burn: np.ndarray) -> np.ndarray:
    """The exact path's share of each subnet before normalising (T_i = weight_i * E / sum)."""
    if rg.shares == "flow":
        if rg.netting or rg.cutoff != 0.0 or rg.exponent != 1.0:
            return flow_shares(net_flow(S, S_proto) if rg.netting else S, rg.cutoff,
                               rg.exponent)
        # the plain rule: max(S, 0) (L is 0 with cutoff 0)
        return cast(np.ndarray, np.maximum(S, 0.0))
    if rg.shares == "price_burn":
        return price_burn_shares(m, burn)
    return m


# Up to this many emitting subnets the exact path steps its blocks on plain floats
# (`_blocks_floats`), above it on numpy arrays (`_blocks_arrays`): numpy's cost per call
# dominates on a few subnets, a Python loop's cost per subnet on many (the two break even at
# about 20 subnets). Both do the same float operations in the same order, so they give the same
# bits (tests/sim/test_exact_loops.py).
FLOAT_LOOP_SUBNETS = 16


def np_sum(v: list[float]) -> float:
    """Sum of v as numpy's float64 sum adds it (pairwise summation: eight accumulators in
    blocks of up to 128, halves above), so the float loop's totals are the array loop's bits."""
    if len(v) < 8:  # _pairwise's first case, inline: the float loop's usual size
        res = -0.0
        for y in v:
            res += y
        return 0.0 + res
    return 0.0 + _pairwise(v, 0, len(v))


def _pairwise(v: list[float], lo: int, n: int) -> float:
    if n < 8:
        res = -0.0
        for i in range(lo, lo + n):
            res += v[i]
        return res
    if n <= 128:
        r = v[lo:lo + 8]
        i = 8
        while i < n - n % 8:
            for j in range(8):
                r[j] += v[lo + i + j]
            i += 8
        res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        for rest in range(lo + i, lo + n):
            res += v[rest]
        return res
    n2 = n // 2
    n2 -= n2 % 8
    return _pairwise(v, lo, n2) + _pairwise(v, lo + n2, n - n2)


@dataclass
class _Carry:
    """What the exact path carries from block to block: reserves, the moving price, the flow
    EMAs, B = w*R + A (the root proportion's denominator), the alpha emission a per block with
    the issuance interval [a_lo, a_hi) it holds on, and the sums recovered at the end."""

    tau: np.ndarray
    x: np.ndarray
    m: np.ndarray
    S: np.ndarray
    Sp: np.ndarray
    B: np.ndarray
    a: np.ndarray
    a_lo: np.ndarray
    a_hi: np.ndarray
    r2: np.ndarray  # the validators' half of the holders' part, (1 - c) * a / 2
    a_sum: np.ndarray
    r2_sum: np.ndarray
    q_sum: np.ndarray  # root alpha paid (sold or kept)
    q_rec: np.ndarray  # root alpha recycled (`root_sell_flag`)
    tin_sum: np.ndarray
    destroyed_sum: np.ndarray
    I: float
    E: float
    I_next: float
    watch_a: bool  # whether an alpha halving can happen this tick
    minted: float = 0.0
    seg: int = 0  # first block of the current run of constant alpha emission

    @classmethod
    def begin(cls, w: _Work, I: float, params: Params, rg: Regime, wR: float, n: int
              ) -> _Carry:
        A = w.x + w.o  # alpha issuance; the root sell only moves alpha from o to x
        a = halving_emission_array(A, params.alpha_block_emission)
        a_lo, a_hi = _alpha_bounds(A)
        # issuance grows by at most 2a a block; chain buys and recycling can also shrink it
        watch_a = (rg.buys != "none" or rg.sell_flag
                   or bool(((a_hi - A) < 2.0 * n * a + 1.0).any()))
        zero = np.zeros_like(A)
        return cls(tau=w.tau, x=w.x, m=w.m, S=w.S, Sp=w.S_proto, B=A + wR, a=a, a_lo=a_lo,
                   a_hi=a_hi, r2=(1.0 - rg.c) * a * 0.5, a_sum=zero.copy(),
                   r2_sum=zero.copy(), q_sum=zero.copy(), q_rec=zero.copy(),
                   tin_sum=zero.copy(), destroyed_sum=zero.copy(), I=I,
                   E=halving_emission(I, params.block_emission), I_next=_next_halving(I),
                   watch_a=watch_a)

    def requote(self, b: int, A_now: np.ndarray, params: Params, c: float) -> bool:
        """Step 4 at block b: when a subnet's issuance left its interval, close the run of
        constant alpha emission and recompute a (True if it did)."""
        if not ((A_now >= self.a_hi) | (A_now < self.a_lo)).any():
            return False
        self.a_sum += self.a * (b - self.seg)
        self.r2_sum += self.r2 * (b - self.seg)
        self.seg = b
        self.a = halving_emission_array(A_now, params.alpha_block_emission)
        self.a_lo, self.a_hi = _alpha_bounds(A_now)
        self.r2 = (1.0 - c) * self.a * 0.5
        return True


@dataclass(frozen=True)
class _Consts:
    """What stays the same over a tick's blocks."""

    rg: Regime
    params: Params
    wR: float  # w * R: root stake's weight
    burn: np.ndarray  # `owner_burn`: each subnet's burned share of the miners' part
    age: np.ndarray
    flow: np.ndarray  # the tick's user flow, entering S in its first block


def run_blocks_exact(st: State, params: Params, rules: frozenset[str], n: int) -> None:
    """Advance n blocks one by one (the reference path).

    Written for speed, since a year is 2.6M blocks: each block is a few dozen in-place vector
    operations (or plain float operations on a few subnets). Quantities that only add up (pots,
    alpha_out, the TAO of the root sell, the alpha injected) are recovered once at the end from
    the reserves' change where they can be, and a subnet's alpha emission is recomputed only
    when its issuance crosses a halving threshold."""
    w = _start_tick(st, n)
    if w is None:
        return
    rg = regime(params, rules)
    c = rg.c
    wR = params.tao_weight * st.root_total()
    burn = w.burn if rg.burn else np.zeros_like(w.tau)
    tau0, x0 = w.tau.copy(), w.x.copy()
    k = _Carry.begin(w, st.tao_issued, params, rg, wR, n)
    consts = _Consts(rg, params, wR, burn, w.age, w.flow)
    if w.idx.size <= FLOAT_LOOP_SUBNETS:
        _blocks_floats(k, consts, n)
    else:
        _blocks_arrays(k, consts, n)
    tau, x = k.tau, k.x
    a_sum = k.a_sum + k.a * (n - k.seg)
    r2_sum = k.r2_sum + k.r2 * (n - k.seg)
    q_sum, q_rec, destroyed_sum, tin_sum = k.q_sum, k.q_rec, k.destroyed_sum, k.tin_sum
    sold = q_sum if not rg.keep else 0.0
    ain_sum = x - x0 + destroyed_sum - sold  # x moved only by injection, burns and the sell
    burned = r2_sum * burn
    w.tau, w.x, w.m, w.S, w.S_proto = tau, x, k.m, k.S, k.Sp
    w.o = k.B - wR - x
    w.tick_tao_in += tin_sum
    w.tick_alpha_in += ain_sum
    w.alpha_issued += ain_sum + a_sum - destroyed_sum - burned - q_rec
    w.ep_alpha_out += a_sum
    w.pend_owner += c * a_sum
    w.pend_miner += r2_sum - burned
    w.pend_val += r2_sum - q_sum - q_rec
    if rg.keep:
        w.pend_root_alpha += q_sum
    else:
        w.pend_root_tao += tau0 + tin_sum - tau  # tau moved only by injection and the sell
    st.tao_issued = k.I
    st.tao_minted += k.minted
    w.write_back(st, n)
    st.block += n


def _blocks_arrays(k: _Carry, cs: _Consts, n: int) -> None:
    """The blocks on numpy arrays across subnets, in the order of the module docstring."""
    rg, params, wR, burn, age = cs.rg, cs.params, cs.wR, cs.burn, cs.age
    buys = rg.buys != "none"
    c, beta, H = rg.c, params.flow_beta, params.ema_halving_blocks
    alpha_ema = params.moving_alpha
    tau, x, m, S, Sp, B = k.tau, k.x, k.m, k.S, k.Sp, k.B
    I, E, I_next = k.I, k.E, k.I_next
    a, r2 = k.a, k.r2
    wRr2 = wR * r2
    q_sum, q_rec, tin_sum, destroyed_sum = k.q_sum, k.q_rec, k.tin_sum, k.destroyed_sum
    T, ain, q, tmp = (np.empty_like(B) for _ in range(4))
    sold_tao = np.zeros_like(B)
    minted = 0.0
    for b in range(n):
        if I >= I_next:  # 1. emission on issuance: a halving happened this tick
            E = halving_emission(I, params.block_emission)
            I_next = _next_halving(I)
        if k.watch_a and k.requote(b, B - wR, params, c):  # 4. alpha emission
            a, r2 = k.a, k.r2
            wRr2 = wR * r2
        if rg.shares == "flow":  # 2. shares
            S = (1.0 - beta) * S + beta * cs.flow if b == 0 else S * (1.0 - beta)
        share_of = _share_weights(rg, m, S, Sp, burn)
        tot = float(np.add.reduce(share_of))
        if tot > 0.0 and E > 0.0:  # 3. injection, T_i = s_i * E
            np.multiply(share_of, E / tot, out=T)
            if buys:
                qc, jc = cap_terms(rg, E, a, wR / B if wR > 0 else 0.0 * B)
                tau, x, ain_b, destroyed = inject(tau, x, T, a, True, qc, jc)
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
        else:
            T[:] = 0.0
        B += a  # alpha_out = a always
        if rg.burn:  # the owner burns its share of the miners' part (recycled at once)
            B -= r2 * burn
        # 5. split: root's share of the validators' half, q = rho * r/2
        np.divide(wRr2, B, out=q)
        # `root_sell_flag`: root's alpha is recycled while the moving prices sum to <= 1
        if rg.sell_flag and float(np.add.reduce(m)) <= 1.0:
            q_rec += q
            B -= q
            sold_tao[:] = 0.0
        else:
            q_sum += q
            if not rg.keep:  # 6. root sell every block, no fee (`launch`)
                x += q
                np.multiply(tau, q, out=sold_tao)
                sold_tao /= x
                tau -= sold_tao
        if rg.netting:  # the block's protocol flow enters the EMA the next block reads
            Sp = (1.0 - beta) * Sp + beta * (T - sold_tao)
        # 7. moving price after the emission used it: m += alpha_eff * (min(p, 1) - m)
        np.divide(tau, x, out=tmp)
        np.minimum(tmp, 1.0, out=tmp)
        tmp -= m
        if rg.ramp:
            t_age = age + b
            tmp *= alpha_ema * t_age / (t_age + H)
        else:
            tmp *= alpha_ema
        m += tmp
    k.tau, k.x, k.m, k.S, k.Sp, k.B = tau, x, m, S, Sp, B
    k.I, k.E, k.I_next, k.minted = I, E, I_next, minted


def _blocks_floats(k: _Carry, cs: _Consts, n: int) -> None:
    """The same blocks on plain floats, one subnet at a time: the same float operations in the
    same order as `_blocks_arrays`, sums as numpy adds them (`np_sum`), a minimum keeping its
    second operand on a tie as numpy's does; the rare steps (a halving) on arrays as there."""
    rg, params, wR = cs.rg, cs.params, cs.wR
    tau, x, m, S, Sp, B = (v.tolist() for v in (k.tau, k.x, k.m, k.S, k.Sp, k.B))
    sums = _Sums(*(v.tolist() for v in (k.q_sum, k.q_rec, k.tin_sum, k.destroyed_sum)))
    a, r2 = k.a.tolist(), k.r2.tolist()
    wRr2 = [wR * v for v in r2]
    burn, age, flow = cs.burn.tolist(), cs.age.tolist(), cs.flow.tolist()
    T = [0.0] * len(tau)
    omb = 1.0 - params.flow_beta
    lo, hi = k.a_lo.tolist(), k.a_hi.tolist()
    I, E, I_next = k.I, k.E, k.I_next
    minted = 0.0
    for b in range(n):
        if I >= I_next:  # 1. emission on issuance
            E = halving_emission(I, params.block_emission)
            I_next = _next_halving(I)
        if k.watch_a and _left_interval(B, wR, lo, hi):  # 4. alpha emission
            k.requote(b, np.array(B) - wR, params, rg.c)
            a, r2, lo, hi = (v.tolist() for v in (k.a, k.r2, k.a_lo, k.a_hi))
            wRr2 = [wR * v for v in r2]
        if rg.shares == "flow":  # 2. shares
            S = ([omb * s + params.flow_beta * f for s, f in zip(S, flow, strict=True)]
                 if b == 0 else [s * omb for s in S])
        weights = _weights_floats(rg, m, S, Sp, burn)
        tot = np_sum(weights)
        if tot > 0.0 and E > 0.0:  # 3. injection
            _inject_floats(rg, weights, E / tot, E, wR, tau, x, B, a, T, sums)
            I += E
            minted += E
        else:
            T = [0.0] * len(tau)
        recycle = rg.sell_flag and np_sum(m) <= 1.0
        _pay_floats(cs, b, recycle, tau, x, m, Sp, B, a, r2, wRr2, T, burn, age, sums)
    k.tau, k.x, k.m, k.S, k.Sp, k.B = (np.array(v, dtype=np.float64)
                                       for v in (tau, x, m, S, Sp, B))
    k.q_sum, k.q_rec, k.tin_sum, k.destroyed_sum = (
        np.array(v, dtype=np.float64) for v in (sums.q, sums.rec, sums.tin, sums.destroyed))
    k.I, k.E, k.I_next, k.minted = I, E, I_next, minted


@dataclass
class _Sums:
    """The float loop's running sums per subnet (lists, as `_Carry`'s arrays of those names)."""

    q: list[float]
    rec: list[float]
    tin: list[float]
    destroyed: list[float]


def _left_interval(B: list[float], wR: float, lo: list[float], hi: list[float]) -> bool:
    """Whether a subnet's alpha issuance (B - w*R) left the interval of its alpha emission."""
    for Bi, l_i, h_i in zip(B, lo, hi, strict=True):
        A = Bi - wR
        if A >= h_i or A < l_i:
            return True
    return False


def _weights_floats(rg: Regime, m: list[float], S: list[float], Sp: list[float],
                    burn: list[float]) -> list[float]:
    """`_share_weights` on floats (the flow rule's cutoff, exponent or netting on arrays)."""
    if rg.shares == "flow":
        if rg.netting or rg.cutoff != 0.0 or rg.exponent != 1.0:
            return cast(list[float], _share_weights(rg, np.array(m), np.array(S),
                                                    np.array(Sp), np.array(burn)).tolist())
        return [s if s > 0.0 else 0.0 for s in S]  # np.maximum(S, 0.0)
    if rg.shares == "price_burn":  # price_burn_shares
        total = np_sum(m)
        base = [v / total for v in m] if total > 0.0 else [0.0] * len(m)
        weighted = [v * (1.0 - (u if u < 1.0 else 1.0)) for v, u in zip(base, burn, strict=True)]
        total = np_sum(weighted)
        return base if total <= 0.0 else [v / total for v in weighted]
    return m


def _inject_floats(rg: Regime, weights: list[float], f: float, E: float, wR: float,
                   tau: list[float], x: list[float], B: list[float], a: list[float],
                   T: list[float], sums: _Sums) -> None:
    """Step 3 on floats: T_i = weight_i * E / sum, then alpha_in = min(T/p, a) (or `inject`
    with chain buys)."""
    if rg.buys != "none":
        _buy_floats(rg, weights, f, E, wR, tau, x, B, a, T, sums)
        return
    tin = sums.tin
    for i in range(len(B)):
        t, xi, ai = tau[i], x[i], a[i]
        Ti = weights[i] * f
        want = Ti * xi / t
        ain = want if want < ai else ai
        T[i] = Ti
        tau[i] = t + Ti
        x[i] = xi + ain
        B[i] += ain
        tin[i] += Ti


def _buy_floats(rg: Regime, weights: list[float], f: float, E: float, wR: float,
                tau: list[float], x: list[float], B: list[float], a: list[float],
                T: list[float], sums: _Sums) -> None:
    """`inject` with chain buys on floats, q and j as `cap_terms` gives them."""
    tin, destroyed = sums.tin, sums.destroyed
    for i in range(len(B)):
        t, xi, ai = tau[i], x[i], a[i]
        Ti = weights[i] * f
        if rg.buys == "jul2025":
            qc, jc = E, ai
        elif rg.buys == "2026":
            qc = jc = wR / B[i] * ai if wR > 0 else 0.0
        else:
            qc = jc = ai
        want = Ti * xi / t
        if want > qc:
            surplus = Ti - t / xi * qc
            bought = xi * surplus / (t + surplus)
            ain = jc
        else:
            bought, ain = 0.0, want
        T[i] = Ti
        tau[i] = t + Ti
        x[i] = xi - bought + ain
        B[i] = B[i] + ain - bought
        destroyed[i] += bought
        tin[i] += Ti


def _pay_floats(cs: _Consts, b: int, recycle: bool, tau: list[float], x: list[float],
                m: list[float], Sp: list[float], B: list[float], a: list[float],
                r2: list[float], wRr2: list[float], T: list[float], burn: list[float],
                age: list[float], sums: _Sums) -> None:
    """Steps 4 to 7 on floats: alpha_out, the owner's burn, the root's part (recycled, kept
    or sold), the protocol flow's EMA, the moving price."""
    rg, beta = cs.rg, cs.params.flow_beta
    alpha_ema, H = cs.params.moving_alpha, cs.params.ema_halving_blocks
    burns, sells, netting, ramp = rg.burn, not (recycle or rg.keep), rg.netting, rg.ramp
    q_sum, q_rec = sums.q, sums.rec
    for i in range(len(B)):
        Bi = B[i] + a[i]
        t, xi, mi = tau[i], x[i], m[i]
        if burns:
            Bi -= r2[i] * burn[i]
        q = wRr2[i] / Bi
        sold = 0.0
        if recycle:
            q_rec[i] += q
            Bi -= q
        else:
            q_sum[i] += q
        if sells:
            xi += q
            sold = t * q / xi
            t -= sold
        if netting:
            Sp[i] = (1.0 - beta) * Sp[i] + beta * (T[i] - sold)
        p = t / xi
        d = (p if p < 1.0 else 1.0) - mi
        if ramp:
            t_age = age[i] + b
            d *= alpha_ema * t_age / (t_age + H)
        else:
            d *= alpha_ema
        m[i] = mi + d
        tau[i], x[i], B[i] = t, xi, Bi


def _blocks_until(dist: np.ndarray | float, rate: np.ndarray | float) -> int:
    """Fewest blocks after which a quantity growing by `rate` a block has covered `dist`
    (a large number where it never does)."""
    d = np.atleast_1d(np.asarray(dist, dtype=np.float64))
    r = np.atleast_1d(np.asarray(rate, dtype=np.float64))
    ok = r > 0.0
    if not ok.any():
        return 1 << 40
    need = np.ceil(np.maximum(d[ok], 0.0) / r[ok])
    return max(1, int(need.min()))


def run_blocks_fast(st: State, params: Params, rules: frozenset[str], n: int,
                    substep: int | None = None) -> None:
    """Advance n blocks in coarse sub-steps (see the module docstring)."""
    w = _start_tick(st, n)
    if w is None:
        return
    rg = regime(params, rules)
    buys = rg.buys != "none"
    c, beta = rg.c, params.flow_beta
    wR = params.tao_weight * st.root_total()
    tau, x, o, m, S, Sp, age = w.tau, w.x, w.o, w.m, w.S, w.S_proto, w.age
    burn = w.burn if rg.burn else np.zeros_like(tau)
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
        f0 = w.flow if j == 0 else 0.0
        S0 = (1.0 - beta) * S + beta * f0 if rg.shares == "flow" else S
        s0 = shares_of(rg, m, S0, Sp, burn)
        A0 = x + o
        a0 = halving_emission_array(A0, params.alpha_block_emission)
        T0 = s0 * E
        rho0 = (wR / (wR + A0) if wR > 0 else 0.0 * A0)
        flag0 = not (rg.sell_flag and float(m.sum()) <= 1.0)  # root alpha paid, not recycled
        q0 = 0.0 if (rg.keep or not flag0) else rho0 * (1.0 - c) * a0 * 0.5
        qc0, jc0 = cap_terms(rg, E, a0, rho0)
        ain0 = np.minimum(T0 * x / tau, jc0 if buys else a0)
        # per-block relative change of each reserve: injection into tau; injection and the
        # root sell into x
        rel = float(np.max(np.maximum(T0 / tau, (ain0 + q0) / x)))
        if rel > 0.0:
            h = min(h, max(1, int(FAST_MAX_CHANGE / rel)))
        # Thresholds where a rule changes behaviour end a sub-step, so that none is stepped
        # over: the TAO halving (issuance grows by E a block while any share is positive) ...
        if float(s0.sum()) > 0.0 and E > 0.0:
            h = min(h, _blocks_until(_next_halving(I) - I, E))
        # ... each subnet's alpha halving (issuance grows by at most alpha_in + a a block) ...
        _lo, a_hi = _alpha_bounds(A0)
        h = min(h, _blocks_until(a_hi - A0, ain0 + a0))
        # ... and `root_sell_flag`'s sum of moving prices crossing 1 (at the spot prices now)
        if rg.sell_flag:
            p_now = np.minimum(tau / x, 1.0)
            al = ema_alpha(params, age, rg.ramp)

            def flag_after(k: int, p_now: np.ndarray = p_now, m: np.ndarray = m,
                           al: np.ndarray | float = al) -> bool:
                return float((p_now + (m - p_now) * (1.0 - al) ** k).sum()) > 1.0

            if flag_after(h) != flag0:
                lo_k, hi_k = 0, h  # flag_after(lo_k) == flag0 != flag_after(hi_k)
                while hi_k - lo_k > 1:
                    mid = (lo_k + hi_k) // 2
                    if flag_after(mid) == flag0:
                        lo_k = mid
                    else:
                        hi_k = mid
                h = hi_k
        # Mid-step points, shifted as the chain's order requires: block j of the sub-step
        # (1..h) takes its share from m after block j-1 (lag) but from S and A after its own
        # update (lead), and its moving price from the price after block j. With h = 1 this
        # is exactly one chain block.
        lead = 0.5 * (h + 1)
        lag = 0.5 * (h - 1)
        alpha_m = ema_alpha(params, age + lag, rg.ramp)
        # the protocol's flow EMA at mid-step, from the flow at the start (TAO in less root sold)
        P0 = T0 - tau / x * q0
        Sp_mid = Sp + (P0 - Sp) * (1.0 - (1.0 - beta) ** lag)
        if rg.shares == "flow":
            # the tick's user flow enters S in its first block only
            S_mid = (1.0 - beta) ** lead * S + (
                beta * (1.0 - beta) ** (lead - 1.0) * f0 if j == 0 else 0.0)
            s = shares_of(rg, m, S_mid, Sp_mid, burn)
            S = (1.0 - beta) ** h * S + (beta * (1.0 - beta) ** (h - 1.0) * f0 if j == 0 else 0.0)
        else:
            p_hat = np.minimum(tau / x, 1.0)
            m_mid = p_hat + (m - p_hat) * (1.0 - alpha_m) ** lag
            s = shares_of(rg, m_mid, S, Sp, burn)
        a = halving_emission_array(A0, params.alpha_block_emission)
        T = s * E if E > 0.0 else s * 0.0
        p0 = np.minimum(tau / x, 1.0)
        A_mid0 = A0 + (ain0 + a0) * lead
        rho = wR / (wR + A_mid0) if wR > 0 else 0.0 * A0
        qc, jc = cap_terms(rg, E, a, rho)
        # Strang splitting: (about) half the injection, the whole root sell, the rest.
        tau, x, ain1, d1 = inject_blocks(tau, x, T, a, lead, buys, qc, jc)
        A_mid = x + o + a * lead
        rho = wR / (wR + A_mid) if wR > 0 else 0.0
        r2 = (1.0 - c) * a * 0.5
        q = rho * r2 * h
        burned = r2 * h * burn
        o = o + a * h - burned
        dt: np.ndarray | float = 0.0
        if not flag0:  # `root_sell_flag`: recycled, neither sold nor paid
            o = o - q
            q_paid = 0.0 * q
        elif rg.keep:
            w.pend_root_alpha += q
            q_paid = q
        else:
            k_before = tau * x
            dt = tau * q / (x + q)
            tau = tau - dt
            x = x + q
            o = o - q
            w.pend_root_tao += dt
            q_paid = q
            check_k(1.0, float(np.min(tau * x / k_before)))  # a fee-free sale keeps k
        tau, x, ain2, d2 = inject_blocks(tau, x, T, a, h - lead, buys, qc, jc)
        ain = ain1 + ain2
        Tsum = float(T.sum()) * h
        I += Tsum
        minted += Tsum
        w.tick_tao_in += T * h
        w.tick_alpha_in += ain
        w.alpha_issued += ain + a * h - d1 - d2 - burned - (q - q_paid)
        w.ep_alpha_out += a * h
        w.pend_owner += c * a * h
        w.pend_miner += r2 * h - burned
        w.pend_val += r2 * h - q
        if rg.netting:
            Sp = Sp + (T - dt / h - Sp) * (1.0 - (1.0 - beta) ** h)
        # moving price: closed form at the mean of the capped prices after each block
        p_bar = p0 + (np.minimum(tau / x, 1.0) - p0) * (h + 1) / (2.0 * h)
        m = p_bar + (m - p_bar) * (1.0 - alpha_m) ** h
        age = age + h
        done += h
        j += 1
    w.tau, w.x, w.o, w.m, w.S, w.S_proto = tau, x, o, m, S, Sp
    st.tao_issued = I
    st.tao_minted += minted
    w.write_back(st, n)
    st.block += n


def current_shares(st: State, rules: frozenset[str], params: Params | None = None
                   ) -> np.ndarray:
    """Emission shares the next block would use, over all slots (0 for inactive)."""
    out = np.zeros(st.n_subnets)
    idx = np.nonzero(st.active & st.emitting)[0]
    if idx.size:
        rg = regime(params or Params(), rules)
        out[idx] = shares_of(rg, st.m[idx], st.S[idx], st.S_proto[idx], st.miner_burn[idx])
    return out
