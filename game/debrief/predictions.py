"""Predictions after the game (issue #16): the debrief and each student's report set the class's
answers beside what then happened to the asked subnet's price; the research export's
predictions.csv. Read-only: the questions and answers are game/actions/predictions.py's.

A scripted event's question may carry an answer key (`correct`, docs/scenario-format.md): the
debrief marks the right choice, the export says of each answer whether it is right, and the
grade sheet counts each student's right answers, all through `answer_keys`. A question typed in
the console has no key.
"""
from __future__ import annotations

import json
from typing import Any

from game.actions.predictions import counts
from game.models import Answer, Game, Question, Seat


def answer_keys(game: Game) -> dict[int, int]:
    """Question id -> the index of its right choice, for the questions asked from a scripted
    event whose prediction has a `correct` choice (the game's own scenario, as started)."""
    events = json.loads(game.scenario).get("events", [])
    out = {}
    for q in Question.objects.filter(game=game, event__isnull=False):
        event = q.event if q.event is not None else -1
        asked = events[event].get("prediction") if 0 <= event < len(events) else None
        key = (asked or {}).get("correct")
        if key is not None and key in q.choices:
            out[q.id] = q.choices.index(key)
    return out


def _price(row: dict[str, Any] | None, subnet: int) -> float | None:
    for s in (row or {}).get("subnets", []):
        if s["id"] == subnet:
            return float(s["price"])
    return None


def outcome(q: Question, doc: dict[str, Any]) -> dict[str, Any] | None:
    """What happened to the question's subnet: its price at the last tick settled before the
    question was asked, and one epoch after the event fired (a free question: after it closed;
    the last tick settled if the game ended sooner)."""
    if q.subnet is None or not doc["ticks"]:
        return None
    by_tick = {r["tick"]: r for r in doc["ticks"]}
    last = doc["ticks"][-1]["tick"]
    start = q.closed_tick if q.closed_tick is not None else q.asked_tick
    fired = [e["tick"] for e in doc["events"] if e.get("index") == q.event and "tick" in e]
    if q.event is not None and fired:
        start = fired[0]
    before_tick = max(q.asked_tick - 1, doc["ticks"][0]["tick"])
    after_tick = min(start + doc["game"]["ticks_per_epoch"] - 1, last)
    before = _price(by_tick.get(before_tick), q.subnet)
    after = _price(by_tick.get(after_tick), q.subnet)
    if before is None or after is None or after_tick < before_tick:
        return None
    return {"subnet": q.subnet, "from_tick": before_tick, "to_tick": after_tick,
            "price_before": before, "price_after": after,
            "change": after / before - 1 if before else None,
            "change_pct": round((after / before - 1) * 100, 1) if before else None}


def debrief(game: Game, doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Each question with the class's answers beside what then happened."""
    titles = {i: e.get("title") for i, e in enumerate(json.loads(game.scenario).get("events", []))}
    keys = answer_keys(game)
    out = []
    for q in Question.objects.filter(game=game).order_by("number"):
        c = counts(q)
        total = sum(c)
        right = keys.get(q.id)
        out.append({"id": q.id, "number": q.number, "text": q.text, "event": q.event,
                    "event_title": titles.get(q.event) if q.event is not None else None,
                    "asked_tick": q.asked_tick, "closed_tick": q.closed_tick,
                    "answered": total, "outcome": outcome(q, doc), "right": right,
                    "answered_right": c[right] if right is not None else None,
                    "choices": [{"text": t, "count": n, "share": n / total if total else 0.0,
                                 "share_pct": round(100 * n / total) if total else 0,
                                 "right": j == right}
                                for j, (t, n) in enumerate(zip(q.choices, c, strict=True))]})
    return out


def report(game: Game, seat: Seat, doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The debrief's questions with this student's own answer to each (None: not answered)."""
    mine = dict(Answer.objects.filter(seat=seat).values_list("question_id", "choice"))
    return [{**q, "mine": mine.get(q["id"]),
             "mine_text": q["choices"][mine[q["id"]]]["text"] if q["id"] in mine else None}
            for q in debrief(game, doc)]


EXPORT_COLUMNS = [
    ("question", "the question's number in the game (1, 2, …)"),
    ("event", "the scripted event (its index in the scenario) it was asked before; empty for "
              "a question typed in the console"),
    ("text", "the question"),
    ("asked_tick", "the game's next tick when it was asked"),
    ("closed_tick", "the game's next tick when answers closed"),
    ("seat", "who answered (as in commands.csv)"),
    ("nickname", "the student's nickname (only with --nicknames)"),
    ("choice", "the choice picked, 0-based"),
    ("answer", "the text of that choice"),
    ("tick", "the game's next tick when the answer was given"),
    ("right", "true when the choice is the question's answer key (its event's `correct`), "
              "false when not; empty for a question without a key"),
]


def export_rows(game: Game, ids: dict[str, str], nicknames: bool) -> list[dict[str, Any]]:
    """One row per answer, questions in order, then by the id the export shows."""
    rows = []
    keys = answer_keys(game)
    for a in (Answer.objects.filter(question__game=game).select_related("question", "seat")
              .order_by("question__number")):
        q = a.question
        key = keys.get(q.id)
        rows.append({"question": q.number, "event": q.event, "text": q.text,
                     "asked_tick": q.asked_tick, "closed_tick": q.closed_tick,
                     "seat": ids.get(a.seat.player, a.seat.player),
                     "nickname": a.seat.nickname if nicknames else None,
                     "choice": a.choice, "answer": q.choices[a.choice], "tick": a.tick,
                     "right": None if key is None else a.choice == key})
    rows.sort(key=lambda r: (r["question"], r["seat"]))
    return rows
