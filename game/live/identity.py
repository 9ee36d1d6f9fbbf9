"""Who is on a socket, and what they may see (snapshots are built here: read-only)."""
from __future__ import annotations

import functools
import secrets
import threading
from dataclasses import dataclass
from typing import Any

from django.db import connection

import sim
from game import classroom, errors, leaderboard as lb, names, plainsql, simapi
from game.commandlog import order_view
from game.live import publicpart
from game.models import Command, Game, Seat, SeatKind
from game.readmodel import roster

STUDENT, INSTRUCTOR, PROJECTOR = "student", "instructor", "projector"


@dataclass(frozen=True)
class Identity:
    kind: str
    game_id: int
    code: str
    seat_id: int | None = None
    player: str | None = None
    user_id: int | None = None


def seat_cookie_name(code: str) -> str:
    return f"seat_{code}"


# A socket's handshake: the game by its code and, in the same statement, the seat a token hash
# opens there (not kicked), in plain SQL (game/plainsql.py): a reconnect storm is a class's
# handshakes at once (docs/performance.md, round 5).
_GAME_AND_SEAT = (f"SELECT g.id, g.code, g.projector_token, g.owner_id, s.id, s.player "
                  f"FROM {Game._meta.db_table} g LEFT JOIN {Seat._meta.db_table} s "
                  "ON s.game_id = g.id AND s.token_hash = %s AND NOT s.kicked WHERE g.code = %s")


def resolve(code: str, *, projector: str | None, user: Any, seat_token: str | None
            ) -> Identity | int:
    """The socket's identity, or a close code (docs/protocol.md, first match wins)."""
    # Only what deciding needs: the game's state and scenario are large.
    row = plainsql.one_row(_GAME_AND_SEAT, [
        names.token_hash(seat_token) if seat_token else None, names.normalize_code(code)])
    if row is None:
        return errors.CLOSE_NO_GAME
    game_id, game_code, projector_token, owner_id, seat_id, player = row
    if projector is not None:
        if secrets.compare_digest(projector.encode(), projector_token.encode()):
            return Identity(PROJECTOR, game_id, game_code)
        return errors.CLOSE_NO_IDENTITY
    if user is not None and getattr(user, "is_authenticated", False) and user.pk == owner_id:
        seat = Seat.objects.filter(game_id=game_id, kind=SeatKind.FOUNDATION).first()
        return Identity(INSTRUCTOR, game_id, game_code, seat_id=seat.id if seat else None,
                        player=seat.player if seat else None, user_id=user.pk)
    if seat_id is not None:
        return Identity(STUDENT, game_id, game_code, seat_id=seat_id, player=player)
    return errors.CLOSE_NO_IDENTITY


# A snapshot's own part, in plain SQL too (game/plainsql.py): the seat's few columns the
# snapshot shows, and the seat's last 50 orders placed with a client id. Building the same two
# queries with the ORM took 1.4 ms of a worker's CPU a snapshot (10 orders; docs/performance.md,
# round 6).
_SEAT_FIELDS = plainsql.in_field_order(Seat, {"id", "nickname", "role", "player", "active", "kind"})
_ORDER_FIELDS = plainsql.in_field_order(Command, {"id", "client_id", "do", "status", "due_tick",
                                          "settled_tick", "reason", "actor", "action", "fill"})


def _seat(seat_id: int) -> Seat | None:
    row = plainsql.columns(Seat, seat_id, _SEAT_FIELDS)
    return None if row is None else Seat.from_db(connection.alias, _SEAT_FIELDS, row)


@functools.cache
def _recent_orders_sql() -> str:
    qn = connection.ops.quote_name  # plain fields: each column is named as the field
    return (f"SELECT {', '.join(qn(name) for name in _ORDER_FIELDS)} "
            f"FROM {qn(Command._meta.db_table)} WHERE {qn('seat_id')} = %s "
            f"AND {qn('client_id')} IS NOT NULL ORDER BY {qn('id')} DESC LIMIT 50")


