"""The research export: a finished game's zip re-runs through sim to the same market, every
command is in it, seats are pseudonymous unless asked, and no cell can run as a formula."""
from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from itertools import groupby
from pathlib import Path

import pytest
from django.core.management import call_command
from gamekit import EVIL_NICKS

from game.debrief import exports

pytestmark = [pytest.mark.server, pytest.mark.django_db(transaction=True)]

FILES = {"commands.csv", "trades.csv", "players_by_epoch.csv", "subnets_by_tick.csv",
         "epochs.csv", "scenario.json", "README.txt", "game.json"}


def _zip(game, tmp_path: Path, *extra: str) -> zipfile.ZipFile:
    out = tmp_path / "export.zip"
    call_command("export_game", game.code, "--out", str(out), *extra, stdout=io.StringIO())
    return zipfile.ZipFile(out)


def _rows(z: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    text = z.read(name).decode("utf-8")
    assert text.startswith("\ufeff"), f"{name} has no BOM"
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_it_reruns_scenario_and_commands_to_the_same_subnets_by_tick(finished, tmp_path):
    import sim

    game, _ = finished
    z = _zip(game, tmp_path)
    assert FILES <= set(z.namelist())
    scenario = json.loads(z.read("scenario.json"))
    commands = _rows(z, "commands.csv")
    settled = [c for c in commands if c["tick"] != ""]
    assert settled, "the game settled commands"
    by_tick = {int(t): [json.loads(c["parameters"]) for c in cs]
               for t, cs in groupby(settled, key=lambda c: c["tick"])}
    g = sim.Game.from_scenario(scenario, seed=scenario["seed"])
    rows = []
    while not g.finished:
        rows.append(g.step(by_tick.get(g.tick, []), bots=False).tick_row)
    rerun = exports.subnets_by_tick_csv(rows)
    assert rerun == z.read("subnets_by_tick.csv").decode("utf-8")


def test_it_lists_every_command_with_actor_and_outcome(finished, tmp_path):
    from game.models import Command

    game, _ = finished
    commands = _rows(_zip(game, tmp_path), "commands.csv")
    assert len(commands) == Command.objects.filter(game=game).count()
    actors = {c["actor"] for c in commands}
    assert {"human", "bot", "instructor"} <= actors
    outcomes = {c["outcome"] for c in commands}
    assert {"filled", "rejected"} <= outcomes
    rejected = [c for c in commands if c["outcome"] == "rejected" and c["actor"] == "human"]
    assert any(c["reason"] == "insufficient_tao" for c in rejected)


def test_it_links_commands_to_the_client_ids_and_trades_to_their_commands(finished, tmp_path):
    from game.models import Command

    game, seats = finished
    # With nicknames the seat column is the sim player id (the default export draws random
    # ids per export: tests/hardening/test_export_safety.py).
    z = _zip(game, tmp_path, "--nicknames")
    commands = {c["seq"]: c for c in _rows(z, "commands.csv")}
    # The client's id, as the page sent it (gamekit: "c<tick>-<who>"); none for a bot's.
    stored = {str(c.id): c.client_id or "" for c in Command.objects.filter(game=game)}
    assert {seq: c["client_id"] for seq, c in commands.items()} == stored
    first = commands[str(Command.objects.get(game=game, client_id="c0-0").id)]
    assert (first["seat"], first["type"]) == (seats[EVIL_NICKS[0]][0].player, "stake")
    assert {c["client_id"] for c in commands.values() if c["actor"] == "bot"} == {""}
    # Every trade a command made names it: same tick, seat and action.
    trades = _rows(z, "trades.csv")
    linked = [t for t in trades if t["command"] != ""]
    assert len(linked) >= 8 and any(t["source"] == "human" for t in linked)
    for t in linked:
        c = commands[t["command"]]
        assert (c["tick"], c["seat"], c["type"]) == (t["tick"], t["seat"], t["type"]), t
    assert all(t["source"] in ("scripted", "event") for t in trades if t["command"] == "")


def test_it_is_pseudonymous_by_default(finished, tmp_path):
    game, seats = finished
    z = _zip(game, tmp_path)
    everything = "".join(z.read(n).decode("utf-8") for n in z.namelist())
    for nick in EVIL_NICKS:
        assert nick not in everything
    assert "HYPERLINK" not in everything
    commands = _rows(z, "commands.csv")
    assert "nickname" not in commands[0]
    # Students appear under a random per-export id, never their seat's sim id (join order).
    students = {seat.player for seat, _ in seats.values()}
    shown = {c["seat"] for c in commands if c["actor"] == "human"}
    assert len(shown) == len(students) and not shown & students
    assert all(re.fullmatch(r"s-[0-9a-f]{8}", sid) for sid in shown)


def test_it_neutralises_formula_nicknames_when_they_are_included(finished, tmp_path):
    game, seats = finished
    z = _zip(game, tmp_path, "--nicknames")
    players = _rows(z, "players_by_epoch.csv")
    nicks = {p["nickname"] for p in players}
    assert "'" + EVIL_NICKS[0] in nicks  # =HYPERLINK(...) comes out as text
    assert EVIL_NICKS[1] in nicks  # "<script>..." is not a formula: kept as typed
    for name in ("commands.csv", "trades.csv", "players_by_epoch.csv", "epochs.csv"):
        for row in _rows(z, name):
            for value in row.values():
                if value and value[0] in "=+@\t\r":
                    pytest.fail(f"{name}: live formula cell {value!r}")
                if value.startswith("-"):
                    float(value)  # only numbers may start with a minus sign


def test_it_writes_numbers_exactly_and_describes_every_column(finished, tmp_path):
    game, _ = finished
    z = _zip(game, tmp_path)
    readme = z.read("README.txt").decode("utf-8")
    for name in ("commands.csv", "trades.csv", "players_by_epoch.csv", "subnets_by_tick.csv",
                 "epochs.csv"):
        header = _rows(z, name)[0].keys()
        for col in header:
            # one alpha_<subnet> column per subnet, described once
            described = "alpha_<subnet>" if re.fullmatch(r"alpha_\d+", col) else col
            assert f"  {described}: " in readme, f"{name}:{col} not described"
    doc = json.loads(z.read("game.json"))
    assert doc["game"]["seed"] == game.seed and doc["game"]["replay_ok"] is True
    stored = doc["ticks"][-1]["subnets"][0]["price"]
    last = [r for r in _rows(z, "subnets_by_tick.csv")
            if int(r["tick"]) == doc["ticks"][-1]["tick"]][0]
    assert float(last["price"]) == stored
    assert {"commands", "trades", "players_by_epoch", "epochs", "scenario"} <= doc.keys()


def test_the_console_download_is_the_owners_only(finished, client, django_user_model):
    game, _ = finished
    other = django_user_model.objects.create_user("other", password="another-long-password")
    client.force_login(other)
    assert client.get(f"/console/{game.code}/export.zip").status_code == 404
    client.force_login(game.owner)
    r = client.get(f"/console/{game.code}/export.zip")
    assert r.status_code == 200 and r["Content-Type"] == "application/zip"
    z = zipfile.ZipFile(io.BytesIO(r.content))
    assert FILES <= set(z.namelist())


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx",
                                  '=HYPERLINK("http://x")'])
def test_every_formula_start_is_neutralised(text):
    assert exports.neutralise(text) == "'" + text
    body = exports.to_csv(["nickname"], [[text]])
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body[1:], newline="")))
    assert rows[1] == ["'" + text]


def test_numbers_and_plain_text_are_left_alone():
    assert exports.cell(-0.5) == "-0.5" and exports.cell(0.1 + 0.2) == repr(0.1 + 0.2)
    assert exports.neutralise("<script>alert(1)//") == "<script>alert(1)//"
    assert exports.cell(None) == "" and exports.cell({"a": 1}) == '{"a":1}'
