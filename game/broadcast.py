"""Sending to sockets. Every message is encoded once (orjson) and the same text is delivered to
every socket of the group: the consumer's `frame.send` handler sends it verbatim.

Always called through `on_commit(...)`: a broadcast must never announce a state that rolls back.
"""
from __future__ import annotations

import logging
from typing import Any

import orjson
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

log = logging.getLogger(__name__)


def game_group(game_id: int) -> str:
    return f"game.{game_id}"


def instructor_group(game_id: int) -> str:
    return f"game.{game_id}.instructor"


def seat_group(seat_id: int) -> str:
    return f"seat.{seat_id}"


def encode(message: dict[str, Any]) -> str:
    return orjson.dumps(message, option=orjson.OPT_SERIALIZE_NUMPY).decode()


def _send_now(frames: list[tuple[str, dict[str, Any]]]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return

    async def send_all() -> None:
        for group, event in frames:
            try:
                await layer.group_send(group, event)
            except Exception:  # a lost broadcast is healed by the client's snapshot on a gap
                log.exception("broadcast to %s failed", group)

    # async_to_sync from a sync_to_async thread runs on the server's own event loop (the
    # in-memory layer is bound to it); from a plain process (run_engine) it makes its own loop.
    async_to_sync(send_all)()


def frame(group: str, text: str, seq: int) -> tuple[str, dict[str, Any]]:
    """A pre-encoded message for a group; `seq` lets each socket track the seq it has sent."""
    return group, {"type": "frame.send", "text": text, "seq": seq}


def kick(seat_id: int) -> tuple[str, dict[str, Any]]:
    return seat_group(seat_id), {"type": "seat.kicked"}


def on_commit(frames: list[tuple[str, dict[str, Any]]]) -> None:
    """Send these frames (in order) after the current transaction commits."""
    if frames:
        transaction.on_commit(lambda: _send_now(frames))
