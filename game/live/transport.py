"""Send-side backpressure for daphne's WebSocket connections (issue #7: a client that never reads).

The problem. Twisted buffers whatever daphne writes to a socket in user space, without a limit,
and ASGI gives the application no signal that a client has stopped reading. A *silent*
non-reader is dropped by daphne's keepalive (its pings go unanswered), but daphne resets its ping
clock on every inbound message (`WebSocketProtocol.onMessage` sets `last_ping`), so a client that
keeps sending small requests (a `snapshot` every 100 ms is within the rate limit, and a snapshot
is the largest reply) and never reads is never pinged, and the server's memory grows with every
reply and broadcast queued for it.

The fix. A Twisted transport calls its registered *streaming producer*'s `pauseProducing()` when
its write buffer holds more than `bufferSize` (64 KiB), `resumeProducing()` once the buffer has
drained completely, and `stopProducing()` when the connection is lost. After daphne's HTTP ->
WebSocket upgrade (`daphne/http_protocol.py`) the registered producer is still the orphaned
`twisted.web.http.HTTPChannel` of the handshake, which never pauses the transport (its request
never finishes, and it only pauses the transport between requests). `BackpressuredWebSocketProtocol`
replaces it, once the socket is open, with `_SendBuffer`, which while the buffer is full:

1. stops reading from that client (`transport.pauseProducing()`): its messages are no longer
   processed, so they no longer reset the ping clock, and daphne's ping + `--ping-timeout`
   (autobahn's `autoPingTimeout`) drop it like a silent non-reader; reading resumes when the
   buffer has drained, so a slow phone that catches up carries on;
2. counts the bytes the application sends meanwhile (`serverSend`); past
   `settings.WS_SEND_BUFFER_MAX_BYTES` the connection is aborted at once (no close handshake:
   the peer is not reading it), logged once at WARNING, and later sends are discarded. The count
   starts again from zero whenever the buffer drains.

Installation. daphne has no hook for the WebSocket protocol class: `daphne.server.Server.run`
builds `WebSocketFactory(self, server=...)`, whose class attribute `protocol` is
`WebSocketProtocol`. `install()` (called when `game.asgi` is imported) sets that class attribute
to our subclass. Every way we run daphne imports the application before `Server.run` builds the
factory: the `daphne game.asgi:application` CLI (also what `manage.py serve` runs, with `--fd`)
and `manage.py runserver` (daphne's runserver, `get_default_application()` before
`Server(...).run()`). `install()` is idempotent; it logs once at DEBUG, and each socket logs at
DEBUG when its producer is in place.

Outbound size. autobahn applies daphne's `--websocket-max-message-size` (the inbound limit,
game/launch.py) to what the server sends as well. `sendMessage` below checks an outgoing message
against `settings.WS_MAX_SEND_BYTES` instead and raises `SendTooLarge` (to the application's
`send`, where game/live/consumers.py logs it and closes with 4013) for one that is larger.

Broadcasts. A broadcast frame (game/live/fanout.py) goes to every socket of a worker: its
WebSocket frame is built once (`Prepared`, autobahn's `PreparedMessage`) and the consumer's
`websocket.send` carries it under `PREPARED` beside the text; `handle_reply` below sends it as
it is after the same checks as any other send (closing, the backpressure cap, the size cap).

Connection setup. autobahn's `_connectionMade` pretty-prints the ~40 settings of every new
socket for a DEBUG line, and does so whether or not that line is written (the argument is built
before the call): 6-9% of a worker's CPU while a class reconnects at once (docs/performance.md,
round 4). `install()` gives autobahn's module a `pformat` that formats only when txaio's log
level writes DEBUG lines (`txaio.start_logging(level="debug")`), and otherwise returns a
placeholder.

Tested by `tests/hardening/test_slow_client.py` and `tests/server/test_sizes_live.py`.
"""
from __future__ import annotations

import logging
import pprint
from typing import Any

import txaio
from autobahn.exception import PayloadExceededError
from autobahn.websocket import protocol as autobahn_protocol
from autobahn.websocket.protocol import PreparedMessage
from daphne import ws_protocol
from django.conf import settings
from twisted.internet.interfaces import IPushProducer
from zope.interface import implementer

log = logging.getLogger(__name__)

