"""Talking to every screen (issue #16): an announcement typed in the console, shown on every
phone and the projector until a student dismisses it or the instructor replaces or clears it;
and "eyes up", which pauses a running game and covers the phones until it is lifted (lifting it
resumes a game it paused). Each is one transaction; the messages go out on commit
(docs/protocol.md "announcement", "eyes_up").
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from game.actions.base import Frames, lock, public_frames, save_and_send, status_frames
from game.errors import ClientError
from game.models import Classroom, Game, Status

ANNOUNCEMENT_MAX = 280  # characters: a phone screen's worth


def _room(game: Game) -> Classroom:
    room, _ = Classroom.objects.get_or_create(game=game)
    return room


def announcement_view(room: Classroom | None) -> dict[str, Any] | None:
    if room is None or not room.announcement:
        return None
    return {"number": room.announcement_number, "text": room.announcement}


def announce(game_id: int, text: str) -> dict[str, Any]:
    """Show `text` on every screen, replacing the announcement before it."""
    text = text.strip()
    if not text:
        raise ClientError("empty_text", "an announcement needs some text")
    if len(text) > ANNOUNCEMENT_MAX:
        raise ClientError("text_too_long",
                          f"announcements are limited to {ANNOUNCEMENT_MAX} characters")
    with transaction.atomic():
        game = lock(game_id)
        room = _room(game)
        room.announcement, room.announcement_number = text, room.announcement_number + 1
        room.save(update_fields=["announcement", "announcement_number"])
        save_and_send(game, public_frames(game, {"type": "announcement",
                                                 "announcement": announcement_view(room)}))
    return {"number": room.announcement_number}


def clear(game_id: int) -> dict[str, Any]:
    """Take the announcement off every screen (nothing to do, nothing sent, when there is none)."""
    with transaction.atomic():
        game = lock(game_id)
        room = _room(game)
        if room.announcement:
            room.announcement = ""
            room.save(update_fields=["announcement"])
            frames = public_frames(game, {"type": "announcement", "announcement": None})
            save_and_send(game, frames)
    return {}


def eyes_up(game_id: int, on: bool) -> dict[str, Any]:
    """Cover the phones (and pause a running game), or lift the cover (and resume the game if
    eyes-up paused it). Asking for the state it is already in changes nothing."""
    with transaction.atomic():
        game = lock(game_id)
        room = _room(game)
        if room.eyes_up == on:
            return {"eyes_up": on, "status": game.status}
        if on and game.status == Status.ENDED:
            raise ClientError("bad_state", "not allowed while the game is ended")
        frames: Frames = []
        fields: list[str] = []
        if on and game.status == Status.RUNNING:
            game.status, game.next_tick_at = Status.PAUSED, None
            room.eyes_up_paused = True
            frames += status_frames(game, "pause")
            fields += ["status", "next_tick_at"]
        elif not on and room.eyes_up_paused and game.status == Status.PAUSED:
            game.status = Status.RUNNING  # as clock.resume_game
            game.next_tick_at = timezone.now() + timedelta(seconds=game.tick_seconds)
            frames += status_frames(game, "resume")
            fields += ["status", "next_tick_at"]
        if not on:
            room.eyes_up_paused = False
        room.eyes_up = on
        room.save(update_fields=["eyes_up", "eyes_up_paused"])
        frames += public_frames(game, {"type": "eyes_up", "on": on})
        save_and_send(game, frames, *fields)
    return {"eyes_up": on, "status": game.status}


def snapshot_fields(game: Game) -> dict[str, Any]:
    room = Classroom.objects.filter(game=game).first()
    return {"announcement": announcement_view(room), "eyes_up": bool(room and room.eyes_up)}
