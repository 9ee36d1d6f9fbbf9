"""Property tests: random play never breaks an invariant; fee-free round trips return the stake;
a rejected action changes nothing."""
from __future__ import annotations

import math

import numpy as np
import pytest
from _helpers import classroom
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from sim import Game, InvariantError
from sim.actions import REASONS, apply_action
from sim.invariants import check_all, check_k
from sim.params import MECHANISMS, RULE_SETS as HISTORICAL, Params

PLAYERS = ["alice", "bob", "otf", "ghost"]
SUBNETS = [1, 2, 3, 4, 99]
RULE_SETS = [["launch"], ["launch", "chain_buys", "percent_fee"],
             ["launch", "tao_flow", "root_claim_keep"], ["launch", "ema_age_ramp", "pruning"]]
# the chain's later rule sets (fee out of the pool, recycling, owner burn, 2026 injection cap)
RULE_SETS += [list(rules) for _label, _date, rules in HISTORICAL[2:]]

amounts = st.one_of(
    st.floats(min_value=0.001, max_value=300.0),
    st.floats(min_value=0.001, max_value=50.0),
    st.floats(min_value=1e-6, max_value=2000.0),
    st.sampled_from([0.0, -1.0, math.nan, math.inf, -math.inf, 1e300, 0.0004, 0.0005]),
)
fractions = st.floats(min_value=0.0, max_value=1.2)

raw_action = st.fixed_dictionaries({
    "do": st.sampled_from(["stake", "unstake", "move", "root_stake", "root_unstake",
                           "set_weights", "set_mechanism", "buyback", "register_subnet",
                           "join", "set_miner_burn", "bogus"]),
    "player": st.sampled_from(PLAYERS[:3] * 3 + PLAYERS[3:]),
    "subnet": st.sampled_from(SUBNETS),
    "to": st.sampled_from(SUBNETS),
    "amount": amounts,
    "frac": fractions,
    "limit": st.one_of(st.none(), st.floats(min_value=0.001, max_value=2.0)),
    "weights": st.one_of(st.none(), st.dictionaries(
        st.sampled_from(["workers", "holders", "owner", "bogus"]),
        st.floats(min_value=-1.0, max_value=3.0), max_size=3)),
    "mechanism": st.sampled_from(list(MECHANISMS) + ["nope"]),
    "n": st.integers(min_value=0, max_value=10**6),
})


def concrete(g: Game, r: dict) -> dict:
    """An action dict from drawn ingredients, sized against the current state where that makes
    it likely to be accepted (fractions of what the player holds)."""
    s = g.st
    k = s.player_index(r["player"])
    i = s.subnet_index(r["subnet"])
    do = r["do"]
    a: dict = {"do": do, "player": r["player"]}
    if do in ("stake", "buyback"):
        a.update(subnet=r["subnet"], tao=r["amount"])
    elif do in ("unstake", "move"):
        held = float(s.alpha[k, i]) if k is not None and i is not None else 0.0
        amt = held * r["frac"] if held > 0 and r["frac"] > 0.05 else r["amount"]
        if do == "unstake":
            a.update(subnet=r["subnet"], alpha=amt)
        else:
            a.update({"from": r["subnet"], "to": r["to"], "alpha": amt})
    elif do == "root_stake":
        a.update(tao=r["amount"])
        if r["frac"] > 0.6:
            a["validator"] = "otf"
    elif do == "root_unstake":
        held = float(s.root[k]) if k is not None else 0.0
        a.update(tao=held * min(r["frac"], 1.0) if held > 0 and r["frac"] > 0.05
                 else r["amount"])
    elif do == "set_weights":
        a.update(subnet=r["subnet"], weights=r["weights"])
    elif do == "set_mechanism":
        a.update(subnet=r["subnet"], mechanism=r["mechanism"])
    elif do == "set_miner_burn":
        a.update(subnet=r["subnet"], fraction=r["frac"])
    elif do == "join":
        a.update(player=f"late{r['n'] % 5}", role="speculator", tao=r["amount"])
    if r["limit"] is not None and do in ("stake", "unstake"):
        a["limit_price"] = r["limit"]
    return a


def small_game(rules: list[str]) -> Game:
    return Game.from_scenario(classroom(
        rules=rules, clock={"blocks_per_tick": 60, "ticks_per_epoch": 2, "epochs": 50},
        params={"subnet_limit": 4, "immunity_blocks": 100}))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules=st.sampled_from(RULE_SETS),
       ticks=st.lists(st.lists(raw_action, max_size=6), min_size=1, max_size=6),
       exact=st.booleans())
