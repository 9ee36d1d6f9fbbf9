"""Redis down for a while (our own redis-server on a free port; the shared one is never touched),
with the production channel layer (pub/sub) and the opt-out core layer (CHANNEL_LAYER=core):
ticks keep settling in the database, broadcasting pauses, and when Redis is back every client
resyncs by snapshot and hears the following ticks again."""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone
from redis.exceptions import ConnectionError as RedisConnectionError
from serverkit import WAIT, open_socket, student_socket

from bench.stack import RedisServer
from game import engine
from game.actions.start import start_game
from game.models import Game

pytestmark = pytest.mark.django_db(transaction=True)
db = database_sync_to_async


def django_settings_layers(kind: str = "pubsub") -> dict:
    """The channel layer game/settings.py builds when REDIS_URL is set (CHANNEL_LAYER=kind)."""
    out = subprocess.run(
        [sys.executable, "-c", "import json; from django.conf import settings; "
         "print(json.dumps(settings.CHANNEL_LAYERS['default']))"],
        env={**os.environ, "REDIS_URL": "redis://127.0.0.1:1/0", "CHANNEL_LAYER": kind,
             "DJANGO_SETTINGS_MODULE": "game.settings"},
        cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture
def own_redis(tmp_path: Path, settings: Any) -> Any:
    if shutil.which("redis-server") is None:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail("needs the redis-server binary (CI must run this drill)")
        pytest.skip("needs the redis-server binary")
    r = RedisServer(tmp_path).start()
    # The production layer (game/settings.py), pointed at our own Redis.
    _use_layer(settings, os.environ.get("DRILL_LAYER", "pubsub"), r.port)
    yield r
    r.stop()
    from channels.layers import channel_layers
    channel_layers.backends = {}


def _use_layer(settings: Any, kind: str, port: int) -> None:
    """The channel layer game/settings.py builds for CHANNEL_LAYER=kind, on our own Redis."""
    layer = django_settings_layers(kind)
    layer["CONFIG"]["hosts"][0]["address"] = f"redis://127.0.0.1:{port}/0"
    layer["CONFIG"]["prefix"] = "drill"
    settings.CHANNEL_LAYERS = {"default": layer}
    from channels.layers import channel_layers
    channel_layers.backends = {}


async def _settle(game_id: int) -> None:
    await db(Game.objects.filter(pk=game_id).update)(next_tick_at=timezone.now())
    assert await db(engine.settle_tick)(game_id)


async def _next(comm: Any, kind: str) -> dict | None:
    """The next message of this kind, or None if the socket closed first."""
    while True:
        out = await comm.receive_output(timeout=WAIT)
        if out["type"] == "websocket.close":
            return None
        msg = json.loads(out["text"])
        if msg["type"] == kind:
            return msg


RESTARTED = "the server process restarted after the outage"
SAME = "the same server process"


# [core-SAME] failed before game/live/layers.py: channels_redis' core layer gives redis-py a pool
# whose connections never retry, so the new socket's group_add met a connection the dead server
# had closed ("Connection closed by server") and its consumer died in connect (under daphne:
# HTTP 500, or a handshake that hangs).
@pytest.mark.parametrize("layer,server", [
    ("pubsub", RESTARTED), ("pubsub", SAME), ("core", RESTARTED), ("core", SAME)])
async def test_a_redis_outage_pauses_broadcasts_and_clients_resync_by_snapshot(
        game: Any, own_redis: RedisServer, settings: Any, layer: str, server: str) -> None:
    if layer == "core":
        _use_layer(settings, "core", own_redis.port)
    seat, token, comm, _snap = await student_socket(game.code, "Ann")
    await db(start_game)(game.id)
    await _settle(game.id)
    tick = await _next(comm, "tick")
    assert tick is not None and tick["tick"] == 0
    last_seq = tick["seq"]

    own_redis.kill()
    # Ticks keep settling in the database while nothing can be broadcast.
    await _settle(game.id)
    await _settle(game.id)
    g = await db(Game.objects.get)(pk=game.id)
    assert g.tick == 3

    own_redis.start()
    if server == RESTARTED:
        from channels.layers import channel_layers
        channel_layers.backends = {}  # what a new daphne process starts with
    # The old socket either ended (its consumer lost the layer: the page reconnects) or lived
    # through the outage; then the next message it gets has a seq past the last it saw, which
    # the client rule reads as a gap: it asks for a snapshot.
    heard = None if server == RESTARTED else await _hears_again(comm, game.id, last_seq)
    if (layer, server) == ("pubsub", SAME):
        assert heard is not None, "the pub/sub layer resubscribes: the socket lives on"
    if server == RESTARTED:
        await _settle(game.id)  # tick 3, broadcast to nobody: the old socket is gone
    g = await db(Game.objects.get)(pk=game.id)
    if heard is not None:
        assert heard["seq"] > last_seq + 1  # a gap: resync
        await comm.send_json_to({"type": "snapshot"})
        snap = await _next(comm, "snapshot")
        client = comm
    else:
        await _forget(comm)
        client, snap = await open_socket(game.code, cookies={f"seat_{game.code}": token})
    assert snap is not None and snap["seq"] == g.seq and snap["game"]["tick"] == g.tick
    await _settle(game.id)
    while (after := await _next(client, "tick")) is not None and after["seq"] <= snap["seq"]:
        pass  # older than the snapshot: the client ignores it
    assert after is not None and after["tick"] == g.tick and after["seq"] == snap["seq"] + 1
    await client.disconnect()


async def _hears_again(comm: Any, game_id: int, last_seq: int) -> dict | None:
    """Settle ticks (a few at most) until the socket gets a message past `last_seq`: the first
    broadcasts after Redis returns may be lost while the layer resubscribes. None if the socket
    ended or stayed deaf."""
    for _attempt in range(5):
        await _settle(game_id)
        for _poll in range(10):
            try:
                if await comm.receive_nothing(timeout=0.5):
                    continue
                out = await comm.receive_output(timeout=WAIT)
            except (RedisConnectionError, ConnectionError):
                return None
            if out["type"] != "websocket.send":
                return None
            msg = json.loads(out["text"])
            if msg.get("seq", 0) > last_seq:
                return msg
    return None


async def _forget(comm: Any) -> None:
    try:
        await comm.disconnect()
    except (RedisConnectionError, ConnectionError, asyncio.TimeoutError,
            asyncio.CancelledError):
        pass  # the consumer already died with the lost connection


async def _ended(comm: Any) -> bool:
    """True once the socket's application has ended: closed, or died on the lost connection."""
    try:
        while True:
            out = await comm.receive_output(timeout=WAIT)
            if out["type"] == "websocket.close":
                return True
    except asyncio.TimeoutError:
        return False  # still open
    except (RedisConnectionError, ConnectionError):
        return True


async def _not_served(code: str, token: str) -> bool:
    """True if a new socket gets no snapshot within a few seconds (closed, failed or hanging)."""
    from channels.testing import WebsocketCommunicator

    from game.asgi import application

    comm = WebsocketCommunicator(application, f"/ws/game/{code}/", headers=[
        (b"host", b"testserver"), (b"cookie", f"seat_{code}={token}".encode())])
    try:
        connected, _ = await comm.connect(timeout=5)
        if not connected:
            return True
        return await _next(comm, "snapshot") is None
    except (RedisConnectionError, OSError):  # asyncio's TimeoutError is an OSError
        return True
