"""The console's ops: each `control` message (validated by game.live.protocol) runs one action, its
arguments taken by name from the typed message."""
from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from game.actions import clock, lobby, rounds, start
from game.live.protocol import (
    AdvanceControl,
    EventControl,
    FoundationControl,
    KickControl,
    PlayAgainControl,
    RoundControl,
    SetRoleControl,
    SimpleControl,
    TickSecondsControl,
)

# The ops without arguments (protocol.SimpleControl) and the action each runs.
SIMPLE: dict[str, Callable[[int], object]] = {
    "start": start.start_game,
    "pause": clock.pause_game,
    "resume": clock.resume_game,
    "end": clock.end_game,
    "lock": partial(lobby.set_locked, locked=True),
    "unlock": partial(lobby.set_locked, locked=False),
    "auto_roles": lobby.auto_roles,
}


def control(game_id: int, msg: Any) -> dict[str, Any]:
    """Run the console's op (`msg`, a protocol.ControlMsg) on the game; the `ok` reply's
    `result` ({} for most ops)."""
    match msg:
        case SimpleControl():
            SIMPLE[msg.op](game_id)
        case TickSecondsControl():
            clock.set_tick_seconds(game_id, seconds=msg.seconds)
        case AdvanceControl():
            return clock.advance(game_id, unit=msg.unit)
        case KickControl():
            lobby.kick(game_id, seat_id=msg.seat_id)
        case SetRoleControl():
            lobby.set_role(game_id, seat_id=msg.seat_id, role=msg.role)
        case EventControl():
            return clock.scripted_event(game_id, event=msg.event, action=msg.action)
        case FoundationControl():
            lobby.set_foundation(game_id, on=msg.on)
        case PlayAgainControl():
            return rounds.play_again(game_id, setting=msg.setting, value=msg.value)
        case RoundControl():
            return rounds.practice(game_id) if msg.op == "practice" else rounds.to_real(game_id)
        case _:
            raise TypeError(f"not a control message: {msg!r}")
    return {}
