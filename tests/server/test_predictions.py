"""Predictions before events (issue #16): asked by the console, answered by students while the
game goes on, closed, revealed; bad input gets a stable code and changes nothing; answers are
no part of the economy (the replay of the command log is the same)."""
from __future__ import annotations

import json
from typing import Any

import pytest
from serverkit import SCENARIO, WAIT, open_socket, receive_until, session_cookie, write_preset

from game import engine
from game.actions import predictions
from game.actions.clock import advance
from game.actions.lobby import join_game
from game.actions.setup import CreateError, Overrides, create_game
from game.actions.start import start_game
from game.debrief import analysis, predictions as after_the_game, replay
from game.errors import ClientError
from game.models import Answer, Command, Game, Question

pytestmark = pytest.mark.django_db(transaction=True)

PREDICTION = {"text": "What happens to SN2's price in the next epoch?",
              "choices": ["It rises", "It stays", "It falls"], "subnet": 2}


@pytest.fixture
def pgame(preset_dir: Any, instructor: Any) -> Game:
    """The test market with a prediction on its scripted event."""
    events = [{**SCENARIO["events"][0], "prediction": PREDICTION}]
    write_preset(preset_dir, "predict", events=events)
    return create_game(instructor, "predict", Overrides(seed=3))


def _tick(game_id: int) -> None:
    advance(game_id, "tick")
    assert engine.settle_tick(game_id)


def _state(game_id: int) -> tuple[Any, ...]:
    """Everything a bad request must leave as it was."""
    game = Game.objects.get(pk=game_id)
    return (game.seq, game.status, game.tick,
            list(Question.objects.filter(game=game).values_list("id", "status", "closed_tick")),
            list(Answer.objects.filter(question__game=game).values_list("seat_id", "choice")))


def _code(fn: Any, *args: Any, **kw: Any) -> str:
    with pytest.raises(ClientError) as err:
        fn(*args, **kw)
    return err.value.code


def test_it_asks_the_events_question_and_counts_answers_per_choice(pgame, frames):
    alice, _ = join_game(pgame.code, "Alice")
    bob, _ = join_game(pgame.code, "Bob")
    start_game(pgame.id)
    asked = predictions.ask(pgame.id, event=0)
    q = Question.objects.get(pk=asked["question"])
    assert (q.text, q.choices, q.subnet, q.event, q.status) == (
        PREDICTION["text"], PREDICTION["choices"], 2, 0, "open")
    predictions.answer(alice.id, q.id, 2)
    predictions.answer(bob.id, q.id, 0)
    revealed = predictions.reveal(pgame.id, q.id)
    assert revealed["counts"] == [1, 0, 1]
    sent = [json.loads(f[1]["text"]) for f in frames]
    shown = [m for m in sent if m["type"] == "question"]
    assert [m["question"]["status"] for m in shown] == ["open", "revealed"]
    assert shown[0]["question"]["counts"] is None  # nobody sees the split before the reveal
    assert shown[-1]["question"]["counts"] == [1, 0, 1]
    tallies = [(m["answered"], m["of"]) for m in sent if m["type"] == "answers"]
    assert tallies == [(0, 2), (1, 2), (2, 2), (2, 2)]


def test_the_screens_count_follows_a_late_join_and_a_removal_while_a_question_is_open(
        pgame, frames):
    from game.actions.lobby import kick

    alice, _ = join_game(pgame.code, "Alice")
    start_game(pgame.id)
    asked = predictions.ask(pgame.id, event=0)
    predictions.answer(alice.id, asked["question"], 1)
    bob, _ = join_game(pgame.code, "Bob")  # late, while the question is open
    kick(pgame.id, alice.id)
    predictions.close(pgame.id, asked["question"])
    join_game(pgame.code, "Carol")  # the question is closed: its count stays as it was
    sent = [json.loads(f[1]["text"]) for f in frames if "text" in f[1]]  # not the kick's
    tallies = [(m["answered"], m["of"]) for m in sent if m["type"] == "answers"]
    assert tallies == [(0, 1), (1, 1), (1, 2), (1, 1), (1, 1)]
    seqs = [m["seq"] for m in sent if "seq" in m]
    assert seqs == sorted(seqs)  # each count rides behind the lobby message it follows


def test_it_asks_a_free_question_typed_in_the_console(pgame):
    asked = predictions.ask(pgame.id, text="  Who wins?  ", choices=["Owners", "Holders"])
    q = Question.objects.get(pk=asked["question"])
    assert (q.text, q.choices, q.event, q.subnet, q.number) == (
        "Who wins?", ["Owners", "Holders"], None, None, 1)


def test_asking_again_closes_the_question_still_open(pgame):
    first = predictions.ask(pgame.id, event=0)["question"]
    second = predictions.ask(pgame.id, text="Next?", choices=["a", "b"])
    assert Question.objects.get(pk=first).status == "closed"
    assert second["number"] == 2


