"""The leaderboard: liquidation value is what unstaking everything really returns; boards per
role; deterministic ties; rank history per epoch. The students' board:
tests/debrief/test_student_board.py."""
from __future__ import annotations

import json

import pytest
from gamekit import EVIL_NICKS, SCENARIO

from game import leaderboard, simapi

pytestmark = pytest.mark.server


def _unstake_everything(sim_game, pid: str) -> float:
    """Sell every alpha position and leave root, on the copy, through the real actions."""
    import sim

    st = sim_game.st
    k = st.player_index(pid)
    for i in range(len(st.netuid)):
        if st.active[i] and st.alpha[k, i] > 0:
            sim.actions.apply_action(st, {"do": "unstake", "player": pid,
                                          "subnet": int(st.netuid[i]),
                                          "alpha": float(st.alpha[k, i])},
                                     params=sim_game.params, rules=sim_game.rules, tick=st.tick)
    if st.root[k] > 0:
        sim.actions.apply_action(st, {"do": "root_unstake", "player": pid,
                                      "tao": float(st.root[k])},
                                 params=sim_game.params, rules=sim_game.rules, tick=st.tick)
    return float(st.tao[k])


@pytest.mark.django_db(transaction=True)
def test_liquidation_value_is_what_unstaking_everything_returns(finished):
    game, _ = finished
    stored = simapi.fresh(game.state)
    checked = 0
    for pid in stored.st.ids:
        value = stored.net_worths()[pid]  # what the leaderboard and the debrief rank by
        copy = simapi.fresh(game.state)
        returned = _unstake_everything(copy, pid)
        assert value == pytest.approx(returned, rel=1e-12, abs=1e-12), pid
        # one player's net worth (a student's page) is the same number to the last bit
        assert stored.net_worth(pid) == value, pid
        k = copy.st.player_index(pid)
        assert copy.st.alpha[k].sum() == 0 or all(
            h.value == 0 for h in leaderboard.holdings(copy, pid))
        checked += stored.st.alpha[stored.st.player_index(pid)].sum() > 0
    assert checked >= 3, "several players held alpha at the end"


def test_dust_that_the_chain_would_refuse_to_sell_is_worth_nothing():
    import sim

    g = sim.Game.from_scenario(sim.load_scenario(json.loads(json.dumps(SCENARIO))))
    pid = "m1"
    g.step([{"do": "stake", "player": pid, "subnet": 1, "tao": 10.0}], bots=False)
    k = g.st.player_index(pid)
    held = float(g.st.alpha[k, 0])
    # Sell all but a crumb far below the minimum stake's worth of alpha (no blocks between).
    fill = sim.actions.apply_action(g.st, {"do": "unstake", "player": pid, "subnet": 1,
                                           "alpha": held - 1e-6},
                                    params=g.params, rules=g.rules, tick=g.st.tick)
    assert fill["status"] == "filled"
    crumb = [h for h in leaderboard.holdings(g, pid) if h.subnet == 1][0]
    assert 0 < crumb.alpha < 1e-5 and crumb.value == 0.0
    copy = sim.Game.from_json(g.to_json())
    returned = _unstake_everything(copy, pid)
    assert g.net_worths()[pid] == pytest.approx(returned)
    assert g.net_worth(pid) == pytest.approx(returned)


def test_ties_are_broken_by_player_id_whatever_the_input_order():
    values = [("p9", "speculator", 100.0), ("p10", "speculator", 100.0 + 1e-12),
              ("p2", "root_validator", 50.0), ("p1", "speculator", 200.0)]
    for order in (values, list(reversed(values))):
        rows = leaderboard.rank_rows(order)
        assert [r["player"] for r in rows] == ["p1", "p10", "p9", "p2"]
        assert [r["rank"] for r in rows] == [1, 2, 3, 4]
        assert [r["role_rank"] for r in rows] == [1, 2, 3, 1]


@pytest.mark.django_db(transaction=True)
def test_boards_per_role_top_n_and_each_players_rank(finished):
    game, seats = finished
    sim_game = simapi.fresh(game.state)
    rows = leaderboard.standings(sim_game, leaderboard.seat_map(game))
    boards = leaderboard.boards(rows)
    assert set(boards) == {"overall", "speculator", "subnet_owner", "root_validator"}
    for role in leaderboard.ROLES:
        assert [r["role_rank"] for r in boards[role]] == list(range(1, len(boards[role]) + 1))
        assert all(r["role"] == role for r in boards[role])
    worths = [r["net_worth"] for r in rows]
    assert worths == sorted(worths, reverse=True)
    me = seats[EVIL_NICKS[1]][0]
    assert next(r for r in rows if r["player"] == me.player)["nickname"] == EVIL_NICKS[1]


@pytest.mark.django_db(transaction=True)
def test_rank_history_ranks_each_epoch_by_that_epochs_net_worth(finished):
    from game.models import EpochRow

    game, seats = finished
    epochs = [json.loads(e.row) for e in EpochRow.objects.filter(game=game).order_by("epoch")]
    roles = {s.player: s.role for s in game.seats.all()}
    history = leaderboard.rank_history(epochs, roles)
    assert len(epochs) == SCENARIO["clock"]["epochs"]
    for j, ep in enumerate(epochs):
        worth = {p["id"]: p["net_worth"] for p in ep["players"]}
        ranked = sorted(worth, key=lambda pid: history[pid][j])
        assert [history[pid][j] for pid in ranked] == list(range(1, len(worth) + 1))
        # the richer player of any two ranks ahead at that epoch's end
        assert [worth[pid] for pid in ranked] == sorted(worth.values(), reverse=True)
