"""What every action shares: the game-row lock, the state check, and the frames an action sends
once its transaction commits.

Each action (game/actions/*.py) is one transaction that starts by locking the game row (`lock`):
all writers of one game queue there, so "one writer per game" holds across processes on
PostgreSQL, and SQLite's IMMEDIATE transactions serialize them anyway. Broadcasts are queued with
`broadcast.on_commit` (`save_and_send`) and leave only if the transaction commits.
"""
from __future__ import annotations

from typing import Any

from game import broadcast, plainsql
from game.errors import ClientError
from game.models import Game
from game.readmodel import game_info, lobby_list, lobby_shown, roster

Frames = list[tuple[str, dict[str, Any]]]


def lock(game_id: int, *fields: str) -> Game:
    """The game row, locked until the transaction ends: every writer of a game queues here.
    `fields`: read only these columns now (any other on first use). A student's command needs
    the status and the tick, and the row's state and scenario are hundreds of kB in a class of
    a thousand: read with every command, they made the game's commands queue (docs/performance.md,
    round 2)."""
    rows = Game.objects.select_for_update()
    return (rows.only(*fields) if fields else rows).get(pk=game_id)


def lock_columns(game_id: int, *columns: str) -> tuple[Any, ...]:
    """`lock`, for a caller that needs only these columns' values, read in plain SQL (a
    student's command: game/plainsql.py). Game.DoesNotExist if the game is gone."""
    row = plainsql.columns(Game, game_id, columns, lock=True)
    if row is None:
        raise Game.DoesNotExist(f"no game {game_id}")
    return row


def public_frames(game: Game, message: dict[str, Any]) -> Frames:
    """Stamp a public message with the next seq (bumped on the locked row) and frame it."""
    game.seq += 1
    message["seq"] = game.seq
    return [broadcast.frame(broadcast.game_group(game.id), broadcast.encode(message), game.seq)]


def roster_frame(game: Game) -> tuple[str, dict[str, Any]]:
    return broadcast.frame(broadcast.instructor_group(game.id), broadcast.encode(
        {"type": "roster", "seq": game.seq, "roster": roster(game)}), game.seq)


def status_frames(game: Game, reason: str) -> Frames:
    return public_frames(game, {"type": "status", "game": game_info(game), "reason": reason})


def lobby_frames(game: Game) -> Frames:
    lobby = lobby_list(game)
    frames = public_frames(game, {"type": "lobby", "players": len(lobby),
                                  "lobby": lobby_shown(lobby)})
    frames.append(roster_frame(game))
    return frames


def need(game: Game, *statuses: str) -> None:
    """Refuse (bad_state) unless the game is in one of `statuses`."""
    if game.status not in statuses:
        raise ClientError("bad_state", f"not allowed while the game is {game.status}")


def save_and_send(game: Game, frames: Frames, *fields: str) -> None:
    """Save the game's `fields` (and its seq) and send `frames` once the transaction commits."""
    game.save(update_fields=list({"seq", *fields}))
    broadcast.on_commit(frames)
