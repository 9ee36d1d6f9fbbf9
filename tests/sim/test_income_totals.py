"""The income totals in the private view: the owner cut received and the root dividends (TAO,
and alpha where root is paid in alpha) equal, exactly, what the epoch (and a prune) credited;
they survive the JSON round trip, and a state stored before they existed loads with zeros.
Also the public view's root-validator list and each subnet's `tao_flow` EMA S."""
from __future__ import annotations

import json

import numpy as np
import pytest
from _helpers import classroom, make_scenario

import sim.epoch
from sim import Game

TOTALS = ("owner_cut_paid", "root_div_alpha", "root_div_tao")


def _owners_scenario(**over):
    # bob owns a hold-to-earn subnet; carol an owner-mined one, whose owner-class miner
    # incentive goes to her too but is not the owner cut.
    players = [
        {"id": "alice", "role": "speculator", "tao": 1000.0},
        {"id": "bob", "role": "subnet_owner", "subnet": 2, "tao": 100.0},
        {"id": "carol", "role": "subnet_owner", "subnet": 3, "tao": 100.0},
        {"id": "otf", "role": "root_validator", "tao": 0.0, "root_stake": 100000.0},
    ]
    return classroom(players=players, **over)


def test_the_owner_cut_total_is_exactly_the_cut_paid_at_each_epoch(monkeypatch):
    real = sim.epoch.run_epoch
    expected: dict[tuple[str, int], float] = {}
    owner_incentive = {2: 0.0, 3: 0.0}

    def recording_epoch(st, params, rules, sell):
        # what this epoch owes each owner as its cut, read just before it is paid
        for i in np.nonzero(st.active)[0]:
            k = int(st.owner[i])
            if k >= 0:
                key = (st.ids[k], int(st.netuid[i]))
                expected[key] = expected.get(key, 0.0) + float(st.pend_owner[i])
        res = real(st, params, rules, sell)
        for row in res["subnets"]:
            if row["id"] in owner_incentive:
                owner_incentive[row["id"]] += row["incentive"]["owner"]
        return res

    monkeypatch.setattr(sim.epoch, "run_epoch", recording_epoch)
    g = Game.from_scenario(_owners_scenario())
    # bob trades his own subnet (buys and sells alpha): trades are not owner cut
    g.step([{"do": "stake", "player": "bob", "subnet": 2, "tao": 5.0}])
    g.step([{"do": "unstake", "player": "bob", "subnet": 2, "alpha": 10.0}])
    g = Game.from_json(g.to_json())  # the totals travel with the state
    for _ in range(4):
        g.step([])
    assert set(expected) == {("bob", 2), ("carol", 3)}
    assert expected[("bob", 2)] > 0.0
    assert g.private_view("bob")["owner_cut"] == {"2": expected[("bob", 2)]}
    assert g.private_view("carol")["owner_cut"] == {"3": expected[("carol", 3)]}
    # carol's miners were paid too (owner-mined), and that is not in her owner cut
    assert owner_incentive[3] > 0.0
    assert g.private_view("carol")["alpha"]["3"] > expected[("carol", 3)] + owner_incentive[3]
    # nobody else received an owner cut
    assert g.private_view("alice")["owner_cut"] == {}
    assert g.private_view("otf")["owner_cut"] == {}
    # 3 epochs of 720 blocks of 1 alpha, c of it to the owner (docs/mechanism.md's 18%)
    c = g.params.owner_cut
    assert expected[("bob", 2)] == pytest.approx(c * 720 * 3, rel=1e-12)


def test_an_owner_sees_a_zero_owner_cut_before_the_first_epoch():
    g = Game.from_scenario(_owners_scenario())
    g.step([])
    assert g.private_view("bob")["owner_cut"] == {"2": 0.0}


def _root_scenario(rules=("launch",), root=0.0, **over):
    players = [
        {"id": "alice", "role": "speculator", "tao": 1000.0},
        {"id": "bob", "role": "subnet_owner", "subnet": 2, "tao": 100.0},
        # These three have no TAO but root dividends: their balance is the dividends received.
        {"id": "otf", "role": "root_validator", "tao": 0.0, "root_stake": 100000.0},
        {"id": "nom", "role": "speculator", "tao": 100.0},
        {"id": "net", "role": "speculator", "tao": 50.0},
    ]
    return classroom(players=players, rules=list(rules), root=root, **over)


NOMINATE = [{"do": "root_stake", "player": "nom", "tao": 100.0, "validator": "otf"},
            {"do": "root_stake", "player": "net", "tao": 50.0}]


