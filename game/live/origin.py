"""WebSocket origin check: same origin (scheme, host and port), or a host listed in ALLOWED_HOSTS
on the same scheme and port.

Channels' AllowedHostsOriginValidator alone would, with ALLOWED_HOSTS=*, let any web site open
a socket with a student's cookies. Here a `*` entry never admits a foreign origin; a page served
by this server (Origin == the socket's scheme + Host header) always passes, whichever LAN address
was used; another port or scheme on the same host (another program's page) never does.
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


_DEFAULT_PORT = {"http": 80, "https": 443}


def _port(scheme: str, port: str | int | None) -> int | None:
    if port in (None, ""):
        return _DEFAULT_PORT.get(scheme)
    try:
        return int(port)
    except ValueError:
        return None


def server_scheme(scope: dict[str, Any]) -> str:
    """http or https: the socket's own scheme (wss/https, also as daphne's --proxy-headers set
    it from X-Forwarded-Proto), or the proxy's header when TRUST_X_FORWARDED_PROTO is on."""
    if scope.get("scheme") in ("wss", "https"):
        return "https"
    proxy = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy:
        name = proxy[0].removeprefix("HTTP_").replace("_", "-").lower().encode()
        if (_header(scope, name) or "").split(",")[0].strip().lower() == proxy[1]:
            return "https"
    return "http"


def origin_allowed(origin: str | None, host: str | None, scheme: str = "http") -> bool:
    """Same origin: the Origin's scheme, host and port are the server's own (the scheme the
    socket came in with, the Host header's host and port, a missing port being the scheme's
    default). An ALLOWED_HOSTS entry other than `*` may stand in for the host (a proxy that
    rewrites Host), never for the scheme or the port."""
    if not host_allowed(host):
        return False
    if origin is None:
        return True  # not a browser (browsers always send Origin on a WebSocket)
    try:
        parsed = urlsplit(origin)
        origin_port = _port(parsed.scheme, parsed.port)
    except ValueError:
        return False
    if parsed.scheme not in ("http", "https") or not parsed.hostname or origin_port is None:
        return False
    if parsed.username is not None or parsed.password is not None or parsed.path not in ("", "/"):
        return False
    if parsed.scheme != scheme:
        return False
    if host is None:
        return False
    host_name, host_port = split_domain_port(host.lower())
    if not host_name or origin_port != _port(scheme, host_port or None):
        return False
    origin_name = parsed.hostname.lower()
    if origin_name == host_name.strip("[]"):
        return True
    listed = [h for h in settings.ALLOWED_HOSTS if h != "*"]
    return validate_host(origin_name, listed)


class SameOriginValidator:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket" and (scope_has_control(scope) or not origin_allowed(
                _header(scope, b"origin"), _header(scope, b"host"), server_scheme(scope))):
            denier = WebsocketDenier()
            return await denier(scope, receive, send)
        return await self.app(scope, receive, send)
