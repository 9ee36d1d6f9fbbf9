"""The ticker: settles due ticks, one transaction per tick, broadcasting after commit.

`settle_tick(game_id)` is the whole of a tick: lock the game row, claim (game, tick) with a
conditional UPDATE, store the bot commands for bot-held seats, run `sim.Game.step(commands,
bots=False)`, write the state, the fills and the tick/epoch rows, and queue the broadcasts for
after the commit. A crash anywhere before the commit rolls everything back (the tick is simply
settled again by whoever runs next); after the commit the tick can never be claimed again.

Runs inside the server (`start_in_process`, an asyncio task on daphne's loop) or as
`manage.py run_engine` (several may run: the claim makes a tick settle once).
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import Q
from django.utils import timezone

import sim
from game import (
    asyncdb,
    broadcast,
    leaderboard as lb,
    participation,
    plainsql,
    simapi,
    stagetimes,
    standin,
)
from game.actions.base import Frames
from game.actions.clock import finish
from game.commandlog import as_sim_actions, client_view
from game.jsontext import dumps
from game.models import (
    Actor,
    Command,
    CommandStatus,
    EpochRow,
    Game,
    Seat,
    SeatKind,
    Status,
    TickRow,
)
from game.readmodel import game_info, roster_after_tick

log = logging.getLogger(__name__)


def due_game_ids(now: Any = None, shard: tuple[int, int] | None = None) -> list[int]:
    now = now or timezone.now()
    qs = Game.objects.filter(
        Q(status=Status.RUNNING, next_tick_at__lte=now)
        | Q(status__in=[Status.RUNNING, Status.PAUSED], advance_ticks__gt=0))
    return [i for i in qs.order_by("next_tick_at").values_list("id", flat=True)
            if _in_shard(i, shard)]


def _in_shard(game_id: int, shard: tuple[int, int] | None) -> bool:
    """Whether engine shard (index, count) settles this game (id % count == index); any game
    for an unsharded engine."""
    return shard is None or game_id % shard[1] == shard[0]


# Games started together (a course's sections, a benchmark) would all fall due at the same
# instant, tick after tick, and one game's settlement and broadcast would hold up the others'.
# Each game's first tick is put off by its own fraction of up to PHASE_SPREAD_SECONDS (never
# more than one tick), deterministic from its id: the golden ratio spreads consecutive ids
# evenly. The engine then keeps each game's own cadence (settle start + tick_seconds).
PHASE_SPREAD_SECONDS = 2.0
_GOLDEN = 0.6180339887498949


def tick_phase(game_id: int, tick_seconds: float) -> float:
    """Seconds by which this game's first tick is put off, in [0, min(tick, spread))."""
    return (game_id * _GOLDEN) % 1.0 * min(float(tick_seconds), PHASE_SPREAD_SECONDS)


def _is_due(game: Game, now: Any) -> bool:
    if game.tick >= game.total_ticks:
        return False
    if game.status in (Status.RUNNING, Status.PAUSED) and game.advance_ticks > 0:
        return True
    return (game.status == Status.RUNNING and game.next_tick_at is not None
            and game.next_tick_at <= now)


def _test_pause_point() -> None:
    """TEST ONLY (tests/hardening/test_faults.py, docs/security.md): with DTAO_TEST_PAUSE_FILE
    set, the engine writes that file once sim.step has run and waits there, inside the
    uncommitted tick transaction, so a drill can kill -9 it at the worst moment. Never set it in
    production: the engine would stop settling."""
    path = os.environ.get("DTAO_TEST_PAUSE_FILE")
    if path:
        with open(path, "w") as fh:
            fh.write(str(os.getpid()))
        time.sleep(600)


# PostgreSQL advisory lock namespace of the engines ("dTAO"); the key's second half is the game.
_ENGINE_LOCK_SPACE = 0x6454414F


