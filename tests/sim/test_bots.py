"""Bot policies: pure functions that only ever place valid, affordable orders."""
from __future__ import annotations

import copy

import numpy as np
import pytest

from sim.bots import POLICIES, holder_yield, observe, update_history
from sim.scenario import ACTIONS, MECHANISMS, MINER_CLASSES


def public_view(prices=(0.1, 0.05, 0.02), mechanisms=("ai_work", "ai_work", "hold_to_earn")):
    return {
        "tick": 6, "epoch": 1, "total_ticks": 40, "ticks_per_epoch": 4,
        "params": {"min_stake": 0.0005, "stake_fee": 0.00005},
        "subnets": [
            {"id": i + 1, "price": p, "moving_price": p * 0.9, "share": 1 / len(prices),
             "tao": 1000.0 * p, "alpha": 1000.0, "alpha_out": 500.0, "mechanism": m,
             "root_prop": 0.9, "owner": "owner" if i == 2 else None, "incentive": None,
             "alpha_dividends": None, "revenue": 0.0}
            for i, (p, m) in enumerate(zip(prices, mechanisms, strict=True))
        ],
    }


def private_view(pid="p", role="speculator", tao=100.0, alpha=None, subnet=None):
    return {"id": pid, "role": role, "tao": tao, "root_stake": 0.0,
            "alpha": alpha if alpha is not None else {"1": 20.0, "3": 5.0}, "subnet": subnet,
            "revenue": 0.0, "weights": {}, "bot_params": {}}


def sample_observation(policy: str, **kw) -> dict:
    # A price history in which subnet 3 has been rising and subnet 1 falling.
    hist = None
    for k in range(6):
        hist = update_history(hist, public_view(prices=(0.1 * (1 - 0.05 * k), 0.05,
                                                        0.02 * (1 + 0.2 * k))))
    role = {"meme_owner": "subnet_owner", "ai_owner": "subnet_owner",
            "diligent_root": "root_validator"}.get(policy, "speculator")
    subnet = 3 if role == "subnet_owner" else None
    priv = private_view(role=role, subnet=subnet, **kw)
    return observe((public_view(), priv), "p", history=hist)


def check_action(a: dict, obs: dict) -> None:
    assert a["player"] == obs["player"]
    assert a["do"] in ACTIONS
    ids = {s["id"] for s in obs["subnets"]}
    if "subnet" in a:
        assert a["subnet"] in ids
    if a["do"] == "stake":
        assert 0 < a["tao"] <= obs["tao"]
    if a["do"] == "buyback":  # revenue first, then own TAO
        assert 0 < a["tao"] <= obs["tao"] + obs["revenue"]
    if a["do"] == "unstake":
        assert 0 < a["alpha"] <= obs["alpha"].get(a["subnet"], 0.0)
    if a["do"] == "set_mechanism":
        assert a["mechanism"] in MECHANISMS
        assert a["subnet"] == obs["subnet"]
    if a["do"] == "set_weights" and a["weights"] is not None:
        assert set(a["weights"]) <= set(MINER_CLASSES)


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_each_policy_places_only_valid_affordable_orders(policy):
    for seed in range(30):
        obs = sample_observation(policy)
        before = copy.deepcopy(obs)
        actions = POLICIES[policy](obs, np.random.default_rng(seed))
        assert obs == before, "a policy must not modify its observation"
        for a in actions:
            check_action(a, obs)
        spent = sum(a["tao"] for a in actions if a["do"] in ("stake", "buyback"))
        assert spent <= obs["tao"] + obs["revenue"]
        for sid in obs["alpha"]:
            sold = sum(a["alpha"] for a in actions if a["do"] == "unstake" and a["subnet"] == sid)
            assert sold <= obs["alpha"][sid]


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_each_policy_is_a_pure_function_of_observation_and_rng(policy):
    obs = sample_observation(policy)
    a = POLICIES[policy](obs, np.random.default_rng(7))
    b = POLICIES[policy](obs, np.random.default_rng(7))
    assert a == b


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_a_broke_bot_places_no_trade(policy):
    obs = sample_observation(policy, tao=0.0, alpha={})
    for seed in range(20):
        for a in POLICIES[policy](obs, np.random.default_rng(seed)):
            assert a["do"] not in ("stake", "unstake", "buyback", "move")


def test_the_meme_owner_switches_to_hold_to_earn_and_buys_back():
    pub = public_view(mechanisms=("ai_work", "ai_work", "ai_work"))
    obs = observe((pub, private_view(role="subnet_owner", subnet=3)), "p")
    acts = POLICIES["meme_owner"](obs, np.random.default_rng(0))
    assert {"player": "p", "do": "set_mechanism", "subnet": 3, "mechanism": "hold_to_earn"} in acts
    assert any(a["do"] == "buyback" and a["subnet"] == 3 for a in acts)


