"""Running the class (issue #16), read side: what a snapshot carries of the prediction
question, the announcement and eyes-up (game/actions/predictions.py, announcements.py) and of
the participation monitor (game/participation.py). The console's ops are game/actions/control.py's.
"""
from __future__ import annotations

from typing import Any

from game import participation
from game.actions import announcements, predictions
from game.models import Game, Seat


def snapshot_fields(game: Game, seat: Seat | None, kind: str) -> dict[str, Any]:
    """The snapshot's share (docs/protocol.md): the question, the count of answers (console and
    projector), this seat's answer, the announcement, eyes-up, the monitor (console only)."""
    screens = kind in ("instructor", "projector")
    return {**predictions.snapshot_fields(game, seat, screens),
            **announcements.snapshot_fields(game),
            "participation": participation.snapshot(game) if kind == "instructor" else None}
