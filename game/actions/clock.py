"""The game's clock and its script: pause, resume, end, delete, the tick length, settling ticks
now, and firing, holding or skipping a scripted event."""
from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from game import broadcast
from game.actions.base import Frames, lock, need, roster_frame, save_and_send, status_frames
from game.errors import ClientError
from game.jsontext import dumps
from game.models import Actor, Command, CommandStatus, Game, Status


def pause_game(game_id: int) -> None:
    with transaction.atomic():
        game = lock(game_id)
        need(game, Status.RUNNING)
        game.status, game.next_tick_at = Status.PAUSED, None
        save_and_send(game, status_frames(game, "pause"), "status", "next_tick_at")


def resume_game(game_id: int) -> None:
    with transaction.atomic():
        game = lock(game_id)
        need(game, Status.PAUSED)
        game.status = Status.RUNNING
        game.next_tick_at = timezone.now() + timedelta(seconds=game.tick_seconds)
        save_and_send(game, status_frames(game, "resume"), "status", "next_tick_at")


def end_game(game_id: int) -> None:
    with transaction.atomic():
        game = lock(game_id)
        need(game, Status.LOBBY, Status.RUNNING, Status.PAUSED)
        finish(game)
        frames = status_frames(game, "end")
        frames.append(roster_frame(game))  # every seat's status changes with the end
        save_and_send(game, frames, "status", "next_tick_at", "ended_at")


def finish(game: Game) -> None:
    """Mark a (locked) game ended; queued commands can no longer settle: cancel them."""
    game.status, game.next_tick_at, game.ended_at = Status.ENDED, None, timezone.now()
    game.commands.filter(status=CommandStatus.QUEUED).update(
        status=CommandStatus.CANCELLED, reason="game_over")


def delete_game(game_id: int) -> None:
    """Delete a game in any state, with everything it stored (seats, commands, rows). A game
    not yet over is ended first and its sockets told so (a `status` message, reason
    "deleted"); a page reconnecting later is closed with 4004 (no such game). The caller
    checks ownership and forgets the debrief's cached files (game.debrief.analysis.purge_cache)."""
    with transaction.atomic():
        game = lock(game_id)
        frames: Frames = []
        if game.status != Status.ENDED:
            finish(game)
            frames = status_frames(game, "deleted")
        game.delete()
        broadcast.on_commit(frames)


def set_tick_seconds(game_id: int, seconds: float) -> None:
    with transaction.atomic():
        game = lock(game_id)
        need(game, Status.LOBBY, Status.RUNNING, Status.PAUSED)
        game.tick_seconds = float(seconds)
        if game.status == Status.RUNNING:
            game.next_tick_at = timezone.now() + timedelta(seconds=game.tick_seconds)
        save_and_send(game, status_frames(game, "tick_seconds"), "tick_seconds", "next_tick_at")


def advance(game_id: int, unit: str = "tick") -> dict[str, Any]:
    """Ask the engine to settle one tick (or the rest of the epoch) now, even while paused."""
    with transaction.atomic():
        game = lock(game_id)
        need(game, Status.RUNNING, Status.PAUSED)
        target = game.tick + game.advance_ticks
        n = 1 if unit == "tick" else game.ticks_per_epoch - target % game.ticks_per_epoch
        n = max(0, min(n, game.total_ticks - target))
        game.advance_ticks += n
        game.save(update_fields=["advance_ticks"])
    return {"ticks": n}


def scripted_event(game_id: int, event: int, action: str) -> dict[str, Any]:
    """Fire, hold or skip a scripted event: an `event` action in the command log."""
    with transaction.atomic():
        game = lock(game_id)
        need(game, Status.RUNNING, Status.PAUSED)
        events = json.loads(game.scenario).get("events", [])
        if not 0 <= event < len(events):
            raise ClientError("unknown_event", f"no scripted event {event}")
        sim_action = {"do": "event", "player": "instructor", "event": event, "op": action}
        Command.objects.create(game=game, seat=None, actor=Actor.INSTRUCTOR, do="event",
                               action=dumps(sim_action), due_tick=game.tick)
    return {"due_tick": game.tick}
