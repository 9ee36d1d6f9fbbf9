"""Running the class (issue #16), read side: what a socket's snapshot carries of the prediction
question and of the participation monitor (game/actions/predictions.py, game/participation.py);
the question itself, the announcement and eyes-up are in its public part
(game/live/publicpart.py). The console's ops are game/actions/control.py's.
"""
from __future__ import annotations

from typing import Any

from game import participation
from game.actions import predictions
from game.models import Game, Question, Seat


def seat_fields(game: Game, question: Question | None, seat: Seat | None, kind: str
                ) -> dict[str, Any]:
    """The snapshot's per-socket share (docs/protocol.md): the count of answers to `question`
    (the latest; console and projector), this seat's answer to it, the monitor (console only)."""
    screens = kind in ("instructor", "projector")
    return {"answers": predictions.tally(question) if screens and question is not None else None,
            "my_answer": predictions.my_answer(seat, question),
            "participation": participation.snapshot(game) if kind == "instructor" else None}
