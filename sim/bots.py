"""Named bot policies: pure functions (observation, rng) -> list of action dicts.

A bot sees what a student sees (the market's public view and its own private view) plus a
short price/share history that the *caller* carries and passes in: policies keep no state of
their own, so a bot's actions at a tick are a function of (observation, rng) only, and replaying
a game reproduces them. `observe()` builds the observation; `update_history()` extends a history
with the newest public view (both pure).

The observation (a plain dict; subnet ids are ints):

    tick, epoch, total_ticks, ticks_per_epoch    the clock (the tick about to be settled)
    player, role                                 this bot's seat
    tao, root_stake                              its free TAO and its own TAO on root
    alpha: {sid: amount}                         its alpha per subnet
    subnet: sid | None                           the subnet it owns (subnet owners)
    revenue: float                               its subnet's outside TAO revenue (owners)
    my_weights: {sid: weights}                   its own weight overrides (absent: it follows)
    subnets: [{id, price, moving_price, share, tao, alpha, alpha_out, mechanism, root_prop,
               owner, incentive: {workers, holders, owner} | None, alpha_dividends | None}]
                                                 incentive/dividends: the last epoch's payout
    history: {"price": {sid: [..]}, "share": {sid: [..]}}   oldest first, current last
    min_stake, stake_fee                         so bots never place a trade the engine refuses
    bot_params: {...}                            the seat's `bot_params` ({} when it has none)

`observe()` reads the fields Game.public_view() and private_view() send, by their names: a view
without one is a KeyError (a test fails), never a bot quietly trading on a default.

Every policy only ever spends TAO it has and sells alpha it holds (amounts are clipped to the
observation's balances, minus a margin for fees), and stays above the minimum stake.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping

import numpy as np

Observation = dict[str, Any]
Action = dict[str, Any]
Policy = Callable[[Observation, np.random.Generator], list[Action]]

HISTORY_LEN = 24          # ticks of price/share history a bot keeps (a few epochs)
MIN_TRADE_TAO = 0.01      # below this a trade is noise next to the fee: skip it
MIN_TRADE_ALPHA = 1e-6


# --- building observations --------------------------------------------------------------------

def _subnet_row(s: Mapping[str, Any]) -> dict[str, Any]:
    """One subnet of Game.public_view() as an observation carries it (docs/architecture.md: the
    fields the simulator sends; a missing one is a KeyError, not a silent default)."""
    inc = s["incentive"]
    return {
        "id": int(s["id"]),
        "price": float(s["price"]),
        "moving_price": float(s["moving_price"]),
        "share": float(s["share"]),
        "tao": float(s["tao"]),
        "alpha": float(s["alpha"]),
        "alpha_out": float(s["alpha_out"]),
        "mechanism": str(s["mechanism"]),
        "root_prop": float(s["root_prop"]),
        "owner": s["owner"],
        "incentive": dict(inc) if inc is not None else None,
        "alpha_dividends": s["alpha_dividends"],
        "revenue": float(s["revenue"]),
    }


def public_rows(public: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The public view's subnet rows as observations carry them, sorted by id. A caller
    observing many bots over one view converts it once and passes the rows to observe()."""
    rows = [_subnet_row(s) for s in public["subnets"]]
    rows.sort(key=lambda r: r["id"])
    return rows


def update_history(history: Mapping[str, Any] | None, public: Mapping[str, Any],
                   maxlen: int = HISTORY_LEN) -> dict[str, dict[int, list[float]]]:
    """A new history with the public view's prices and shares appended (the input is unchanged)."""
    old = history or {}
    out: dict[str, dict[int, list[float]]] = {"price": {}, "share": {}}
    for s in public["subnets"]:
        sid = int(s["id"])
        for key in ("price", "share"):
            prev = list((old.get(key) or {}).get(sid, []))
            prev.append(float(s[key]))
            out[key][sid] = prev[-maxlen:]
    return out