def test_root_dividends_in_tao_are_exactly_what_was_credited():
    g = Game.from_scenario(_root_scenario(root=500000.0))
    fills = g.step(NOMINATE).fills
    assert [f["status"] for f in fills] == ["filled", "filled"]
    # all their TAO went to root: from now on their balance only grows by root dividends
    assert g.private_view("nom")["tao"] == 0.0 and g.private_view("net")["tao"] == 0.0
    for _ in range(5):  # three epochs
        g.step([])
    g = Game.from_json(g.to_json())
    for pid in ("otf", "nom", "net"):
        view = g.private_view(pid)
        assert view["root_dividends_tao"] > 0.0
        assert view["root_dividends_tao"] == view["tao"], pid
        assert view["root_dividends_alpha"] == {}  # `launch`: root's alpha is sold for TAO
    # alice and the owner hold no root stake: no root dividends
    assert g.private_view("alice")["root_dividends_tao"] == 0.0
    assert g.private_view("bob")["root_dividends_tao"] == 0.0
    # the validator keeps its take of its nominator's part: more per TAO staked than "nom"
    otf, nom = g.private_view("otf"), g.private_view("nom")
    assert otf["root_dividends_tao"] / 100000.0 > nom["root_dividends_tao"] / 100.0


@pytest.mark.parametrize("case", ["root_claim_keep", "pay_no_one"])
def test_root_dividends_in_alpha_are_exactly_what_was_credited(case):
    if case == "root_claim_keep":  # root's alpha is kept as alpha, not sold
        g = Game.from_scenario(_root_scenario(rules=("launch", "root_claim_keep"),
                                              root=500000.0))
        g.step(NOMINATE)
    else:  # `launch`, but root (the whole root stake) pays no miner on subnet 1: the
        # validators take the miners' half too, root its part in alpha
        g = Game.from_scenario(_root_scenario())
        g.step(NOMINATE + [{"do": "set_weights", "player": "otf", "subnet": 1,
                            "weights": {"workers": 0, "holders": 0, "owner": 0}}])
    g.step([])  # the first epoch closes; nobody of these held alpha before it
    first = {}
    for pid in ("otf", "nom", "net"):
        view = g.private_view(pid)
        got = view["root_dividends_alpha"]
        assert got, pid
        held = {sid: a for sid, a in view["alpha"].items() if a != 0.0}
        assert got == held, pid
        first[pid] = got
    if case == "root_claim_keep":
        assert set(first["otf"]) == {"1", "2", "3"}
        assert g.private_view("otf")["root_dividends_tao"] == 0.0
    else:
        assert set(first["otf"]) == {"1"}
    # later epochs add to the totals (the alpha held now also earns other dividends)
    g = Game.from_json(g.to_json())
    g.step([])
    g.step([])
    later = g.private_view("otf")["root_dividends_alpha"]
    assert all(later[sid] > first["otf"][sid] for sid in first["otf"])
    assert all(g.private_view("otf")["alpha"][sid] >= later[sid] for sid in later)


def test_a_pruned_subnets_root_pot_counts_as_root_dividends():
    scn = _root_scenario(root=500000.0, rules=["launch", "pruning"],
                         params={"subnet_limit": 3, "immunity_blocks": 0})
    g = Game.from_scenario(scn)
    g.step(NOMINATE)  # tick 0: root pots fill during its blocks; no epoch yet
    assert g.private_view("otf")["root_dividends_tao"] == 0.0
    fill = g.step([{"do": "register_subnet", "player": "alice", "name": "New"}]).fills[0]
    assert fill["status"] == "filled" and fill["pruned"] == 3  # the lowest moving price
    # tick 1 closed the epoch too; the prune's pot came first, at settlement
    for pid in ("otf", "nom", "net"):
        view = g.private_view(pid)
        assert view["root_dividends_tao"] > 0.0 and view["root_dividends_tao"] == view["tao"]


def test_the_pruned_pot_alone_is_booked_exactly():
    # Three ticks per epoch: the prune at tick 1 pays subnet 3's pot before any epoch.
    scn = _root_scenario(root=500000.0, rules=["launch", "pruning"],
                         params={"subnet_limit": 3, "immunity_blocks": 0},
                         clock={"blocks_per_tick": 360, "ticks_per_epoch": 3, "epochs": 4})
    g = Game.from_scenario(scn)
    g.step(NOMINATE)
    pot = float(g.st.pend_root_tao[g.st.subnet_index(3)])
    assert pot > 0.0
    g.step([{"do": "register_subnet", "player": "alice"}])
    otf = g.private_view("otf")
    assert otf["root_dividends_tao"] == otf["tao"] > 0.0
    # nobody else got TAO from root, so the players' part of the pot is exactly that
    players_part = sum(g.private_view(p)["root_dividends_tao"] for p in ("otf", "nom", "net"))
    assert players_part == pytest.approx(pot * 100150.0 / 600150.0, rel=1e-12)


