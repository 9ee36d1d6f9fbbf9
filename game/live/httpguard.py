"""HTTP-level guards on daphne (docs/security.md, "Transport"): a deadline for a request's
headers, no `Server: daphne` header, and no secret tokens in the access log.

- **Header deadline.** Twisted's HTTP channel has only an idle timeout, reset by every byte
  received: a client sending one header byte every few seconds (slowloris) holds its connection
  for ever, and a few hundred of them hold the server's file descriptors. Here each connection
  must deliver a request's complete headers within `HTTP_HEADER_TIMEOUT_SECONDS` (default 10)
  of connecting, and again of finishing the previous request on a kept-alive connection, or it
  is aborted. A WebSocket's handshake is then bounded by daphne's `--websocket_connect_timeout`
  (30 s: game/launch.py).
- **No version banner.** daphne sends `Server: daphne` on every HTTP response and WebSocket
  handshake unless started with `--no-server-name`; every daphne that serves this application
  (the CLI, `manage.py serve`, `manage.py runserver`) starts without it here.
- **Tokens out of the access log.** daphne's access log (on stdout with `make run`) writes every
  path: the projector link (`/projector/<code>/<token>/`) and its socket
  (`?projector=<token>`) would leave the token in it. Those are written as `[token]`.

Installed by `install()` from game/asgi.py, before daphne's `Server.run` builds its factories
(the same moment as game/live/transport.py). Tested by tests/hardening/test_transport.py.
"""
from __future__ import annotations

import logging
import re
from typing import Any

from daphne import access, http_protocol, server

log = logging.getLogger(__name__)

_TOKEN_IN_PATH = re.compile(r"(/projector/[^/\s?]+/)[^/\s?]+")
_TOKEN_IN_QUERY = re.compile(r"([?&](?:projector|seat|token)=)[^&\s\"]+")


def redact(request_line: str) -> str:
    """An access-log request line without projector or seat tokens."""
    return _TOKEN_IN_QUERY.sub(r"\1[token]", _TOKEN_IN_PATH.sub(r"\1[token]", request_line))


def _header_timeout() -> float:
    from django.conf import settings

    return float(getattr(settings, "HTTP_HEADER_TIMEOUT_SECONDS", 10.0))


def _guard(channel: Any, call_later: Any) -> None:
    """Abort `channel` unless a request's headers are complete in time."""
    timeout = _header_timeout()
    if timeout <= 0:
        return
    state: dict[str, Any] = {"call": None}

    def expire() -> None:
        state["call"] = None
        transport = getattr(channel, "transport", None)
        if transport is not None:
            log.info("aborting a connection that sent no complete request headers in %s s",
                     timeout)
            transport.abortConnection()

    def arm() -> None:
        disarm()
        state["call"] = call_later(timeout, expire)

    def disarm() -> None:
        call = state["call"]
        state["call"] = None
        if call is not None and call.active():
            call.cancel()

    connection_made = channel.connectionMade
    all_headers_received = channel.allHeadersReceived
    request_done = channel.requestDone
    connection_lost = channel.connectionLost

    def on_connection_made() -> None:
        arm()
        connection_made()

    def on_all_headers_received() -> None:
        disarm()
        all_headers_received()

    def on_request_done(request: Any) -> None:
        request_done(request)
        if getattr(channel, "persistent", False) and not getattr(channel, "_handlingRequest",
                                                                 True):
            arm()  # the next request on this kept-alive connection

    def on_connection_lost(reason: Any) -> None:
        disarm()
        connection_lost(reason)

    channel.connectionMade = on_connection_made
    channel.allHeadersReceived = on_all_headers_received
    channel.requestDone = on_request_done
    channel.connectionLost = on_connection_lost


_build_protocol = http_protocol.HTTPFactory.buildProtocol
_server_run = server.Server.run
_write_entry = access.AccessLogGenerator.write_entry


def _guarded_build_protocol(self: Any, addr: Any) -> Any:
    protocol = _build_protocol(self, addr)
    if protocol is not None:
        from twisted.internet import reactor

        _guard(getattr(protocol, "_channel", protocol), getattr(protocol, "callLater",
                                                               reactor.callLater))
    return protocol


def _run_without_banner(self: Any) -> Any:
    self.server_name = ""  # no Server header on HTTP responses or WebSocket handshakes
    return _server_run(self)


def _redacted_write_entry(self: Any, host: Any, date: Any, request: Any, *args: Any,
                          **kwargs: Any) -> Any:
    return _write_entry(self, host, date, redact(str(request)), *args, **kwargs)


def install() -> None:
    """Patch daphne's HTTP factory, server and access log (idempotent)."""
    http_protocol.HTTPFactory.buildProtocol = _guarded_build_protocol
    server.Server.run = _run_without_banner
    access.AccessLogGenerator.write_entry = _redacted_write_entry
