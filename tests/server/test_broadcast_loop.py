"""Broadcasts from worker threads go through the server's own event loop, in order, and never
hang a thread once that loop has stopped (daphne shutting down with a tick in flight used to
wait on it for ever, so SIGTERM did not stop the process)."""
from __future__ import annotations

import asyncio
import os
import threading

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