def test_the_diligent_root_pays_workers_only_where_the_mechanism_is_not_ai_work():
    pub = public_view()
    pub["tick"] = 8  # the first tick of an epoch
    obs = observe((pub, private_view(role="root_validator")), "p")
    acts = POLICIES["diligent_root"](obs, np.random.default_rng(0))
    assert acts == [{"player": "p", "do": "set_weights", "subnet": 3,
                     "weights": {"workers": 1.0}}]


def test_the_diligent_root_sends_only_changes_when_it_knows_its_weights():
    priv = private_view(role="root_validator")
    priv["weights"] = {"3": {"workers": 1.0, "holders": 0.0, "owner": 0.0}}
    assert POLICIES["diligent_root"](observe((public_view(), priv), "p"),
                                     np.random.default_rng(0)) == []
    priv["weights"] = {"1": {"workers": 1.0}}
    acts = POLICIES["diligent_root"](observe((public_view(), priv), "p"), np.random.default_rng(0))
    assert {a["subnet"]: a["weights"] for a in acts} == {1: None, 3: {"workers": 1.0}}


def test_the_yield_chaser_buys_hold_to_earn_and_leaves_it_once_holders_go_unpaid():
    pub = public_view()
    obs = observe((pub, private_view(alpha={})), "p")
    acts = [a for s in range(20) for a in POLICIES["yield_chaser"](obs, np.random.default_rng(s))]
    assert acts and all(a["do"] == "stake" and a["subnet"] == 3 for a in acts)
    # The last epoch paid holders nothing on subnet 3: its yield is now the worst.
    for s in pub["subnets"]:
        s["incentive"] = {"workers": 40.0 if s["id"] != 3 else 41.0, "holders": 0.0, "owner": 0.0}
        s["alpha_dividends"] = 4.0 if s["id"] != 3 else 0.1
    obs = observe((pub, private_view(alpha={"3": 50.0})), "p")
    acts = [a for s in range(20) for a in POLICIES["yield_chaser"](obs, np.random.default_rng(s))]
    assert any(a == {"player": "p", "do": "unstake", "subnet": 3, "alpha": 50.0} for a in acts)
    assert not any(a["do"] == "stake" and a["subnet"] == 3 for a in acts)


def test_holder_yield_counts_holders_pay_on_a_hold_to_earn_subnet():
    base = {"alpha_out": 100.0, "root_prop": 0.5}
    assert holder_yield({**base, "mechanism": "hold_to_earn"}) > \
        holder_yield({**base, "mechanism": "ai_work"})


def test_update_history_is_pure_and_bounded():
    h0 = update_history(None, public_view())
    h1 = update_history(h0, public_view(prices=(0.2, 0.05, 0.02)), maxlen=2)
    h2 = update_history(h1, public_view(prices=(0.3, 0.05, 0.02)), maxlen=2)
    assert h0["price"][1] == [0.1]
    assert h1["price"][1] == [0.1, 0.2]
    assert h2["price"][1] == [0.2, 0.3]


def test_the_ai_owner_spends_its_subnets_revenue_on_buybacks():
    priv = private_view(role="subnet_owner", subnet=1, tao=0.0, alpha={})
    priv["revenue"] = 50.0
    obs = observe((public_view(), priv), "p")
    acts = POLICIES["ai_owner"](obs, np.random.default_rng(0))
    assert {"player": "p", "do": "buyback", "subnet": 1, "tao": pytest.approx(50.0)} in acts


def test_every_policy_trades_in_a_real_game_and_never_runs_out_of_funds():
    from sim.headless import play_scenario
    from sim.scenario import load_scenario

    roles = {"meme_owner": ("subnet_owner", 2), "ai_owner": ("subnet_owner", 1),
             "diligent_root": ("root_validator", None)}
    players = []
    for name in sorted(POLICIES):
        role, sid = roles.get(name, ("speculator", None))
        p = {"id": f"bot_{name}", "role": role, "tao": 200.0, "bot": name}
        if sid is not None:
            p["subnet"] = sid
        if role == "root_validator":
            p["root_stake"] = 1000.0
        players.append(p)
    scn = load_scenario({
        "name": "every bot", "seed": 5, "params": {"moving_alpha": 3e-4},
        "clock": {"blocks_per_tick": 60, "ticks_per_epoch": 3, "epochs": 8},
        "root": {"stake": 10000},
        "subnets": [{"id": 1, "tao": 300, "alpha": 3000, "alpha_out": 3000},
                    {"id": 2, "tao": 100, "alpha": 3000, "alpha_out": 3000},
                    {"id": 3, "tao": 200, "alpha": 3000, "alpha_out": 3000,
                     "mechanism": "owner_mined"}],
        "players": players,
    })
    doc = play_scenario(scn)
    fills = [t for t in doc["trades"] if t["player"].startswith("bot_")]
    broke = [t for t in fills if t["status"] == "rejected"
             and t.get("reason") in ("insufficient_tao", "insufficient_alpha", "below_minimum")]
    assert broke == []
    active = {t["player"] for t in fills if t["status"] == "filled"}
    # every policy but the do-nothing control acted at least once
    assert active >= {f"bot_{n}" for n in POLICIES if n != "holder"}