# An ASGI `websocket.send` message may carry, beside its `text`, the same text framed once
# (`Prepared`) under this key: a broadcast goes to every socket of a worker, and autobahn's
# framing of it per socket (and its per-frame debug line's arguments) was most of a send.
PREPARED = "dtao.prepared"


class Prepared(PreparedMessage):
    """A text message as a WebSocket frame, built once for every socket it goes to (a server's
    frames are not masked; never compressed: daphne negotiates no compression), and the size
    of its text in bytes."""

    def __init__(self, text: str) -> None:
        payload = text.encode("utf8")
        super().__init__(payload, False, False, True)
        self.size = len(payload)


class SendTooLarge(PayloadExceededError):
    """An outgoing message over `WS_MAX_SEND_BYTES`: nothing was sent."""


def _refuse_too_large(size: int) -> None:
    """SendTooLarge for an outgoing message of `size` bytes over `WS_MAX_SEND_BYTES`."""
    cap = settings.WS_MAX_SEND_BYTES
    if size > cap:
        raise SendTooLarge(f"message of {size} bytes over WS_MAX_SEND_BYTES={cap}")


# What `_write_at_once` reads of a Twisted transport (FileDescriptor's buffer and state).
_TWISTED_WRITE = ("writeSomeData", "_tempDataBuffer", "dataBuffer", "offset", "connected",
                  "disconnecting", "_writeDisconnected")


def _write_at_once(transport: Any) -> Any:
    """The TCP transport's `write`, sending at once what nothing waits before.

    Twisted's `write` only queues the bytes and asks the reactor to watch the socket; the reactor
    sends them on a later turn of the loop (`doWrite`), then stops watching it: two changes to
    the loop's epoll set and a turn of Twisted's logging context per message, per socket. With
    nothing queued before it and the connection open, this one hands the bytes to the socket
    now, as asyncio's transports do, and queues only what the socket did not take (or all of it,
    if the send failed: the reactor then finds the failure as before). Order, the write buffer's
    limit and the producer's pause are Twisted's as before: while anything is queued, `write`
    queues behind it. (A connection that started TLS on itself writes through Twisted's own.)
    docs/performance.md, round 5; tests/server/test_write_at_once.py."""
    queue = transport.write

    def write(data: bytes) -> None:
        if (data and transport.connected and not transport.disconnecting
                and not transport._writeDisconnected and not getattr(transport, "TLS", False)
                and not transport._tempDataBuffer
                and len(transport.dataBuffer) == transport.offset):
            sent = transport.writeSomeData(data)
            if isinstance(sent, int) and sent > 0:
                if sent == len(data):
                    return
                data = data[sent:]
        queue(data)

    return write


@implementer(IPushProducer)
class _SendBuffer:
    """The transport's streaming producer for one WebSocket: told when the transport's write
    buffer fills up (pause) and when it has drained (resume). The transport calls `pause`
    again on every write while the buffer stays full, so both are idempotent."""

    def __init__(self, protocol: BackpressuredWebSocketProtocol) -> None:
        self.protocol = protocol

    def pauseProducing(self) -> None:
        self.protocol.send_buffer_full()

    def resumeProducing(self) -> None:
        self.protocol.send_buffer_drained()

    def stopProducing(self) -> None:
        # The connection is gone: autobahn's connectionLost already tells daphne and the app.
        self.protocol.send_paused = False


