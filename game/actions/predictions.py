"""Predictions before events (issue #16): the instructor puts a question to the class (a
scripted event's `prediction`, docs/scenario-format.md, or a free one), students answer on
their phones while trading goes on, the projector shows how many answered and, on reveal, the
distribution; the debrief sets the answers beside what then happened
(game/debrief/predictions.py).

Answers change no economic state: they live in their own tables (`Question`, `Answer`), never
in the command log, so a replay of the game is the same with or without them. Each action is one
transaction; its messages go out on commit (docs/protocol.md "question", "answers").
"""
from __future__ import annotations

import json
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Max

from game import broadcast
from game.actions.base import lock, need
from game.errors import ClientError
from game.models import Answer, Game, Question, QuestionStatus, Seat, SeatKind, Status
from sim.scenario import ScenarioError, prediction


def screens_group(game_id: int) -> str:
    """The console and the projector: what the class's screens show but phones do not (the
    live count of answers)."""
    return f"game.{game_id}.screens"


def _students(game_id: int) -> int:
    return Seat.objects.filter(game_id=game_id, kind=SeatKind.HUMAN, kicked=False).count()


def counts(q: Question) -> list[int]:
    """How many students picked each choice."""
    out = [0] * len(q.choices)
    for row in q.answers.values("choice").annotate(n=Count("id")):
        out[row["choice"]] += row["n"]
    return out


def view(q: Question | None) -> dict[str, Any] | None:
    """The question as every screen sees it; `counts` only once revealed."""
    if q is None:
        return None
    return {"id": q.id, "number": q.number, "text": q.text, "choices": list(q.choices),
            "event": q.event, "status": q.status,
            "counts": counts(q) if q.status == QuestionStatus.REVEALED else None}


def tally(q: Question) -> dict[str, Any]:
    return {"question": q.id, "answered": q.answers.count(), "of": _students(q.game_id)}


def latest(game_id: int) -> Question | None:
    return Question.objects.filter(game_id=game_id).order_by("-number").first()


def _frames(game: Game, q: Question) -> list[tuple[str, dict[str, Any]]]:
    """The question for every socket (a public message: seq + 1), then the count of answers for
    the screens (the seq just sent)."""
    game.seq += 1
    frames = [broadcast.frame(broadcast.game_group(game.id), broadcast.encode(
        {"type": "question", "seq": game.seq, "question": view(q)}), game.seq)]
    frames.append(_answers_frame(game, q))
    game.save(update_fields=["seq"])
    return frames


def recount(game: Game) -> list[tuple[str, dict[str, Any]]]:
    """The screens' count again after the class changed (a student joined late or was
    removed) while a question is open: its `of` moved. Nothing when no question is open."""
    q = latest(game.id)
    if q is None or q.status != QuestionStatus.OPEN:
        return []
    return [_answers_frame(game, q)]


def _answers_frame(game: Game, q: Question) -> tuple[str, dict[str, Any]]:
    return broadcast.frame(screens_group(game.id), broadcast.encode(
        {"type": "answers", "seq": game.seq, **tally(q)}), game.seq)


def _checked(scenario: dict[str, Any], event: int | None, text: str | None,
             choices: list[str] | None, subnet: int | None) -> dict[str, Any]:
    """The question to ask: the event's prediction, or the one typed (sim.scenario's rules)."""
    if event is not None:
        if text is not None or choices is not None or subnet is not None:
            raise ClientError("bad_question", "ask either an event's question or your own")
        events = scenario.get("events", [])
        if not 0 <= event < len(events):
            raise ClientError("unknown_event", f"no scripted event {event}")
        if not events[event].get("prediction"):
            raise ClientError("no_prediction", f"event {event} has no prediction question")
        return dict(events[event]["prediction"])
    raw: dict[str, Any] = {"text": text or "", "choices": choices or []}
    if subnet is not None:
        raw["subnet"] = subnet
    try:
        return dict(prediction(raw, "question"))
    except ScenarioError as exc:
        raise ClientError("bad_question", str(exc)) from None


