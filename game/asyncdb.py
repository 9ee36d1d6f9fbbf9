"""Database calls from async code (consumers, the in-process engine).

Every call closes the connections it is done with (with `CONN_MAX_AGE=0`, all of them) inside
the call itself, on its worker thread, before it returns: without a pool that is a real close;
with the psycopg pool (`DB_POOL_MAX`) it hands the connection back to the pool.

Why not rely on `channels.db.database_sync_to_async` alone, which closes old connections
around each call? With the pool it did not hand every connection back: in the hypothesis fuzz
tests (tests/hardening/test_fuzz.py: many short-lived event loops, sockets opened and dropped)
a pool of 4 ran dry (PoolTimeout), every stuck connection taken in a consumer call on a loop
worker thread that had since exited. Closing inside the call makes the same run pass. The exact
path by which the outer close missed them (asgiref 3.13's context hand-over between threads is
the suspect) is not pinned down; the PostgreSQL pass of `make test` runs with a pool of 4 so a
leak of this kind fails the suite.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

from channels.db import database_sync_to_async
from django.db import close_old_connections


def _closing(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        finally:
            close_old_connections()
    return call


def call(fn: Callable[..., Any], *, thread_sensitive: bool = False,
         executor: Any = None) -> Any:
    """`fn` as an awaitable run on a worker thread; by default the event loop's thread pool
    (a connection each), not the one thread Channels otherwise gives every consumer of a
    process (a command waiting on the game row's lock while the engine settles must not stall
    every other socket of the worker: docs/performance.md). `executor`: a pool of its own
    (the presence heartbeat must not queue behind a class's commands)."""
    return database_sync_to_async(_closing(fn), thread_sensitive=thread_sensitive,
                                  executor=executor)
