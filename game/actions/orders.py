"""A seat's orders: submit (idempotent by the client's id), cancel while queued, and quote
(a read of the cached sim, nothing stored). The engine settles them at the next tick."""
from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from game import plainsql, simapi
from game.actions.base import lock, lock_columns
from game.errors import ClientError, Refused
from game.jsontext import dumps
from game.models import Actor, Command, CommandStatus, Game, Seat, SeatKind, Status


def _accepted(client_id: str, number: int, due_tick: int) -> dict[str, Any]:
    return {"type": "accepted", "id": client_id, "command": number, "due_tick": due_tick}


# A command is a student's most frequent message: its reads are plain SQL (game/plainsql.py),
# the insert stays the ORM's.
_REPLAYED = (f"SELECT id, due_tick FROM {Command._meta.db_table} "
             "WHERE seat_id = %s AND client_id = %s")
_SEAT = (f"SELECT player, kind, kicked, active FROM {Seat._meta.db_table} "
         "WHERE id = %s AND game_id = %s")


def submit_command(seat_id: int, client_id: str, action: dict[str, Any],
                   game_id: int | None = None) -> dict[str, Any]:
    """Store a seat's command for the next tick; the reply is sent only after the commit.
    `game_id`: the seat's game, when the caller knows it (a socket does): one query less on a
    path every student takes every few seconds (docs/performance.md)."""
    replayed = plainsql.one_row(_REPLAYED, [seat_id, client_id])  # (seat, client id) is unique
    if replayed is not None:  # idempotent by (seat, client id): the first answer again
        return _accepted(client_id, replayed[0], replayed[1])
    if game_id is None:
        game_id = Seat.objects.values_list("game_id", flat=True).get(pk=seat_id)
    try:
        with transaction.atomic():
            status, tick = lock_columns(game_id, "status", "tick")
            # the seat as it is now that its game is locked (a kick or the next tick's join
            # may have changed it while this waited), and only a seat of that game
            seat = plainsql.one_row(_SEAT, [seat_id, game_id])
            if seat is None:
                raise Seat.DoesNotExist(f"no seat {seat_id} in game {game_id}")
            player, kind, kicked, active = seat
            if status == Status.LOBBY:
                raise Refused("game_not_started", "The game has not started yet.")
            if status == Status.ENDED:
                raise Refused("game_over", "The game is over.")
            if kicked or not active:
                raise Refused("seat_not_active", "Your seat enters the game at the next tick."
                               if not kicked else "You were removed from this game.")
            full = {**action, "player": player}
            cmd = Command.objects.create(
                game_id=game_id, seat_id=seat_id, client_id=client_id,
                actor=Actor.INSTRUCTOR if kind == SeatKind.FOUNDATION else Actor.HUMAN,
                do=action["do"], action=dumps(full), due_tick=tick)
    except IntegrityError:
        # The same id from another socket of this seat won the race: answer as it was answered.
        won = Command.objects.get(seat_id=seat_id, client_id=client_id)
        return _accepted(client_id, won.id, won.due_tick)
    return _accepted(client_id, cmd.id, cmd.due_tick)


def cancel_command(seat_id: int, target: str) -> dict[str, Any]:
    with transaction.atomic():
        seat = Seat.objects.get(pk=seat_id)
        lock(seat.game_id, "id")  # the engine settles under it: no cancel of a settling command
        cmd = Command.objects.filter(seat_id=seat_id, client_id=target).first()
        if cmd is None:
            raise ClientError("unknown_command", f"no command {target!r} from this seat")
        if cmd.status != CommandStatus.QUEUED:
            raise ClientError("not_cancellable", f"command {target!r} is already {cmd.status}")
        cmd.status = CommandStatus.CANCELLED
        cmd.reason = "cancelled"
        cmd.save(update_fields=["status", "reason"])
    return {"type": "cancelled", "command": target}


def quote(game_id: int, player: str, action: dict[str, Any]) -> dict[str, Any]:
    # The state (hundreds of kB in a large class) is read only when this process has no sim
    # of the game's tick yet: once per tick, not once per quote.
    game = Game.objects.defer("state", "scenario").get(pk=game_id)
    if game.status == Status.LOBBY:
        raise ClientError("game_not_started", "The game has not started yet.")
    if game.status == Status.ENDED:
        raise ClientError("game_over", "The game is over.")
    sim_game = simapi.peek(game.id, game.tick)
    if sim_game is None:
        if game.state is None:
            raise ClientError("game_not_started", "The game has not started yet.")
        sim_game = simapi.cached(game.id, game.tick, game.state)
    return sim_game.quote({**action, "player": player})
