"""The research export against a spreadsheet and against re-identification: no cell can start a
formula whichever separator a spreadsheet splits on, students appear under random per-export
ids (not their seat ids, which follow the public lobby order), and the subnet names students
wrote are not in the pseudonymous export."""
from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from game import engine
from game.actions.lobby import join_game, set_role
from game.actions.orders import submit_command
from game.actions.start import start_game
from game.debrief import exports
from game.models import Command, Game

pytestmark = pytest.mark.django_db

NICKS = ["Ann;=1+1;x", "Bo,+SUM(9),y", "Cy;@cmd;z", "Di;-2+3;w"]
SUBNET_NAME = "Ours;=HYPERLINK(1);x"


def _played(game: Game) -> None:
    seats = [join_game(game.code, nick)[0] for nick in NICKS]
    set_role(game.id, seats[0].id, "subnet_owner")
    start_game(game.id)
    submit_command(seats[0].id, "reg", {"do": "register_subnet", "name": SUBNET_NAME})
    for k, seat in enumerate(seats[1:]):
        submit_command(seat.id, f"c-{k}", {"do": "stake", "subnet": 1, "tao": 1.0})
    for _ in range(2):  # a whole epoch: its per-player rows are in the export too
        now = timezone.now()
        Game.objects.filter(pk=game.id).update(next_tick_at=now)
        assert engine.settle_tick(game.id, now=now)


def _export(game: Game, nicknames: bool) -> dict[str, str]:
    teacher = Client()
    teacher.force_login(game.owner)
    response = teacher.get(f"/console/{game.code}/export.zip" + ("?nicknames=1" if nicknames
                                                                 else ""))
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.content)) as z:
        return {n: z.read(n).decode("utf-8-sig") for n in z.namelist()}


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_no_cell_starts_a_formula_whichever_separator_a_spreadsheet_uses(game, delimiter):
    _played(game)
    files = _export(game, nicknames=True)
    text = "".join(files[n] for n in files if n.endswith(".csv"))
    assert "Ann;" in text and "SUM(9)" in text  # the nicknames are there, as text
    assert Command.objects.get(client_id="reg").status == "filled"
    assert "HYPERLINK" in files["game.json"]  # the subnet name too (this export names)
    for name, content in files.items():
        if not name.endswith(".csv"):
            continue
        # How a spreadsheet reading `delimiter`-separated values (with "-quoting) cuts it.
        for row in csv.reader(io.StringIO(content), delimiter=delimiter):
            for value in row:
                start = value.lstrip(" ")
                if start[:1] in ("=", "+", "@", "\t", "\r") or (
                        start.startswith("-") and not _is_number(start)):
                    pytest.fail(f"{name} split on {delimiter!r}: formula cell {value!r}")


def test_neutralise_puts_an_apostrophe_wherever_a_formula_could_start():
    assert exports.neutralise("a;=1+1;b") == "a;'=1+1;b"
    assert exports.neutralise("=1,+2\t@3\r-4\n=5") == "'=1,'+2\t'@3\r'-4\n'=5"
    assert exports.neutralise("bot-owner-2") == "bot-owner-2"
    assert exports.neutralise("a - b, c") == "a - b, c"


def test_students_get_random_ids_per_export_and_their_subnet_names_are_left_out(game):
    _played(game)
    first, second = _export(game, nicknames=False), _export(game, nicknames=False)
    seat_ids = {f"p{pk}" for pk in game.seats.values_list("id", flat=True)}

    def students(files: dict[str, str]) -> list[str]:
        rows = list(csv.DictReader(io.StringIO(files["players_by_epoch.csv"])))
        return [r["seat"] for r in rows if r["actor"] == "human"]

    one, two = students(first), students(second)
    assert len(one) == len(NICKS) and all(re.fullmatch(r"s-[0-9a-f]{8}", s) for s in one)
    assert one == sorted(one)  # rows ordered by the pseudonym, not the seat
    assert set(one).isdisjoint(two)  # each export draws its own
    for files in (first, second):
        everything = "".join(files.values())
        for pid in seat_ids:
            assert not re.search(rf"\b{pid}\b", everything), pid
        for nick in NICKS:
            assert nick not in everything and exports.neutralise(nick) not in everything
        assert "HYPERLINK" not in everything and "Ours" not in everything
    # The renamed export still re-runs to the same market (the subnet gets the default name).
    import sim

    scenario = json.loads(first["scenario.json"])
    commands = list(csv.DictReader(io.StringIO(first["commands.csv"])))
    register = [json.loads(c["parameters"]) for c in commands if c["type"] == "register_subnet"]
    assert register == [{"do": "register_subnet", "player": register[0]["player"]}]
    assert register[0]["player"] in one
    by_tick: dict[int, list[Any]] = {}
    for c in commands:
        if c["tick"]:
            by_tick.setdefault(int(c["tick"]), []).append(json.loads(c["parameters"]))
    g = sim.Game.from_scenario(scenario, seed=scenario["seed"])
    rows = []
    while g.tick < Game.objects.get(pk=game.id).tick:
        rows.append(g.step(by_tick.get(g.tick, []), bots=False).tick_row)
    assert exports.subnets_by_tick_csv(rows)[1:] == first["subnets_by_tick.csv"]