def test_it_never_breaks_an_invariant_under_random_play(rules, ticks, exact):
    g = small_game(rules)
    for batch in ticks:
        res = g.step([concrete(g, r) for r in batch], exact=exact, bots=False)
        check_all(g.st)  # step() checks too; a broken state must never come back
        for f in res.fills:
            assert f["status"] in ("filled", "rejected")
            if f["status"] == "rejected":
                assert f["reason"] in REASONS
        for srow in res.tick_row["subnets"]:
            assert srow["tao"] > 0 and srow["alpha"] > 0
            assert 0.0 <= srow["share"] <= 1.0


@settings(max_examples=60, deadline=None)
@given(tau=st.floats(min_value=1.0, max_value=1e7), x=st.floats(min_value=1.0, max_value=1e8),
       tao=st.floats(min_value=0.001, max_value=1e5))
def test_it_returns_the_stake_on_a_fee_free_stake_then_unstake(tau, x, tao):
    g = Game.from_scenario(classroom(
        subnets=[{"id": 1, "tao": tau, "alpha": x, "moving_price": 0.1}],
        players=[{"id": "alice", "tao": 1e5}], root=0.0, params={"stake_fee": 0.0}))
    s = g.st
    params, rules = Params.from_dict({"stake_fee": 0.0}), frozenset({"launch"})
    f1 = apply_action(s, {"do": "stake", "player": "alice", "subnet": 1, "tao": tao},
                      params=params, rules=rules, tick=0)
    if f1["status"] == "rejected":  # reserve floor on a tiny pool
        assert f1["reason"] == "reserve_floor"
        return
    f2 = apply_action(s, {"do": "unstake", "player": "alice", "subnet": 1,
                          "alpha": f1["alpha"]}, params=params, rules=rules, tick=0)
    assert f2["status"] == "filled"
    assert f2["tao"] == pytest.approx(tao, rel=1e-9)
    assert float(s.tao[0]) == pytest.approx(1e5, rel=1e-12)
    assert (float(s.tau[0]), float(s.x[0])) == pytest.approx((tau, x), rel=1e-9)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(setup=st.lists(raw_action, max_size=5), probe=raw_action,
       rules=st.sampled_from(RULE_SETS))
def test_it_changes_nothing_when_an_action_is_rejected(setup, probe, rules):
    g = small_game(rules)
    g.step([concrete(g, r) for r in setup], bots=False)
    before = g.state_digest()
    fill = apply_action(g.st, concrete(g, probe), params=g.params, rules=g.rules, tick=g.tick)
    if fill["status"] == "rejected":
        assert g.state_digest() == before
    else:
        check_all(g.st)


def test_it_raises_when_tao_leaks():
    g = small_game(["launch"])  # 600,000 TAO on root: a leak of 1e-4 must still show
    g.st.tao[0] += 1e-4  # TAO from nowhere
    with pytest.raises(InvariantError):
        g.step([])


def test_it_raises_when_alpha_leaks():
    g = small_game(["launch"])
    g.st.net_alpha[1] -= 5.0
    with pytest.raises(InvariantError):
        check_all(g.st)


def test_it_raises_when_a_swap_lowers_k():
    with pytest.raises(InvariantError):
        check_k(100.0, 99.0)
    check_k(100.0, 100.0 * (1 - 1e-13))  # float noise is fine


class RandomPlay(RuleBasedStateMachine):
    """Ticks, trades and instructor events interleaved: the invariants hold after each step."""

    def __init__(self) -> None:
        super().__init__()
        scn = classroom(clock={"blocks_per_tick": 40, "ticks_per_epoch": 2, "epochs": 100},
                        events=[{"epoch": 1, "title": "e0", "actions": [
                            {"do": "stake", "player": "bob", "subnet": 1, "tao": 5.0}]},
                            {"epoch": 2, "title": "e1", "actions": []}])
        self.g = Game.from_scenario(scn)
        self.pending: list[dict] = []

    @rule(r=raw_action)
    def queue(self, r):
        self.pending.append(concrete(self.g, r))

    @rule(op=st.sampled_from(["fire", "hold", "skip"]), idx=st.integers(-1, 2))
    def instructor(self, op, idx):
        self.pending.append({"do": "event", "player": "instructor", "event": idx, "op": op})

    @rule(exact=st.booleans())
    def tick(self, exact):
        self.g.step(self.pending, exact=exact, bots=False)
        self.pending = []

    @invariant()
    def conserved(self):
        check_all(self.g.st)
        assert np.isfinite(self.g.st.m).all()


TestRandomPlay = RandomPlay.TestCase
TestRandomPlay.settings = settings(max_examples=25, stateful_step_count=20, deadline=None)
