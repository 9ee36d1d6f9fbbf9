"""Who is playing (issue #16): the console's participation monitor, counted from the command log.

Per student seat: orders settled this epoch and in all (filled or refused), orders refused, the
last tick an order of theirs settled, and orders the stand-in placed for them. The snapshot
carries the totals (one GROUP BY over the log); after each tick the engine sends the console
one small `participation` message with only that tick's increments (docs/protocol.md), never
the whole roster again. Presence (connected, away since, a bot holding the seat) is the
roster's (`presence` messages).

"This epoch" is the epoch of the last tick settled: its counts start again with the first tick
of the next epoch.
"""
from __future__ import annotations

from typing import Any, Iterable

from django.db.models import Count, Max, Q

from game import broadcast
from game.models import Actor, Command, CommandStatus, Game, Seat, SeatKind

NOT_ORDERS = ("join", "event")  # the log's entries no one chose at the tick
SETTLED = (CommandStatus.FILLED, CommandStatus.REJECTED)


def _epoch(game: Game, tick: int) -> int:
    return tick // max(game.ticks_per_epoch, 1)


def snapshot(game: Game) -> dict[str, Any] | None:
    """The monitor's state for a console: {tick, epoch, seats: {seat id: counts}}; a seat
    nobody placed an order for has no entry (all zero)."""
    if game.tick == 0:
        return {"tick": -1, "epoch": 0, "seats": {}}
    last = game.tick - 1
    epoch = _epoch(game, last)
    first = epoch * max(game.ticks_per_epoch, 1)
    mine = Q(actor=Actor.HUMAN)
    rows = (Command.objects.filter(game=game, seat__kind=SeatKind.HUMAN, status__in=SETTLED)
            .exclude(do__in=NOT_ORDERS).values("seat_id").annotate(
                orders=Count("id", filter=mine),
                orders_epoch=Count("id", filter=mine & Q(settled_tick__gte=first)),
                refused=Count("id", filter=mine & Q(status=CommandStatus.REJECTED)),
                last_tick=Max("settled_tick", filter=mine),
                stand_in_orders=Count("id", filter=Q(actor=Actor.BOT))))
    seats = {str(r["seat_id"]): {k: v for k, v in r.items() if k != "seat_id"} for r in rows}
    return {"tick": last, "epoch": epoch, "seats": seats}


def after_tick(game: Game, seats: Iterable[Seat], cmds: Iterable[Command], tick: int
               ) -> list[tuple[str, dict[str, Any]]]:
    """For the engine, once tick `tick` has settled `cmds`: the console's increments."""
    students = {s.id for s in seats if s.kind == SeatKind.HUMAN}
    inc: dict[str, dict[str, int]] = {}
    for c in cmds:
        if c.seat_id not in students or c.do in NOT_ORDERS or c.status not in SETTLED:
            continue
        row = inc.setdefault(str(c.seat_id), {"orders": 0, "refused": 0, "stand_in_orders": 0})
        if c.actor == Actor.BOT:
            row["stand_in_orders"] += 1
        elif c.actor == Actor.HUMAN:
            row["orders"] += 1
            row["refused"] += c.status == CommandStatus.REJECTED
    return [broadcast.frame(broadcast.instructor_group(game.id), broadcast.encode(
        {"type": "participation", "seq": game.seq, "tick": tick,
         "epoch": _epoch(game, tick), "seats": inc}), game.seq)]
