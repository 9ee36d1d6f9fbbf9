"""The abuse limits hold across processes: with REDIS_URL, every daphne process counts into
the same Redis counters (game/ratelimit.py), so N workers do not multiply a limit by N."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from bench.stack import redis_url_with_db

ROOT = Path(__file__).resolve().parents[2]
ADDRESS = "203.0.113.9"  # documentation range: no real client

MISS = f"""
from game import ratelimit
for _ in range(5):
    ratelimit.note_miss({ADDRESS!r})
print(ratelimit.guessing({ADDRESS!r}))
"""
CHECK = f"from game import ratelimit; print(ratelimit.guessing({ADDRESS!r}))"


def _shell(code: str, env: dict[str, str]) -> str:
    out = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip().splitlines()[-1]


def _env(redis: str | None, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(DJANGO_SETTINGS_MODULE="game.settings", CODE_MISSES_PER_IP="10",
               SQLITE_PATH=str(tmp_path / "db.sqlite3"), VAR_DIR=str(tmp_path),
               CHANNELS_PREFIX=f"t{uuid.uuid4().hex[:8]}")
    if redis:
        env["REDIS_URL"] = redis
    return env


def test_code_guessing_limit_is_counted_across_processes_on_redis(redis_url: str,
                                                                   tmp_path: Path) -> None:
    env = _env(redis_url_with_db(redis_url, 12), tmp_path)
    # Two processes (two workers) miss 5 codes each: neither alone reaches the limit of 10...
    assert _shell(MISS, env) == "False"
    assert _shell(MISS, env) == "True"  # ...but together they do
    assert _shell(CHECK, env) == "True"  # and a third process sees the address blocked


@pytest.mark.slow
def test_without_redis_each_process_counts_alone(tmp_path: Path) -> None:
    env = _env(None, tmp_path)  # the embedded server: one process, its own memory
    assert _shell(MISS, env) == "False"
    assert _shell(CHECK, env) == "False"


def test_the_counters_use_one_cache_client_per_process(redis_url: str, tmp_path: Path) -> None:
    """Django's `cache` is per thread and per async context: used directly from the consumers'
    database threads, every socket's handshake built a new Redis client and connection."""
    code = """
import asyncio
from asgiref.sync import sync_to_async
from django.core.cache import caches
from game import ratelimit

async def main():
    ours = {id(x) for x in await asyncio.gather(*(
        sync_to_async(ratelimit._cache, thread_sensitive=False)() for _ in range(10)))}
    djangos = {id(x) for x in await asyncio.gather(*(
        sync_to_async(lambda: caches["default"], thread_sensitive=False)() for _ in range(10)))}
    print(len(ours), len(djangos) > 1)
asyncio.run(main())
"""
    env = _env(redis_url_with_db(redis_url, 12), tmp_path)
    assert _shell(code, env) == "1 True"
