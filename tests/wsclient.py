"""The client side of docs/protocol.md that every test's protocol client shares (the live-server
tests' `livekit.Client`, the class-period rehearsal's `classkit.Identity`): public messages
applied in seq order, a gap healed by asking for a snapshot, commands sent with an id of the
client's own and resent with the same id until answered. A subclass says what it keeps of each
message (on_snapshot, on_public, on_reply) and how it reads its socket."""
from __future__ import annotations

import asyncio
from typing import Any

import orjson
from websockets.exceptions import ConnectionClosed

# Numbered 1, 2, 3… for everyone (docs/protocol.md).
PUBLIC = frozenset({"lobby", "status", "tick", "next_round"})


class ProtocolClient:
    def __init__(self, name: str) -> None:
        self.name = name
        self.ws: Any = None
        self.reader: asyncio.Task | None = None
        self.last_seq = -1
        self.awaiting_snapshot = True  # the server sends one unasked on connect
        self.gaps = 0
        self.counter = 0
        self.sent: dict[str, dict[str, Any]] = {}     # client id -> command sent
        self.answers: dict[str, dict[str, Any]] = {}  # client id -> first answer

    # -- what a subclass keeps --

    def on_snapshot(self, msg: dict[str, Any], size: int) -> None:
        """A snapshot, which replaces all client state (last_seq is already its seq)."""

    def on_public(self, msg: dict[str, Any]) -> None:
        """The next public message in seq order (never an old or a skipped one)."""

    def on_reply(self, msg: dict[str, Any]) -> None:
        """Anything else: answers, private messages, errors, replies to pings and controls."""

    # -- the seq rule --

    def handle(self, msg: dict[str, Any], size: int = 0) -> None:
        kind, seq = msg["type"], msg.get("seq", 0)
        if kind == "snapshot":
            self.last_seq, self.awaiting_snapshot = seq, False
            self.on_snapshot(msg, size)
        elif kind in PUBLIC:
            if self.awaiting_snapshot or seq <= self.last_seq:
                return  # old news, or covered by the snapshot on its way
            if seq != self.last_seq + 1:
                self.gap()
                return
            self.last_seq = seq
            self.on_public(msg)
        else:
            if seq > self.last_seq and not self.awaiting_snapshot:
                self.gap()  # a reply from the future: a public message went missing
            self.on_reply(msg)

    def gap(self) -> None:
        self.gaps += 1
        self.awaiting_snapshot = True
        asyncio.get_running_loop().create_task(self.send({"type": "snapshot"}))

    # -- sending --

    async def send(self, msg: dict[str, Any]) -> bool:
        try:
            await self.ws.send(orjson.dumps(msg).decode())
            return True
        except (ConnectionClosed, AttributeError):
            return False

    async def command(self, **action: Any) -> str:
        self.counter += 1
        cid = f"{self.name}-{self.counter}"
        msg = {"type": "command", "id": cid, **action}
        self.sent[cid] = msg
        await self.send(msg)
        return cid

    async def resend_unanswered(self) -> None:
        for cid, msg in list(self.sent.items()):
            if cid not in self.answers:
                await self.send(msg)
