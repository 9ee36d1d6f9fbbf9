"""Database calls from async code close their connection before they return (game/asyncdb.py).

The leak this guards against showed with the psycopg pool in the hypothesis fuzz tests (many
short-lived event loops, sockets opened and dropped): with Channels' wrapper alone, a pool of 4
ran dry within test_fuzz.py. That regression is caught by the PostgreSQL pass of `make test`,
which runs the whole server suite with a pool of 4 per process (scripts/test); these tests pin
the wrapper's own promise.
"""
from __future__ import annotations

import threading

import pytest
from channels.db import database_sync_to_async
from django.db import connections

from game import asyncdb
from game.models import Game

pytestmark = pytest.mark.django_db(transaction=True)


def _query() -> int:
    return Game.objects.count()


def _open_connection() -> object | None:
    return connections["default"].connection


def _in_a_thread(fn) -> object | None:
    """Run fn on a fresh thread, then report that thread's connection (None: closed)."""
    seen: list[object | None] = []

    def run() -> None:
        try:
            fn()
            seen.append(connections["default"].connection)
        finally:
            connections.close_all()

    t = threading.Thread(target=run)
    t.start()
    t.join(60)
    assert seen, "the call did not finish"
    return seen[0]


def test_a_call_closes_the_connection_it_opened_before_returning() -> None:
    assert _in_a_thread(asyncdb._closing(_query)) is None
    assert _in_a_thread(_query) is not None  # the control: left to itself, it stays open


async def test_a_call_leaves_no_connection_open_behind_it() -> None:
    assert await asyncdb.call(_query)() == 0
    # A later call on the same context sees whatever the previous one left open.
    assert await database_sync_to_async(_open_connection, thread_sensitive=False)() is None


async def test_the_engine_style_call_closes_too() -> None:
    """thread_sensitive=True (the in-process engine's settle pass): the same promise."""
    assert await asyncdb.call(_query, thread_sensitive=True)() == 0
    assert await database_sync_to_async(_open_connection)() is None
