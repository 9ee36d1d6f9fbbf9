"""Control characters in client text are refused before anything reads it (docs/security.md).

NUL cannot be stored by PostgreSQL at all (a query carrying one fails there, while SQLite keeps
it), and no field of this application needs a control character: the page, query string, form
fields and cookies of an HTTP request, and the path, query string and cookies of a WebSocket
handshake, are checked here, and the socket's messages in game/live/protocol.py. An HTTP request is
answered 400 `bad_value`; a socket handshake is refused.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Iterable
from urllib.parse import unquote

from django.http import HttpRequest, HttpResponse

# C0 controls (NUL included), DEL and the C1 controls.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def has_control(value: Any) -> bool:
    """True if a string, or any key or value of a dict or list, holds a control character."""
    if isinstance(value, str):
        return CONTROL.search(value) is not None
    if isinstance(value, dict):
        return any(has_control(k) or has_control(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(has_control(v) for v in value)
    return False


# Form fields that are lines of text (a textarea): line breaks and tabs are the text's own,
# every other control character is still refused. The class list's pasted names; the scenario
# editor's texts and JSON boxes (game/web/scenario_form.py).
MULTILINE_FIELDS = frozenset({"names", "description", "players", "guide.goal", "guide.timing",
                              "guide.discussion", "guide.misconceptions"})
MULTILINE_ROWS = re.compile(r"events\[\d{1,3}\]\.(?:text|actions|note|prediction\.choices)")
LINE_BREAKS = re.compile("[\t\r\n]")


def _is_multiline(key: str) -> bool:
    return key in MULTILINE_FIELDS or MULTILINE_ROWS.fullmatch(key) is not None


def _multi(items: Iterable[tuple[str, list[str]]], multiline: bool = False) -> bool:
    return any(has_control(k) or has_control(
        [LINE_BREAKS.sub("", v) for v in vs] if multiline and _is_multiline(k) else vs)
        for k, vs in items)


def request_has_control(request: HttpRequest) -> bool:
    if has_control(request.path) or _multi(request.GET.lists()):
        return True
    if has_control(dict(request.COOKIES)):
        return True
    if request.method == "POST" and request.content_type in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        return _multi(request.POST.lists(), multiline=True)
    return False


class ControlCharacterMiddleware:
    """400 `bad_value` for a request carrying a control character anywhere a view may read."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request_has_control(request):
            return HttpResponse("bad_value: a field contains a control character.\n",
                                status=400, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


def scope_has_control(scope: dict[str, Any]) -> bool:
    """The same check for a WebSocket handshake: path, query string and cookies."""
    query = unquote(scope.get("query_string", b"").decode("latin1"))
    cookies = b"; ".join(v for k, v in scope.get("headers", []) if k.lower() == b"cookie")
    return (has_control(scope.get("path", "")) or has_control(query)
            or has_control(unquote(cookies.decode("latin1"))))
