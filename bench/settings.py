"""Settings overlay for `python -m bench --settings-fixes`: game.settings plus the fixes the
benchmark found necessary for many sockets per process. Each applies only while game.settings
still lacks it; `FIXES` lists those applied (the benchmark's JSON records them).

1. Redis socket read timeout (`redis_socket_timeout`): redis-py 8 defaults socket_timeout to 5 s
   (redis/_defaults.py) while channels_redis 4.3 blocks in BZPOPMIN for 5 s on every receive. On
   a busy event loop the read outlives the timeout, the consumer dies with redis TimeoutError
   and its socket closes with 1011 (redis/redis-py#4091). Fix: socket_timeout None.
2. Redis pool size (`redis_max_connections`): redis-py 8's asyncio pool defaults to 100
   connections and raises MaxConnectionsError beyond that (it does not wait); a worker with a
   few hundred sockets connecting at once exceeds it and those consumers die.

Not changed here: CONN_MAX_AGE=60. Django's docs say to disable persistent connections under
ASGI (each HTTP request runs in a thread of its own; a connection kept in a finished thread
leaks until collected: "too many clients" from PostgreSQL under a burst of joins). But with
CONN_MAX_AGE=0 every consumer database call opens a new connection, in the single thread that
runs all of a worker's consumer database calls, and connecting 300 sockets collapsed (see
docs/performance.md). The fix is a connection pool (Django 5.1+ `OPTIONS: {"pool": …}` with
psycopg-pool), which is a dependency decision for game/settings.py.
"""
from game.settings import *  # noqa: F401,F403
from game.settings import CHANNEL_LAYERS

FIXES: list[str] = []
_config = CHANNEL_LAYERS["default"].get("CONFIG", {})
if "hosts" in _config:
    hosts = []
    for host in _config["hosts"]:
        if isinstance(host, str):
            host = {"address": host}
        if "socket_timeout" not in host:
            host["socket_timeout"] = None
            FIXES.append("redis_socket_timeout")
        if "max_connections" not in host:
            host["max_connections"] = 10_000
            FIXES.append("redis_max_connections")
        hosts.append(host)
    _config["hosts"] = hosts

# --- experiment (off unless BENCH_DB_THREADPOOL=1; `python -m bench --db-threadpool`) ----------
# Channels runs every consumer's database_sync_to_async call of a process on ONE thread
# (asgiref's thread_sensitive default, and consumers have no ThreadSensitiveContext): a worker
# does one database call at a time for all its sockets. This swaps in thread_sensitive=False
# (the loop's thread pool, a connection per thread) before game.consumers imports it, to
# measure what that change to game/consumers.py would buy. Not a fix to ship from here.
import os as _os  # noqa: E402

if _os.environ.get("BENCH_DB_THREADPOOL") == "1":
    import channels.db as _cdb

    class _PooledDatabaseSyncToAsync(_cdb.DatabaseSyncToAsync):
        def __init__(self, func, thread_sensitive=False, executor=None):  # type: ignore[no-untyped-def]
            super().__init__(func, thread_sensitive=thread_sensitive, executor=executor)

    _cdb.database_sync_to_async = _PooledDatabaseSyncToAsync
    FIXES.append("experiment_db_threadpool")

# --- experiment (off unless BENCH_PUBSUB=1; `python -m bench --pubsub`) -------------------------
# channels_redis's default layer stores one copy of every group message per socket channel in
# Redis, and each worker pops them one by one: delivery work grows with sockets × messages.
# RedisPubSubChannelLayer publishes a group message once; every worker with members in the group
# receives it once and fans it out locally. At-most-once (no capacity, no expiry), which the
# protocol's seq gaps and snapshots already cover. Measured here, not shipped from here.
if _os.environ.get("BENCH_PUBSUB") == "1":
    CHANNEL_LAYERS["default"] = {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": _config["hosts"], "prefix": _config.get("prefix", "asgi")},
    }
    FIXES.append("experiment_pubsub_layer")