@pytest.mark.parametrize("fields, code", [
    ({"text": "No choices?"}, "bad_question"),
    ({"text": "One choice?", "choices": ["yes"]}, "bad_question"),
    ({"text": "Six?", "choices": ["1", "2", "3", "4", "5", "6"]}, "bad_question"),
    ({"text": "Same twice?", "choices": ["yes", "yes"]}, "bad_question"),
    ({"text": "   ", "choices": ["a", "b"]}, "bad_question"),
    ({"text": "x" * 201, "choices": ["a", "b"]}, "bad_question"),
    ({"event": 0, "text": "both?", "choices": ["a", "b"]}, "bad_question"),
    ({"event": 7}, "unknown_event"),
])
def test_a_bad_question_is_refused_with_a_stable_code_and_changes_nothing(pgame, fields, code):
    before = _state(pgame.id)
    assert _code(predictions.ask, pgame.id, **fields) == code
    assert _state(pgame.id) == before


def test_an_event_without_a_prediction_has_no_question_to_ask(game):
    assert _code(predictions.ask, game.id, event=0) == "no_prediction"
    assert not Question.objects.exists()


def test_bad_answers_are_refused_with_stable_codes_and_change_nothing(pgame, instructor):
    alice, _ = join_game(pgame.code, "Alice")
    start_game(pgame.id)
    q = predictions.ask(pgame.id, event=0)["question"]
    other = create_game(instructor, "predict", Overrides(seed=3))
    elsewhere = predictions.ask(other.id, text="Elsewhere?", choices=["a", "b"])["question"]
    predictions.answer(alice.id, q, 1)
    before = _state(pgame.id)
    assert _code(predictions.answer, alice.id, q, 0) == "already_answered"  # a replay
    assert _code(predictions.answer, alice.id, q, 1) == "already_answered"
    assert _code(predictions.answer, alice.id, 999_999, 0) == "unknown_question"
    assert _code(predictions.answer, alice.id, elsewhere, 0) == "unknown_question"
    assert _state(pgame.id) == before
    predictions.close(pgame.id, q)
    bob, _ = join_game(pgame.code, "Bob")
    before = _state(pgame.id)
    assert _code(predictions.answer, bob.id, q, 0) == "question_closed"
    assert _code(predictions.close, pgame.id, q) == "question_closed"
    assert _state(pgame.id) == before
    predictions.reveal(pgame.id, q)
    before = _state(pgame.id)
    assert _code(predictions.reveal, pgame.id, q) == "already_revealed"
    assert _state(pgame.id) == before


def test_a_choice_out_of_range_is_refused(pgame):
    alice, _ = join_game(pgame.code, "Alice")
    q = predictions.ask(pgame.id, event=0)["question"]
    assert _code(predictions.answer, alice.id, q, 3) == "bad_choice"
    assert not Answer.objects.exists()


def test_answers_change_no_economic_state(pgame):
    alice, _ = join_game(pgame.code, "Alice")
    start_game(pgame.id)
    _tick(pgame.id)
    log_before = Command.objects.count()
    q = predictions.ask(pgame.id, event=0)["question"]
    predictions.answer(alice.id, q, 0)
    predictions.reveal(pgame.id, q)
    assert Command.objects.count() == log_before  # nothing in the command log
    _tick(pgame.id)
    game = Game.objects.get(pk=pgame.id)
    assert replay.replay(game).ok


async def test_a_student_answers_over_the_socket_and_another_seat_cannot_be_named(pgame):
    from channels.db import database_sync_to_async as db

    alice, token = await db(join_game)(pgame.code, "Alice")
    await db(start_game)(pgame.id)
    q = (await db(predictions.ask)(pgame.id, event=0))["question"]
    comm, snap = await open_socket(pgame.code, cookies={f"seat_{pgame.code}": token})
    assert snap["question"]["id"] == q and snap["my_answer"] is None
    assert snap["answers"] is None  # the live count is the screens'
    await comm.send_json_to({"type": "answer", "id": "a-1", "question": q, "choice": 1,
                             "seat": 1})
    refused = await receive_until(comm, "error")
    assert (refused["code"], refused["ref"]) == ("invalid", "a-1")
    await comm.send_json_to({"type": "answer", "id": "a-2", "question": q, "choice": 1})
    assert await receive_until(comm, "answered") == {
        "type": "answered", "id": "a-2", "question": q, "choice": 1, "seq": snap["seq"]}
    await comm.send_json_to({"type": "answer", "id": "a-2", "question": q, "choice": 1})
    assert (await receive_until(comm, "error"))["code"] == "already_answered"
    await comm.send_json_to({"type": "snapshot"})
    again = await receive_until(comm, "snapshot")
    assert again["my_answer"] == {"question": q, "choice": 1}
    await comm.disconnect()


