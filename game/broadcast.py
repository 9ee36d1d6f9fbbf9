"""Sending to sockets. Every message is encoded once (orjson) and the same text is delivered to
every socket of the group: the consumer's `frame.send` handler sends it verbatim. A tick's
private messages travel as one `batch` through the Redis fan-out (one channel-layer message per
tick, not one per student); every other layer gets them one by one.

Always called through `on_commit(...)`: a broadcast must never announce a state that rolls back.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
from typing import Any

import orjson
from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from game import stagetimes
from game.live.fanout import fanout_layer

log = logging.getLogger(__name__)


def game_group(game_id: int) -> str:
    return f"game.{game_id}"


def instructor_group(game_id: int) -> str:
    return f"game.{game_id}.instructor"


def seat_group(seat_id: int) -> str:
    return f"seat.{seat_id}"


def encode(message: dict[str, Any]) -> str:
    return orjson.dumps(message, option=orjson.OPT_SERIALIZE_NUMPY).decode()


# How long a worker thread waits for the server's loop to send a broadcast. Normally a few
# milliseconds; the limit only matters when the loop has stopped (the server is shutting down).
SEND_WAIT_SECONDS = 10.0


def _server_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop of the server this thread works for, if it runs on a sync_to_async worker
    thread (a consumer's or the in-process engine's database call, a view)."""
    if getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None) != os.getpid():
        return None
    return getattr(SyncToAsync.threadlocal, "main_event_loop", None)


def _send_now(frames: list[tuple[str, dict[str, Any]]],
              stages: stagetimes.TickStages | None = None, last: bool = True) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    if stages is not None and "committed" not in stages.stamps:
        stages.mark("committed")

    async def send_all() -> None:
        nonlocal frames
        many = getattr(fanout_layer(layer), "group_send_many", None)
        if many is None:  # only the fan-out layer opens a batch
            frames = unbatched(frames)
        if many is not None and len(frames) > 1:  # one pipeline, in order (game/live/fanout.py)
            try:
                await many(frames)
            except Exception:  # as below: the clients' seq gaps ask for snapshots
                log.exception("broadcast of %d frames failed", len(frames))
        else:
            for group, event in frames:
                try:
                    await layer.group_send(group, event)
                except Exception:  # a lost broadcast is healed by the client's snapshot on a gap
                    log.exception("broadcast to %s failed", group)
                if stages is not None and event.get("stage", ())[2:] == ["tick"]:
                    stages.mark("tick_sent")
        if stages is not None and last:
            stages.mark("all_sent")
            stages.report()

    loop = _server_loop()
    if loop is None:  # a plain process (run_engine, a management command): a loop of its own
        async_to_sync(send_all)()
        return
    # On the server's own loop (the in-memory layer is bound to it), and this thread waits for
    # the sends so that one tick's frames all go before the next tick's. If that loop has
    # stopped (daphne shutting down), waiting for it would hang the shutdown: give up instead.
    if not loop.is_running():
        log.warning("broadcast of %d frames dropped: the server's event loop has stopped",
                    len(frames))
        return
    future = asyncio.run_coroutine_threadsafe(send_all(), loop)
    try:
        future.result(timeout=SEND_WAIT_SECONDS)
    except concurrent.futures.TimeoutError:
        future.cancel()
        log.warning("broadcast of %d frames not sent within %.0f s (server shutting down?)",
                    len(frames), SEND_WAIT_SECONDS)


def frame(group: str, text: str, seq: int, stage: list[Any] | None = None
          ) -> tuple[str, dict[str, Any]]:
    """A pre-encoded message for a group; `seq` lets each socket track the seq it has sent;
    `stage` (benchmark only, game/stagetimes.py) marks a tick's frames for the stage times."""
    event: dict[str, Any] = {"type": "frame.send", "text": text, "seq": seq}
    if stage is not None:
        event["stage"] = stage
    return group, event


BATCH = "frame.batch"


def batch(carrier: str, frames: list[tuple[str, dict[str, Any]]]) -> tuple[str, dict[str, Any]]:
    """Many groups' frames (a tick's private messages) as one message to `carrier`, a group that
    every socket of theirs is in (the game's). With the Redis fan-out each worker receives it
    once and hands each frame to its own sockets of that frame's group, in order
    (game/live/fanout.py): one publish per tick instead of one per student. Any other layer is
    sent the frames one by one (`unbatched`)."""
    return carrier, {"type": BATCH, "frames": [[group, event] for group, event in frames]}


def unbatched(frames: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    """`frames` with each batch replaced by the frames it carries, in order."""
    out: list[tuple[str, dict[str, Any]]] = []
    for group, event in frames:
        if event.get("type") == BATCH:
            out.extend((g, e) for g, e in event["frames"])
        else:
            out.append((group, event))
    return out


def kick(seat_id: int) -> tuple[str, dict[str, Any]]:
    return seat_group(seat_id), {"type": "seat.kicked"}


def on_commit(frames: list[tuple[str, dict[str, Any]]],
              stages: stagetimes.TickStages | None = None, last: bool = True) -> None:
    """Send these frames (in order) after the current transaction commits (at once outside
    one). `stages`: the tick's stage times, reported after its `last` frames."""
    if frames or (stages is not None and last):
        transaction.on_commit(lambda: _send_now(frames, stages, last))
