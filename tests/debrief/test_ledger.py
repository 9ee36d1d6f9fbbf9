"""The debrief's accumulators (game/debrief/ledger.py), each fed a tick by hand."""
from __future__ import annotations

from game.debrief import ledger


def test_the_books_charge_a_stake_its_fee_and_slippage_and_nothing_else():
    books = ledger.Books()
    fill = {"do": "stake", "status": "filled", "player": "p1", "subnet": 1, "tao": 10.0,
            "alpha": 8.0, "price_before": 1.0}
    before = {"p1": (100.0, 0.0, {1: 0.0})}
    after = {"p1": (90.0, 0.0, {1: 8.0})}
    books.add_tick([fill], before, after, {1: 1.25}, {"p1": "speculator"})
    assert books.accounts == {"p1": {"income": 0.0, "trading": 2.0, "registration": 0.0}}
    assert books.by_subnet_role == {}


def test_the_books_count_what_no_fill_explains_as_income():
    books = ledger.Books()
    before = {"p1": (100.0, 0.0, {1: 0.0})}
    after = {"p1": (100.0, 0.0, {1: 4.0})}  # alpha the epoch paid
    books.add_tick([], before, after, {1: 0.5}, {"p1": "subnet_owner"})
    assert books.accounts == {"p1": {"income": 2.0, "trading": 0.0, "registration": 0.0}}
    assert books.by_subnet_role == {1: {"subnet_owner": 2.0}}


def test_the_emission_values_each_class_at_the_epochs_price():
    emission = ledger.Emission()
    emission.add_epoch(None, {1: 2.0})  # a tick that closes no epoch
    emission.add_epoch({"subnets": [{"id": 1, "incentive": {"workers": 3.0, "owner": 1.0},
                                     "alpha_dividends": 0.5, "root_dividends_tao": 0.25}]},
                       {1: 2.0})
    assert emission.by_subnet == {1: {"workers": 6.0, "holders": 0.0, "owner": 2.0,
                                      "validators": 1.0, "root_tao": 0.25}}


def test_the_fill_records_say_who_placed_each_trade():
    fills = [{"do": "stake", "ref": 7, "player": "p1", "status": "filled"},
             {"do": "set_weights", "ref": 8, "player": "p1", "status": "filled"},
             {"do": "unstake", "player": "bot-1", "status": "filled", "event": 0}]
    records = ledger.fill_records(3, fills, {7: "human"})
    assert [(r["tick"], r["do"], r["source"], r["command"]) for r in records] == [
        (3, "stake", "human", 7), (3, "unstake", "event", None)]
