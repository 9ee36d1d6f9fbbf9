"""The grade sheet: one row per student whose figures are the debrief's and the research
export's exactly, a participation score computed by the formula it shows with the teacher's
weights, formula-safe CSV from the console (owner only) and from manage.py."""
from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from gamekit import EVIL_NICKS, LATE_NICK

from game import leaderboard
from game.debrief import analysis as debrief, gradesheet, predictions
from game.models import Answer, Question

pytestmark = [pytest.mark.server, pytest.mark.django_db(transaction=True)]

PARTICIPATION = "participation ("


def _csv(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff"), "no BOM"
    return list(csv.DictReader(io.StringIO(text[1:])))


def _sheet_rows(game, *args: str) -> list[dict[str, str]]:
    out = io.StringIO()
    call_command("gradesheet", game.code, *args, stdout=out, stderr=io.StringIO())
    return _csv(out.getvalue())


def _export(game, tmp_path: Path) -> zipfile.ZipFile:
    path = tmp_path / "export.zip"
    call_command("export_game", game.code, "--out", str(path), "--nicknames",
                 stdout=io.StringIO())
    return zipfile.ZipFile(path)


def _participation(row: dict[str, str]) -> str:
    return next(v for k, v in row.items() if k.startswith(PARTICIPATION))


def test_it_matches_the_debrief_and_the_export_exactly(finished, tmp_path):
    game, seats = finished
    rows = {r["nickname"]: r for r in _sheet_rows(game)}
    # Every student (the late joiner too), under the export's own formula-safe nickname.
    z = _export(game, tmp_path)
    by_epoch = _csv(z.read("players_by_epoch.csv").decode("utf-8"))
    last = max(int(p["epoch"]) for p in by_epoch)
    final = {p["nickname"]: p for p in by_epoch if int(p["epoch"]) == last
             and p["actor"] == "human"}
    assert set(rows) == set(final) == {"'" + EVIL_NICKS[0], *EVIL_NICKS[1:], LATE_NICK}
    # Net worth: the export's end-of-game figure and the debrief's, to the last digit.
    doc = debrief.analyse(game)
    board = {r["nickname"]: r for r in leaderboard.student_board(doc["players"])}
    assert len(board) == 4
    for nick, row in rows.items():
        assert row["net_worth"] == final[nick]["net_worth"]
        mine = board[nick.removeprefix("'")]
        assert row["net_worth"] == repr(mine["net_worth"])
        assert row["brought_in"] == repr(mine["contributed"])
        assert row["return"] == repr(mine["net_worth"] / mine["contributed"] - 1.0)
        assert (row["rank"], row["role_rank"]) == (str(mine["student_rank"]),
                                                   str(mine["student_role_rank"]))
        assert row["students"] == "4" and row["role"] == mine["role"]
    # Orders, refusals and active epochs: counted from the export's command log.
    commands = _csv(z.read("commands.csv").decode("utf-8"))
    tpe = json.loads(z.read("game.json"))["game"]["ticks_per_epoch"]
    for nick, row in rows.items():
        seat = final[nick]["seat"]
        mine = [c for c in commands if c["seat"] == seat and c["actor"] == "human"]
        assert row["orders"] == str(len(mine))
        assert row["refused"] == str(sum(c["outcome"] == "rejected" for c in mine))
        assert row["epochs_active"] == str(len({int(c["tick"]) // tpe for c in mine}))
        assert row["epochs"] == "6"
    # gamekit's orders: the first student placed 4 (one refused) at ticks 0, 2, 4 and 9.
    first = rows["'" + EVIL_NICKS[0]]
    assert (first["orders"], first["refused"], first["epochs_active"]) == ("4", "1", "4")
    assert rows[LATE_NICK]["orders"] == "1"  # the late join itself is not an order


def test_it_scores_participation_by_the_formula_it_shows(finished):
    game, _ = finished
    default = _sheet_rows(game)
    header = next(k for k in default[0] if k.startswith(PARTICIPATION))
    assert header == PARTICIPATION + gradesheet.formula(gradesheet.Weights()) + ")"
    assert "100 × (2·E + 1·O + 1·F + 0·R) / 4" in header
    weighted = {r["nickname"]: r for r in _sheet_rows(
        game, "--w-epochs", "1", "--w-orders", "0", "--w-filled", "3", "--w-earnings", "4",
        "--target", "2")}
    first = weighted["'" + EVIL_NICKS[0]]
    e, f = 4 / 6, 1 - 1 / 4
    r = 1 - (int(first["rank"]) - 1) / (4 - 1)
    assert float(_participation(first)) == 100 * (1 * e + 0 * 1.0 + 3 * f + 4 * r) / 8
    # By default earnings do not count: two students with the same activity score the same.
    by_nick = {r["nickname"]: r for r in default}
    assert float(_participation(by_nick["'" + EVIL_NICKS[0]])) == 100 * (
        2 * (4 / 6) + 1 * (4 / 10) + 1 * (1 - 1 / 4)) / 4


def test_the_page_and_the_csv_are_the_owners_and_formula_safe(finished, django_user_model):
    game, _ = finished
    client = Client()
    assert client.get(f"/console/{game.code}/grades/").status_code == 302  # log in first
    client.force_login(django_user_model.objects.create_user("other", password="x-long-pw-1"))
    assert client.get(f"/console/{game.code}/grades/").status_code == 404
    assert client.get(f"/console/{game.code}/grades.csv").status_code == 404
    client.force_login(game.owner)
    page = client.get(f"/console/{game.code}/grades/?w_earnings=1")
    html = page.content.decode()
    assert page.status_code == 200
    assert "100 × (2·E + 1·O + 1·F + 1·R) / 5" in html
    assert "<script>alert(1)//" not in html and "&lt;script&gt;alert(1)//" in html
    assert f'href="/console/{game.code}/grades.csv?w_epochs=2.0&amp;w_orders=1.0' in html
    res = client.get(f"/console/{game.code}/grades.csv?w_earnings=1")
    assert res["Content-Type"] == "text/csv; charset=utf-8"
    assert res["Content-Disposition"] == f'attachment; filename="grades-{game.code}.csv"'
    text = res.content.decode("utf-8")
    assert text == gradesheet.csv_text(gradesheet.build(game, gradesheet.Weights(earnings=1)))
    for row in _csv(text):
        for value in row.values():
            assert not (value and value[0] in "=+@\t\r"), value
    assert "'" + EVIL_NICKS[0] in {r["nickname"] for r in _csv(text)}


@pytest.mark.parametrize("query", ["w_epochs=nan", "w_orders=-1", "w_filled=101",
                                   "w_epochs=0&w_orders=0&w_filled=0&w_earnings=0",
                                   "target=0", "target=2.5", "w_earnings=1e400"])
def test_weights_out_of_range_are_refused_with_a_message(finished, query):
    game, _ = finished
    client = Client()
    client.force_login(game.owner)
    page = client.get(f"/console/{game.code}/grades/?{query}")
    assert page.status_code == 400
    assert 'id="weights-error"' in page.content.decode()
    assert client.get(f"/console/{game.code}/grades.csv?{query}").status_code == 400


def test_the_console_links_the_grade_sheet(finished):
    game, _ = finished
    client = Client()
    client.force_login(game.owner)
    html = client.get(f"/console/{game.code}/").content.decode()
    assert f'href="/console/{game.code}/grades/" id="grades-link"' in html


def test_the_command_writes_a_file_and_refuses_what_it_cannot_use(finished, tmp_path):
    from django.core.management.base import CommandError

    game, _ = finished
    out = tmp_path / "grades.csv"
    call_command("gradesheet", game.code.lower(), "--out", str(out), "--w-orders", "3",
                 stderr=io.StringIO())
    assert out.read_bytes().decode("utf-8") == gradesheet.csv_text(
        gradesheet.build(game, gradesheet.Weights(orders=3)))
    with pytest.raises(CommandError, match=r"^w_filled: a number from 0 to 100\.$"):
        call_command("gradesheet", game.code, "--w-filled", "-2")
    with pytest.raises(CommandError, match=r"^no game 'NOPE99'$"):
        call_command("gradesheet", "NOPE99")
    with pytest.raises(CommandError, match=r"^--out: no such directory"):
        call_command("gradesheet", game.code, "--out", str(tmp_path / "no" / "g.csv"))


def test_it_counts_predictions_answered_and_right_as_the_debrief_and_the_export_do(
        finished, tmp_path):
    game, seats = finished
    # Event 0's question has an answer key ("Down"), event 1's none; the third is typed.
    scn = json.loads(game.scenario)
    scn["events"][0]["prediction"] = {"text": "Q1?", "choices": ["Up", "Down"],
                                      "correct": "Down"}
    scn["events"][1]["prediction"] = {"text": "Q2?", "choices": ["Up", "Down"]}
    game.scenario = json.dumps(scn)
    game.save(update_fields=["scenario"])
    q1, q2, q3 = (Question.objects.create(game=game, number=n, event=event, text=f"Q{n}?",
                                          choices=["Up", "Down"], asked_tick=n)
                  for n, event in ((1, 0), (2, 1), (3, None)))
    (a, _), (b, _), (c, _) = list(seats.values())[:3]
    for q, seat, choice in ((q1, a, 1), (q1, b, 0), (q1, c, 1), (q2, b, 0), (q2, c, 1),
                            (q3, a, 1), (q3, c, 0)):
        Answer.objects.create(question=q, seat=seat, choice=choice, tick=q.asked_tick)
    rows = {r["nickname"]: r for r in gradesheet.build(game)["rows"]}
    assert {(r["questions"], r["questions_keyed"]) for r in rows.values()} == {(3, 1)}
    mine = {n: (r["predictions_answered"], r["predictions_right"]) for n, r in rows.items()}
    assert (mine[a.nickname], mine[b.nickname], mine[c.nickname]) == ((2, 1), (2, 0), (3, 1))
    assert sorted(mine.values()) == [(0, 0), (2, 0), (2, 1), (3, 1)]
    # The CSV, the export's predictions.csv (its `right` column) and the debrief agree.
    in_csv = {r["nickname"]: r for r in _sheet_rows(game)}
    export = _csv(_export(game, tmp_path).read("predictions.csv").decode("utf-8"))
    assert {r["right"] for r in export if r["question"] == "1"} == {"true", "false"}
    assert {r["right"] for r in export if r["question"] != "1"} == {""}
    for nick, row in in_csv.items():
        given = [r for r in export if r["nickname"] == nick]
        assert (row["questions"], row["questions_keyed"]) == ("3", "1")
        built = rows[nick.removeprefix("'")]  # the CSV's formula-safe spelling
        assert row["predictions_answered"] == str(len(given)) == str(
            built["predictions_answered"])
        assert row["predictions_right"] == str(sum(r["right"] == "true" for r in given)) == str(
            built["predictions_right"])
    asked = predictions.debrief(game, debrief.analyse(game))
    assert [(q["right"], q["answered_right"]) for q in asked] == [(1, 2), (None, None),
                                                                  (None, None)]
    assert [ch["right"] for ch in asked[0]["choices"]] == [False, True]
    assert asked[0]["answered_right"] == sum(r["predictions_right"] for r in rows.values())
