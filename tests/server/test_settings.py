"""Settings come from the environment and fail loudly on bad values."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from game.settings import envbool, envfloat, envint, envlist

ROOT = Path(__file__).resolve().parents[2]


def _env(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items()  # the defaults, not this test run's choices
             if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SECRET_KEY")
             and not k.startswith("DB_POOL_")}
    return {**clean, "VAR_DIR": str(tmp_path / "var"), **env}


def _load(env: dict[str, str], tmp_path: Path, code: str = "",
          before: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", before + "import game.settings as s\n" + code],
        cwd=ROOT, env=_env(env, tmp_path), capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("name,value", [("DEBUG", "maybe"), ("ENGINE_IN_PROCESS", "2"),
                                        ("WS_RATE_BURST", "lots"), ("WS_RATE_BURST", "0"),
                                        ("ENGINE_POLL_SECONDS", "nan"),
                                        ("DJANGO_SECRET_KEY", "short")])
def test_it_refuses_to_start_on_a_bad_value(tmp_path, name, value):
    done = _load({name: value}, tmp_path)
    assert done.returncode != 0
    assert name in done.stderr and "ImproperlyConfigured" in done.stderr


def test_the_first_start_keeps_a_generated_secret_key_and_the_defaults_are_embedded(tmp_path):
    code = ("print(s.SECRET_KEY); print(s.DATABASES['default']['ENGINE']);"
            " print(s.CHANNEL_LAYERS['default']['BACKEND']); print(s.DEBUG, s.ENGINE_IN_PROCESS)")
    bare = _load({}, tmp_path, code)  # no key yet: one for this process only, nothing written
    assert bare.returncode == 0, bare.stderr
    assert len(bare.stdout.split("\n")[0]) >= 50 and not (tmp_path / "var").exists()
    start = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT,
                           env=_env({}, tmp_path), capture_output=True, text=True, timeout=60)
    assert start.returncode == 0, start.stderr
    first = _load({}, tmp_path, code)
    second = _load({}, tmp_path, code)
    key, engine, layer, flags = first.stdout.split("\n")[:4]
    assert key == (tmp_path / "var" / "secret_key").read_text() == second.stdout.split("\n")[0]
    assert len(key) >= 50 and key != bare.stdout.split("\n")[0]
    assert (tmp_path / "var" / "secret_key").stat().st_mode & 0o777 == 0o600
    assert engine == "django.db.backends.sqlite3"
    assert layer == "channels.layers.InMemoryChannelLayer"
    assert flags == "False True"


# Every file opened for writing and every directory made, renamed or removed, as Python's audit
# hooks report them (bytecode caching off: importing would write .pyc files).
_WATCH_WRITES = """import os, sys
sys.dont_write_bytecode = True
WRITES = []
_W = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
def _hook(event, args):
    if event == "open" and isinstance(args[2], int) and (args[2] & _W or any(
            c in (args[1] or "") for c in "wax+")):
        WRITES.append((event, str(args[0])))
    elif event in ("os.mkdir", "os.rename", "os.link", "os.remove", "os.rmdir", "os.chmod"):
        WRITES.append((event, str(args[0])))
sys.addaudithook(_hook)
"""


def test_importing_the_settings_writes_nothing(tmp_path):
    done = _load({}, tmp_path, "print(WRITES)", before=_WATCH_WRITES)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert not (tmp_path / "var").exists()


def test_it_switches_to_postgres_and_redis_from_urls(tmp_path):
    code = ("d = s.DATABASES['default']; c = s.CHANNEL_LAYERS['default']\n"
            "h = c['CONFIG']['hosts'][0]\n"
            "print(d['ENGINE'], d['CONN_MAX_AGE'],"
            " d.get('OPTIONS', {}).get('pool', {}).get('max_size'))\n"
            "print(c['BACKEND'], h['address'], h['socket_timeout'], h['max_connections'])")
    urls = {"DATABASE_URL": "postgres://u@db:5432/x", "REDIS_URL": "redis://r:6379/0",
            "DJANGO_SECRET_KEY": "k" * 40}
    done = _load(urls, tmp_path, code)
    assert done.returncode == 0, done.stderr
    # no persistent per-thread connections (ASGI) but a pool of 20 per process, and the
    # pub/sub layer (with the per-worker fan-out, game/live/fanout.py) with redis-py 8's read
    # timeout off and a pool that does not refuse the 101st socket
    assert done.stdout.split("\n")[:2] == [
        "django.db.backends.postgresql 0 20",
        "game.live.fanout.PubSubChannelLayer redis://r:6379/0 None 10000"]
    core = _load({**urls, "CHANNEL_LAYER": "core"}, tmp_path, code)
    assert core.stdout.split("\n")[1].startswith("game.live.layers.RedisChannelLayer ")  # retrying
    unpooled = _load({**urls, "DB_POOL_MAX": "0"}, tmp_path, code)
    assert unpooled.stdout.split("\n")[0] == "django.db.backends.postgresql 0 None"  # opt-out
    sized = _load({**urls, "DB_POOL_MAX": "5", "DB_POOL_MIN": "6"}, tmp_path, code)
    assert sized.returncode != 0 and "DB_POOL_MIN" in sized.stderr  # min above max
    bad = _load({**urls, "CHANNEL_LAYER": "carrier-pigeon"}, tmp_path, code)
    assert bad.returncode != 0 and "CHANNEL_LAYER" in bad.stderr


def test_the_helpers_parse_and_refuse(monkeypatch):
    monkeypatch.setenv("X_BOOL", "Yes")
    monkeypatch.setenv("X_INT", " 12 ")
    monkeypatch.setenv("X_LIST", "a, b,,c")
    assert envbool("X_BOOL", False) is True and envint("X_INT", 0) == 12
    assert envlist("X_LIST", []) == ["a", "b", "c"] and envbool("X_UNSET", True) is True
    monkeypatch.setenv("X_INT", "13")
    with pytest.raises(ImproperlyConfigured):
        envint("X_INT", 0, hi=12)
    monkeypatch.setenv("X_FLOAT", "inf")
    with pytest.raises(ImproperlyConfigured):
        envfloat("X_FLOAT", 1.0, hi=10)
