"""The game socket (/ws/game/<code>/): thin. Authenticate once at connect, then for each message:
check size and rate, parse it into its schema, call one service, answer on the same socket.
Broadcasts arrive pre-encoded as `frame.send` events and are sent verbatim.
"""
from __future__ import annotations

import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from game import asyncdb, broadcast, errors, ratelimit, stagetimes
from game.actions import orders, predictions
from game.actions.control import control
from game.actions.presence import seat_connected, seat_disconnected
from game.errors import ClientError, Refused
from game.live import fanout, heartbeat, identity, sessions, transport
from game.live.protocol import action_dict, parse

log = logging.getLogger(__name__)


def db(fn: Any) -> Any:
    """A database call from this consumer: on the loop's thread pool, its connection closed
    (or back in the pool) when it returns (game/asyncdb.py)."""
    return asyncdb.call(fn)


# A game's writers (a command, a cancel, an answer, the console's controls) take the game row's
# lock, and while the engine settles a tick they wait there. On the loop's shared pool (6 threads
# on 2 cores) a class's commands waiting out one settlement held every thread, and the handshakes
# and snapshots of a reconnecting class queued behind them (docs/performance.md, round 2). They
# have threads of their own: with the presence pools, at most 17 connections a process, under
# the default DB_POOL_MAX of 20 (docs/deploy.md).
WRITE_THREADS = 6
_writes = ThreadPoolExecutor(max_workers=WRITE_THREADS, thread_name_prefix="dtao-writes")


def db_write(fn: Any) -> Any:
    """A call that locks the game row: as `db`, on the writers' own pool."""
    return asyncdb.call(fn, executor=_writes)


