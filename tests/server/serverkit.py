"""Helpers for the server tests: a tiny preset scenario, sockets through the ASGI stack."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from game.actions.lobby import join_game

# How long a test waits for a socket message: generous, as the machine may be busy; a passing
# test never waits this long.
WAIT = 15

SCENARIO: dict[str, Any] = {
    "name": "Test market",
    "description": "Two subnets, a Foundation and a momentum bot.",
    "seed": 3,
    "clock": {"blocks_per_tick": 100, "ticks_per_epoch": 2, "epochs": 3, "tick_seconds": 5},
    "root": {"stake": 100000},
    "subnets": [
        {"id": 1, "name": "One", "tao": 1000, "alpha": 20000},
        {"id": 2, "name": "Two", "tao": 500, "alpha": 10000},
    ],
    "players": [
        {"id": "otf", "role": "root_validator", "tao": 0, "root_stake": 50000},
        {"id": "m1", "role": "speculator", "tao": 500, "bot": "momentum"},
    ],
    "events": [{"epoch": 2, "title": "Boom", "text": "Something happens.", "actions": []}],
}


def write_preset(directory: Path, name: str = "test_market", **changes: Any) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    data = {**SCENARIO, **changes}
    path = directory / f"{name}.json"
    path.write_text(json.dumps(data))
    return path


def session_cookie(user: Any) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


async def open_socket(code: str, *, cookies: dict[str, str] | None = None, query: str = "",
                      origin: str | None = None, host: str = "testserver",
                      expect_snapshot: bool = True) -> tuple[WebsocketCommunicator, dict]:
    """Connect through the full ASGI stack (origin check, sessions, cookies, routing)."""
    from game.asgi import application

    headers = [(b"host", host.encode())]
    if origin:
        headers.append((b"origin", origin.encode()))
    if cookies:
        headers.append((b"cookie", "; ".join(f"{k}={v}" for k, v in cookies.items()).encode()))
    path = f"/ws/game/{code}/" + (f"?{query}" if query else "")
    comm = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await comm.connect(timeout=WAIT)
    assert connected
    first = await comm.receive_json_from(timeout=WAIT) if expect_snapshot else {}
    return comm, first


async def join(code: str, nickname: str | None = None) -> tuple[Any, str]:
    return await database_sync_to_async(join_game)(code, nickname)


async def student_socket(code: str, nickname: str | None = None):
    seat, token = await join(code, nickname)
    comm, snap = await open_socket(code, cookies={f"seat_{code}": token})
    return seat, token, comm, snap


async def receive_until(comm: WebsocketCommunicator, kind: str, timeout: float = WAIT) -> dict:
    """Read messages until one of this type arrives (others are skipped)."""
    while True:
        msg = await comm.receive_json_from(timeout=timeout)
        if msg["type"] == kind:
            return msg


async def closed_with(comm: WebsocketCommunicator) -> int:
    """Read until the server closes the socket; return its close code (and let the app end)."""
    while True:
        out = await comm.receive_output(timeout=WAIT)
        if out["type"] == "websocket.close":
            await comm.disconnect()
            return out["code"]

