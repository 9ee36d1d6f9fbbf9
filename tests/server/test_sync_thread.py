"""A student's or a projector's socket opens without the process's one sync thread
(game/live/sessions.py, SocketAuthMiddleware): Channels resolves the login session there, one
socket after another, and a reconnecting class queued behind itself. An instructor's socket
still reads its session."""
from __future__ import annotations

import asyncio
import threading

import pytest
from channels.db import database_sync_to_async
from serverkit import join, open_socket, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


async def test_sockets_without_a_login_open_while_the_sync_thread_is_busy(game, instructor):
    _seat, token = await join(game.code, "Ann")  # on the sync thread: before it is taken
    cookie = await database_sync_to_async(session_cookie)(instructor)
    busy, release = threading.Event(), threading.Event()

    def occupy() -> None:
        busy.set()
        release.wait(60)

    loop = asyncio.get_running_loop()
    blocker = asyncio.ensure_future(database_sync_to_async(occupy)())  # the one sync thread
    try:
        assert await loop.run_in_executor(None, busy.wait, 30)
        student, snap = await open_socket(game.code, cookies={f"seat_{game.code}": token})
        assert snap["type"] == "snapshot" and snap["you"]["nickname"] == "Ann"
        assert snap["you"]["kind"] == "student"
        projector, psnap = await open_socket(game.code,
                                             query=f"projector={game.projector_token}")
        assert psnap["you"]["kind"] == "projector"
        # The instructor's session is read on that thread, as Channels does: it waits.
        console = asyncio.ensure_future(open_socket(game.code, cookies={"sessionid": cookie}))
        await asyncio.sleep(0.5)
        assert not console.done()
    finally:
        release.set()
        await blocker
    comm, isnap = await console
    assert isnap["you"]["kind"] == "instructor"
    for c in (student, projector, comm):
        await c.disconnect()
