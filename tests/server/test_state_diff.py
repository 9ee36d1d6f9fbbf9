"""A client that starts from a snapshot and applies every message it is sent ends up with the
same state as a fresh snapshot (the protocol's deltas are complete)."""
from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from serverkit import WAIT, student_socket

from game import engine, services

pytestmark = pytest.mark.django_db(transaction=True)
db = database_sync_to_async


class Mirror:
    """The client's view, built only from what arrives on the socket."""

    def __init__(self, snapshot: dict) -> None:
        self.state = {k: snapshot[k] for k in ("game", "market", "leaderboard", "private",
                                                "lobby", "events")}
        self.commands = {c["id"]: self._short(c) for c in snapshot["commands"]}
        self.seq = snapshot["seq"]

    @staticmethod
    def _short(c: dict) -> dict:
        return {k: c.get(k) for k in ("command", "status", "due_tick", "tick", "reason")}

    def apply(self, msg: dict) -> None:
        kind = msg["type"]
        if kind in ("lobby", "status", "tick"):
            assert msg["seq"] == self.seq + 1, "no gaps on a quiet test socket"
            self.seq = msg["seq"]
        if kind == "lobby":
            self.state["lobby"] = msg["lobby"]
            self.state["game"] = {**self.state["game"], "players": msg["players"]}
        elif kind == "status":
            self.state["game"] = msg["game"]
        elif kind == "tick":
            self.state["game"] = msg["game"]
            self.state["market"] = msg["market"]
            self.state["leaderboard"] = msg["leaderboard"]
            fired = {e["index"] for e in msg["events"]}
            self.state["events"] = [{**e, "status": "fired"} if e["index"] in fired else e
                                    for e in self.state["events"]]
        elif kind == "private":
            self.state["private"] = msg["you"]
            for f in msg["fills"]:
                if f["id"] is not None:
                    self.commands[f["id"]] = self._short(f)
        elif kind == "accepted":
            self.commands.setdefault(msg["id"], {"command": msg["command"], "status": "queued",
                                                 "due_tick": msg["due_tick"], "tick": None,
                                                 "reason": None})
        elif kind == "cancelled":
            self.commands[msg["command"]]["status"] = "cancelled"
            self.commands[msg["command"]]["reason"] = "cancelled"


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
