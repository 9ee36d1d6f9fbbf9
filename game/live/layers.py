"""The opt-in core Redis channel layer (CHANNEL_LAYER=core), made to survive a Redis restart.

channels_redis 4.3 builds one redis-py connection pool per event loop and never tells it to
retry: redis-py 8's asyncio connections default to `Retry(NoBackoff(), 0)` when they are given
no retry policy (the client's default of three retries only applies to pools the client builds
itself, and channels_redis hands it a pool). After Redis restarts, the first command on each
connection that the dead server closed fails with "Connection closed by server" instead of
reconnecting, and the consumer that issued it (often `group_add` in a new socket's `connect`)
dies with it: under daphne that socket is refused with HTTP 500, or its handshake hangs.

`RedisChannelLayer` gives every pool it creates a short retry policy: a command that fails with
a connection error closes that connection and is sent again on a fresh one, up to
`RETRIES` times with a short exponential back-off (well under a second in all), so a restart is
absorbed while a Redis that stays down still fails fast (the consumer ends, the page
reconnects). The commands the layer sends are safe to repeat: sends and group adds are ZADDs of
unique members, group discards ZREMs, receives are at most once anyway (a lost message is healed
by the protocol's seq gaps and snapshots).

Tested by `tests/hardening/test_redis_outage.py` (`[core-the same server process]`).
"""
from __future__ import annotations

from typing import Any

from channels_redis.core import RedisChannelLayer as CoreRedisChannelLayer
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

RETRIES = 3
BACKOFF = ExponentialBackoff(cap=0.5, base=0.05)  # 0.1 s, 0.2 s, 0.4 s


class RedisChannelLayer(CoreRedisChannelLayer):
    """channels_redis' core layer whose connections retry a command after a connection error."""

    def create_pool(self, index: int) -> Any:
        pool = super().create_pool(index)  # a new pool: no connection made yet
        pool.connection_kwargs["retry"] = Retry(BACKOFF, RETRIES)  # each connection copies it
        return pool
