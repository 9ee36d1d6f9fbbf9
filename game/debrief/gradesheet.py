"""The grade sheet: one row per student, for grading by participation (earnings available).

Figures come from the debrief (`debrief.analyse`: net worth, what each brought in, the student
board's ranks by return) and the command log (orders placed and refused, epochs active), so
they are the debrief's and the research export's figures exactly (tests/debrief/
test_gradesheet.py holds them equal). A class list (game/classlist.py) adds a row for each
listed name nobody joined under, so the sheet matches the class.

The participation score is a weighted mean of four parts, each between 0 and 1:

    participation = 100 × (a·E + b·O + c·F + d·R) / (a + b + c + d)
    E = epochs active / epochs played      (an epoch with at least one order placed)
    O = min(orders placed, T) / T          (T: the orders that count as full marks)
    F = 1 − refused / orders placed        (0 with no orders)
    R = 1 − (rank − 1) / (students − 1)    (rank among students by return; 1 when alone)

The teacher sets a, b, c, d and T (`Weights`); the defaults grade participation only (d = 0).
Predictions answered and right (where a question has an answer key) are columns of their own,
outside the score.
The formula, with the weights in use, is written on the page and in the CSV's header
(`formula`).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Mapping

from game import classlist, leaderboard
from game.debrief import analysis as debrief, exports, predictions
from game.models import Actor, Answer, Command, CommandStatus, Game, Question


@dataclass(frozen=True)
class Weights:
    epochs: float = 2.0  # a: weight of E
    orders: float = 1.0  # b: weight of O
    filled: float = 1.0  # c: weight of F
    earnings: float = 0.0  # d: weight of R
    target: int = 10  # T: orders placed that count as full marks

    @property
    def total(self) -> float:
        return self.epochs + self.orders + self.filled + self.earnings


WEIGHT_MAX = 100.0
TARGET_MAX = 1000
# Query parameter / form field -> Weights field.
FIELDS = {"w_epochs": "epochs", "w_orders": "orders", "w_filled": "filled",
          "w_earnings": "earnings", "target": "target"}


class WeightError(ValueError):
    """A weight the teacher typed cannot be used: `field` names the query parameter."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def parse_weights(params: Mapping[str, str]) -> Weights:
    """Weights from query parameters (missing ones keep their default), or WeightError: each
    weight a finite number from 0 to 100, not all zero; the target a whole number 1–1000."""
    values: dict[str, Any] = asdict(Weights())
    for name, attr in FIELDS.items():
        raw = params.get(name)
        if raw is None or str(raw).strip() == "":
            continue
        text = str(raw).strip()[:32]
        if attr == "target":
            if not text.isdigit() or not 1 <= int(text) <= TARGET_MAX:
                raise WeightError(name, f"{name}: a whole number from 1 to {TARGET_MAX}.")
            values[attr] = int(text)
            continue
        try:
            value = float(text)
        except ValueError:
            raise WeightError(name, f"{name}: a number from 0 to {WEIGHT_MAX:g}.") from None
        if not math.isfinite(value) or not 0.0 <= value <= WEIGHT_MAX:
            raise WeightError(name, f"{name}: a number from 0 to {WEIGHT_MAX:g}.")
        values[attr] = value
    weights = Weights(**values)
    if weights.total <= 0.0:
        raise WeightError("w_epochs", "At least one weight must be above 0.")
    return weights


def formula(w: Weights) -> str:
    """The score's formula with these weights, as the page and the CSV header show it."""
    return (f"participation = 100 × ({w.epochs:g}·E + {w.orders:g}·O + {w.filled:g}·F + "
            f"{w.earnings:g}·R) / {w.total:g}; E = epochs active / epochs played; "
            f"O = min(orders placed, {w.target}) / {w.target}; F = 1 − refused / orders placed "
            f"(0 with no orders); R = 1 − (rank − 1) / (students − 1) (1 when alone)")


def participation(w: Weights, *, epochs_active: int, epochs: int, orders: int, refused: int,
                  rank: int | None, students: int) -> float:
    e = epochs_active / epochs if epochs > 0 else 0.0
    o = min(orders, w.target) / w.target
    f = 1.0 - refused / orders if orders > 0 else 0.0
    if rank is None:
        r = 0.0
    else:
        r = 1.0 if students <= 1 else 1.0 - (rank - 1) / (students - 1)
    return 100.0 * (w.epochs * e + w.orders * o + w.filled * f + w.earnings * r) / w.total


