"""WebSocket origin check: same-origin, or an origin host listed in ALLOWED_HOSTS.

Channels' AllowedHostsOriginValidator alone would, with ALLOWED_HOSTS=*, let any web site open
a socket with a student's cookies. Here a `*` entry never admits a foreign origin; a page served
by this server (Origin host == Host header) always passes, whichever LAN address was used.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

from game.inputguard import scope_has_control


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin1")
    return None


def host_allowed(host: str | None) -> bool:
    """The Host header, checked like Django checks it for HTTP (DNS rebinding)."""
    if host is None:
        return True
    domain, _port = split_domain_port(host.lower())
    return bool(domain) and validate_host(domain, settings.ALLOWED_HOSTS)


def origin_allowed(origin: str | None, host: str | None) -> bool:
    if not host_allowed(host):
        return False
    if origin is None:
        return True  # not a browser (browsers always send Origin on a WebSocket)
    parsed = urlsplit(origin)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        return False
    if host is not None and parsed.netloc.lower() == host.lower():
        return True
    domain, _port = split_domain_port(parsed.netloc.lower())
    listed = [h for h in settings.ALLOWED_HOSTS if h != "*"]
    return bool(domain) and validate_host(domain, listed)


class SameOriginValidator:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket" and (scope_has_control(scope) or not origin_allowed(
                _header(scope, b"origin"), _header(scope, b"host"))):
            denier = WebsocketDenier()
            return await denier(scope, receive, send)
        return await self.app(scope, receive, send)
