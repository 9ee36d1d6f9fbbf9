"""Broadcasts from worker threads go through the server's own event loop, in order, and never
hang a thread once that loop has stopped (daphne shutting down with a tick in flight used to
wait on it for ever, so SIGTERM did not stop the process)."""
from __future__ import annotations

import asyncio
import os
import threading

import pytest
from asgiref.sync import SyncToAsync, sync_to_async
from channels.layers import get_channel_layer

from game import broadcast


def _frames(n: int) -> list:
    return [broadcast.frame("game.990", f'{{"seq": {i}}}', i) for i in range(1, n + 1)]


async def test_a_worker_threads_frames_reach_the_group_in_order() -> None:
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add("game.990", channel)
    await sync_to_async(broadcast._send_now, thread_sensitive=False)(_frames(5))
    got = [(await layer.receive(channel))["seq"] for _ in range(5)]
    assert got == [1, 2, 3, 4, 5]


async def test_a_batch_reaches_each_seat_alone_after_the_tick() -> None:
    """A tick's private batch: on the in-memory layer (the embedded default) it is sent frame
    by frame; through Redis (the Redis pass) each worker's fan-out opens it. Either way each
    seat's socket gets the tick, then its own frame, and nothing else."""
    layer = get_channel_layer()
    seat1, seat2 = await layer.new_channel(), await layer.new_channel()
    for channel in (seat1, seat2):
        await layer.group_add("game.991", channel)
    await layer.group_add("seat.1", seat1)
    await layer.group_add("seat.2", seat2)
    tick = broadcast.frame("game.991", "tick", 4)
    privates = broadcast.batch("game.991", [broadcast.frame(f"seat.{i}", f"p{i}", 4)
                                            for i in (1, 2)])
    await sync_to_async(broadcast._send_now, thread_sensitive=False)([tick, privates])
    for channel, mine in ((seat1, "p1"), (seat2, "p2")):
        got = [await layer.receive(channel) for _ in range(2)]
        assert [(e["type"], e["text"]) for e in got] == [("frame.send", "tick"),
                                                         ("frame.send", mine)]
        with pytest.raises(asyncio.TimeoutError):  # nothing else: no batch, no other's frame
            await asyncio.wait_for(layer.receive(channel), 0.05)


def test_a_stopped_server_loop_does_not_hang_the_sending_thread(caplog) -> None:
    stopped = asyncio.new_event_loop()  # a server loop that is no longer running
    done = threading.Event()

    def worker() -> None:  # as a sync_to_async worker thread of that server would be
        SyncToAsync.threadlocal.main_event_loop = stopped
        SyncToAsync.threadlocal.main_event_loop_pid = os.getpid()
        broadcast._send_now(_frames(2))
        done.set()

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    thread.join(30)  # a hang guard, not a timing
    try:
        assert done.is_set(), "the worker thread waited for a loop that will never run"
        assert "event loop has stopped" in caplog.text
    finally:
        stopped.close()
