"""The pages read the simulator's views by the names it sends (static/js/views.js): every field
of a real game's public and private views arrives, and a view without one fails loudly instead
of a page showing "–"."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from game import leaderboard
from sim import Game
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
VIEWS = (ROOT / "static" / "js" / "views.js").as_uri()
# What the pages draw from, in one Node run: undefined fields drop out of the JSON.
READ = f"""
import {{ subnetsOf, privateOf, paramsOf, rootStakeOf, rootValidatorsOf }} from "{VIEWS}";
let text = "";
for await (const chunk of process.stdin) text += chunk;
const {{ market, privates }} = JSON.parse(text);
try {{
  console.log(JSON.stringify({{ ok: true, subnets: subnetsOf(market), params: paramsOf(market),
    rootStake: rootStakeOf(market) ?? "undefined", validators: rootValidatorsOf(market),
    privates: privates.map(privateOf) }}));
}} catch (e) {{
  console.log(JSON.stringify({{ ok: false, error: String(e.message) }}));
}}
"""
SUBNET_FIELDS = {"id", "name", "price", "moving_price", "share", "tao", "alpha", "alpha_out",
                 "root_prop", "mechanism", "owner", "incentive", "alpha_dividends", "revenue",
                 "flow", "plain"}  # name: the label "SN28 · …"; plain: the subnet's own name
PRIVATE_FIELDS = {"player", "role", "tao", "alpha", "alpha_value", "root_stake", "net_worth",
                  "pnl", "start", "subnet", "subnets_owned", "owner_cut", "revenue",
                  "revenue_by_subnet", "root_dividends", "root_dividends_alpha", "nominated",
                  "weights", "validator", "root_seats"}


def _views() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The market and every player's private view as the server sends them, after two epochs
    (so each subnet has a last epoch's payout)."""
    game = Game.from_scenario(load_scenario(ROOT / "sim" / "scenarios" / "sandbox.json"))
    while game.epoch < 2:
        game.step([], bots=True)
    seats = {pid: leaderboard.SeatInfo(f"nick {pid}", "human", None) for pid in game.st.ids}
    market = leaderboard.label_root_validators(game.public_view(), seats)
    assert market is not None
    return market, [game.private_view(pid) for pid in game.st.ids]


def _read(node_path: str, market: dict[str, Any], privates: list[dict[str, Any]]
          ) -> dict[str, Any]:
    out = subprocess.run([node_path, "--input-type=module", "-e", READ], cwd=ROOT, text=True,
                         input=json.dumps({"market": market, "privates": privates}),
                         capture_output=True, check=True)
    return json.loads(out.stdout)


def test_the_pages_get_every_field_of_a_real_games_views(node_path):
    market, privates = _views()
    read = _read(node_path, market, privates)
    assert read["ok"], read
    assert read["subnets"] and all(set(s) == SUBNET_FIELDS for s in read["subnets"])
    assert set(read["params"]) == {"tao_weight", "owner_cut", "stake_fee", "rules", "lock_cost",
                                   "min_stake", "validator_take", "registration_open"}
    assert read["rootStake"] == market["root_stake"]
    assert read["validators"] and all(set(v) == {"id", "nickname", "root_stake", "stake", "seats"}
                                      for v in read["validators"])
    assert {p["role"] for p in read["privates"]} == {"speculator", "subnet_owner",
                                                     "root_validator"}
    assert all(set(p) == PRIVATE_FIELDS for p in read["privates"])


@pytest.mark.parametrize("where, field", [("subnet", "flow_ema"), ("subnet", "alpha_out"),
                                          ("market", "params"), ("private", "net_worth"),
                                          ("private", "root_validator")])
def test_a_view_without_a_field_fails_instead_of_showing_a_dash(node_path, where, field):
    market, privates = _views()
    target = {"subnet": market["subnets"][0], "market": market, "private": privates[0]}[where]
    del target[field]
    read = _read(node_path, market, privates)
    assert read == {"ok": False, "error": f'view without "{field}"'}
