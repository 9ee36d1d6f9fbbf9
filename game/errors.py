"""Stable error codes of the WebSocket protocol (docs/protocol.md lists them with examples)."""
from __future__ import annotations

from typing import Any

ERROR_CODES: frozenset[str] = frozenset({
    "bad_json", "too_large", "unknown_type", "invalid", "bad_value", "rate_limited", "read_only",
    "forbidden", "no_seat", "unknown_command", "not_cancellable", "bad_state", "unknown_seat",
    "unknown_event", "game_not_started", "game_over", "internal", "unknown_setting",
})
# Codes of a `rejected` reply to a well-formed command.
REJECT_CODES: frozenset[str] = frozenset({"game_not_started", "game_over", "seat_not_active"})

# WebSocket close codes.
CLOSE_NO_IDENTITY = 4001
CLOSE_NO_GAME = 4004
CLOSE_FLOODING = 4008
CLOSE_TOO_LARGE = 4009
CLOSE_KICKED = 4010
CLOSE_REPLACED = 4011  # the seat was opened on another device or tab (newest wins)
CLOSE_SEND_FAILED = 4013  # a message could not be sent (logged): reconnect once, then give up


class ClientError(Exception):
    """A client mistake, answered with {"type": "error", code, message, ref}."""

    def __init__(self, code: str, message: str, *, ref: str | None = None,
                 details: list[dict[str, Any]] | None = None) -> None:
        assert code in ERROR_CODES or code in REJECT_CODES, code
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref = ref
        self.details = details


class Refused(Exception):
    """A well-formed command the game refuses now (not yet started, over, seat not active): a
    `rejected` reply, nothing stored. (The simulator's refusal of an action is
    sim.actions.Rejected.)"""

    def __init__(self, code: str, message: str) -> None:
        assert code in REJECT_CODES, code
        super().__init__(message)
        self.code = code
        self.message = message
