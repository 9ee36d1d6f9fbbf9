"""Running the class (issue #16): the instructor's ops for predictions and announcements, and
what a snapshot carries of them and of the participation monitor. The socket edge
(game/consumers.py) sends an op named in CONTROLS here, any other to services.control.
"""
from __future__ import annotations

from typing import Any, Callable

from game import announcements, participation, predictions
from game.models import Game, Seat

CONTROLS: dict[str, Callable[..., dict[str, Any]]] = {
    "announce": lambda gid, text: announcements.announce(gid, text),
    "announce_clear": lambda gid: announcements.clear(gid),
    "eyes_up": lambda gid, on: announcements.eyes_up(gid, on),
    "ask": lambda gid, event, text, choices, subnet: predictions.ask(
        gid, event=event, text=text, choices=choices, subnet=subnet),
    "close_question": lambda gid, question: predictions.close(gid, question),
    "reveal": lambda gid, question: predictions.reveal(gid, question),
}


def control(game_id: int, op: str, **kw: Any) -> dict[str, Any]:
    return CONTROLS[op](game_id, **kw)


def snapshot_fields(game: Game, seat: Seat | None, kind: str) -> dict[str, Any]:
    """The snapshot's share (docs/protocol.md): the question, the count of answers (console and
    projector), this seat's answer, the announcement, eyes-up, the monitor (console only)."""
    screens = kind in ("instructor", "projector")
    return {**predictions.snapshot_fields(game, seat, screens),
            **announcements.snapshot_fields(game),
            "participation": participation.snapshot(game) if kind == "instructor" else None}
