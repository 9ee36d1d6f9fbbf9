"""Presence writes: a socket opened or closed, and each server process's heartbeat (its lease
renewals and the sweep of lapsed ones). What a seat's presence reads as is game/readmodel.py.

`Seat.sockets` is raised on connect and lowered on a clean close, and every server process renews
`Seat.last_seen` for the seats of its open sockets every `heartbeat_seconds()`
(game/live/heartbeat.py). A process killed with SIGKILL lowers nothing, but its leases stop being
renewed: after `presence_timeout()` its seats no longer count as connected, and the next sweep
(any process's heartbeat) resets their counters and tells the consoles.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from game import broadcast
from game.models import Game, Seat
from game.readmodel import presence_event, presence_timeout

# The seat's columns a presence event reads (readmodel.presence_event), and its game's.
_SEAT_COLUMNS = ("id", "game_id", "sockets", "last_seen", "kind", "kicked", "active", "role",
                 "stand_in_tick")
_GAME_COLUMNS = ("status", "bots")


def _presence_sql() -> str:
    qn = connection.ops.quote_name
    return (f"SELECT {', '.join(f's.{qn(c)}' for c in _SEAT_COLUMNS)}, "
            + ", ".join(f"g.{qn(c)} AS {qn('game_' + c)}" for c in _GAME_COLUMNS)
            + f" FROM {qn(Seat._meta.db_table)} s JOIN {qn(Game._meta.db_table)} g"
            f" ON g.{qn('id')} = s.{qn('game_id')} WHERE s.{qn('id')} = %s")


def _presence_frames(seat_id: int) -> list[tuple[str, dict[str, Any]]]:
    """One seat's presence for its game's console (presence_event); nothing for a seat that was
    deleted under an open socket. One plain SELECT of the columns it needs: the same query
    built by the ORM (a join, some columns) was a fifth of a 1,000-student reconnect storm's
    work (docs/performance.md). The rest of the game row (its scenario text, tens of kB) is
    loaded only if asked for, by a seat already due a stand-in (seat_status)."""
    seat = next(iter(Seat.objects.raw(_presence_sql(), [seat_id])), None)
    if seat is None:
        return []
    values = [seat.game_id, *(getattr(seat, "game_" + c) for c in _GAME_COLUMNS)]
    game = Game.from_db(connection.alias, ["id", *_GAME_COLUMNS], values)
    game.bots = bool(game.bots)  # a plain column: SQLite gives its 0 or 1
    seat.game = game
    return [presence_event(game, seat, timezone.now())]


def _presence_write() -> None:
    """Inside a presence transaction: PostgreSQL may acknowledge the commit before its WAL
    reaches the disk. A crash can lose the last fraction of a second of presence (who is
    online, renewed by the next heartbeat anyway), never a command or a tick; and a
    class reconnecting at once no longer waits for one disk flush per socket."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def seat_connected(seat_id: int) -> None:
    with transaction.atomic():
        _presence_write()
        Seat.objects.filter(pk=seat_id).update(sockets=F("sockets") + 1, last_seen=timezone.now())
        broadcast.on_commit(_presence_frames(seat_id))


def seat_disconnected(seat_id: int) -> None:
    with transaction.atomic():
        _presence_write()
        Seat.objects.filter(pk=seat_id, sockets__gt=0).update(
            sockets=F("sockets") - 1, last_seen=timezone.now())
        broadcast.on_commit(_presence_frames(seat_id))


def presence_beat(seat_ids: list[int], now: Any | None = None) -> list[int]:
    """One heartbeat of a server process: renew the leases of the seats it holds open sockets
    for (and make their counters at least 1, in case a sweep reset them while this process was
    too busy to renew), then sweep: seats that claim a socket but whose lease has lapsed had
    their sockets in a process that died (SIGKILL, a lost machine) or stalled. Their counters go
    back to 0 and their consoles get a `presence` message. Returns the swept seat ids."""
    now = now or timezone.now()
    with transaction.atomic():
        _presence_write()
        if seat_ids:
            # Rows locked in id order first, as a game's start saves its seats: one UPDATE of
            # many rows locks them in whatever order the plan reads them, and against a
            # start (or another worker's beat) that was a deadlock (docs/performance.md).
            ids = list(Seat.objects.select_for_update().filter(pk__in=seat_ids)
                       .order_by("pk").values_list("pk", flat=True))
            Seat.objects.filter(pk__in=ids).update(
                last_seen=now, sockets=Greatest(F("sockets"), Value(1)))
        lapsed = now - timedelta(seconds=presence_timeout())
        # Locked (and locked rows skipped) so that two processes sweeping at once report each
        # seat once, and a connect cannot slip in between the read and the reset.
        stale = list(Seat.objects.select_for_update(skip_locked=True, of=("self",))
                     .select_related("game").filter(
                         Q(last_seen__lt=lapsed) | Q(last_seen__isnull=True), sockets__gt=0))
        if stale:
            Seat.objects.filter(pk__in=[seat.id for seat in stale]).update(sockets=0)
            for seat in stale:
                seat.sockets = 0
            broadcast.on_commit([presence_event(seat.game, seat, now) for seat in stale])
    return [seat.id for seat in stale]