async def test_the_console_cannot_answer_and_the_projector_cannot_ask(pgame):
    from channels.db import database_sync_to_async as db

    q = (await db(predictions.ask)(pgame.id, event=0))["question"]
    cookie = await db(session_cookie)(pgame.owner)
    console, _ = await open_socket(pgame.code, cookies={"sessionid": cookie})
    await console.send_json_to({"type": "answer", "id": "a-1", "question": q, "choice": 0})
    assert (await receive_until(console, "error"))["code"] == "forbidden"
    projector, snap = await open_socket(pgame.code, query=f"projector={pgame.projector_token}")
    assert snap["answers"] == {"question": q, "answered": 0, "of": 0}
    await projector.send_json_to({"type": "control", "id": "k", "op": "ask", "event": 0})
    assert (await receive_until(projector, "error"))["code"] == "read_only"
    await console.send_json_to({"type": "control", "id": "k-1", "op": "reveal", "question": q})
    ok = await receive_until(console, "ok", timeout=WAIT)
    assert ok["result"] == {"question": q, "counts": [0, 0, 0]}
    shown = await receive_until(projector, "question")
    assert shown["question"]["status"] == "revealed"
    await console.disconnect()
    await projector.disconnect()


def _finished_with_a_prediction(pgame: Game) -> tuple[Any, Any, int]:
    alice, alice_token = join_game(pgame.code, "Alice")
    bob, _ = join_game(pgame.code, "Bob")
    start_game(pgame.id)
    for _ in range(3):
        _tick(pgame.id)
    q = predictions.ask(pgame.id, event=0)["question"]  # the event fires at tick 4 (epoch 2)
    predictions.answer(alice.id, q, 2)
    predictions.answer(bob.id, q, 2)
    _tick(pgame.id)
    _tick(pgame.id)
    predictions.reveal(pgame.id, q)
    _tick(pgame.id)
    assert Game.objects.get(pk=pgame.id).status == "ended"
    return alice, alice_token, q


def _price(game: Game, tick: int, subnet: int) -> float:
    from game.models import TickRow

    row = json.loads(TickRow.objects.get(game=game, tick=tick).row)
    return next(s["price"] for s in row["subnets"] if s["id"] == subnet)


def test_the_debrief_sets_the_answers_beside_what_then_happened(pgame, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    _finished_with_a_prediction(pgame)
    game = Game.objects.get(pk=pgame.id)
    [item] = after_the_game.debrief(game, analysis.analyse(game))
    assert [(c["text"], c["count"]) for c in item["choices"]] == [
        ("It rises", 0), ("It stays", 0), ("It falls", 2)]
    assert (item["event_title"], item["answered"], item["asked_tick"]) == ("Boom", 2, 3)
    before, after = _price(game, 2, 2), _price(game, 5, 2)
    assert item["outcome"] == {
        "subnet": 2, "from_tick": 2, "to_tick": 5, "price_before": before,
        "price_after": after, "change": after / before - 1,
        "change_pct": round((after / before - 1) * 100, 1)}


def test_the_debrief_page_the_report_and_the_export_carry_the_answers(pgame, settings, tmp_path):
    import csv
    import io
    import zipfile

    from django.test import Client

    settings.VAR_DIR = tmp_path
    _alice, token, _q = _finished_with_a_prediction(pgame)
    teacher = Client()
    teacher.force_login(pgame.owner)
    page = teacher.get(f"/console/{pgame.code}/debrief/").content.decode()
    assert 'id="prediction-1"' in page and "What happened:" in page
    assert "before \u201cBoom\u201d" in page
    student = Client()
    student.cookies[f"seat_{pgame.code}"] = token
    report = student.get(f"/report/{pgame.code}/").content.decode()
    assert "Your predictions" in report and "← your answer" in report
    z = zipfile.ZipFile(io.BytesIO(teacher.get(f"/console/{pgame.code}/export.zip").content))
    rows = list(csv.DictReader(io.StringIO(z.read("predictions.csv").decode("utf-8")[1:])))
    assert [(r["question"], r["event"], r["choice"], r["answer"]) for r in rows] == [
        ("1", "0", "2", "It falls"), ("1", "0", "2", "It falls")]
    assert all(r["seat"].startswith("s-") and "nickname" not in r for r in rows)
    assert "predictions.csv" in z.read("README.txt").decode("utf-8")


def test_an_override_that_drops_the_questions_subnet_names_the_event(preset_dir, instructor):
    quiet = {**SCENARIO["events"][0], "title": "Quiet", "text": "Nothing named.",
             "prediction": {**PREDICTION, "text": "And its price?"}}  # only its `subnet`: 2
    write_preset(preset_dir, "quiet", events=[quiet])
    with pytest.raises(CreateError) as err:
        create_game(instructor, "quiet", Overrides(subnets=1))
    assert "Quiet" in str(err.value) and "SN2" in str(err.value)
    game = create_game(instructor, "quiet", Overrides(subnets=1,
                                                                         drop_events=True))
    assert json.loads(game.scenario)["events"] == []
