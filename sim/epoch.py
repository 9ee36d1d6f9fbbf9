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


def mechanism_row(mech: int) -> np.ndarray:
    row = np.zeros(len(MINER_CLASSES))
    row[MECHANISM_CLASS[MECHANISMS[mech]]] = 1.0
    return row


def root_validators(st: State) -> list[int]:
    """Root-validator players (indices), in player order."""
    return [k for k, r in enumerate(st.roles) if r == "root_validator"]


def validator_stakes(st: State, i: int, w: float) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Stake weights and weight rows of subnet i's validators: [alpha validator, network root,
    root-validator players...]; returns (stake, weights, root-validator player indices)."""
    mech = mechanism_row(int(st.mech[i]))
    rv = root_validators(st)
    net_root = st.root_network + float(st.root[st.root_val == -1].sum())
    stakes = [float(st.alpha[:, i].sum() + st.net_alpha[i]), w * net_root]
    rows = [mech, mech]
    for k in rv:
        seated = not st.no_seat[k, i]
        stakes.append(w * float(st.root[st.root_val == k].sum()) if seated else 0.0)
        rows.append(st.weights[k, i] if st.wset[k, i] else mech)
    return np.array(stakes), np.array(rows), rv


def pay_alpha_holders(st: State, i: int, amount: float) -> None:
    """Pro rata to everyone holding alpha stake on i (players and the network bucket)."""
    if amount <= 0.0:
        return
    held = st.alpha[:, i]
    total = float(held.sum() + st.net_alpha[i])
    if total <= 0.0:
        st.net_alpha[i] += amount
        return
    st.alpha[:, i] += amount * held / total
    st.net_alpha[i] += amount * st.net_alpha[i] / total


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


def run_epoch(st: State, params: Params, rules: frozenset[str],
              sell: Callable[[int, float], float]) -> dict[str, Any]:
    """Pay every active subnet's pending pots. `sell(i, alpha)` sells the external miners' alpha
    through the pool (with the user fee) and returns the TAO they got. Returns the epoch row
    parts: subnet rows and network health."""
    w = params.tao_weight
    rows: list[dict[str, Any]] = []
    work_value = 0.0
    total_value = 0.0
    for i in np.nonzero(st.active)[0]:
        i = int(i)
        p = float(st.tau[i] / st.x[i])
        stakes, W, rv = validator_stakes(st, i, w)
        _, incentive, dshare, trust = yuma_terms(stakes, W, params.kappa)
        ratio = alpha_validator_pay_ratio(stakes, trust)
        if dshare.sum() <= 0.0:
            # nobody stakes at all: there is no consensus, and the subnet's own validator
            # (its holders, else the network) collects what validators are owed
            dshare = np.zeros_like(stakes)
            dshare[0] = 1.0
        miners = float(st.pend_miner[i])
        if incentive.sum() <= 0.0:
            # no miner has incentive: validators take the miners' half too
            pay = np.zeros(3)
            extra = miners
        else:
            pay = miners * incentive
            extra = 0.0
        owner = int(st.owner[i])
        # holders class: pro rata to alpha stake (pro-rata payouts keep everyone's share)
        pay_alpha_holders(st, i, float(pay[1]))
        # validators: the alpha validator's part to alpha holders; root pots among root
        # validators by their dividend share (all root validators' if none earned any)
        root_d = dshare[1:]
        root_total = float(root_d.sum())
        if root_total <= 0.0:
            root_d = stakes[1:] / stakes[1:].sum() if stakes[1:].sum() > 0 else root_d
            root_total = float(root_d.sum())
        # the subnet's own validator: its (1 - rho) part by its agreement; the rest recycled
        pend_val = float(st.pend_val[i])
        kept = pend_val * ratio
        recycled = pend_val - kept
        if recycled > 0.0:
            st.o[i] -= recycled
            st.alpha_issued[i] -= recycled
        alpha_div = kept + extra * float(dshare[0])
        pay_alpha_holders(st, i, alpha_div)
        # the owner's cut and owner-class incentive after the pro-rata payouts, so those use
        # the stake held before this epoch
        if owner >= 0:
            st.alpha[owner, i] += float(st.pend_owner[i]) + float(pay[2])
            st.owner_cut_paid[owner, i] += float(st.pend_owner[i])  # the cut, not incentive
        else:
            st.net_alpha[i] += float(st.pend_owner[i]) + float(pay[2])
        root_alpha = float(st.pend_root_alpha[i]) + extra * float(dshare[1:].sum())
        root_tao = float(st.pend_root_tao[i])
        validators = [-1] + rv
        for j, v in enumerate(validators):
            frac = float(root_d[j]) / root_total if root_total > 0 else 0.0
            if frac <= 0.0:
                continue
            players, outside = root_split(st, v, params.validator_take)
            # booked with the very floats credited, so the totals add up exactly
            alpha_credit = root_alpha * frac * players
            tao_credit = root_tao * frac * players
            st.alpha[:, i] += alpha_credit
            st.root_div_alpha[:, i] += alpha_credit
            st.net_alpha[i] += root_alpha * frac * outside
            st.tao += tao_credit
            st.root_div_tao += tao_credit
            st.tao_outside += root_tao * frac * outside
        if root_total <= 0.0:  # nobody on root any more: the pots leave with the network
            st.net_alpha[i] += root_alpha
            st.tao_outside += root_tao
        # workers: external miners get the alpha and sell part of it each epoch
        workers = float(pay[0])
        st.net_alpha[i] += workers
        if workers > 0.0 and params.miner_sell_fraction > 0.0:
            sell(i, min(workers * params.miner_sell_fraction, float(st.net_alpha[i])))
        if workers > 0.0 and MECHANISMS[int(st.mech[i])] == "ai_work":
            revenue = params.work_revenue_ratio * workers * p
            st.revenue[i] += revenue
            st.tao_external += revenue
        work_value += workers * p
        total_value += float(st.ep_alpha_out[i]) * p
        rows.append({
            "id": int(st.netuid[i]),
            "incentive": {MINER_CLASSES[k]: float(pay[k]) for k in range(3)},
            "alpha_dividends": alpha_div + root_alpha,
            "root_dividends_tao": root_tao,
        })
        for name in ("pend_owner", "pend_miner", "pend_val", "pend_root_alpha",
                     "pend_root_tao", "ep_alpha_out"):
            getattr(st, name)[i] = 0.0
    health = work_value / total_value if total_value > 0 else 0.0
    return {"subnets": rows, "network_health": health, "work_value": work_value,
            "total_value": total_value}