def _recent_orders(seat_id: int) -> list[dict[str, Any]]:
    """The seat's orders as a page opened on another device lists them, oldest first."""
    newest_first = plainsql.rows(_recent_orders_sql(), [seat_id])
    return [order_view(Command.from_db(connection.alias, _ORDER_FIELDS, row))
            for row in reversed(newest_first)]


_rank_cache: dict[int, tuple[str, int, dict[str, dict[str, int]]]] = {}
_rank_building: dict[int, threading.Lock] = {}  # one builder per game at a time
_rank_guard = threading.Lock()


def _rank(game: Game, sim_game: sim.Game, player: str) -> dict[str, int | None]:
    """The seat's rank among the students now (`rank`, `rank_of`: as the tick's `private`
    message carries them), computed once per (game, tick) for all seats, by one thread.
    While it works, a snapshot asked for meanwhile takes the previous tick's ranks if this
    process has them (the tick's `private` message brings the new rank anyway) instead of
    waiting or building its own: in a 1,000-student reconnect storm every snapshot thread
    building at once was a third of the storm's work, and one builder that all waited for
    took up to 2 s per tick (docs/performance.md)."""
    hit = _rank_cache.get(game.id)
    if hit is not None and hit[:2] == (game.code, game.tick):
        return lb.rank_fields(hit[2].get(player))
    with _rank_guard:
        building = _rank_building.setdefault(game.id, threading.Lock())
    earlier = hit is not None and hit[0] == game.code and hit[1] < game.tick
    if not building.acquire(blocking=not earlier):
        assert hit is not None
        return lb.rank_fields(hit[2].get(player))
    try:
        hit = _rank_cache.get(game.id)
        if hit is None or hit[:2] != (game.code, game.tick):  # not built while we waited
            # Not `game.seats.only(...)`: the related manager sets each row's `game` from its
            # `game_id`, which `only` leaves out: a query per seat to read it back.
            seats = lb.seat_map(game, Seat.objects.filter(game_id=game.id).only(
                "player", "nickname", "kind"))
            hit = (game.code, game.tick, lb.student_ranks(lb.standings(sim_game, seats)))
            with _rank_guard:
                if len(_rank_cache) > 256:
                    _rank_cache.clear()
                _rank_cache[game.id] = hit
    finally:
        building.release()
    return lb.rank_fields(hit[2].get(player))


def _sim_game(game: Game) -> sim.Game | None:
    """The game's sim at its tick: from this process's cache, else from the stored state (the
    one column the snapshot defers: it grows with the class)."""
    hit = simapi.peek(game.id, game.tick)
    if hit is not None:
        return hit
    state = game.state  # a query of its own, only on a miss (once per tick and process)
    return None if state is None else simapi.cached(game.id, game.tick, state)


def snapshot(ident: Identity) -> dict[str, Any]:
    """The socket's snapshot: the game's public part, shared by every socket of this process
    at the game's seq (game/live/publicpart.py), and this socket's own part read now."""
    shared = publicpart.shared(ident.game_id)
    game = shared.game
    seat = _seat(ident.seat_id) if ident.seat_id else None
    private = None
    rank: dict[str, int | None] = lb.rank_fields(None)
    sim_game = _sim_game(game) if seat is not None and seat.active else None
    if seat is not None and sim_game is not None:
        try:
            private = sim_game.private_view(seat.player)
            rank = _rank(game, sim_game, seat.player)
        except KeyError:  # not (yet) a player in the sim: the page shows the public market
            private = None
    commands = _recent_orders(seat.id) if seat is not None else []
    instructor = ident.kind == INSTRUCTOR
    return {
        "type": "snapshot", **shared.fields,
        "you": {"kind": ident.kind, "seat_id": seat.id if seat else None,
                "nickname": seat.nickname if seat else None, "role": seat.role if seat else None,
                "player": seat.player if seat else None,
                "active": bool(seat and seat.active)},
        "private": private, **rank, "commands": commands,
        "events": publicpart.events_for(shared, instructor),
        "roster": roster(game) if instructor else None,
        **classroom.seat_fields(game, shared.question, seat, ident.kind),
    }
