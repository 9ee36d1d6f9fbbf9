"""Response headers every page gets (docs/security.md, "Transport").

- `Content-Security-Policy`: scripts, styles, images, fonts and connections from this server
  only (the socket on this host: `ws:`/`wss:`), no inline script or style, no plugins, no
  framing, forms posting here only. The pages keep to it: every script and style is a static
  file, and page data travels as `json_script` blocks (data, not script).
- `Cache-Control: no-store, private` on every response that set none: pages carry seat tokens
  (the play page), the projector token (projector, console), or students' results; none may be
  kept by a shared or back-button cache. Static files (whitenoise, earlier in the chain) keep
  their long cache headers.
"""
from __future__ import annotations

from typing import Callable

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse

POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
          "font-src 'self'; connect-src 'self' {sockets}; object-src 'none'; base-uri 'none'; "
          "frame-ancestors 'none'; form-action 'self'")


def content_security_policy(request: HttpRequest) -> str:
    try:
        host = request.get_host()
    except DisallowedHost:
        return POLICY.format(sockets="")
    return POLICY.format(sockets=f"ws://{host} wss://{host}")


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", content_security_policy(request))
        if "Cache-Control" not in response:
            response["Cache-Control"] = "no-store, private"
        return response