def ask(game_id: int, event: int | None = None, text: str | None = None,
        choices: list[str] | None = None, subnet: int | None = None) -> dict[str, Any]:
    """Put a question to the class. A question still open is closed first (one at a time)."""
    with transaction.atomic():
        game = lock(game_id)
        need(game, Status.LOBBY, Status.RUNNING, Status.PAUSED)
        asked = _checked(json.loads(game.scenario), event, text, choices, subnet)
        Question.objects.filter(game=game, status=QuestionStatus.OPEN).update(
            status=QuestionStatus.CLOSED, closed_tick=game.tick)
        number = (Question.objects.filter(game=game).aggregate(n=Max("number"))["n"] or 0) + 1
        q = Question.objects.create(game=game, number=number, event=event, text=asked["text"],
                                    choices=asked["choices"], subnet=asked.get("subnet"),
                                    asked_tick=game.tick)
        broadcast.on_commit(_frames(game, q))
    return {"question": q.id, "number": q.number}


def _question(game: Game, question: int) -> Question:
    q = Question.objects.select_for_update().filter(pk=question, game=game).first()
    if q is None:
        raise ClientError("unknown_question", f"no question {question} in this game")
    return q


def close(game_id: int, question: int) -> dict[str, Any]:
    """No more answers (the event is about to fire)."""
    with transaction.atomic():
        game = lock(game_id)
        q = _question(game, question)
        if q.status != QuestionStatus.OPEN:
            raise ClientError("question_closed", f"question {q.number} is already {q.status}")
        q.status, q.closed_tick = QuestionStatus.CLOSED, game.tick
        q.save(update_fields=["status", "closed_tick"])
        broadcast.on_commit(_frames(game, q))
    return {"question": q.id}


def reveal(game_id: int, question: int) -> dict[str, Any]:
    """Show every screen how the class answered (closing the question if it is open)."""
    with transaction.atomic():
        game = lock(game_id)
        q = _question(game, question)
        if q.status == QuestionStatus.REVEALED:
            raise ClientError("already_revealed", f"question {q.number} is already revealed")
        if q.status == QuestionStatus.OPEN:
            q.closed_tick = game.tick
        q.status = QuestionStatus.REVEALED
        q.save(update_fields=["status", "closed_tick"])
        broadcast.on_commit(_frames(game, q))
    return {"question": q.id, "counts": counts(q)}


def answer(seat_id: int, question: int, choice: int) -> dict[str, Any]:
    """A student's answer: once per question, while it is open. Locks the question row only
    (a class answering at once must not queue behind the game's tick)."""
    with transaction.atomic():
        # the game's state and scenario left unread: a class answers at once
        seat = Seat.objects.select_related("game").defer(
            "game__state", "game__scenario").get(pk=seat_id)
        q = _question(seat.game, question)
        if q.status != QuestionStatus.OPEN:
            raise ClientError("question_closed", f"question {q.number} is {q.status}")
        if not 0 <= choice < len(q.choices):
            raise ClientError("bad_choice", f"question {q.number} has {len(q.choices)} choices")
        mine = Answer.objects.filter(question=q, seat=seat).first()
        if mine is not None:
            raise ClientError("already_answered",
                              f"you answered question {q.number} already ({mine.choice})")
        try:
            with transaction.atomic():
                Answer.objects.create(question=q, seat=seat, choice=choice, tick=seat.game.tick)
        except IntegrityError:  # the same seat from another socket, at the same moment
            raise ClientError("already_answered", "you answered this question already") from None
        broadcast.on_commit([_answers_frame(seat.game, q)])
    return {"type": "answered", "question": q.id, "choice": choice}


def my_answer(seat: Seat | None, q: Question | None) -> dict[str, Any] | None:
    if seat is None or q is None:
        return None
    mine = Answer.objects.filter(question=q, seat=seat).first()
    return None if mine is None else {"question": q.id, "choice": mine.choice}
