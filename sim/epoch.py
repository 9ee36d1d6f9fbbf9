"""The epoch: Yuma-lite pays out each subnet's pending alpha (chain: epoch/run_epoch.rs, the
bonds path without liquid alpha; docs/mechanism.md "Validators and consensus (Yuma-lite)").

Validators on subnet i:
- the subnet's own validator, whose stake is all alpha held as stake on i (players' and the
  network's), voting with the subnet's mechanism;
- the network's root validator, stake w * (network root stake + players nominating it), voting
  with the mechanism (the network's validators hold a seat on every subnet);
- each root-validator player with a seat on i, stake w * (own + nominated root stake), voting
  with the mechanism unless it has set weights on i. Without a seat (`root_deregister`, a
  scenario's `root_seats`) its root stake does not count on i at all.
Miner classes: workers (external AI miners), holders (every alpha holder, pro rata), owner.

Consensus is the stake-weighted median of each miner's weights (kappa = 0.5); weights are
clipped to it; a validator's agreement (the chain's validator trust) is the sum of its clipped
weights. Bonds: the chain's EMA of clipped weights times stake, column-normalised, taken with
the EMA's step at 1 (each epoch's bonds are that epoch's clipped weights): dividends d_v =
sum_j B_vj * I_j = stake_v * agreement_v / sum(stake * agreement). Each validator is paid in
proportion to its dividend share, so the subnet's own validator gets its (1 - rho) part only
in proportion to its agreement: pend_val * min(1, d_0 / sigma_0), sigma_0 its stake share. The
part it forfeits is recycled (the chain credits pending alpha only to hotkeys with alpha
dividends; in the game the validators who agreed are root validators holding no alpha stake).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from sim.params import MECHANISM_CLASS, MECHANISMS, MINER_CLASSES, Params
from sim.state import State


def stake_weighted_quantile(values: np.ndarray, stake: np.ndarray, kappa: float) -> float:
    """Largest weight w such that validators weighting this miner at >= w hold more than kappa
    of the stake: with kappa = 0.5, a coalition with more than half the stake decides."""
    total = stake.sum()
    if total <= 0.0:
        return 0.0
    order = np.argsort(-values, kind="stable")
    cum = np.cumsum(stake[order])
    vals = values[order]
    for k in range(len(vals)):
        # include every validator tied at this value before testing the threshold
        if k + 1 < len(vals) and vals[k + 1] == vals[k]:
            continue
        if cum[k] > kappa * total:
            return float(vals[k])
    return 0.0


def yuma(stake: np.ndarray, weights: np.ndarray, kappa: float
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Consensus per miner, incentive (sums to 1, or all zero) and validator dividend shares
    (sum to 1): dividends are proportional to stake times agreement with consensus, the sum of
    the validator's weights clipped to consensus."""
    C, incentive, dividends, _ = yuma_terms(stake, weights, kappa)
    return C, incentive, dividends


