"""A seat's orders: submit (idempotent by the client's id), cancel while queued, and quote
(a read of the cached sim, nothing stored). The engine settles them at the next tick."""
from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from game import simapi
from game.actions.base import lock
from game.errors import ClientError, Refused
from game.jsontext import dumps
from game.models import Actor, Command, CommandStatus, Game, Seat, SeatKind, Status


def _accepted(cmd: Command) -> dict[str, Any]:
    return {"type": "accepted", "id": cmd.client_id, "command": cmd.id, "due_tick": cmd.due_tick}


def submit_command(seat_id: int, client_id: str, action: dict[str, Any]) -> dict[str, Any]:
    """Store a seat's command for the next tick; the reply is sent only after the commit."""
    existing = Command.objects.filter(seat_id=seat_id, client_id=client_id).first()
    if existing is not None:
        return _accepted(existing)  # idempotent by (seat, client id): the first answer again
    try:
        with transaction.atomic():
            seat = Seat.objects.get(pk=seat_id)
            game = lock(seat.game_id, "status", "tick")
            if game.status == Status.LOBBY:
                raise Refused("game_not_started", "The game has not started yet.")
            if game.status == Status.ENDED:
                raise Refused("game_over", "The game is over.")
            seat.refresh_from_db()
            if seat.kicked or not seat.active:
                raise Refused("seat_not_active", "Your seat enters the game at the next tick."
                               if not seat.kicked else "You were removed from this game.")
            full = {**action, "player": seat.player}
            cmd = Command.objects.create(
                game=game, seat=seat, client_id=client_id,
                actor=Actor.INSTRUCTOR if seat.kind == SeatKind.FOUNDATION else Actor.HUMAN,
                do=action["do"], action=dumps(full), due_tick=game.tick)
    except IntegrityError:
        # The same id from another socket of this seat won the race: answer as it was answered.
        return _accepted(Command.objects.get(seat_id=seat_id, client_id=client_id))
    return _accepted(cmd)


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