class BackpressuredWebSocketProtocol(ws_protocol.WebSocketProtocol):
    """daphne's WebSocket protocol plus a bound on what it buffers for a client that does not
    read (see the module docstring)."""

    send_paused = False  # the transport's write buffer is full: we are not reading this client
    sent_while_paused = 0  # bytes the application sent since it filled up
    send_overflowed = False  # dropped for exceeding WS_SEND_BUFFER_MAX_BYTES
    # The inbound limit: autobahn copies it from the factory with setattr (CONFIG_ATTRS, in
    # _connectionMade) and declares it on no protocol class.
    maxMessagePayloadSize: int

    def onOpen(self) -> None:
        super().onOpen()
        transport = self.transport
        if transport is None or not hasattr(transport, "registerProducer"):
            return
        # The orphaned HTTPChannel of the handshake (or nothing, after a transport change).
        transport.unregisterProducer()
        transport.registerProducer(_SendBuffer(self), True)
        log.debug("send backpressure on for %s", self.client_addr)
        if all(hasattr(transport, name) for name in _TWISTED_WRITE):
            transport.write = _write_at_once(transport)

    # --- told by the transport -------------------------------------------------------------

    def send_buffer_full(self) -> None:
        if self.send_paused:
            return
        self.send_paused = True
        self.sent_while_paused = 0
        if self.transport is not None and hasattr(self.transport, "pauseProducing"):
            self.transport.pauseProducing()  # stop reading this client

    def send_buffer_drained(self) -> None:
        if not self.send_paused:
            return
        self.send_paused = False
        self.sent_while_paused = 0
        if self.send_overflowed or self.state != self.STATE_OPEN:
            return
        if self.transport is not None and hasattr(self.transport, "resumeProducing"):
            self.transport.resumeProducing()  # read it again

    # --- from the application --------------------------------------------------------------

    def serverSend(self, content: Any, binary: bool = False) -> None:
        if self._may_send(lambda: len(content if binary else content.encode("utf8"))):
            super().serverSend(content, binary)

    def handle_reply(self, message: dict[str, Any]) -> None:
        """daphne's, plus a `websocket.send` carrying its frame already built (`PREPARED`),
        sent as it is once the checks of `serverSend` and `sendMessage` pass."""
        prepared = message.get(PREPARED)
        if (prepared is None or message.get("type") != "websocket.send"
                or self.state == self.STATE_CONNECTING):  # daphne refuses that one
            super().handle_reply(message)
            return
        size = prepared.size
        _refuse_too_large(size)
        if self._may_send(lambda: size):
            self.sendPreparedMessage(prepared)

    def _may_send(self, size: Any) -> bool:
        """False for a message to discard: the connection is closing or was dropped, or the
        client stopped reading and `size()` more bytes put it over the cap (then dropped)."""
        if self.send_overflowed or self.state in (self.STATE_CLOSING, self.STATE_CLOSED):
            # Dropped or closing: discard what the application still sends until it hears of
            # the disconnect (autobahn would raise Disconnected into the application).
            return False
        if self.send_paused:
            self.sent_while_paused += size()
            cap = settings.WS_SEND_BUFFER_MAX_BYTES
            if self.sent_while_paused > cap:
                self.send_overflowed = True
                log.warning(
                    "dropping WebSocket %s: it stopped reading and %d bytes were queued for it "
                    "(over WS_SEND_BUFFER_MAX_BYTES=%d)",
                    self.client_addr, self.sent_while_paused, cap)
                self.wasClean = False
                self.wasNotCleanReason = "send buffer over WS_SEND_BUFFER_MAX_BYTES"
                self.dropConnection(abort=True)
                return False
        return True

    def sendMessage(self, payload: bytes, isBinary: bool = False, *args: Any, **kwargs: Any
                    ) -> None:
        """autobahn's, with the outbound limit `WS_MAX_SEND_BYTES` in place of the inbound one
        (Twisted runs this on one thread: the inbound limit is back before anything is read)."""
        _refuse_too_large(len(payload))
        inbound = self.maxMessagePayloadSize
        self.maxMessagePayloadSize = 0
        try:
            super().sendMessage(payload, isBinary, *args, **kwargs)
        finally:
            self.maxMessagePayloadSize = inbound


NOT_FORMATTED = "(not formatted: autobahn's DEBUG log is off)"


def pformat_when_logged(obj: object, *args: Any, **kwargs: Any) -> str:
    """autobahn's `pformat`: the text only when its DEBUG lines are written."""
    if txaio.get_global_log_level() in ("debug", "trace"):  # type: ignore[attr-defined]
        return pprint.pformat(obj, *args, **kwargs)
    return NOT_FORMATTED


def install() -> None:
    """Make daphne's WebSocket factory build `BackpressuredWebSocketProtocol`, and autobahn
    format its DEBUG-only arguments only for a DEBUG log (idempotent)."""
    autobahn_protocol.pformat = pformat_when_logged  # type: ignore[assignment]
    factory = ws_protocol.WebSocketFactory
    if factory.protocol is BackpressuredWebSocketProtocol:
        return
    if factory.protocol is not ws_protocol.WebSocketProtocol:
        log.warning("daphne's WebSocketFactory.protocol is already %r; replacing it",
                     factory.protocol)
    factory.protocol = BackpressuredWebSocketProtocol
    log.debug("daphne WebSocket connections get send backpressure (game.live.transport)")