def observe(views: tuple[Mapping[str, Any], Mapping[str, Any]], player_id: str,
            history: Mapping[str, Any] | None = None,
            rows: list[dict[str, Any]] | None = None) -> Observation:
    """The observation of `player_id` from its game's (public_view, private_view). `history` is
    what the caller carried from earlier ticks (see update_history); without it the history
    holds the current point only. `rows`: public_rows() of the same public view, if the caller
    has them (each observation gets its own copies)."""
    public, private = views
    subnets = [dict(r, incentive=dict(r["incentive"]) if r["incentive"] else r["incentive"])
               for r in (public_rows(public) if rows is None else rows)]
    if history is None:
        history = update_history(None, public)
    params = public["params"]
    owned = private["subnet"]
    return {
        "tick": int(public["tick"]),
        "epoch": int(public["epoch"]),
        "total_ticks": int(public["total_ticks"]),
        "ticks_per_epoch": int(public["ticks_per_epoch"]),
        "player": player_id,
        "role": str(private["role"]),
        "tao": float(private["tao"]),
        "root_stake": float(private["root_stake"]),
        "alpha": {int(k): float(v) for k, v in private["alpha"].items()},
        "subnet": int(owned) if owned is not None else None,
        "revenue": float(private["revenue"]),
        "my_weights": {int(k): dict(v) for k, v in private["weights"].items()},
        "subnets": subnets,
        "history": {"price": dict(history.get("price", {})),
                    "share": dict(history.get("share", {}))},
        "min_stake": float(params["min_stake"]),
        "stake_fee": float(params["stake_fee"]),
        "bot_params": dict(private["bot_params"]),
    }


# --- safe action builders ---------------------------------------------------------------------

class _Wallet:
    """Tracks what a policy has already committed this tick, so several orders never overspend."""

    def __init__(self, obs: Observation) -> None:
        self.obs = obs
        self.tao = max(0.0, float(obs.get("tao", 0.0)))
        self.alpha = {int(k): max(0.0, float(v)) for k, v in obs.get("alpha", {}).items()}
        self.revenue = max(0.0, float(obs.get("revenue", 0.0) or 0.0))
        self.min_tao = max(MIN_TRADE_TAO, float(obs.get("min_stake", 0.0005))
                           + float(obs.get("stake_fee", 0.00005)))
        self.actions: list[Action] = []

    def stake(self, sid: int, tao: float) -> None:
        # Leave a hair of TAO unspent: float rounding must never turn into insufficient_tao.
        amount = min(float(tao), self.tao * (1 - 1e-9))
        if not math.isfinite(amount) or amount < self.min_tao:
            return
        self.tao -= amount
        self.actions.append({"player": self.obs["player"], "do": "stake", "subnet": int(sid),
                             "tao": amount})

    def buyback(self, sid: int, tao: float) -> None:
        """An owner's buyback: paid from its subnet's revenue first, then its own TAO."""
        amount = min(float(tao), (self.revenue + self.tao) * (1 - 1e-9))
        if not math.isfinite(amount) or amount < self.min_tao:
            return
        from_revenue = min(amount, self.revenue)
        self.revenue -= from_revenue
        self.tao -= amount - from_revenue
        self.actions.append({"player": self.obs["player"], "do": "buyback", "subnet": int(sid),
                             "tao": amount})

    def unstake(self, sid: int, alpha: float) -> None:
        have = self.alpha.get(int(sid), 0.0)
        amount = min(float(alpha), have)
        if amount >= have * (1 - 1e-12):
            amount = have  # selling "all" sells exactly the balance
        if not math.isfinite(amount) or amount <= MIN_TRADE_ALPHA:
            return
        # Skip dust sales whose proceeds could not cover the fee.
        row = subnet(self.obs, sid)
        if row is not None and amount * row["price"] < self.min_tao:
            return
        self.alpha[int(sid)] = have - amount
        self.actions.append({"player": self.obs["player"], "do": "unstake", "subnet": int(sid),
                             "alpha": amount})

    def add(self, action: Action) -> None:
        self.actions.append({"player": self.obs["player"], **action})


