"""The Game facade: rows in the docs/scenario-format.md shapes, determinism, persistence,
events, late joiners, registration and pruning, owner actions, views and bots."""
from __future__ import annotations

import json

import pytest
from _helpers import classroom

from sim import Game, swap
from sim.actions import apply_action, lock_cost

REL = 1e-9
TICK_KEYS = {"tick", "epoch", "block", "tao_emission", "tao_issued", "root_stake", "subnets"}
TICK_SUBNET_KEYS = {"id", "tao", "alpha", "alpha_out", "price", "moving_price", "share",
                    "tao_in", "alpha_in", "root_prop"}
EPOCH_KEYS = {"epoch", "tick", "subnets", "players", "network_health"}
EPOCH_SUBNET_KEYS = {"id", "incentive", "alpha_dividends", "root_dividends_tao"}
EPOCH_PLAYER_KEYS = {"id", "tao", "alpha", "root_stake", "net_worth"}
FILL_KEYS = {"tick", "player", "do", "tao", "alpha", "price_before", "price_after", "status"}


def trades(n: int = 6) -> list[dict]:
    return [{"do": "stake", "player": p, "subnet": 1 + j % 3, "tao": 1.0 + j}
            for j, p in enumerate(["alice", "bob", "otf"] * (n // 3))]


def test_it_writes_tick_and_epoch_rows_in_the_scenario_format_shapes():
    g = Game.from_scenario(classroom())
    r0 = g.step(trades())
    assert r0.epoch_row is None  # two ticks per epoch
    r1 = g.step([])
    for row in (r0.tick_row, r1.tick_row):
        assert set(row) == TICK_KEYS
        for s in row["subnets"]:
            assert set(s) == TICK_SUBNET_KEYS
            w, R = 0.18, row["root_stake"]
            assert s["root_prop"] == pytest.approx(w * R / (w * R + s["alpha"] + s["alpha_out"]),
                                                   rel=REL)
            assert s["price"] == pytest.approx(s["tao"] / s["alpha"], rel=REL)
    assert (r0.tick_row["tick"], r0.tick_row["block"], r1.tick_row["block"]) == (0, 360, 720)
    assert r0.tick_row["root_stake"] == 600000.0
    e = r1.epoch_row
    assert set(e) == EPOCH_KEYS and e["epoch"] == 0 and e["tick"] == 1
    assert all(set(s) == EPOCH_SUBNET_KEYS for s in e["subnets"])
    assert all(set(s["incentive"]) == {"workers", "holders", "owner"} for s in e["subnets"])
    assert all(set(p) == EPOCH_PLAYER_KEYS for p in e["players"])
    assert e["players"][0]["alpha"].keys() == {"1", "2", "3"}
    for f in r0.fills:
        assert FILL_KEYS <= set(f) and f["status"] == "filled"
    json.dumps([r0, r1])  # plain JSON


def test_it_is_deterministic_for_a_seed():
    a, b = Game.from_scenario(classroom()), Game.from_scenario(classroom())
    for _ in range(4):
        ra, rb = a.step(trades()), b.step(trades())
        assert ra.fills == rb.fills
    assert a.state_digest() == b.state_digest()


def test_it_settles_in_a_seed_dependent_order():
    orders = []
    for seed in (1, 2):
        g = Game.from_scenario(classroom(seed=seed))
        orders.append([(f["player"], f["subnet"]) for f in g.step(trades()).fills])
    assert sorted(orders[0]) == sorted(orders[1])
    assert orders[0] != orders[1]
    g = Game.from_scenario(classroom(seed=1), seed=2)  # the seed argument overrides
    assert [(f["player"], f["subnet"]) for f in g.step(trades()).fills] == orders[1]


def test_it_round_trips_through_json_exactly_mid_game():
    g = Game.from_scenario(classroom(events=[{"epoch": 1, "title": "t", "actions": []}]))
    g.step(trades())
    g.step([{"do": "set_weights", "player": "otf", "subnet": 2, "weights": {"workers": 1}}])
    g.step([{"do": "join", "player": "late", "role": "speculator", "tao": 50.0}])
    text = g.to_json()
    h = Game.from_json(text)
    assert h.to_json() == text and h.state_digest() == g.state_digest()
    for _ in range(3):
        assert g.step(trades()) == h.step(trades())
    assert h.state_digest() == g.state_digest()


def test_it_replays_bot_seats_from_their_actions_with_bots_off():
    players = [{"id": "alice", "tao": 1000.0, "bot": "noise_trader"},
               {"id": "mo", "tao": 1000.0, "bot": "momentum"},
               {"id": "otf", "role": "root_validator", "tao": 0.0, "root_stake": 1e5,
                "bot": "diligent_root"}]
    live, replay = (Game.from_scenario(classroom(players=players)) for _ in range(2))
    seats = {"alice": "noise_trader", "mo": "momentum", "otf": "diligent_root"}
    for _ in range(6):
        live.step([], bots=True)
        replay.step(replay.bot_actions(seats), bots=False)
    assert live.state_digest() == replay.state_digest()


def test_it_rejects_malformed_commands_without_stopping_the_tick():
    g = Game.from_scenario(classroom())
    res = g.step(["stake", None, 42, {"do": "stake", "player": "alice", "subnet": 1,
                                       "tao": 1.0}])
    assert sorted(f["status"] for f in res.fills) == ["filled"] + ["rejected"] * 3
    assert {f.get("reason") for f in res.fills} == {None, "unknown_action"}


def test_it_counts_ticks_and_finishes():
    g = Game.from_scenario(classroom(clock={"blocks_per_tick": 10, "ticks_per_epoch": 2,
                                            "epochs": 2}))
    assert g.total_ticks == 4
    for t in range(4):
        assert not g.finished and g.tick == t and g.epoch == t // 2
        g.step([])
    assert g.finished
    with pytest.raises(RuntimeError):
        g.step([])


def test_it_fires_scripted_events_at_their_epoch_and_applies_their_actions():
    ev = [{"epoch": 1, "title": "Meme", "text": "x",
           "actions": [{"do": "set_mechanism", "player": "bob", "subnet": 2,
                        "mechanism": "owner_mined"}]}]
    g = Game.from_scenario(classroom(events=ev))
    assert g.step([]).events == [] and g.step([]).events == []
    res = g.step([])  # first tick of epoch 1
    assert [e["title"] for e in res.events] == ["Meme"]
    assert [f.get("event") for f in res.fills] == [0]
    assert g.public_view()["subnets"][1]["mechanism"] == "owner_mined"
    assert g.public_view()["events"][0]["title"] == "Meme"


@pytest.mark.parametrize("op,fires_at_epoch", [("hold", False), ("skip", False)])
def test_it_lets_the_instructor_hold_or_skip_an_event(op, fires_at_epoch):
    g = Game.from_scenario(classroom(events=[{"epoch": 1, "title": "E", "actions": []}]))
    fill = g.step([{"do": "event", "player": "instructor", "event": 0, "op": op}]).fills[0]
    assert fill["status"] == "filled"
    assert g.event_status[0] == ("held" if op == "hold" else "skipped")
    assert g.public_view()["events"] == []
    for _ in range(3):
        assert g.step([]).events == []
    res = g.step([{"do": "event", "player": "instructor", "event": 0, "op": "fire"}])
    if op == "hold":
        assert [e["title"] for e in res.events] == ["E"]
        assert g.event_status[0] == "fired"
    else:
        assert res.fills[0]["reason"] == "event_closed" and res.events == []


@pytest.mark.parametrize("action,reason", [
    ({"do": "event", "player": "alice", "event": 0, "op": "fire"}, "not_instructor"),
    ({"do": "event", "player": "instructor", "event": 5, "op": "fire"}, "unknown_event"),
    ({"do": "event", "player": "instructor", "event": 0, "op": "explode"}, "bad_op"),
])
def test_it_rejects_bad_event_commands(action, reason):
    g = Game.from_scenario(classroom(events=[{"epoch": 3, "title": "E", "actions": []}]))
    assert g.step([action]).fills[0]["reason"] == reason


def test_it_lets_players_join_late_and_trade():
    g = Game.from_scenario(classroom())
    g.step([])
    res = g.step([{"do": "join", "player": "dora", "role": "subnet_owner", "subnet": 1,
                   "tao": 200.0, "bot": None}])
    assert res.fills[0]["status"] == "filled"
    assert g.public_view()["subnets"][0]["owner"] == "dora"
    res = g.step([{"do": "stake", "player": "dora", "subnet": 1, "tao": 50.0},
                  {"do": "join", "player": "dora", "role": "speculator"},
                  {"do": "join", "player": "eve", "role": "subnet_owner", "subnet": 1}])
    reasons = sorted(f.get("reason") or f["status"] for f in res.fills)
    assert reasons == ["filled", "player_exists", "subnet_taken"]
    assert g.private_view("dora")["tao"] == pytest.approx(150.0, rel=REL)


def test_it_doubles_the_lock_cost_then_decays_it_linearly_and_burns_the_excess():
    g = Game.from_scenario(classroom(clock={"blocks_per_tick": 50400, "ticks_per_epoch": 1,
                                            "epochs": 5}))
    assert lock_cost(g.st, g.params) == 1.0
    res = g.step([{"do": "register_subnet", "player": "alice", "name": "New",
                   "mechanism": "hold_to_earn"}])
    f = res.fills[0]
    assert f["status"] == "filled" and f["subnet"] == 4 and f["tao"] == 1.0
    assert f["burned"] == 0.0
    new = next(s for s in res.tick_row["subnets"] if s["id"] == 4)
    assert new["moving_price"] < 1e-3  # opened at m = 0
    # one tick later, halfway through the 100,800-block interval: 2*1 - 1*0.5
    assert lock_cost(g.st, g.params) == pytest.approx(1.5, rel=REL)
    issued = g.st.tao_issued
    f = g.quote({"do": "register_subnet", "player": "alice"})
    assert f["tao"] == pytest.approx(1.5, rel=REL) and f["burned"] == pytest.approx(0.5, rel=REL)
    g.step([{"do": "register_subnet", "player": "alice"}])
    assert g.st.tao_burned == pytest.approx(0.5, rel=REL)
    view = g.public_view()
    assert [s["owner"] for s in view["subnets"]][-2:] == ["alice", "alice"]
    assert view["lock_cost"] == pytest.approx(3.0 - 1.5 * 50400 / 100800, rel=REL)
    assert g.st.tao_issued < issued + 2 * 50400  # burning lowered issuance


def test_it_opens_a_new_pool_at_one_tao_and_one_alpha():
    g = Game.from_scenario(classroom())
    f = apply_action(g.st, {"do": "register_subnet", "player": "alice"}, params=g.params,
                     rules=g.rules, tick=0)
    i = g.st.subnet_index(f["subnet"])
    assert (g.st.tau[i], g.st.x[i], g.st.o[i], g.st.m[i]) == (1.0, 1.0, 0.0, 0.0)


def test_it_refuses_registration_at_the_subnet_limit_without_pruning():
    g = Game.from_scenario(classroom(params={"subnet_limit": 3}))
    assert g.step([{"do": "register_subnet", "player": "alice"}]).fills[0]["reason"] == \
        "subnet_limit"


def test_it_prunes_the_lowest_moving_price_subnet_and_refunds_its_holders():
    g = Game.from_scenario(classroom(rules=["launch", "pruning"],
                                     params={"subnet_limit": 3, "immunity_blocks": 0}))
    g.step([{"do": "stake", "player": "alice", "subnet": 3, "tao": 50.0}])
    st = g.st
    share = float(st.alpha[0, 2]) / float(st.alpha[:, 2].sum() + st.net_alpha[2])
    pool = float(st.tau[2])
    tao_before = float(st.tao[0])
    res = g.step([{"do": "register_subnet", "player": "bob"}])
    f = res.fills[0]
    assert f["status"] == "filled" and f["pruned"] == 3
    assert [s["id"] for s in res.tick_row["subnets"]] == [1, 2, 4]
    assert float(st.tao[0]) - tao_before == pytest.approx(share * pool, rel=1e-6)


def test_it_spends_subnet_revenue_before_the_owners_tao_on_a_buyback():
    g = Game.from_scenario(classroom())
    g.st.revenue[1] = 10.0  # as if earned
    g.st.tao_external += 10.0
    res = g.step([{"do": "buyback", "player": "bob", "subnet": 2, "tao": 15.0},
                  {"do": "buyback", "player": "alice", "subnet": 2, "tao": 1.0}])
    by = {f["player"]: f for f in res.fills}
    assert by["alice"]["reason"] == "not_owner"
    assert by["bob"]["status"] == "filled" and by["bob"]["from_revenue"] == 10.0
    assert g.private_view("bob")["tao"] == pytest.approx(95.0, rel=REL)
    assert g.st.revenue[1] == 0.0 and g.st.alpha[1, 1] > 0.0


def test_it_lets_only_the_owner_change_the_mechanism():
    g = Game.from_scenario(classroom())
    res = g.step([{"do": "set_mechanism", "player": "alice", "subnet": 2,
                   "mechanism": "ai_work"},
                  {"do": "set_mechanism", "player": "bob", "subnet": 2, "mechanism": "meme"}])
    assert sorted(f["reason"] for f in res.fills) == ["bad_mechanism", "not_owner"]
    g.step([{"do": "set_mechanism", "player": "bob", "subnet": 2, "mechanism": "ai_work"}])
    assert g.public_view()["subnets"][1]["mechanism"] == "ai_work"


def test_it_stakes_on_root_one_to_one_with_a_chosen_validator():
    g = Game.from_scenario(classroom())
    res = g.step([{"do": "root_stake", "player": "alice", "tao": 100.0, "validator": "otf"}])
    assert res.fills[0]["status"] == "filled"
    view = g.private_view("alice")
    assert (view["root_stake"], view["root_validator"], view["tao"]) == (100.0, "otf", 900.0)
    res = g.step([{"do": "root_stake", "player": "alice", "tao": 1.0},
                  {"do": "root_stake", "player": "bob", "tao": 1.0, "validator": "alice"}])
    assert sorted(f["reason"] for f in res.fills) == ["unknown_validator", "validator_mismatch"]
    g.step([{"do": "root_unstake", "player": "alice", "tao": 100.0}])
    assert g.private_view("alice")["tao"] > 999.99


def test_it_quotes_without_changing_anything_and_matches_the_fill():
    g = Game.from_scenario(classroom())
    before = g.state_digest()
    q = g.quote({"do": "stake", "player": "alice", "subnet": 1, "tao": 100.0})
    assert g.state_digest() == before
    assert q["avg_price"] == pytest.approx(q["tao"] / q["alpha"], rel=REL)
    assert q["impact"] > 0
    f = g.step([{"do": "stake", "player": "alice", "subnet": 1, "tao": 100.0, "ref": "c1"}])
    assert f.fills[0]["alpha"] == q["alpha"] and f.fills[0]["ref"] == "c1"


def test_it_values_players_at_liquidation_with_slippage_and_fees():
    g = Game.from_scenario(classroom())
    g.step([{"do": "stake", "player": "alice", "subnet": 1, "tao": 500.0}])
    st = g.st
    a = float(st.alpha[0, 0])
    out = swap.unstake_flat(float(st.tau[0]), float(st.x[0]), a, 0.00005).out
    assert g.net_worth("alice") == pytest.approx(500.0 + out, rel=REL)
    assert out < a * float(st.tau[0] / st.x[0])  # slippage


def test_it_shows_the_market_and_a_players_seat():
    g = Game.from_scenario(classroom())
    g.step([{"do": "stake", "player": "alice", "subnet": 1, "tao": 10.0}])
    pub = g.public_view()
    need = {"id", "name", "price", "moving_price", "share", "tao", "alpha", "alpha_out",
            "root_prop", "mechanism", "owner"}
    assert all(need <= set(s) for s in pub["subnets"])
    assert pub["subnets"][1]["owner"] == "bob" and pub["subnets"][0]["owner"] is None
    assert sum(s["share"] for s in pub["subnets"]) == pytest.approx(1.0, rel=REL)
    me = g.private_view("alice")
    assert me["alpha"]["1"] > 0 and me["net_worth"] == pytest.approx(g.net_worth("alice"))
    assert me["pnl"] == pytest.approx(me["net_worth"] - 1000.0, rel=REL)
    with pytest.raises(KeyError):
        g.private_view("nobody")


def test_it_spares_subnets_inside_their_immunity_period_from_pruning():
    # scenario subnets are as old as their age_blocks (0 here): all three are immune
    g = Game.from_scenario(classroom(rules=["launch", "pruning"],
                                     params={"subnet_limit": 3, "immunity_blocks": 1000}))
    assert g.step([{"do": "register_subnet", "player": "alice"}]).fills[0]["reason"] == \
        "subnet_limit"
    g.step([])  # 720 blocks old: still immune
    g.step([])  # 1,080: prunable
    f = g.step([{"do": "register_subnet", "player": "alice"}]).fills[0]
    assert f["status"] == "filled" and f["pruned"] == 3


def test_it_charges_the_percent_fee_on_trades_when_switched_on():
    g = Game.from_scenario(classroom(rules=["launch", "percent_fee"]))
    f = g.step([{"do": "stake", "player": "alice", "subnet": 1, "tao": 100.0}]).fills[0]
    assert f["fee"] == pytest.approx(100.0 * 33 / 65535, rel=REL)
    net = 100.0 * (1 - 33 / 65535)
    assert f["alpha"] == pytest.approx(10000.0 * net / (1000.0 + net), rel=REL)


def test_a_tie_on_moving_price_prunes_the_earliest_registered_subnet():
    """coinbase/root.rs get_network_to_prune: "If tie on price, earliest registration wins"."""
    from sim.actions import prune_candidate

    g = Game.from_scenario(classroom(rules=["launch", "pruning"],
                                     params={"subnet_limit": 3, "immunity_blocks": 0}))
    st = g.st
    st.m[:] = 0.05                      # every subnet ties on moving price
    st.reg_block[:] = [-100, -300, -200]  # subnet 2 registered first
    assert int(st.netuid[prune_candidate(st, g.params)]) == 2
    st.m[2] = 0.04                      # a lower price still goes first, whatever its age
    assert int(st.netuid[prune_candidate(st, g.params)]) == 3
    st.m[2] = 0.05
    st.reg_block[:] = [-300, -300, -200]  # a tie on both: the lowest id
    assert int(st.netuid[prune_candidate(st, g.params)]) == 1