def _activity(game: Game) -> dict[int, dict[str, Any]]:
    """Per seat id: orders placed (every command the student sent, whatever became of it),
    refused (rejected by the market) and the epochs in which they placed one."""
    out: dict[int, dict[str, Any]] = {}
    last = max(game.total_ticks - 1, 0)
    tpe = max(game.ticks_per_epoch, 1)
    rows = Command.objects.filter(game=game, actor=Actor.HUMAN, seat__isnull=False).values_list(
        "seat_id", "status", "settled_tick", "due_tick")
    for seat_id, status, settled, due in rows:
        slot = out.setdefault(seat_id, {"orders": 0, "refused": 0, "epochs": set()})
        slot["orders"] += 1
        slot["refused"] += status == CommandStatus.REJECTED
        slot["epochs"].add(min(settled if settled is not None else due, last) // tpe)
    return out


def _predictions(game: Game) -> dict[str, Any]:
    """The questions the class was asked (`asked`), those with an answer key (`keyed`), and per
    seat id the answers given (`answered`) and the right ones among them (`right`: the choice
    is the key, debrief/predictions.answer_keys, as the debrief and the export mark it)."""
    keys = predictions.answer_keys(game)
    answered: dict[int, int] = {}
    right: dict[int, int] = {}
    for seat_id, question_id, choice in Answer.objects.filter(question__game=game).values_list(
            "seat_id", "question_id", "choice"):
        answered[seat_id] = answered.get(seat_id, 0) + 1
        right[seat_id] = right.get(seat_id, 0) + (keys.get(question_id) == choice)
    return {"asked": Question.objects.filter(game=game).count(), "keyed": len(keys),
            "answered": answered, "right": right}


def epochs_played(game: Game) -> int:
    """Epochs the class has had a chance to act in: every epoch reached so far."""
    if game.state is None:
        return 0
    tpe = max(game.ticks_per_epoch, 1)
    return min(math.ceil(game.tick / tpe), math.ceil(game.total_ticks / tpe)) or 1


COLUMNS: list[tuple[str, str]] = [
    ("nickname", "the student's nickname (the class list's spelling when the name is on it)"),
    ("on_class_list", "true when the name is on the class list, false when not; empty when "
                      "the game has no class list"),
    ("joined", "false for a name on the class list that nobody joined under"),
    ("role", "speculator, subnet_owner or root_validator"),
    ("net_worth", "final net worth in TAO at liquidation value (as the debrief)"),
    ("brought_in", "TAO the student brought in (starting money)"),
    ("return", "net worth / brought in − 1"),
    ("rank", "rank among students by return (ties share a rank)"),
    ("students", "students ranked"),
    ("role_rank", "rank by return among the students of the same role"),
    ("role_students", "students of that role"),
    ("orders", "orders placed (every order sent: filled, refused, cancelled or still queued)"),
    ("refused", "orders the market refused (rejected fills)"),
    ("epochs_active", "epochs in which the student placed at least one order"),
    ("epochs", "epochs played"),
    ("questions", "prediction questions the class was asked"),
    ("predictions_answered", "of those, how many the student answered"),
    ("questions_keyed", "of the questions asked, those with an answer key (their event's "
                        "`correct` choice)"),
    ("predictions_right", "of the student's answers to those, how many picked the key"),
    ("participation", "the participation score, 0–100 (formula in the header)"),
]


def build(game: Game, weights: Weights | None = None) -> dict[str, Any]:
    """{"weights", "formula", "epochs", "rows"}: every student of the debrief's standings (by
    rank), then the class list's names nobody joined under (alphabetically)."""
    w = weights or Weights()
    doc = debrief.analyse(game)
    board = leaderboard.student_board(doc["players"])
    per_role = {role: sum(1 for r in board if r["role"] == role) for role in leaderboard.ROLES}
    activity = _activity(game)
    listed = classlist.keys(game)
    epochs = epochs_played(game)
    pred = _predictions(game)
    asked = {"questions": pred["asked"], "questions_keyed": pred["keyed"]}
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for r in board:
        act = activity.get(r["seat_id"], {"orders": 0, "refused": 0, "epochs": set()})
        key = classlist.key(r["nickname"])
        seen.add(key)
        rows.append({
            "nickname": r["nickname"], "on_class_list": (key in listed) if listed else None,
            "joined": True, "role": r["role"], "net_worth": r["net_worth"],
            "brought_in": r["contributed"], "return": r["return"], "rank": r["student_rank"],
            "students": len(board), "role_rank": r["student_role_rank"],
            "role_students": per_role[r["role"]], "orders": act["orders"],
            "refused": act["refused"], "epochs_active": len(act["epochs"]), "epochs": epochs,
            **asked, "predictions_answered": pred["answered"].get(r["seat_id"], 0),
            "predictions_right": pred["right"].get(r["seat_id"], 0),
            "participation": participation(
                w, epochs_active=len(act["epochs"]), epochs=epochs, orders=act["orders"],
                refused=act["refused"], rank=r["student_rank"], students=len(board))})
    for name in sorted((n for k, n in listed.items() if k not in seen), key=str.casefold):
        rows.append({"nickname": name, "on_class_list": True, "joined": False,
                     "orders": 0, "refused": 0, "epochs_active": 0, "epochs": epochs,
                     **asked, "predictions_answered": 0, "predictions_right": 0,
                     "participation": participation(w, epochs_active=0, epochs=epochs,
                                                    orders=0, refused=0, rank=None,
                                                    students=len(board))})
    return {"weights": w, "formula": formula(w), "epochs": epochs, "rows": rows}


def csv_text(sheet: dict[str, Any]) -> str:
    """The sheet as CSV with the research export's safety (exports.to_csv: UTF-8 BOM, every
    text cell formula-safe); the participation column's header carries the formula."""
    header = [c for c, _ in COLUMNS]
    shown = header[:-1] + [f"participation ({sheet['formula']})"]
    return exports.to_csv(shown, ([r.get(c) for c in header] for r in sheet["rows"]))