def subnet(obs: Observation, sid: int) -> dict[str, Any] | None:
    rows: list[dict[str, Any]] = obs["subnets"]
    return next((s for s in rows if s["id"] == sid), None)


def _ret(obs: Observation, sid: int, lookback: int) -> float:
    """Relative price change over `lookback` ticks (0 when history is too short)."""
    hist = obs.get("history", {}).get("price", {}).get(sid, [])
    if len(hist) < 2:
        return 0.0
    past = hist[max(0, len(hist) - 1 - lookback)]
    now = hist[-1]
    if past <= 0:
        return 0.0
    return float(now / past - 1.0)


def holder_yield(s: Mapping[str, Any]) -> float:
    """Alpha paid per alpha held, per epoch, as last observed (or estimated from mechanism).

    With the last epoch's payout known: (holders' incentive + alpha stakers' dividends) /
    outstanding alpha. Otherwise the per-block split of docs/mechanism.md: alpha stakers get
    (1 - rho) x 41% of the subnet's alpha, and holders another 41% on a hold_to_earn subnet.
    Relative values are what bots compare, so the estimate's scale does not matter.
    """
    out = max(float(s.get("alpha_out", 0.0)), 1e-9)
    inc = s.get("incentive")
    div = s.get("alpha_dividends")
    if isinstance(inc, Mapping) and div is not None:
        return (float(inc.get("holders", 0.0)) + float(div)) / out
    per_block = (1.0 - float(s.get("root_prop", 0.0))) * 0.41
    if s.get("mechanism") == "hold_to_earn":
        per_block += 0.41
    return per_block / out


# --- policies ---------------------------------------------------------------------------------

def noise_trader(obs: Observation, rng: np.random.Generator) -> list[Action]:
    """Random small trades: liquidity and noise, no view on value."""
    w = _Wallet(obs)
    subs = obs.get("subnets", [])
    if not subs or rng.random() > float(obs["bot_params"].get("activity", 0.3)):
        return []
    held = sorted(sid for sid, a in w.alpha.items() if a > MIN_TRADE_ALPHA)
    if held and rng.random() < 0.4:
        sid = held[int(rng.integers(len(held)))]
        w.unstake(sid, w.alpha[sid] * rng.uniform(0.1, 0.5))
    else:
        s = subs[int(rng.integers(len(subs)))]
        w.stake(s["id"], w.tao * rng.uniform(0.02, 0.1))
    return w.actions


def momentum(obs: Observation, rng: np.random.Generator) -> list[Action]:
    """Chaser: buys what went up over the last few ticks, cuts (halves) what went down."""
    w = _Wallet(obs)
    bp = obs["bot_params"]
    look = int(bp.get("lookback", 3))
    threshold = float(bp.get("threshold", 0.08))
    if rng.random() > float(bp.get("activity", 0.6)):
        return []
    rets = {s["id"]: _ret(obs, s["id"], look) for s in obs.get("subnets", [])}
    for sid, a in sorted(w.alpha.items()):
        if a > 0 and rets.get(sid, 0.0) < -threshold:
            w.unstake(sid, a * float(bp.get("cut", 0.5)))
    if rets:
        best = max(sorted(rets), key=lambda k: rets[k])
        if rets[best] > threshold:
            w.stake(best, w.tao * float(bp.get("bet", 0.25)))
    return w.actions


def yield_chaser(obs: Observation, rng: np.random.Generator) -> list[Action]:
    """Puts its TAO where holding alpha pays most; leaves a subnet whose yield collapsed.

    This is the bot that feeds a hold-to-earn loop (the yield is real while holders are paid)
    and that runs when validators stop paying holders.
    """
    w = _Wallet(obs)
    bp = obs["bot_params"]
    subs = obs.get("subnets", [])
    if not subs or rng.random() > float(bp.get("activity", 0.7)):
        return []
    ylds = {s["id"]: holder_yield(s) for s in subs}
    ranked = sorted(ylds, key=lambda k: (-ylds[k], k))
    best = ranked[0]
    median = max(float(np.median(list(ylds.values()))), 1e-18)
    # Hold only while a subnet pays a premium over the market's typical yield: once its
    # holders stop being paid (a rescue, a mechanism change) the premium is gone, and so is
    # the bot.
    for sid, a in sorted(w.alpha.items()):
        if a > 0 and ylds.get(sid, 0.0) < float(bp.get("exit_edge", 1.2)) * median:
            w.unstake(sid, a)
    if ylds[best] > float(bp.get("edge", 1.5)) * median:
        w.stake(best, w.tao * float(bp.get("bet", 0.3)))
    return w.actions


