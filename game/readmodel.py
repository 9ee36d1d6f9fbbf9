"""The read model: what the pages and sockets are told about a game, its seats and their
presence (game_info, the lobby list, the console's roster, one seat's status and presence event,
the projector's leaderboard). Reads only: nothing here writes.

Presence: a seat is connected while it has an open socket *and* a fresh lease
(docs/architecture.md, "Presence"). The leases are written by game/actions/presence.py.
"""
from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

import sim
from game import broadcast, leaderboard as lb
from game.models import Game, Seat, SeatKind, Status


def timestamp(dt: Any) -> float | None:
    return None if dt is None else dt.timestamp()


def game_info(game: Game, players: int | None = None) -> dict[str, Any]:
    if players is None:
        players = human_seats(game).count()
    return {
        "code": game.code, "name": game.name, "status": game.status, "tick": game.tick,
        "epoch": game.epoch, "total_ticks": game.total_ticks,
        "ticks_per_epoch": game.ticks_per_epoch, "tick_seconds": game.tick_seconds,
        "next_tick_at": timestamp(game.next_tick_at), "locked": game.locked, "bots": game.bots,
        "players": players, "started": game.started_at is not None,
    }


def human_seats(game: Game) -> QuerySet[Seat]:
    """The seats of the class: students and the Foundation, removed ones left out."""
    return game.seats.filter(kind__in=[SeatKind.HUMAN, SeatKind.FOUNDATION], kicked=False)


def lobby_list(game: Game) -> list[dict[str, Any]]:
    # Two columns, no model instances: every snapshot carries this list.
    return [{"nickname": nickname, "role": role} for nickname, role in
            human_seats(game).order_by("id").values_list("nickname", "role")]


def lobby_shown(lobby: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What a `lobby` broadcast and a snapshot carry of the lobby list: its newest
    LOBBY_BROADCAST_MAX entries (the count, `players`, stays exact). Every join reaches every
    socket, and a snapshot goes to each socket of a reconnecting class: past a class-sized
    lobby, the whole list would cost N x N (the pages show the last few dozen names)."""
    return lobby[-settings.LOBBY_BROADCAST_MAX:]


def is_connected(seat: Seat, now: Any | None = None) -> bool:
    now = now or timezone.now()
    return seat.sockets > 0 and seat.last_seen is not None and (
        now - seat.last_seen).total_seconds() < presence_timeout()



# --- the roster: one rule for what the console says about each seat -----------------------------

# The `status` of a roster row (docs/protocol.md, "roster"): the console shows these words and
# nothing it works out for itself.
SEAT_STATUSES = ("removed", "bot", "foundation", "lobby", "joining", "playing", "reconnecting",
                 "away", "stand_in", "here", "left")


def stand_in_due(seat: Seat, now: Any) -> bool:
    """A student seat gone long enough for a bot to hold it at a tick settled at `now`: not
    connected, and last seen `BOT_TAKEOVER_SECONDS` ago or more. The engine hands such seats to
    a bot (if the game has bots); the roster says so with the same rule."""
    return not is_connected(seat, now) and (
        seat.last_seen is None
        or (now - seat.last_seen).total_seconds() >= settings.BOT_TAKEOVER_SECONDS)


def _bot_fill(game: Game) -> dict[str, str]:
    return json.loads(game.scenario).get("bot_fill") or {}


def seat_status(game: Game, seat: Seat, now: Any, fill: dict[str, str] | None = None) -> str:
    """What a seat is doing now, from the server's state alone (one of SEAT_STATUSES).

    `fill` is the scenario's bot_fill (role -> policy), read from the game when not given and
    only when needed."""
    if seat.kicked:
        return "removed"
    if seat.kind == SeatKind.BOT:
        return "bot"
    if seat.kind == SeatKind.FOUNDATION:
        return "foundation"
    if game.status == Status.LOBBY:
        return "lobby"
    connected = is_connected(seat, now)
    if game.status == Status.ENDED:
        return "here" if connected else "left"
    if not seat.active:
        return "joining"  # a late joiner: enters the sim at the next tick
    if connected:
        return "playing"
    if not stand_in_due(seat, now):
        return "reconnecting"  # gone for less than BOT_TAKEOVER_SECONDS
    if fill is None:
        fill = _bot_fill(game)
    return "stand_in" if game.bots and seat.role in fill else "away"


# A roster row leaves out every field that has its default value (docs/protocol.md, "roster"):
# the console's first message carries a row per seat, bots included (a 64-subnet preset has a
# bot owner per subnet), and must stay under 64 kB. static/js/store.js fills them back in.
ROSTER_DEFAULTS: dict[str, Any] = {
    "bot": None, "subnet": None, "connected": False, "kicked": False, "active": False,
    "role_by_hand": False, "stand_in": False, "other_seat_attempts": 0, "away_since": None,
}


def _away_since(s: Seat, now: Any) -> float | None:
    """When a student's seat lost its last socket (the lease's last renewal): the console's
    participation monitor shows how long they have been away. None while connected."""
    if s.kind != SeatKind.HUMAN or s.last_seen is None or is_connected(s, now):
        return None
    return timestamp(s.last_seen)


def _roster_row(game: Game, s: Seat, now: Any, fill: dict[str, str] | None) -> dict[str, Any]:
    row = {
        "seat_id": s.id, "nickname": s.nickname, "role": s.role, "player": s.player,
        "bot": s.bot_policy if s.kind == SeatKind.BOT else None, "kind": s.kind,
        "connected": is_connected(s, now), "kicked": s.kicked, "active": s.active,
        "role_by_hand": s.role_by_hand, "subnet": s.subnet,
        "status": seat_status(game, s, now, fill),
        # the tick since which a bot holds the seat (the engine records it), and how often this
        # seat's device tried to open another seat (one student, one seat)
        "stand_in": s.stand_in_tick is not None,
        "other_seat_attempts": s.other_seat_attempts,
        "away_since": _away_since(s, now),
    }
    return {k: v for k, v in row.items() if k not in ROSTER_DEFAULTS or v != ROSTER_DEFAULTS[k]}


def roster(game: Game, seats: list[Seat] | None = None, now: Any | None = None,
           fill: dict[str, str] | None = None) -> list[dict[str, Any]]:
    now = now or timezone.now()
    if seats is None:
        seats = list(game.seats.order_by("id"))
    else:
        seats = sorted(seats, key=lambda s: s.id)
    if fill is None and game.status in (Status.RUNNING, Status.PAUSED) and game.bots:
        fill = _bot_fill(game)  # read once for the whole roster
    return [_roster_row(game, s, now, fill or {}) for s in seats]


_ABSENT = ("reconnecting", "away", "stand_in")
# game id -> the statuses the last roster sent from a tick carried (per process: a miss only
# costs one roster message more).
_tick_roster_sent: dict[int, tuple[tuple[int, str, float | None], ...]] = {}


def roster_after_tick(game: Game, seats: list[Seat], now: Any,
                      fill: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    """For the engine, once a tick is settled: the roster for the console if a seat's status
    changed with the tick (a late joiner entered, a bot took an absent student's seat, the game
    ended), else nothing. `seats` are the tick's loaded seats (no query)."""
    # Each student's status (and, for an absent seat, its last_seen: a student who came back
    # and left again between two ticks is a new absence, even if the status reads the same),
    # worked out without building the rows: at 1,000 seats the rows took ~10 ms a tick.
    statuses = ((s, seat_status(game, s, now, fill))
                for s in sorted(seats, key=lambda s: s.id) if s.kind != SeatKind.BOT)
    signature = tuple((s.id, status, timestamp(s.last_seen) if status in _ABSENT else None)
                      for s, status in statuses)
    if _tick_roster_sent.get(game.id) == signature:
        return []
    if len(_tick_roster_sent) > 1024:
        _tick_roster_sent.clear()
    _tick_roster_sent[game.id] = signature
    rows = roster(game, seats, now, fill)
    return [broadcast.frame(broadcast.instructor_group(game.id), broadcast.encode(
        {"type": "roster", "seq": game.seq, "roster": rows}), game.seq)]