def test_a_state_stored_before_the_totals_existed_loads_with_zeros():
    g = Game.from_scenario(_owners_scenario())
    for _ in range(4):
        g.step([])
    assert g.private_view("bob")["owner_cut"]["2"] > 0.0
    d = json.loads(g.to_json())
    for name in TOTALS:
        del d["state"][name]
    old = Game.from_json(json.dumps(d))
    assert old.private_view("bob")["owner_cut"] == {"2": 0.0}
    assert old.private_view("otf")["root_dividends_tao"] == 0.0
    assert old.private_view("otf")["root_dividends_alpha"] == {}
    # everything but the totals is the same state
    assert old.state_digest(totals=False) == g.state_digest(totals=False)
    assert old.state_digest() != g.state_digest()
    # and it plays on, booking income from here
    for _ in range(2):
        old.step([])
        g.step([])
    assert 0.0 < old.private_view("bob")["owner_cut"]["2"] < g.private_view("bob")["owner_cut"]["2"]
    assert old.state_digest(totals=False) == g.state_digest(totals=False)


def test_the_totals_round_trip_through_json_exactly():
    g = Game.from_scenario(_root_scenario(rules=("launch", "root_claim_keep"), root=500000.0))
    g.step(NOMINATE)
    for _ in range(3):
        g.step([])
    text = g.to_json()
    h = Game.from_json(text)
    assert h.to_json() == text and h.state_digest() == g.state_digest()
    for pid in g.st.ids:
        assert h.private_view(pid) == g.private_view(pid)


def test_the_public_view_lists_root_validators_and_a_validators_nominated_stake():
    g = Game.from_scenario(_root_scenario(root=500000.0))
    assert g.public_view()["root_validators"] == [
        {"id": "otf", "root_stake": 100000.0, "stake": 100000.0, "seats": [1, 2, 3]}]
    g.step(NOMINATE)
    assert g.public_view()["root_validators"] == [
        {"id": "otf", "root_stake": 100000.0, "stake": 100100.0, "seats": [1, 2, 3]}]
    assert g.private_view("otf")["nominated"] == 100.0
    assert g.private_view("nom")["nominated"] == 0.0
    assert g.private_view("nom")["root_validator"] == "otf"
    assert g.private_view("net")["root_validator"] == "network"
    # a late root validator is listed too, in player order
    g.step([{"do": "join", "player": "late", "role": "root_validator", "tao": 0.0,
             "root_stake": 7.5}])
    assert [v["id"] for v in g.public_view()["root_validators"]] == ["otf", "late"]
    assert g.public_view()["root_validators"][1] == {"id": "late", "root_stake": 7.5,
                                                       "stake": 7.5, "seats": [1, 2, 3]}


def test_the_public_view_carries_the_flow_ema_that_gives_the_tao_flow_shares():
    scn = make_scenario(
        subnets=[{"id": 1, "tao": 1000.0, "alpha": 10000.0, "flow_ema": 120.0},
                 {"id": 2, "tao": 1000.0, "alpha": 10000.0, "flow_ema": 30.0},
                 {"id": 3, "tao": 1000.0, "alpha": 10000.0, "flow_ema": -50.0}],
        players=[{"id": "alice", "tao": 1000.0}], rules=["launch", "tao_flow"],
        clock={"blocks_per_tick": 10, "ticks_per_epoch": 2, "epochs": 2})
    g = Game.from_scenario(scn)
    subnets = g.public_view()["subnets"]
    assert [s["flow_ema"] for s in subnets] == [120.0, 30.0, -50.0]
    assert [s["share"] for s in subnets] == [0.8, 0.2, 0.0]  # docs/mechanism.md example 9
    g.step([{"do": "stake", "player": "alice", "subnet": 3, "tao": 100.0}])
    subnets = g.public_view()["subnets"]
    S = [s["flow_ema"] for s in subnets]
    assert S == [float(v) for v in g.st.S[:3]]
    assert S[2] > -50.0  # the stake moved subnet 3's EMA
    pos = [max(v, 0.0) for v in S]
    assert [s["share"] for s in subnets] == [p / (pos[0] + pos[1] + pos[2]) for p in pos]