class TokenBucket:
    """Per-socket rate limit: `rate` messages a second on average, bursts up to `burst`."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, float(burst)
        self.tokens, self.stamp = float(burst), time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


def _admit(ip: str, code: str, projector: str | None, user: Any, token: str | None
           ) -> identity.Identity | int:
    """Who is connecting, or the close code: one database call per handshake (a reconnect
    storm of a whole class is hundreds of handshakes at once). The code-guessing limit applies
    only to a socket that proves no identity: a class behind one NAT address shares the count,
    and its students' seat cookies, the console's session and the projector's token must keep
    working whatever strangers on that address guessed (docs/security.md)."""
    result = identity.resolve(code, projector=projector, user=user, seat_token=token)
    if isinstance(result, identity.Identity):
        return result
    if ratelimit.guessing(ip):
        # Existing game or not, the same answer: past the limit codes cannot be enumerated.
        return errors.CLOSE_FLOODING
    if result == errors.CLOSE_NO_GAME:
        ratelimit.note_miss(ip)
    return result


class GameConsumer(AsyncWebsocketConsumer):
    ident: identity.Identity | None = None
    present_seat: int | None = None  # the seat this socket holds a presence lease for

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Channels' own, without its `aclose_old_connections()` before every handler: that is
        a hop to the process's one sync thread for each message a socket receives, and with
        hundreds of sockets per worker those hops queue in series (docs/performance.md, round
        2). Nothing here holds a connection on that thread: every database call of this
        consumer closes its own on its worker thread (game/asyncdb.py)."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.held: deque[dict[str, Any]] = deque()
        self.flushing = False

    busy = False  # a snapshot is being built and sent: frames from the fan-out wait in `held`
    gone = False  # disconnected: frames are dropped
    fanout: Any = None  # the worker's fan-out layer this socket takes frames from, if any

    @contextlib.asynccontextmanager
    async def holding(self) -> AsyncIterator[None]:
        """While a snapshot is built and sent, frames delivered by the worker's fan-out
        (game/live/fanout.py) wait, then go in order after it: the snapshot's seq is the
        database's when it was read, and a frame sent before it would be lost to the client
        (it ignores public messages until its snapshot). The consumer's own queue (any other
        channel layer) waits the same way, since a consumer runs one handler at a time."""
        self.busy = True
        try:
            yield
        finally:
            self.busy = False
            await self._flush_held()

    async def deliver(self, event: dict[str, Any]) -> None:
        """A broadcast frame from the worker's fan-out (game/live/fanout.py)."""
        if self.gone:
            return
        if self.busy or self.flushing or self.held:
            self.held.append(event)
            return
        await self.frame_send(event)

    async def _flush_held(self) -> None:
        if self.flushing:
            return
        self.flushing = True
        try:
            while self.held and not self.gone:
                await self.frame_send(self.held.popleft())
        finally:
            self.flushing = False
            if self.gone:
                self.held.clear()

    async def websocket_disconnect(self, message: Any) -> None:
        """As Channels' (the groups are left in `disconnect`), without the same hop."""
        await self.disconnect(message["code"])
        raise StopConsumer()

    async def connect(self) -> None:
        self.ident = None
        self.present_seat = None
        self.groups_joined: list[str] = []
        self.bucket = TokenBucket(settings.WS_RATE_PER_SECOND, settings.WS_RATE_BURST)
        self.strikes = 0
        # The highest seq this socket has sent. Replies carry it rather than the database's
        # seq, which may be ahead of a broadcast still in flight (a false gap for the client).
        self.seq = 0
        code = self.scope["url_route"]["kwargs"]["code"]
        query = parse_qs(self.scope.get("query_string", b"").decode("latin1"))
        projector = query["projector"][0] if query.get("projector") else None
        cookies = self.scope.get("cookies") or {}
        token = cookies.get(identity.seat_cookie_name(code.upper()))
        ip = ratelimit.client_ip(self.scope)
        result = await db(_admit)(ip, code, projector, self.scope.get("user"), token)
        if isinstance(result, int):
            # Accept first so the browser sees our close code (a refused handshake is opaque).
            await self.accept()
            await self.close(code=result)
            return
        self.ident = result
        self.opened = time.time()  # "newest": by when the handshake was admitted
        heartbeat.ensure_running()
        self.fanout = fanout.fanout_layer(self.channel_layer)
        if self.fanout is not None:
            self.fanout.register(self.channel_name, self)
        async with self.holding():  # the opening snapshot goes first
            await self._join_groups()
            await self.accept()
            await self._send(await db(identity.snapshot)(self.ident))
        if self.ident.kind == identity.STUDENT and self.ident.seat_id:
            await self._opened(self.ident.seat_id)

    async def _opened(self, seat_id: int) -> None:
        """After the opening snapshot, not before it: in a reconnect storm of a whole class
        each of these waits its turn at the channel layer (docs/performance.md, round 2), and
        the page is live without them. One device per seat: the newest socket wins; the seat's
        older sockets are told (close 4011) rather than both playing the seat. Then the seat is
        present (its console told), and this process renews its lease from now on."""
        await self.channel_layer.group_send(broadcast.seat_group(seat_id), {
            "type": "seat.replaced", "by": self.channel_name, "opened": self.opened})
        await heartbeat.write(seat_connected)(seat_id)
        self.present_seat = seat_id
        heartbeat.opened(seat_id)

    async def _join_groups(self) -> None:
        ident = self.ident
        assert ident is not None
        wanted = [broadcast.game_group(ident.game_id)]
        if ident.kind == identity.INSTRUCTOR:
            wanted.append(broadcast.instructor_group(ident.game_id))
        if ident.kind in (identity.INSTRUCTOR, identity.PROJECTOR):
            wanted.append(predictions.screens_group(ident.game_id))
        if ident.seat_id is not None:
            wanted.append(broadcast.seat_group(ident.seat_id))
        if ident.kind == identity.INSTRUCTOR and (session_key := self._session_key()):
            wanted.append(sessions.session_group(session_key))  # closed at logout
        for group in wanted:
            if group not in self.groups_joined:
                await self.channel_layer.group_add(group, self.channel_name)
                self.groups_joined.append(group)

    async def disconnect(self, code: int) -> None:
        self.gone = True
        if self.fanout is not None:
            self.fanout.unregister(self.channel_name)
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        if self.present_seat is not None:
            seat_id, self.present_seat = self.present_seat, None
            heartbeat.closed(seat_id)
            await heartbeat.write(seat_disconnected)(seat_id)

    # --- inbound -------------------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.ident is None:
            return
        size = len(bytes_data) if bytes_data is not None else len((text_data or "").encode())
        if size > settings.WS_MAX_MESSAGE_BYTES:
            await self._error(ClientError(
                "too_large", f"messages are limited to {settings.WS_MAX_MESSAGE_BYTES} bytes"))
            await self.close(code=errors.CLOSE_TOO_LARGE)
            return
        if not self.bucket.take():
            self.strikes += 1
            if self.strikes >= settings.WS_RATE_STRIKES:
                await self.close(code=errors.CLOSE_FLOODING)
            else:
                await self._error(ClientError("rate_limited", "too many messages; slow down"))
            return
        self.strikes = 0
        ref = None
        try:
            if bytes_data is not None:
                raise ClientError("bad_json", "binary frames are not accepted")
            msg = parse(text_data or "")
            ref = getattr(msg, "id", None)
            await self._dispatch(msg)
        except ClientError as exc:
            if exc.ref is None:
                exc.ref = ref
            await self._error(exc)
        except Refused as exc:
            await self._send({"type": "rejected", "id": ref, "code": exc.code,
                              "message": exc.message, "seq": self.seq})
        except Exception:
            log.exception("message from %s failed", self.ident)
            await self._error(ClientError("internal", "server error; retry", ref=ref))

    def _session_key(self) -> str | None:
        return (self.scope.get("cookies") or {}).get(settings.SESSION_COOKIE_NAME)

    async def _dispatch(self, msg: Any) -> None:
        ident = self.ident
        assert ident is not None
        if ident.kind == identity.INSTRUCTOR and not await db(sessions.still_logged_in)(
                self._session_key(), self.scope.get("user")):
            await self.close(code=errors.CLOSE_NO_IDENTITY)  # logged out, expired
            return
        if ident.kind == identity.PROJECTOR and msg.type not in ("snapshot", "ping"):
            raise ClientError("read_only", "the projector view cannot send this")
        if msg.type == "snapshot":
            async with self.holding():
                await self._send(await db(identity.snapshot)(ident))
        elif msg.type == "ping":
            # No database write: the open socket itself is the seat's presence (its lease is
            # renewed by this process's heartbeat, game/live/heartbeat.py).
            await self._send({"type": "pong", "id": msg.id, "seq": self.seq,
                              "time": time.time()})
        elif msg.type == "control":
            if ident.kind != identity.INSTRUCTOR:
                raise ClientError("forbidden", "only the instructor can control the game")
            result = await db_write(control)(ident.game_id, msg)
            if msg.op == "foundation":  # the instructor's seat changed: re-read the identity
                await self._refresh_identity()
            await self._send({"type": "ok", "id": msg.id, "op": msg.op, "seq": self.seq,
                              "result": result})
        elif msg.type == "answer":
            if ident.kind != identity.STUDENT or ident.seat_id is None:
                raise ClientError("forbidden", "only a student's seat answers questions")
            reply = await db_write(predictions.answer)(ident.seat_id, msg.question, msg.choice)
            await self._send({**reply, "id": msg.id, "seq": self.seq})
        else:
            if ident.seat_id is None or ident.player is None:
                raise ClientError("no_seat", "this connection has no seat to act for")
            if msg.type == "command":
                reply = await db_write(orders.submit_command)(ident.seat_id, msg.id,
                                                              action_dict(msg), ident.game_id)
                await self._send({**reply, "id": msg.id, "seq": self.seq})
            elif msg.type == "quote":
                result = await db(orders.quote)(ident.game_id, ident.player, action_dict(msg))
                await self._send({"type": "quote", "id": msg.id, "quote": result,
                                  "seq": self.seq})
            elif msg.type == "cancel":
                reply = await db_write(orders.cancel_command)(ident.seat_id, msg.command)
                await self._send({**reply, "id": msg.id, "seq": self.seq})

    async def _refresh_identity(self) -> None:
        assert self.ident is not None
        result = await db(identity.resolve)(
            self.ident.code, projector=None, user=self.scope.get("user"), seat_token=None)
        if isinstance(result, identity.Identity):
            old_seat = self.ident.seat_id
            self.ident = result
            if old_seat is not None and old_seat != result.seat_id:
                group = broadcast.seat_group(old_seat)
                await self.channel_layer.group_discard(group, self.channel_name)
                self.groups_joined.remove(group)
            await self._join_groups()

    # --- outbound ------------------------------------------------------------------------------

    send_failed = False

    async def _send(self, message: dict[str, Any]) -> None:
        self.seq = max(self.seq, message.get("seq") or 0)
        await self._send_text(broadcast.encode(message), message.get("type"))

    async def _send_text(self, text: str, kind: Any, prepared: Any = None) -> None:
        """Send, or (once) log one line and close with 4013: the client then missed a message
        and must not carry on as if it had not (docs/protocol.md "Sizes"). `prepared`: the
        text's frame, built once for all the sockets of a broadcast (game/live/transport.py)."""
        if self.send_failed:
            return
        try:
            if prepared is None:
                await self.send(text_data=text)
            else:
                message: Any = {"type": "websocket.send", "text": text,
                                transport.PREPARED: prepared}  # a key of ours beside ASGI's
                await self.base_send(message)
        except Exception as exc:
            self.send_failed = True
            log.warning("could not send a %s message (%d bytes) to %s: %s: %s; closing with %d",
                        kind, len(text.encode()), self.ident, type(exc).__name__, exc,
                        errors.CLOSE_SEND_FAILED)
            try:
                await self.close(code=errors.CLOSE_SEND_FAILED)
            except Exception:  # the connection is gone as well: nothing more to tell it
                pass

    async def _error(self, exc: ClientError) -> None:
        message: dict[str, Any] = {"type": "error", "code": exc.code, "message": exc.message,
                                   "ref": exc.ref, "seq": self.seq}
        if exc.details:
            message["details"] = exc.details
        await self._send(message)

    async def frame_send(self, event: dict[str, Any]) -> None:
        """A broadcast: the text was encoded once for every socket; send it as it is."""
        self.seq = max(self.seq, event.get("seq", 0))
        stage = event.get("stage")
        started = stagetimes.now() if stage is not None else 0.0
        prepared = event.get(transport.PREPARED)
        if prepared is None:  # the first socket of this worker: every other one sends it too
            prepared = event[transport.PREPARED] = transport.Prepared(event["text"])
        await self._send_text(event["text"], "broadcast", prepared)
        if stage is not None:
            stagetimes.sent(stage, started)

    async def presence_send(self, event: dict[str, Any]) -> None:
        """A seat's presence, for a console: stamped with the highest seq this socket has sent,
        so it never carries a seq the client has not seen (docs/protocol.md)."""
        await self._send({"type": "presence", "seq": self.seq, **event["presence"]})

    async def session_ended(self, event: dict[str, Any]) -> None:
        """The instructor logged out (game/live/sessions.py)."""
        await self.close(code=errors.CLOSE_NO_IDENTITY)

    async def seat_kicked(self, event: dict[str, Any]) -> None:
        await self.close(code=errors.CLOSE_KICKED)

    opened = 0.0  # when this socket's handshake was admitted

    async def seat_replaced(self, event: dict[str, Any]) -> None:
        """Another socket took the seat: close, unless that socket is older than this one (its
        message may come late: published after its snapshot, maybe by another worker, while a
        student's retry already opened this one)."""
        if event.get("by") != self.channel_name and self.ident is not None \
                and self.ident.kind == identity.STUDENT \
                and event.get("opened", float("inf")) >= self.opened:
            await self.close(code=errors.CLOSE_REPLACED)
