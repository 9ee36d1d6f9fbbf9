"""This process's share of presence: the seats it holds open student sockets for, and the
heartbeat that renews their leases (presence_beat; docs/architecture.md, "Presence").

Each daphne process keeps its own count per seat and runs one heartbeat task on its event loop
(started by the first socket): every `heartbeat_seconds()` one UPDATE renews the
leases of all its seats and sweeps the seats whose leases lapsed anywhere (a worker that was
killed). Nothing here needs a clean shutdown: a killed process simply stops renewing.
"""
from __future__ import annotations

import asyncio
import logging
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from game import asyncdb
from game.actions.presence import presence_beat
from game.readmodel import heartbeat_seconds

log = logging.getLogger(__name__)

_open: Counter[int] = Counter()
_task: asyncio.Task | None = None


def opened(seat_id: int) -> None:
    _open[seat_id] += 1


def closed(seat_id: int) -> None:
    _open[seat_id] -= 1
    if _open[seat_id] <= 0:
        del _open[seat_id]


def held() -> list[int]:
    """The seats this process holds at least one open socket for."""
    return sorted(_open)


# The heartbeat's own thread: on the loop's shared pool it would queue behind every socket's
# database call (a class trading while a tick settles), and a late renewal drops live seats.
_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dtao-presence")


# A socket's own presence writes (connect, close) have a small pool of their own too: each waits
# for its console's `presence` message to be published, and on the loop's shared pool a class
# reconnecting at once queued its snapshots behind them (docs/performance.md, round 2).
_sockets_executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="dtao-presence-io")


def write(fn: Any) -> Any:
    """`fn` (a presence write of game/actions/presence.py) as an awaitable on that pool."""
    return asyncdb.call(fn, executor=_sockets_executor)


async def _heartbeat() -> None:
    beat = asyncdb.call(presence_beat, executor=_executor)
    while True:
        # The connect itself wrote a fresh lease: the first renewal is one period later.
        await asyncio.sleep(heartbeat_seconds())
        try:
            await beat(held())
        except asyncio.CancelledError:
            raise
        except Exception:  # the database away for a moment: the next beat tries again
            log.warning("presence heartbeat failed", exc_info=True)


def ensure_running() -> None:
    """Start this process's heartbeat on the running loop, once (again if that loop changed,
    as in tests that run each test on a loop of its own)."""
    global _task
    loop = asyncio.get_running_loop()
    if _task is not None and not _task.done() and _task.get_loop() is loop:
        return
    if _task is not None and _task.get_loop() is not loop:
        _open.clear()  # that loop's sockets are gone with it
    _task = loop.create_task(_heartbeat(), name="dtao-presence")
