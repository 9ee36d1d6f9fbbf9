"""A class's commands waiting out a settlement do not hold up anyone's handshake or snapshot
(game/live/consumers.py, `db_write`): the game's writers wait for the game row's lock on threads
of their own, and the loop's shared pool stays free for the sockets' reads."""
from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from channels.db import database_sync_to_async
from django.db import connection
from serverkit import WAIT, open_socket, receive_until, student_socket

from game.actions.clock import pause_game
from game.actions.start import start_game

pytestmark = pytest.mark.django_db(transaction=True)
db = database_sync_to_async


def _dsn() -> str:
    s = connection.settings_dict
    return psycopg.conninfo.make_conninfo(dbname=s["NAME"], user=s["USER"] or None,
                                          host=s["HOST"] or None, port=s["PORT"] or None)


def _wait_for(sql: str, args: list, want: int) -> None:
    """Poll PostgreSQL on a connection of its own (not from the test's pool) until the count
    is `want`; a guard of 30 s, not a timing."""
    with psycopg.connect(_dsn(), autocommit=True) as conn:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if conn.execute(sql, args).fetchone()[0] == want:
                return
            time.sleep(0.05)
    raise AssertionError(f"never {want}: {sql}")


async def test_commands_waiting_for_the_game_lock_leave_the_shared_pool_free(game):
    if connection.vendor != "postgresql":
        pytest.skip("row locks that block are PostgreSQL's (the PostgreSQL pass of `make test`)")
    # The loop's shared pool, one thread: as many as the commands that will wait below.
    loop = asyncio.get_running_loop()
    loop.set_default_executor(ThreadPoolExecutor(1))
    helper = ThreadPoolExecutor(2)  # the test's own waits: never on the pool under test

    async def off_loop(fn, *args):
        return await loop.run_in_executor(helper, fn, *args)

    sockets = [(await student_socket(game.code, "Ann"))[2]]
    await db(start_game)(game.id)
    await db(pause_game)(game.id)  # commands are taken while paused, and no tick is due
    for comm in sockets:
        await receive_until(comm, "status")
    # The presence write done: nothing else of the socket's will wait on the lock below.
    await off_loop(_wait_for, "SELECT count(*) FROM game_seat WHERE game_id = %s "
                            "AND sockets > 0", [game.id], 1)

    holding, release = threading.Event(), threading.Event()

    def settlement() -> None:  # an engine mid-tick: its transaction holds the game row
        # On a connection of its own: the PostgreSQL pass's pool of 4 is the test's, the
        # command's and the projector's, with one to spare (the presence heartbeat).
        with psycopg.connect(_dsn()) as conn:
            conn.execute("SELECT id FROM game_game WHERE id = %s FOR UPDATE", [game.id])
            holding.set()
            release.wait(60)
            conn.rollback()

    engine = threading.Thread(target=settlement)
    engine.start()
    try:
        assert await off_loop(holding.wait, 30)
        for k, comm in enumerate(sockets):
            await comm.send_json_to({"type": "command", "id": f"c-{k}", "do": "stake",
                                     "subnet": 1, "tao": 1.0})
        # The command is inside PostgreSQL, waiting for the lock.
        await off_loop(
            _wait_for, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database()", [], 1)
        # A projector connects meanwhile: its handshake and snapshot are answered while the
        # lock is still held (on the shared pool they would wait for the command's thread).
        proj, snap = await open_socket(game.code, query=f"projector={game.projector_token}")
        assert snap["type"] == "snapshot" and snap["you"]["kind"] == "projector"
        assert not release.is_set()
    finally:
        release.set()
        await off_loop(engine.join, 30)
    for k, comm in enumerate(sockets):
        reply = await receive_until(comm, "accepted", timeout=WAIT)
        assert reply["id"] == f"c-{k}"
        await comm.disconnect()
    await proj.disconnect()