# --- presence -----------------------------------------------------------------------------------
#
# A seat is connected while it has an open socket *and* a fresh lease (docs/architecture.md,
# "Presence"): `Seat.sockets` is raised on connect and lowered on a clean close, and every server
# process renews `Seat.last_seen` for the seats of its open sockets every `heartbeat_seconds()`
# (game/live/heartbeat.py). A process killed with SIGKILL lowers nothing, but its leases stop being
# renewed: after `presence_timeout()` its seats no longer count as connected, and the next sweep
# (any process's heartbeat) resets their counters and tells the consoles.

def presence_timeout() -> float:
    """How long a lease vouches for a seat: PRESENCE_TIMEOUT_SECONDS, but never longer than
    BOT_TAKEOVER_SECONDS (a bot must be able to stand in on time), and at least 1 s."""
    return max(1.0, min(settings.PRESENCE_TIMEOUT_SECONDS, settings.BOT_TAKEOVER_SECONDS))


def heartbeat_seconds() -> float:
    """How often a process renews its seats' leases: three renewals per lease, so one late
    renewal (a busy worker) does not drop anyone."""
    return presence_timeout() / 3


def presence_event(game: Game, seat: Seat, now: Any) -> tuple[str, dict[str, Any]]:
    """One seat's presence for the console: a constant-size message (connected, the roster's
    `status` by the one rule seat_status, whether a bot holds it), so a class reconnecting at
    once costs N small frames, not N full rosters (O(N^2)). It carries no seq of its own: each
    console socket stamps it with the highest seq it has sent (GameConsumer.presence_send), so
    it never runs ahead of a public broadcast still on its way."""
    presence = {"seat_id": seat.id, "connected": is_connected(seat, now),
                "status": seat_status(game, seat, now),
                "stand_in": seat.stand_in_tick is not None}
    if (away := _away_since(seat, now)) is not None:  # left out while connected
        presence["away_since"] = away
    return broadcast.instructor_group(game.id), {"type": "presence.send", "presence": presence}


def leaderboard(game: Game, sim_game: sim.Game, top: int | None = None,
                rows: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The top rows by nickname (what the projector shows); ranking in game/leaderboard.py."""
    rows = lb.standings(sim_game, lb.seat_map(game)) if rows is None else rows
    return lb.top(rows, len(rows) if top is None else top)
