"""Player actions: apply_action(state, action, ...) -> fill dict.

Every action is validated completely before anything changes, so a rejected action leaves the
state untouched (tests/sim/test_invariants.py checks the digest). Swap rules follow
staking/stake_utils.rs: minimum stake, reserve floor, flat or percent fee kept in the pool;
a move is an unstake then a stake.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from sim import swap
from sim.invariants import check_k
from sim.params import MECHANISMS, MINER_CLASSES, ROLES, Params
from sim.state import State

# Stable rejection reason codes (docs/architecture.md). Clients may switch on these strings.
REASONS: tuple[str, ...] = (
    "insufficient_tao",  # not enough TAO (balance, or revenue + balance for a buyback)
    "insufficient_alpha",  # not enough alpha staked on that subnet
    "insufficient_root",  # not enough root stake to unstake
    "below_minimum",  # below the minimum stake (0.0005 TAO), or nothing left after the fee
    "reserve_floor",  # the swap would leave less than 0.01 in a reserve
    "limit_not_met",  # the limit price allows less than the minimum
    "unknown_subnet",
    "unknown_player",
    "unknown_validator",  # root validator named is not a root-validator player
    "validator_mismatch",  # root stake already sits with another validator
    "not_owner",  # only the subnet's owner may do this
    "not_root_validator",  # only root-validator players set weights
    "not_instructor",  # only the instructor drives events
    "bad_weights",
    "bad_mechanism",
    "bad_role",
    "invalid_amount",  # not a finite positive number, or absurdly large
    "missing_field",
    "same_subnet",  # a move needs two different subnets
    "subnet_limit",  # no room for another subnet (and nothing prunable)
    "registration_closed",  # the game forbids registering subnets (`registration_open` 0)
    "subnet_taken",  # the subnet already has an owner
    "player_exists",  # join with an id already in the game
    "unknown_event",
    "bad_op",
    "event_closed",  # event already fired or skipped
    "unknown_action",
)

MAX_AMOUNT = 1e12  # more than all TAO that will ever exist: anything larger is a typo or attack
_EPS = 1e-12  # relative slack when a player sells "all" of a float balance


class Rejected(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _amount(action: dict[str, Any], key: str, *, allow_zero: bool = False) -> float:
    if key not in action:
        raise Rejected("missing_field")
    v = action[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise Rejected("invalid_amount")
    v = float(v)
    if not math.isfinite(v) or v < 0.0 or v > MAX_AMOUNT or (v == 0.0 and not allow_zero):
        raise Rejected("invalid_amount")
    return v


def _limit(action: dict[str, Any]) -> float | None:
    if action.get("limit_price") is None:
        return None
    return _amount(action, "limit_price")


def _player(st: State, action: dict[str, Any]) -> int:
    k = st.player_index(action.get("player"))
    if k is None:
        raise Rejected("unknown_player")
    return k


def _subnet(st: State, action: dict[str, Any], key: str = "subnet") -> int:
    if key not in action:
        raise Rejected("missing_field")
    i = st.subnet_index(action[key])
    if i is None:
        raise Rejected("unknown_subnet")
    return i


def _price(st: State, i: int) -> float:
    return float(st.tau[i] / st.x[i])


# ---- swap plans (pure: nothing changes until commit) -----------------------------------------
def plan_stake(st: State, params: Params, rules: frozenset[str], i: int, tao: float,
               limit: float | None, fee_scale: float = 1.0) -> tuple[float, swap.SwapResult]:
    """(TAO actually spent, swap) for buying alpha on i; raises Rejected. `fee_scale`: the
    share of the fee this swap pays (a move's legs, `move_half_fee` / `move_one_fee`)."""
    tau, x = float(st.tau[i]), float(st.x[i])
    if limit is not None:
        cap = swap.max_buy_for_limit(tau, x, limit)
        if cap < tao:
            if cap < params.min_stake:
                raise Rejected("limit_not_met")
            tao = cap
    if tao < params.min_stake:
        raise Rejected("below_minimum")
    rate = params.percent_fee_rate if "percent_fee" in rules else None
    fee = swap.fee_for(tao, params.stake_fee, rate) * fee_scale
    if tao <= fee:
        raise Rejected("below_minimum")
    res = swap.stake(tau, x, tao, fee, fee_out=rate is not None and "percent_fee_out" in rules)
    if res.alpha < params.reserve_floor or res.tao < params.reserve_floor:
        raise Rejected("reserve_floor")
    if res.out <= 0.0:
        raise Rejected("below_minimum")
    return tao, res


def plan_unstake(st: State, params: Params, rules: frozenset[str], i: int, alpha: float,
                 limit: float | None, fee_scale: float = 1.0) -> tuple[float, swap.SwapResult]:
    """(alpha actually sold, swap) for selling alpha on i; raises Rejected."""
    tau, x = float(st.tau[i]), float(st.x[i])
    if limit is not None:
        cap = swap.max_sell_for_limit(tau, x, limit)
        if cap < alpha:
            if cap <= 0.0 or tau * cap / (x + cap) < params.min_stake:
                raise Rejected("limit_not_met")
            alpha = cap
    res = unstake_swap(tau, x, alpha, params, rules, fee_scale)
    below_minimum, below_floor = unstake_refusals(res, params)
    if below_minimum:
        raise Rejected("below_minimum")
    if below_floor:
        raise Rejected("reserve_floor")
    return alpha, res


def unstake_swap(tau: float, x: float, alpha: float, params: Params, rules: frozenset[str],
                 fee_scale: float = 1.0) -> swap.SwapResult:
    """Selling `alpha` into the pool (tau, x) with the rules' fee: flat TAO, or a share of the
    alpha under `percent_fee`. Plain arithmetic, so numpy arrays go through it elementwise
    (sim/liquidation.py values every position at once with it)."""
    if "percent_fee" in rules:
        return swap.unstake_percent(tau, x, alpha, alpha * params.percent_fee_rate * fee_scale,
                                    fee_out="percent_fee_out" in rules)
    return swap.unstake_flat(tau, x, alpha, params.stake_fee * fee_scale)


def unstake_refusals(res: swap.SwapResult, params: Params) -> tuple[bool, bool]:
    """Why the chain refuses an unstake swap: (below_minimum: under the minimum stake or
    nothing after the fee, reserve_floor: a TAO reserve left under the floor). Elementwise on
    numpy arrays too."""
    return ((res.gross < params.min_stake) | (res.out <= 0.0),
            res.tao < params.reserve_floor)


def _held_alpha(st: State, k: int, i: int, alpha: float) -> float:
    held = float(st.alpha[k, i])
    if alpha > held * (1.0 + _EPS):
        raise Rejected("insufficient_alpha")
    return min(alpha, held)


def _commit_stake(st: State, i: int, res: swap.SwapResult) -> None:
    k_before = float(st.tau[i] * st.x[i])
    st.tau[i], st.x[i] = res.tao, res.alpha
    st.o[i] += res.out
    st.tao_outside += res.removed  # `percent_fee_out`: the fee leaves the pool and the game
    check_k(k_before, res.tao * res.alpha)


def _commit_unstake(st: State, i: int, alpha: float, res: swap.SwapResult) -> None:
    k_before = float(st.tau[i] * st.x[i])
    st.tau[i], st.x[i] = res.tao, res.alpha
    st.o[i] -= alpha
    st.alpha_issued[i] -= res.removed  # `percent_fee_out`: the alpha fee leaves circulation
    check_k(k_before, res.tao * res.alpha)


def move_fee_scales(rules: frozenset[str]) -> tuple[float, float]:
    """Share of the fee a move's unstake and stake legs pay: the whole fee on each (default),
    half on each (`move_half_fee`, launch chain: move_stake.rs fee = DefaultStakingFee / 2,
    f9254ea63 2025-02-15), or the whole fee on the unstake only (`move_one_fee`: the stake
    leg drops its fee, 33e15d99b "Fix double fees" 2025-07-01)."""
    if "move_one_fee" in rules:
        return 1.0, 0.0
    if "move_half_fee" in rules:
        return 0.5, 0.5
    return 1.0, 1.0


# ---- the actions --------------------------------------------------------------------------
def _do_stake(st: State, params: Params, rules: frozenset[str], a: dict[str, Any],
              fill: dict[str, Any]) -> None:
    k, i = _player(st, a), _subnet(st, a)
    tao = _amount(a, "tao")
    limit = _limit(a)
    fill["price_before"] = _price(st, i)
    if tao > st.tao[k]:
        raise Rejected("insufficient_tao")
    spent, res = plan_stake(st, params, rules, i, tao, limit)
    _commit_stake(st, i, res)
    st.tao[k] -= spent
    st.alpha[k, i] += res.out
    st.flow[i] += spent  # `tao_flow`: user TAO staked
    fill.update(tao=spent, alpha=res.out, fee=res.fee, price_after=_price(st, i))


def _do_unstake(st: State, params: Params, rules: frozenset[str], a: dict[str, Any],
                fill: dict[str, Any]) -> None:
    k, i = _player(st, a), _subnet(st, a)
    alpha = _held_alpha(st, k, i, _amount(a, "alpha"))
    limit = _limit(a)
    fill["price_before"] = _price(st, i)
    sold, res = plan_unstake(st, params, rules, i, alpha, limit)
    _commit_unstake(st, i, sold, res)
    st.alpha[k, i] -= sold
    st.tao[k] += res.out
    st.flow[i] -= res.gross  # `tao_flow`: user TAO unstaked
    fill.update(tao=res.out, alpha=sold, fee=res.fee, price_after=_price(st, i))


def _do_move(st: State, params: Params, rules: frozenset[str], a: dict[str, Any],
             fill: dict[str, Any]) -> None:
    k = _player(st, a)
    i, j = _subnet(st, a, "from"), _subnet(st, a, "to")
    if i == j:
        raise Rejected("same_subnet")
    alpha = _held_alpha(st, k, i, _amount(a, "alpha"))
    fill["price_before"] = _price(st, i)
    to_price_before = _price(st, j)
    # chain: move = unstake then stake (two swaps; the fee per leg: move_fee_scales); alpha
    # never trades for alpha
    f_out, f_in = move_fee_scales(rules)
    sold, out = plan_unstake(st, params, rules, i, alpha, None, f_out)
    spent, back = plan_stake(st, params, rules, j, out.out, None, f_in)
    _commit_unstake(st, i, sold, out)
    _commit_stake(st, j, back)
    st.alpha[k, i] -= sold
    st.alpha[k, j] += back.out
    st.flow[i] -= out.gross
    st.flow[j] += spent
    fill.update(tao=out.out, alpha=sold, alpha_received=back.out, fee=out.fee + back.fee,
                price_after=_price(st, i), to_price_before=to_price_before,
                to_price_after=_price(st, j))


def _root_validator_of(st: State, k: int, a: dict[str, Any]) -> int:
    """-1 for the network's validator, else a root-validator player's index. A root-validator
    player's own stake sits with itself by default."""
    v = a.get("validator")
    if v is None or v == "network":
        return k if st.roles[k] == "root_validator" else -1
    idx = st.player_index(v)
    if idx is None or st.roles[idx] != "root_validator":
        raise Rejected("unknown_validator")
    return idx


def _do_root_stake(st: State, params: Params, rules: frozenset[str], a: dict[str, Any],
                   fill: dict[str, Any]) -> None:
    k = _player(st, a)
    tao = _amount(a, "tao")
    v = _root_validator_of(st, k, a)
    if tao > st.tao[k]:
        raise Rejected("insufficient_tao")
    if tao < params.min_stake:
        raise Rejected("below_minimum")
    if st.root[k] > 0.0 and int(st.root_val[k]) != v:
        raise Rejected("validator_mismatch")
    # root (subnet 0) converts 1:1, no pool
    st.tao[k] -= tao
    st.root[k] += tao
    st.root_val[k] = v
    fill.update(tao=tao, alpha=0.0, price_before=1.0, price_after=1.0, fee=0.0)


def _do_root_unstake(st: State, params: Params, rules: frozenset[str], a: dict[str, Any],
                     fill: dict[str, Any]) -> None:
    k = _player(st, a)
    tao = _amount(a, "tao")
    if "validator" in a and a["validator"] is not None:
        if _root_validator_of(st, k, a) != int(st.root_val[k]):
            raise Rejected("validator_mismatch")
    held = float(st.root[k])
    if tao > held * (1.0 + _EPS):
        raise Rejected("insufficient_root")
    tao = min(tao, held)
    st.root[k] -= tao
    st.tao[k] += tao
    fill.update(tao=tao, alpha=0.0, price_before=1.0, price_after=1.0, fee=0.0)


def _do_set_weights(st: State, params: Params, rules: frozenset[str], a: dict[str, Any],
                    fill: dict[str, Any]) -> None:
    k, i = _player(st, a), _subnet(st, a)
    if st.roles[k] != "root_validator":
        raise Rejected("not_root_validator")
    if "weights" not in a:
        raise Rejected("missing_field")
    weights = a["weights"]
    if weights is None:  # follow the subnet's mechanism again
        st.wset[k, i] = False
        st.weights[k, i] = 0.0
        return
    if not isinstance(weights, dict):
        raise Rejected("bad_weights")
    row = np.zeros(len(MINER_CLASSES))
    for name, value in weights.items():
        if name not in MINER_CLASSES or isinstance(value, bool) or not isinstance(
                value, (int, float)):
            raise Rejected("bad_weights")
        value = float(value)
        if not math.isfinite(value) or value < 0.0 or value > MAX_AMOUNT:
            raise Rejected("bad_weights")
        row[MINER_CLASSES.index(name)] = value
    # All zero ({} included) is "pay no one" (custom validator code that rewards no miner): its
    # stake then pulls every column's consensus towards zero (sim/epoch.py yuma).
    total = row.sum()
    st.weights[k, i] = row / total if total > 0.0 else row
    st.wset[k, i] = True


def _do_root_register(st: State, params: Params, rules: frozenset[str], a: dict[str, Any],
                      fill: dict[str, Any]) -> None:
    """A root-validator player takes a seat (a UID) on a subnet: its root stake (own and
    nominated) counts in that subnet's consensus and earns its dividends there (sim/epoch.py)."""
    k, i = _player(st, a), _subnet(st, a)
    if st.roles[k] != "root_validator":
        raise Rejected("not_root_validator")
    st.no_seat[k, i] = False


def _do_root_deregister(st: State, params: Params, rules: frozenset[str], a: dict[str, Any],
                        fill: dict[str, Any]) -> None:
    """A root-validator player gives up its seat on a subnet: its root stake no longer counts
    there (no vote, no dividends from that subnet)."""
    k, i = _player(st, a), _subnet(st, a)
    if st.roles[k] != "root_validator":
        raise Rejected("not_root_validator")
    st.no_seat[k, i] = True


def _owner_of(st: State, k: int, i: int) -> None:
    if int(st.owner[i]) != k:
        raise Rejected("not_owner")


def _do_set_mechanism(st: State, params: Params, rules: frozenset[str], a: dict[str, Any],
                      fill: dict[str, Any]) -> None:
    k, i = _player(st, a), _subnet(st, a)
    _owner_of(st, k, i)
    mech = a.get("mechanism")
    if mech not in MECHANISMS:
        raise Rejected("bad_mechanism")
    st.mech[i] = MECHANISMS.index(mech)


def _do_set_miner_burn(st: State, params: Params, rules: frozenset[str], a: dict[str, Any],
                       fill: dict[str, Any]) -> None:
    """`owner_burn`: the owner directs `fraction` (0..1) of its miners' emission to its own
    burn UID, where it is recycled (chain: run_coinbase.rs distribute_dividends_and_incentives
    recycles or burns owner-hotkey incentive; MinerBurned records the share, 5c1b38081
    2026-06-22). Without the rule the setting is kept but burns nothing."""
    k, i = _player(st, a), _subnet(st, a)
    _owner_of(st, k, i)
    fraction = _amount(a, "fraction", allow_zero=True)
    if fraction > 1.0:
        raise Rejected("invalid_amount")
    st.miner_burn[i] = fraction
    fill.update(fraction=fraction)


def _do_buyback(st: State, params: Params, rules: frozenset[str], a: dict[str, Any],
                fill: dict[str, Any]) -> None:
    """The owner buys its own alpha, paying from subnet revenue first, then its own TAO. The
    alpha bought is staked to the owner (it stays in circulation; nothing is burned), so a
    buyback is a price-support trade the owner profits from if the price holds."""
    k, i = _player(st, a), _subnet(st, a)
    _owner_of(st, k, i)
    tao = _amount(a, "tao")
    limit = _limit(a)
    fill["price_before"] = _price(st, i)
    if tao > st.revenue[i] + st.tao[k]:
        raise Rejected("insufficient_tao")
    spent, res = plan_stake(st, params, rules, i, tao, limit)
    from_revenue = min(spent, float(st.revenue[i]))
    _commit_stake(st, i, res)
    st.revenue[i] -= from_revenue
    st.tao[k] -= spent - from_revenue
    st.alpha[k, i] += res.out
    st.flow[i] += spent
    fill.update(tao=spent, alpha=res.out, fee=res.fee, from_revenue=from_revenue,
                price_after=_price(st, i))


def lock_cost(st: State, params: Params) -> float:
    """Lock cost now: doubles with each registration and decays linearly back over
    `lock_interval` blocks (subnets/subnet.rs get_network_lock_cost), never below the minimum."""
    decay = st.lock_last * (st.block - st.lock_block) / params.lock_interval
    return max(params.lock_min, 2.0 * st.lock_last - decay)


def prune_candidate(st: State, params: Params) -> int | None:
    """Lowest moving price among active subnets past their immunity; on a tie the earliest
    registered goes, as on chain (coinbase/root.rs `get_network_to_prune`: "If tie on price,
    earliest registration wins"), then the lowest id (the chain's map order; a tie on both is
    only possible between subnets of the scenario)."""
    ok = st.active & ((st.block - st.reg_block) >= params.immunity_blocks)
    idx = np.nonzero(ok)[0]
    if idx.size == 0:
        return None
    order = sorted(idx, key=lambda i: (float(st.m[i]), int(st.reg_block[i]), int(st.netuid[i])))
    return int(order[0])


def prune(st: State, i: int) -> None:
    """Remove subnet i. Holders (players and the network bucket) share the pool's TAO pro rata
    to their alpha: that is their alpha's TAO value at deregistration. The pending pots' alpha
    dies with the subnet; the root TAO pot goes to root stakers by stake; revenue to the owner."""
    held = st.alpha[:, i]
    total = float(held.sum() + st.net_alpha[i])
    tau = float(st.tau[i])
    if total > 0:
        st.tao += tau * held / total
        st.tao_outside += tau * float(st.net_alpha[i]) / total
    else:
        st.tao_outside += tau
    root_pot = float(st.pend_root_tao[i])
    R = st.root_total()
    if R > 0:
        credit = root_pot * st.root / R  # root dividends: booked as they are credited
        st.tao += credit
        st.root_div_tao += credit
        st.tao_outside += root_pot * st.root_network / R
    else:
        st.tao_outside += root_pot
    owner = int(st.owner[i])
    if owner >= 0:
        st.tao[owner] += st.revenue[i]
    else:
        st.tao_outside += st.revenue[i]
    for name in ("tau", "x", "o", "net_alpha", "pend_owner", "pend_miner", "pend_val",
                 "pend_root_alpha", "pend_root_tao", "revenue", "alpha_issued", "m", "S",
                 "flow", "ep_alpha_out", "tick_tao_in", "tick_alpha_in", "miner_burn",
                 "S_proto"):
        getattr(st, name)[i] = 0.0
    st.alpha[:, i] = 0.0
    st.wset[:, i] = False
    st.active[i] = False
    st.emitting[i] = False


def _do_register_subnet(st: State, params: Params, rules: frozenset[str], a: dict[str, Any],
                        fill: dict[str, Any]) -> None:
    k = _player(st, a)
    mech = a.get("mechanism", "ai_work")
    if mech not in MECHANISMS:
        raise Rejected("bad_mechanism")
    name = a.get("name")
    if name is not None and not isinstance(name, str):
        raise Rejected("missing_field")
    if not params.registration_open:
        raise Rejected("registration_closed")
    cost = lock_cost(st, params)
    if cost > st.tao[k]:
        raise Rejected("insufficient_tao")
    victim = None
    if int(st.active.sum()) >= params.subnet_limit:
        if "pruning" not in rules:
            raise Rejected("subnet_limit")
        victim = prune_candidate(st, params)
        if victim is None:
            raise Rejected("subnet_limit")
    if victim is not None:
        fill["pruned"] = int(st.netuid[victim])
        prune(st, victim)
    seed, alpha = _opening_pool(st, rules, params, cost)
    burned = cost - seed  # launch: the lock beyond the pool seed is burned, lowering issuance
    st.tao[k] -= cost
    st.tao_burned += burned
    st.tao_issued -= burned
    st.lock_last, st.lock_block = cost, st.block
    netuid = st.next_netuid
    i = st.add_subnet(netuid=netuid, name=name or f"Subnet {netuid}", tau=seed, x=alpha, o=0.0,
                      m=0.0, mech=MECHANISMS.index(mech), age=0, owner=k, reg_block=st.block)
    fill.update(subnet=netuid, tao=cost, alpha=0.0, burned=burned, price_before=seed / alpha,
                price_after=_price(st, i))


def _opening_pool(st: State, rules: frozenset[str], params: Params,
                  cost: float) -> tuple[float, float]:
    """(TAO, alpha) a new subnet's pool opens with. launch: pool_seed of each (price 1), the
    rest of the lock burned. `lock_in_pool` (subnets/subnet.rs `do_register_network`, 2026-04):
    the whole lock stays in the pool as TAO, the alpha reserve sized at the median spot price
    of the active subnets, so a new subnet opens at the market's middle price, not at 1."""
    if "lock_in_pool" not in rules:
        seed = min(params.pool_seed, cost)
        return seed, seed
    tao = max(cost, params.lock_min)
    live = np.nonzero(st.active)[0]
    median = float(np.median(st.tau[live] / st.x[live])) if live.size else 1.0
    return tao, tao / median if median > 0 else tao


def _do_join(st: State, params: Params, rules: frozenset[str], a: dict[str, Any],
             fill: dict[str, Any]) -> None:
    pid = a.get("player")
    if not isinstance(pid, str) or not pid or pid == "instructor":
        raise Rejected("unknown_player")
    if st.player_index(pid) is not None:
        raise Rejected("player_exists")
    role = a.get("role", "speculator")
    if role not in ROLES or role == "instructor":
        raise Rejected("bad_role")
    tao = _amount(a, "tao", allow_zero=True) if "tao" in a else 0.0
    root = _amount(a, "root_stake", allow_zero=True) if a.get("root_stake") is not None else 0.0
    bot = a.get("bot")
    if bot is not None and not isinstance(bot, str):
        raise Rejected("bad_role")
    if a.get("bot_params") is not None and not isinstance(a.get("bot_params"), dict):
        raise Rejected("bad_role")
    owned = None
    if a.get("subnet") is not None:
        owned = _subnet(st, a)
        if role != "subnet_owner":
            raise Rejected("bad_role")
        if int(st.owner[owned]) >= 0:
            raise Rejected("subnet_taken")
    k = st.add_player(pid=pid, role=role, tao=tao, bot=bot)
    st.root[k] = root
    st.root_val[k] = k if role == "root_validator" else -1
    st.contributed[k] = tao + root
    if owned is not None:
        st.owner[owned] = k
    st.tao_external += tao + root  # a late joiner brings TAO from outside the game
    fill.update(tao=tao, alpha=0.0)


HANDLERS = {
    "stake": _do_stake,
    "unstake": _do_unstake,
    "move": _do_move,
    "root_stake": _do_root_stake,
    "root_unstake": _do_root_unstake,
    "set_weights": _do_set_weights,
    "root_register": _do_root_register,
    "root_deregister": _do_root_deregister,
    "set_mechanism": _do_set_mechanism,
    "buyback": _do_buyback,
    "set_miner_burn": _do_set_miner_burn,
    "register_subnet": _do_register_subnet,
    "join": _do_join,
}


def new_fill(action: dict[str, Any], tick: int) -> dict[str, Any]:
    fill: dict[str, Any] = {k: v for k, v in action.items() if k != "tick"}
    fill.update(tick=tick, player=action.get("player"), do=action.get("do"), tao=0.0,
                alpha=0.0, price_before=0.0, price_after=0.0)
    return fill


def apply_action(st: State, action: dict[str, Any], *, params: Params,
                 rules: frozenset[str], tick: int) -> dict[str, Any]:
    """Apply one action; returns its fill. A rejection changes nothing."""
    fill = new_fill(action if isinstance(action, dict) else {}, tick)
    try:
        if not isinstance(action, dict):
            raise Rejected("unknown_action")
        handler = HANDLERS.get(action.get("do"))  # type: ignore[arg-type]
        if handler is None:
            raise Rejected("unknown_action")
        handler(st, params, rules, action, fill)
    except Rejected as r:
        fill.update(tao=0.0, alpha=0.0, status="rejected", reason=r.reason)
        fill["price_after"] = fill["price_before"]
        for extra in ("fee", "alpha_received", "to_price_before", "to_price_after",
                      "from_revenue", "burned", "pruned"):
            fill.pop(extra, None)
        return fill
    fill["status"] = "filled"
    return fill
