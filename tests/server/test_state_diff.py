"""A client that starts from a snapshot and applies every message it is sent ends up with the
same state as a fresh snapshot (the protocol's deltas are complete)."""
from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from serverkit import WAIT, Mirror, student_socket

from game import engine, services

pytestmark = pytest.mark.django_db(transaction=True)
db = database_sync_to_async


async def _drain(comm, mirror: Mirror) -> None:
    while not await comm.receive_nothing(timeout=0.3):
        mirror.apply(await comm.receive_json_from(timeout=WAIT))


async def _fresh(comm) -> dict:
    await comm.send_json_to({"type": "snapshot"})
    return await comm.receive_json_from(timeout=WAIT)


async def test_a_client_applying_every_message_matches_a_fresh_snapshot(game):
    seat, _t, comm, snap = await student_socket(game.code, "Alice")
    mirror = Mirror(snap)
    await db(services.join_game)(game.code, "Bob")
    await db(services.start_game)(game.id)
    sends = [
        {"type": "command", "id": "c-1", "do": "stake", "subnet": 1, "tao": 25.0},
        {"type": "command", "id": "c-2", "do": "stake", "subnet": 2, "tao": 1e9},  # rejected
        {"type": "command", "id": "c-3", "do": "stake", "subnet": 2, "tao": 5.0},
        {"type": "cancel", "id": "x-1", "command": "c-3"},
    ]
    for message in sends:
        await comm.send_json_to(message)
        await _drain(comm, mirror)
    await db(services.scripted_event)(game.id, 0, "fire")
    for k in range(3):
        await db(services.advance)(game.id, "tick")
        assert await db(engine.settle_tick)(game.id)
        await comm.send_json_to({"type": "command", "id": f"t-{k}", "do": "unstake",
                                 "subnet": 1, "alpha": 10.0})
        await _drain(comm, mirror)
    fresh = await _fresh(comm)
    assert fresh["seq"] == mirror.seq
    for key in ("game", "market", "leaderboard", "private", "lobby", "events"):
        assert mirror.state[key] == fresh[key], key
    assert mirror.commands == {c["id"]: Mirror._short(c) for c in fresh["commands"]}
    assert mirror.commands["c-2"]["status"] == "rejected"
    assert mirror.commands["c-3"]["status"] == "cancelled"
    assert mirror.commands["t-2"]["status"] == "queued"
    await comm.disconnect()