def _engine_turn(game_id: int) -> bool:
    """Inside the tick's transaction: False if another engine is settling this game right now.

    Unsharded engines walk the same list of due games; without this, an engine would wait on
    the game row's lock for the whole of the other engine's settlement, only to find the tick
    already taken. The advisory lock is the engines' alone (commands never take it), so a
    command holding the row for a moment still only delays a tick, never skips it. SQLite has
    one writer at a time anyway: always our turn."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [_ENGINE_LOCK_SPACE, game_id])
        return bool(cursor.fetchone()[0])


def settle_tick(game_id: int, now: Any = None) -> bool:
    """Settle the game's next tick if it is due. True if this call settled it.

    Four steps in one transaction: claim the tick, settle it in the sim, persist what it did,
    publish its public `tick` (sent on commit). Then, outside the game row's lock, the rest of
    the tick's frames (each student's `private`, the console's) are built from the settled sim
    in memory and sent after it: a class's commands wait on that lock, and the class sees the
    market before its thousand private views are built (docs/performance.md, round 3)."""
    now = now or timezone.now()
    with transaction.atomic():
        game = claim(game_id, now)
        if game is None:
            return False
        stages = stagetimes.begin(game_id, game.tick, now.timestamp())
        tick = settle(game, now)
        stagetimes.mark(stages, "stepped")
        persist(game, tick, now)
        stagetimes.mark(stages, "persisted")
        frames = publish(game, tick, now, stages)
        game.save(update_fields=["tick", "state", "event_status", "advance_ticks", "status",
                                 "next_tick_at", "ended_at", "public", "seq"])
        stagetimes.mark(stages, "encoded")
        broadcast.on_commit(frames, stages, last=False)
        sim_game = tick.sim_game
        transaction.on_commit(lambda: simapi.remember(game.id, game.tick, sim_game))
    # Committed (or, inside a caller's transaction, queued after the tick's own frames).
    rest = after_tick(game, tick, now, stages)
    stagetimes.mark(stages, "private_encoded")
    broadcast.on_commit(rest, stages)
    return True


def claim(game_id: int, now: Any) -> Game | None:
    """Inside the tick's transaction: the locked game whose next tick this call now owns, or
    None (another engine's turn, deleted, not due, or the tick already taken). The claim is a
    conditional UPDATE: only one settlement of (game, tick) can ever match its row."""
    if not _engine_turn(game_id):
        return None
    game = Game.objects.select_for_update().filter(pk=game_id).first()
    if game is None or not _is_due(game, now):  # None: deleted since it was listed
        return None
    t = game.tick
    claimed = Game.objects.filter(pk=game_id, tick=t, status=game.status).update(tick=t + 1)
    return game if claimed == 1 else None


@dataclass
class Tick:
    """One tick being settled: what `settle` ran and what `persist` and `publish` need."""
    t: int
    sim_game: sim.Game
    scn: dict[str, Any]
    seats: list[Seat]
    commands: list[Command]
    result: sim.TickResult
    stand_in_frames: Frames
    handed_back: dict[int, Seat]
    fills_by_seat: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    public_epoch: dict[str, Any] | None = None
    fired: list[dict[str, Any]] = field(default_factory=list)
    standings: list[dict[str, Any]] = field(default_factory=list)  # every player's, by publish
    board: list[dict[str, Any]] = field(default_factory=list)  # the students', by publish


def settle(game: Game, now: Any) -> Tick:
    """Run the claimed tick: bots play the seats they hold (their commands stored in the log),
    then every queued command due by now goes through `sim.Game.step(..., bots=False)`."""
    t = game.tick
    sim_game = simapi.fresh(game.state or "")
    scn = json.loads(game.scenario)
    seats = plainsql.instances(Seat.objects.filter(game_id=game.id), game=game)
    by_player = {s.player: s for s in seats}
    policies = standin.bot_policies(game, seats, scn, now)
    stand_in_frames, handed_back = standin.stand_ins(game, seats, policies, t, now, sim_game)
    if policies:
        bot_cmds = [Command(game=game, seat=by_player[a["player"]], actor=Actor.BOT,
                            do=a.get("do", ""), action=dumps(a), due_tick=t)
                    for a in sim_game.bot_actions(policies) if a.get("player") in by_player]
        Command.objects.bulk_create(bot_cmds)
    cmds = plainsql.instances(Command.objects.filter(
        game_id=game.id, status=CommandStatus.QUEUED, due_tick__lte=t).order_by("id"), game=game)
    result = sim_game.step(as_sim_actions(cmds), bots=False)
    _test_pause_point()
    return Tick(t, sim_game, scn, seats, cmds, result, stand_in_frames, handed_back)


def persist(game: Game, tick: Tick, now: Any) -> None:
    """Store what the tick did: each command's outcome, the seats that joined, the tick's (and
    epoch's) row, the game's new state and clock. The game row itself is saved by the caller."""
    _record_commands(tick)
    result, t = tick.result, tick.t
    tick.fired = [dict(e) for e in (result.events or [])]
    TickRow.objects.create(game=game, tick=t, epoch=result.tick_row.get("epoch", 0),
                           row=dumps(result.tick_row), events=dumps(tick.fired))
    if result.epoch_row is not None:
        EpochRow.objects.create(game=game, epoch=result.epoch_row["epoch"], tick=t,
                                row=dumps(result.epoch_row))
        tick.public_epoch = {k: v for k, v in result.epoch_row.items() if k != "players"}
    game.tick = t + 1
    game.state = tick.sim_game.to_json()
    # The sim tracks each scripted event (pending, fired, held, skipped); mirror it.
    game.event_status = {str(i): status for i, status in enumerate(tick.sim_game.event_status)}
    if game.advance_ticks > 0:
        game.advance_ticks -= 1
    if tick.sim_game.finished or game.tick >= game.total_ticks:
        finish(game)
    elif game.status == Status.RUNNING:
        game.next_tick_at = now + timedelta(seconds=game.tick_seconds)


def _record_commands(tick: Tick) -> None:
    """Each settled command's status, reason and fill; seats whose `join` filled are active."""
    fills = {f.get("ref"): f for f in tick.result.fills}
    joined: list[int] = []
    for c in tick.commands:
        fill = fills.get(c.id)
        c.settled_tick = tick.t
        if fill is None:  # the sim settled nothing for it: record that, never re-queue
            c.status, c.reason = CommandStatus.REJECTED, "not_settled"
        else:
            ok = fill.get("status") == "filled"
            c.status = CommandStatus.FILLED if ok else CommandStatus.REJECTED
            c.reason = "" if ok else str(fill.get("reason", "rejected"))[:40]
            c.fill = dumps(fill)
            if ok and c.do == "join" and c.seat_id:
                joined.append(c.seat_id)
        if c.seat_id is not None:
            tick.fills_by_seat.setdefault(c.seat_id, []).append(client_view(c, fill))
    _write_outcomes(tick.commands)
    if joined:
        Seat.objects.filter(pk__in=joined).update(active=True)
        for seat in tick.seats:
            if seat.id in joined:
                seat.active = True


def _write_outcomes(commands: list[Command]) -> None:
    """The settled commands' four columns. On PostgreSQL one statement for them all (the rows
    as arrays, unnested); elsewhere one statement per row in one `executemany`. Django's
    `bulk_update` builds a CASE per column and row in Python, the largest part of the tick's
    transaction at 600 players; psycopg's pipelined `executemany` still had PostgreSQL run a
    statement per row (docs/performance.md, rounds 2 and 5)."""
    if not commands:
        return
    qn = connection.ops.quote_name  # plain fields: each column is named as the field
    table, columns = qn(Command._meta.db_table), ("status", "settled_tick", "reason", "fill")
    rows = [(c.status, c.settled_tick, c.reason, c.fill, c.pk) for c in commands]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"UPDATE {table} AS c SET "
                + ", ".join(f"{qn(col)} = v.{qn(col)}" for col in columns)
                + " FROM unnest(%s::varchar[], %s::integer[], %s::varchar[], %s::text[],"
                " %s::bigint[]) AS v(" + ", ".join(qn(col) for col in columns) + ", id)"
                + f" WHERE c.{qn('id')} = v.id",
                [list(column) for column in zip(*rows, strict=True)])
        else:
            cursor.executemany(
                f"UPDATE {table} SET " + ", ".join(f"{qn(col)} = %s" for col in columns)
                + f" WHERE {qn('id')} = %s", rows)


def publish(game: Game, tick: Tick, now: Any,
            stages: stagetimes.TickStages | None = None) -> Frames:
    """The tick for every screen: the public payload (market, leaderboard) stored on the game
    and sent as `tick`. Bumps the game's seq; `after_tick` builds the rest of the tick's frames
    with the same seq."""
    sim_game, t, seats = tick.sim_game, tick.t, tick.seats
    seat_infos = lb.seat_map(game, seats)  # loaded above: no second query
    market = lb.label_root_validators(sim_game.public_view(), seat_infos)
    tick.standings = lb.standings(sim_game, seat_infos)
    tick.board = lb.student_board(tick.standings)  # the podium's and each student's rank
    top = lb.podium(tick.board, settings.LEADERBOARD_TOP)
    game.public = dumps({"market": market, "leaderboard": top})
    game.seq += 1
    players = sum(1 for s in seats if s.kind != SeatKind.BOT and not s.kicked)
    return [broadcast.frame(broadcast.game_group(game.id), broadcast.encode({
        "type": "tick", "seq": game.seq, "tick": t, "epoch": tick.result.tick_row.get("epoch"),
        "game": game_info(game, players), "market": market, "row": tick.result.tick_row,
        "epoch_row": tick.public_epoch, "leaderboard": top, "events": tick.fired}), game.seq,
        stagetimes.marker(stages, "tick"))]


def after_tick(game: Game, tick: Tick, now: Any,
               stages: stagetimes.TickStages | None = None) -> Frames:
    """The tick's frames after its public `tick` (which `publish` built first): each active
    student's `private` message, the stand-in changes and the console's participation and, if
    a seat's status changed with the tick, roster. In memory only (no query): built after the
    commit, outside the game row's lock."""
    privates = _private_frames(game, tick, stagetimes.marker(stages, "private"))
    # One message for the class's privates (game/broadcast.py `batch`), to the game's group.
    frames = [broadcast.batch(broadcast.game_group(game.id), privates)] if privates else []
    frames.extend(tick.stand_in_frames)  # after the tick: the console sees the tick first
    frames += participation.after_tick(game, tick.seats, tick.commands, tick.t)  # the monitor
    # The console's roster when a seat's status changed with this tick (a late joiner
    # entered, a bot took an absent student's seat, the game ended).
    frames += roster_after_tick(game, tick.seats, now, tick.scn.get("bot_fill") or {})
    return frames


def _private_frames(game: Game, tick: Tick, stage: list[Any] | None = None) -> Frames:
    """Each active student's `private` message: their view, rank and this tick's fills."""
    players_in_sim = {r["player"] for r in tick.standings}
    standing = lb.board_ranks(tick.board)  # a student's rank among students, by return
    frames: Frames = []
    students = []
    for seat in tick.seats:
        if seat.kind == SeatKind.BOT or seat.kicked or not seat.active:
            continue
        if seat.player not in players_in_sim:
            # Not a player in the sim (should not happen): skip it rather than fail the
            # tick forever.
            log.error("seat %s (%s) has no sim player", seat.id, seat.player)
            continue
        students.append(seat)
    views = tick.sim_game.private_views([seat.player for seat in students])
    for seat, you in zip(students, views, strict=True):
        private = {"type": "private", "seq": game.seq, "tick": tick.t, "you": you,
                   **lb.rank_fields(standing.get(seat.player)),
                   "fills": tick.fills_by_seat.get(seat.id, [])}
        if seat.id in tick.handed_back:
            private["while_away"] = standin.while_away(tick.handed_back[seat.id], tick.t,
                                                you["net_worth"])
        frames.append(broadcast.frame(broadcast.seat_group(seat.id), broadcast.encode(
            private), game.seq, stage))
    return frames


def settle_due(shard: tuple[int, int] | None = None) -> int:
    """One pass over the due games; returns how many ticks were settled."""
    settled = 0
    for game_id in due_game_ids(shard=shard):
        try:
            if settle_tick(game_id):
                settled += 1
        except Exception:
            # One broken game must not stop the others. Its tick rolled back and is retried at
            # the game's own pace (not every poll), so a persistent fault does not spin.
            log.exception("settling game %s failed", game_id)
            try:
                Game.objects.filter(pk=game_id, status=Status.RUNNING).update(
                    next_tick_at=timezone.now() + timedelta(seconds=5), advance_ticks=0)
                Game.objects.filter(pk=game_id, status=Status.PAUSED).update(advance_ticks=0)
            except Exception:
                log.exception("could not postpone game %s", game_id)
    return settled


# --- running it -----------------------------------------------------------------------------------

NAP_MIN_SECONDS = 0.005


def nap_seconds(shard: tuple[int, int] | None = None, now: Any = None) -> float:
    """How long an engine that found nothing due may sleep: until the next running game's tick
    falls due, at most ENGINE_POLL_SECONDS (a game started, resumed or advanced by hand
    meanwhile is found by then), at least NAP_MIN_SECONDS. With many games a fixed poll put off
    a game falling due just after it by up to the whole poll (docs/performance.md, round 5).
    A tick already due does not count: another engine is settling it (this one found it not
    its turn), and one that waits on nobody is found at the next poll, as before; counting it
    had the idle engine wake every few milliseconds for the whole of the other's settlement."""
    poll = settings.ENGINE_POLL_SECONDS
    now = now or timezone.now()
    upcoming = Game.objects.filter(status=Status.RUNNING, next_tick_at__gt=now)
    earliest = min((at for game_id, at in upcoming.values_list("id", "next_tick_at")
                    if at is not None and _in_shard(game_id, shard)), default=None)
    if earliest is None:
        return poll
    return min(poll, max(NAP_MIN_SECONDS, (earliest - now).total_seconds()))


async def run_forever(stop: asyncio.Event | None = None,
                      shard: tuple[int, int] | None = None) -> None:
    step = asyncdb.call(settle_due, thread_sensitive=True)
    nap = asyncdb.call(nap_seconds, thread_sensitive=True)
    while stop is None or not stop.is_set():
        try:
            settled = await step(shard)
            # busy games are re-polled at once, idle ones when the next tick falls due
            pause = 0.0 if settled else await nap(shard)
        except Exception:
            log.exception("engine pass failed")
            pause = settings.ENGINE_POLL_SECONDS
        if pause > 0:
            if stop is None:
                await asyncio.sleep(pause)
            else:
                try:
                    await asyncio.wait_for(stop.wait(), pause)
                except asyncio.TimeoutError:
                    pass


_task: asyncio.Task | None = None


def start_in_process() -> None:
    """Start the embedded engine on the running loop, once per process (ENGINE_IN_PROCESS)."""
    global _task
    if not settings.ENGINE_IN_PROCESS:
        return
    if _task is not None and not _task.done():
        return
    loop = asyncio.get_running_loop()
    _task = loop.create_task(run_forever(), name="dtao-engine")
    log.info("in-process engine started")


def run_blocking(shard: tuple[int, int] | None = None) -> None:
    """`manage.py run_engine`: a plain loop in this process (needs a shared channel layer)."""
    while True:
        close_old_connections()
        if settle_due(shard) == 0:
            time.sleep(nap_seconds(shard))