def whale(obs: Observation, rng: np.random.Generator) -> list[Action]:
    """Rare, large trades: a big buy into a strong subnet, later a full exit."""
    w = _Wallet(obs)
    bp = obs["bot_params"]
    subs = obs.get("subnets", [])
    if not subs:
        return []
    held = [sid for sid, a in sorted(w.alpha.items()) if a > MIN_TRADE_ALPHA]
    if held:
        if rng.random() < float(bp.get("exit_rate", 0.08)):
            for sid in held:
                w.unstake(sid, w.alpha[sid])
    elif rng.random() < float(bp.get("entry_rate", 0.1)):
        # The largest moving price = the largest emission share: the "blue chip".
        top = sorted(subs, key=lambda s: (-s["moving_price"], s["id"]))[:3]
        s = top[int(rng.integers(len(top)))]
        w.stake(s["id"], w.tao * float(bp.get("bet", 0.5)))
    return w.actions


def early_exiter(obs: Observation, rng: np.random.Generator) -> list[Action]:
    """Buys at the start of the game, sells everything once up enough or past its horizon."""
    w = _Wallet(obs)
    bp = obs["bot_params"]
    subs = obs.get("subnets", [])
    if not subs:
        return []
    total = max(int(obs.get("total_ticks", 0)), 1)
    tick = int(obs.get("tick", 0))
    entry_until = int(bp.get("entry_ticks", max(1, total // 10)))
    exit_at = int(bp.get("exit_tick", max(entry_until + 1, total // 3)))
    take_profit = float(bp.get("take_profit", 0.3))
    held = [sid for sid, a in sorted(w.alpha.items()) if a > MIN_TRADE_ALPHA]
    if tick < entry_until:
        if not held:
            picks = rng.choice(len(subs), size=min(2, len(subs)), replace=False)
            for i in sorted(int(x) for x in picks):
                w.stake(subs[i]["id"], float(obs["tao"]) * 0.4)
        return w.actions
    for sid in held:
        hist = obs.get("history", {}).get("price", {}).get(sid, [])
        up = hist and hist[0] > 0 and hist[-1] / hist[0] - 1.0 >= take_profit
        if tick >= exit_at or up:
            w.unstake(sid, w.alpha[sid])
    return w.actions


def _same_weights(a: Mapping[str, float] | None, b: Mapping[str, float] | None) -> bool:
    """Equal as validator weight rows: None (follow) only equals None; rows compare normalised
    ({"workers": 1} is {"workers": 2, "holders": 0})."""
    if a is None or b is None:
        return a is None and b is None
    ta, tb = sum(a.values()), sum(b.values())
    if ta <= 0 or tb <= 0:
        return ta <= 0 and tb <= 0
    keys = set(a) | set(b)
    return all(abs(a.get(k, 0.0) / ta - b.get(k, 0.0) / tb) < 1e-9 for k in keys)


def diligent_root(obs: Observation, rng: np.random.Generator) -> list[Action]:
    """Root validator that runs "custom validator code": on any subnet whose mechanism is not AI
    work it pays the workers; elsewhere it follows the subnet's own mechanism."""
    w = _Wallet(obs)
    known = obs["my_weights"]
    for s in obs["subnets"]:
        want = None if s["mechanism"] == "ai_work" else {"workers": 1.0}
        # Only send what changes: a set_weights every tick would flood the trade log.
        if not _same_weights(known.get(s["id"]), want):
            w.add({"do": "set_weights", "subnet": s["id"], "weights": want})
    return w.actions


def meme_owner(obs: Observation, rng: np.random.Generator) -> list[Action]:
    """Owner who turns its subnet into hold-to-earn (the SN28 play) and keeps buying back —
    until the last epoch paid its holders nothing while hold-to-earn (validators overruled the
    mechanism): then the game is up, and it cashes out its alpha a slice per tick."""
    w = _Wallet(obs)
    sid: int | None = obs["subnet"]
    bp = obs["bot_params"]
    row = subnet(obs, sid) if sid is not None else None
    if sid is None or row is None or int(obs["epoch"]) < int(bp.get("switch_epoch", 0)):
        return []
    if row["mechanism"] != "hold_to_earn":
        w.add({"do": "set_mechanism", "subnet": sid, "mechanism": "hold_to_earn"})
    inc = row.get("incentive")
    overruled = isinstance(inc, Mapping) and sum(inc.values()) > 0 and inc.get("holders", 0) <= 0
    if overruled:
        w.unstake(sid, w.alpha.get(sid, 0.0) * float(bp.get("cash_out", 0.3)))
    else:
        w.buyback(sid, w.tao * float(bp.get("buyback", 0.15)))
    return w.actions


def ai_owner(obs: Observation, rng: np.random.Generator) -> list[Action]:
    """Honest owner: keeps its subnet on AI work, spends outside revenue on buybacks, and now and
    then sells a little owner alpha to pay the bills."""
    w = _Wallet(obs)
    sid: int | None = obs["subnet"]
    row = subnet(obs, sid) if sid is not None else None
    if sid is None or row is None:
        return []
    if row["mechanism"] != "ai_work":
        w.add({"do": "set_mechanism", "subnet": sid, "mechanism": "ai_work"})
    if w.revenue > 0:
        w.buyback(sid, w.revenue)
    if rng.random() < 0.1 and w.alpha.get(sid, 0.0) > 0:
        w.unstake(sid, w.alpha[sid] * 0.1)
    return w.actions


def steady_staker(obs: Observation, rng: np.random.Generator) -> list[Action]:
    """Puts a little TAO into AI-work subnets tick after tick and never sells: the patient
    money that backs useful subnets (picks in proportion to outside revenue when known)."""
    w = _Wallet(obs)
    bp = obs["bot_params"]
    work = [s for s in obs.get("subnets", []) if s["mechanism"] == "ai_work"]
    if not work or rng.random() > float(bp.get("activity", 0.5)):
        return []
    rev = np.array([max(float(s.get("revenue", 0.0) or 0.0), 0.0) for s in work])
    p = rev / rev.sum() if rev.sum() > 0 else np.full(len(work), 1.0 / len(work))
    pick = work[int(rng.choice(len(work), p=p))]
    # A fixed amount per purchase ("amount") keeps the flow steady to the end of the game; a
    # fraction ("bet") tapers off as the wallet empties.
    amount = float(bp["amount"]) if "amount" in bp else w.tao * float(bp.get("bet", 0.03))
    w.stake(pick["id"], amount)
    return w.actions


def holder(obs: Observation, rng: np.random.Generator) -> list[Action]:
    """Does nothing: a seat that keeps its starting position (a control group)."""
    return []


POLICIES: dict[str, Policy] = {
    "noise_trader": noise_trader,
    "momentum": momentum,
    "yield_chaser": yield_chaser,
    "whale": whale,
    "early_exiter": early_exiter,
    "diligent_root": diligent_root,
    "meme_owner": meme_owner,
    "ai_owner": ai_owner,
    "steady_staker": steady_staker,
    "holder": holder,
}
# "chaser" is the design's name for the momentum bot.
POLICIES["chaser"] = momentum


def act(policy: str, obs: Observation, rng: np.random.Generator) -> list[Action]:
    """Run a named policy; an unknown name is a programming error (scenarios are validated)."""
    return POLICIES[policy](obs, rng)