def yuma_terms(stake: np.ndarray, weights: np.ndarray, kappa: float
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """yuma() plus each validator's agreement with consensus (the chain's validator trust:
    the sum of its row-normalised weights clipped to consensus, in [0, 1])."""
    W = np.asarray(weights, dtype=np.float64)
    S = np.asarray(stake, dtype=np.float64)
    rows = W.sum(axis=1, keepdims=True)
    W = np.divide(W, rows, out=np.zeros_like(W), where=rows > 0)
    C = np.array([stake_weighted_quantile(W[:, j], S, kappa) for j in range(W.shape[1])])
    clipped = np.minimum(W, C[None, :])
    raw = (S[:, None] * clipped).sum(axis=0)
    tot = raw.sum()
    incentive = raw / tot if tot > 0 else np.zeros_like(raw)
    trust = clipped.sum(axis=1)
    d = S * trust
    if d.sum() <= 0.0:
        d = S.copy()
    dsum = d.sum()
    dividends = d / dsum if dsum > 0 else np.zeros_like(d)
    return C, incentive, dividends, trust


def alpha_validator_pay_ratio(stake: np.ndarray, trust: np.ndarray) -> float:
    """What fraction of its (1 - rho) part the subnet's own validator (row 0) is paid: its
    dividend share over its stake share, min(1, d_0 / sigma_0) = min(1, trust_0 * sum(S) /
    sum(S * trust)). 1 when everyone agrees equally (exactly: the same floats), 0 when it
    agrees with nothing; 1 when nobody agrees with anything (no consensus to miss)."""
    S = np.asarray(stake, dtype=np.float64)
    agreed = float((S * trust).sum())
    if agreed <= 0.0:
        return 1.0
    return min(1.0, float(trust[0]) * float(S.sum()) / agreed)


def root_validators(st: State) -> list[int]:
    """Root-validator players (indices), in player order."""
    return [k for k, r in enumerate(st.roles) if r == "root_validator"]


def root_split(st: State, v: int, take: float) -> tuple[np.ndarray, float]:
    """How one unit of a root validator's dividend is shared: (per-player fractions, fraction
    leaving with the network). v = -1 is the network's validator (no take; the non-player
    stake's part leaves the game); a player validator keeps its own part plus `take` of its
    nominators' part, and the rest goes pro rata to its nominators."""
    frac = np.zeros(st.n_players)
    members = st.root_val == v
    stakes = np.where(members, st.root, 0.0)
    if v == -1:
        total = st.root_network + float(stakes.sum())
        if total <= 0.0:
            return frac, 1.0
        return stakes / total, st.root_network / total
    total = float(stakes.sum())
    if total <= 0.0:
        frac[v] = 1.0
        return frac, 0.0
    own = float(stakes[v])
    nominated = stakes.copy()
    nominated[v] = 0.0
    frac = nominated / total * (1.0 - take)
    frac[v] = own / total + take * float(nominated.sum()) / total
    return frac, 0.0


def consensus_many(values: np.ndarray, stake: np.ndarray, kappa: float) -> np.ndarray:
    """stake_weighted_quantile for many subnets and miners at once: values [n, V, M] (V
    validators), stake [n, V] -> [n, M]. The consensus is the largest value whose supporters
    (validators weighting the miner at least that much) hold more than kappa of the stake."""
    support = (stake[:, None, :, None] * (values[:, None, :, :] >= values[:, :, None, :])
               ).sum(axis=2)  # [n, V(candidate), M]
    total = stake.sum(axis=1)[:, None, None]
    ok = (support > kappa * total) & (total > 0.0)
    consensus: np.ndarray = np.where(ok, values, 0.0).max(axis=1)
    return consensus


def run_epoch(st: State, params: Params, rules: frozenset[str],
              sell: Callable[[int, float], float]) -> dict[str, Any]:
    """Pay every active subnet's pending pots. `sell(i, alpha)` sells the external miners' alpha
    through the pool (with the user fee) and returns the TAO they got. Returns the epoch row
    parts: subnet rows, network health and the values it is the ratio of.

    Vectorised across subnets (the validator set is the same on every subnet; a root
    validator without a seat has zero stake there): yuma_terms() per subnet, in arrays."""
    w = params.tao_weight
    idx = np.nonzero(st.active)[0]
    n = idx.size
    if n == 0:
        return {"subnets": [], "network_health": 0.0, "work_value": 0.0, "total_value": 0.0}
    rv = root_validators(st)
    V = 2 + len(rv)
    p = st.tau[idx] / st.x[idx]
    # validators' stake [n, V] and weight rows [n, V, 3]
    S = np.empty((n, V))
    S[:, 0] = st.alpha[:, idx].sum(axis=0) + st.net_alpha[idx]
    S[:, 1] = w * (st.root_network + float(st.root[st.root_val == -1].sum()))
    mech = np.zeros((n, len(MINER_CLASSES)))
    mech[np.arange(n), [MECHANISM_CLASS[MECHANISMS[int(m)]] for m in st.mech[idx]]] = 1.0
    Wt = np.empty((n, V, len(MINER_CLASSES)))
    Wt[:, 0] = mech
    Wt[:, 1] = mech
    for c, k in enumerate(rv, start=2):
        S[:, c] = np.where(st.no_seat[k, idx], 0.0, w * float(st.root[st.root_val == k].sum()))
        Wt[:, c] = np.where(st.wset[k, idx][:, None], st.weights[k, idx], mech)
    rows_sum = Wt.sum(axis=2, keepdims=True)
    Wt = np.divide(Wt, rows_sum, out=np.zeros_like(Wt), where=rows_sum > 0)
    C = consensus_many(Wt, S, params.kappa)
    clipped = np.minimum(Wt, C[:, None, :])
    raw = (S[:, :, None] * clipped).sum(axis=1)  # [n, 3]
    tot = raw.sum(axis=1, keepdims=True)
    incentive = np.divide(raw, tot, out=np.zeros_like(raw), where=tot > 0)
    trust = clipped.sum(axis=2)  # [n, V]
    d = S * trust
    d = np.where((d.sum(axis=1) <= 0.0)[:, None], S, d)
    dsum = d.sum(axis=1, keepdims=True)
    dshare = np.divide(d, dsum, out=np.zeros_like(d), where=dsum > 0)
    # the subnet's own validator's pay ratio, min(1, d_0 / sigma_0) (alpha_validator_pay_ratio)
    agreed = (S * trust).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(agreed > 0.0,
                         np.minimum(1.0, trust[:, 0] * S.sum(axis=1) / agreed), 1.0)
    # nobody stakes at all: no consensus; the subnet's own validator collects
    none = dshare.sum(axis=1) <= 0.0
    dshare[none] = 0.0
    dshare[none, 0] = 1.0
    miners = st.pend_miner[idx].copy()
    no_inc = incentive.sum(axis=1) <= 0.0  # no miner has incentive: validators take it all
    pay = np.where(no_inc[:, None], 0.0, miners[:, None] * incentive)
    extra = np.where(no_inc, miners, 0.0)

    def pay_holders(amount: np.ndarray) -> None:
        """Pro rata to everyone holding alpha stake (players and the network bucket)."""
        held = st.alpha[:, idx]
        total = held.sum(axis=0) + st.net_alpha[idx]
        live = total > 0.0
        safe = np.where(live, total, 1.0)
        st.alpha[:, idx] = held + np.where(live & (amount > 0.0), amount / safe, 0.0) * held
        net = st.net_alpha[idx]
        st.net_alpha[idx] = np.where(amount > 0.0, np.where(live, net + amount * net / safe,
                                                            net + amount), net)

    # holders class: pro rata to alpha stake (pro-rata payouts keep everyone's share)
    pay_holders(pay[:, 1])
    # the subnet's own validator: its (1 - rho) part by its agreement; the rest recycled
    pend_val = st.pend_val[idx].copy()
    kept = pend_val * ratio
    recycled = pend_val - kept
    st.o[idx] -= recycled
    st.alpha_issued[idx] -= recycled
    alpha_div = kept + extra * dshare[:, 0]
    pay_holders(alpha_div)
    # the owner's cut and owner-class incentive after the pro-rata payouts
    owner = st.owner[idx]
    own = owner >= 0
    cut = st.pend_owner[idx] + pay[:, 2]
    st.alpha[owner[own], idx[own]] += cut[own]
    st.owner_cut_paid[owner[own], idx[own]] += st.pend_owner[idx][own]  # the cut, not incentive
    st.net_alpha[idx[~own]] += cut[~own]
    # root pots among root validators by their dividend share (all root validators' by stake
    # if none earned any)
    root_d = dshare[:, 1:]
    root_total = root_d.sum(axis=1)
    stake_root = S[:, 1:]
    fallback = (root_total <= 0.0) & (stake_root.sum(axis=1) > 0.0)
    if fallback.any():
        root_d = root_d.copy()
        root_d[fallback] = stake_root[fallback] / stake_root[fallback].sum(axis=1, keepdims=True)
        root_total = root_d.sum(axis=1)
    root_alpha = st.pend_root_alpha[idx] + extra * dshare[:, 1:].sum(axis=1)
    root_tao = st.pend_root_tao[idx].copy()
    safe_rt = np.where(root_total > 0.0, root_total, 1.0)
    for j, v in enumerate([-1] + rv):
        frac = np.where(root_total > 0.0, root_d[:, j] / safe_rt, 0.0)
        if not (frac > 0.0).any():
            continue
        players, outside = root_split(st, v, params.validator_take)
        # booked with the very floats credited, so the totals add up exactly
        alpha_credit = players[:, None] * (root_alpha * frac)[None, :]
        st.alpha[:, idx] += alpha_credit
        st.root_div_alpha[:, idx] += alpha_credit
        st.net_alpha[idx] += root_alpha * frac * outside
        tao_part = float((root_tao * frac).sum())
        tao_credit = tao_part * players
        if "root_restake" in rules:
            # The launch chain staked root's TAO dividends on root for the validator and its
            # nominators (coinbase/run_coinbase.rs @ f9254ea63: increase_stake_for_hotkey_on_subnet
            # on the root netuid): they compound root's weight instead of being paid liquid,
            # the network's stake's part included.
            st.root += tao_credit
            st.root_network += tao_part * outside
        else:
            st.tao += tao_credit
            st.tao_outside += tao_part * outside
        st.root_div_tao += tao_credit
    gone = root_total <= 0.0  # nobody on root any more: the pots leave with the network
    st.net_alpha[idx[gone]] += root_alpha[gone]
    st.tao_outside += float(root_tao[gone].sum())
    # workers: external miners get the alpha and sell part of it each epoch
    workers = pay[:, 0]
    st.net_alpha[idx] += workers
    if params.miner_sell_fraction > 0.0:
        for i, a in zip(idx[workers > 0.0], workers[workers > 0.0], strict=True):
            sell(int(i), min(float(a) * params.miner_sell_fraction, float(st.net_alpha[i])))
    ai = np.array([MECHANISMS[int(m)] == "ai_work" for m in st.mech[idx]]) & (workers > 0.0)
    revenue = params.work_revenue_ratio * workers * p
    st.revenue[idx[ai]] += revenue[ai]
    st.tao_external += float(revenue[ai].sum())
    work_value = float((workers * p).sum())
    total_value = float((st.ep_alpha_out[idx] * p).sum())
    rows = [{"id": int(st.netuid[i]),
             "incentive": {MINER_CLASSES[k]: float(pay[r, k]) for k in range(3)},
             "alpha_dividends": float(alpha_div[r] + root_alpha[r]),
             "root_dividends_tao": float(root_tao[r])}
            for r, i in enumerate(idx)]
    for name in ("pend_owner", "pend_miner", "pend_val", "pend_root_alpha",
                 "pend_root_tao", "ep_alpha_out"):
        getattr(st, name)[idx] = 0.0
    health = work_value / total_value if total_value > 0 else 0.0
    return {"subnets": rows, "network_health": health, "work_value": work_value,
            "total_value": total_value}
