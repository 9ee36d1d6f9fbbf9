"""Abuse limits on the doors that need no account: joining a game and looking a code up.

Fixed one-minute windows counted in Django's cache: the local-memory cache in the embedded
server (one process), Redis when `REDIS_URL` is set (game/settings.py `CACHES`), so that behind
several daphne processes every process counts against the same limit. A limit of 0 turns that
check off (benchmarks that join hundreds of seats from one address).

- `JOIN_RATE_PER_IP` join attempts a minute from one client address, refused ones included (a
  whole class may share one school NAT address, so this is generous: it stops scripts, not
  classes);
- `JOIN_RATE_PER_GAME` seats created a minute in one game: only joins that succeed spend it, so
  a stranger who reads the code off the projector and sends refused joins (a wrong code, a taken
  name, a locked lobby) spends only their own address's budget, never the class's;
- `CODE_MISSES_PER_IP` lookups of a code that names no game (join form, QR, socket), a minute,
  per address: past it, every lookup from that address that carries no identity is refused for
  the rest of the window, existing games included, so codes cannot be enumerated (31^6 codes; a
  few live at a time). A request that proves who it is (a seat cookie, the instructor's session,
  the projector's token) is never refused by it: a class behind one NAT shares the count.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60


# Bumped by reset(): old counters are ignored (and expire) rather than deleted, because a
# shared Redis cache must not be flushed (the channel layer may live in the same database).
_generation = 0


def _key(scope: str, who: str) -> str:
    return f"dtao-rl:{_generation}:{scope}:{who}:{int(time.time() // WINDOW_SECONDS)}"


_backend: Any = None
_backend_lock = threading.Lock()


def _cache() -> Any:
    """One cache client per process. `django.core.cache.cache` is per thread *and* per async
    context, so each consumer's database-thread call built a new RedisCache with a new pool and
    a new TCP connection to Redis (a reconnect storm spent half its time there)."""
    global _backend
    if _backend is None:
        with _backend_lock:
            if _backend is None:
                _backend = caches.create_connection(DEFAULT_CACHE_ALIAS)
    return _backend


def _count(scope: str, who: str, *, add: int = 1) -> int:
    """This window's count after adding `add`. If the cache is unreachable (Redis down) the
    limits are not enforced, and logged, rather than refusing every join and socket."""
    key = _key(scope, who)
    cache = _cache()
    try:
        if add == 0:  # a look only (every socket's handshake): one read, no write
            return int(cache.get(key, 0))
        cache.add(key, 0, timeout=WINDOW_SECONDS * 2)
        try:
            return int(cache.incr(key, add))
        except ValueError:  # expired between add and incr: start the window again
            cache.set(key, add, timeout=WINDOW_SECONDS * 2)
            return add
    except Exception:
        log.warning("rate limit counter %s unavailable; not enforced", scope, exc_info=True)
        return 0


def client_ip(request_or_scope: Any) -> str:
    """REMOTE_ADDR of a request, or the client address of an ASGI scope (daphne with
    --proxy-headers puts the forwarded address there when behind a reverse proxy)."""
    if isinstance(request_or_scope, dict):
        client = request_or_scope.get("client") or ("unknown", 0)
        return str(client[0])
    return str(request_or_scope.META.get("REMOTE_ADDR") or "unknown")


def join_allowed(ip: str) -> bool:
    """Count one join attempt against this address (whatever its outcome); False if the
    address is over its limit."""
    return not (settings.JOIN_RATE_PER_IP
                and _count("join-ip", ip) > settings.JOIN_RATE_PER_IP)


def game_has_room(code: str) -> bool:
    """True if this game may take another seat this window (a look: nothing is spent)."""
    return not (settings.JOIN_RATE_PER_GAME
                and _count("join-game", code, add=0) >= settings.JOIN_RATE_PER_GAME)


def note_join(code: str) -> None:
    """A seat was created in this game: spend one of its joins for this window."""
    if settings.JOIN_RATE_PER_GAME:
        _count("join-game", code)


def guessing(ip: str) -> bool:
    """True if this address already missed too many codes in this window."""
    limit = settings.CODE_MISSES_PER_IP
    return bool(limit) and _count("code-miss", ip, add=0) >= limit


def note_miss(ip: str) -> None:
    """A lookup from this address named no game."""
    if settings.CODE_MISSES_PER_IP:
        _count("code-miss", ip)


def reset() -> None:
    """Forget every count of this process (tests): start a new generation of keys."""
    global _generation
    _generation = time.time_ns()
