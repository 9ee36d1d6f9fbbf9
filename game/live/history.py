"""The charts' past over HTTP: `GET /g/<code>/history?from=<tick>&to=<tick>` (docs/pages.md,
docs/protocol.md "Chart history").

The socket's snapshot does not carry it (it would grow with the game, past what a socket message
may be): a page draws from tick 0 by fetching it after the snapshot. Columnar JSON (one array
per field), gzip-compressed when the client accepts it, with an ETag; a range of settled ticks
never changes, so a request that names both ends within the settled ticks may be cached by the
browser. Read-only; authorized like the socket (game/live/identity.py `resolve`): the seat cookie,
the game's instructor session, or the projector token in the `X-Projector-Token` header (a
header, so the token stays out of URLs and access logs).
"""
from __future__ import annotations

import gzip
import hashlib
import json
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseNotModified, JsonResponse
from django.views.decorators.http import require_GET

from game import broadcast, names
from game.live import identity
from game.models import EpochRow, Game, TickRow

# The most ticks one response carries (static/js/store.js keeps as many: HISTORY_MAX).
MAX_TICKS = 2000
# The per-subnet fields the charts draw (and the change column uses), in this order.
SUBNET_FIELDS = ("price", "moving_price", "share", "root_prop")
PROJECTOR_HEADER = "HTTP_X_PROJECTOR_TOKEN"
SETTLED_CACHE_CONTROL = "private, max-age=86400, immutable"
LIVE_CACHE_CONTROL = "private, no-cache"

# (game id, code, from, to) -> (etag, gzipped body): a settled range never changes, so a
# reconnect storm of a whole class reads and encodes the stored rows once. Kept compressed
# (a 64-tick block of 8 subnets is ~18 kB); emptied when over the budget.
_cache: dict[tuple[int, str, int, int], tuple[str, bytes]] = {}
_cache_bytes = 0
_CACHE_BUDGET = 16 * 1024 * 1024


def columns(game_id: int, lo: int, hi: int) -> dict[str, Any]:
    """Ticks lo..hi (inclusive) and the epochs closed in them, one array per field.

    `subnets[k][field][i]` is that subnet's value at `ticks[i]`; every field is `null` at a
    tick where the subnet did not exist (yet). Subnets are listed in order of appearance."""
    ticks: list[int] = []
    epochs: list[Any] = []
    subnets: dict[Any, dict[str, list[Any]]] = {}
    rows = (TickRow.objects.filter(game_id=game_id, tick__gte=lo, tick__lte=hi)
            .order_by("tick").values_list("row", flat=True))
    for i, text in enumerate(rows.iterator()):
        row = json.loads(text)
        ticks.append(row["tick"])
        epochs.append(row.get("epoch"))
        for s in row["subnets"]:
            col = subnets.get(s["id"])
            if col is None:
                col = subnets[s["id"]] = {f: [None] * i for f in SUBNET_FIELDS}
            for f in SUBNET_FIELDS:
                col[f].append(s.get(f))
        for col in subnets.values():  # a subnet missing from this tick's row
            for f in SUBNET_FIELDS:
                if len(col[f]) <= i:
                    col[f].append(None)
    health: dict[str, list[Any]] = {"epoch": [], "tick": [], "network_health": []}
    for text in (EpochRow.objects.filter(game_id=game_id, tick__gte=lo, tick__lte=hi)
                 .order_by("epoch").values_list("row", flat=True)):
        row = json.loads(text)
        for f in health:
            health[f].append(row.get(f))
    return {"from": lo, "to": hi, "ticks": ticks, "epoch": epochs,
            "subnets": [{"id": sid, **col} for sid, col in subnets.items()],
            "epoch_rows": health}


def _remember(key: tuple[int, str, int, int], hit: tuple[str, bytes]) -> None:
    global _cache_bytes
    if _cache_bytes + len(hit[1]) > _CACHE_BUDGET:
        _cache.clear()
        _cache_bytes = 0
    _cache[key] = hit
    _cache_bytes += len(hit[1])


def _bad(message: str) -> JsonResponse:
    return JsonResponse({"error": "bad_range", "message": message}, status=400)


def _tick_param(request: HttpRequest, name: str) -> int | None | str:
    raw = request.GET.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 9:
        return f"`{name}` must be a tick number (0 or more)"
    return int(raw)


@require_GET
def history(request: HttpRequest, code: str) -> HttpResponse:
    code = names.normalize_code(code)
    user = getattr(request, "user", None)
    projector = request.META.get(PROJECTOR_HEADER)
    seat_token = request.COOKIES.get(identity.seat_cookie_name(code))
    # One answer for "no such game" and "not yours": the endpoint confirms no game code.
    if projector is None and not seat_token and not getattr(user, "is_authenticated", False):
        return JsonResponse({"error": "forbidden", "message": "no identity for this game"},
                            status=403)
    ident = identity.resolve(code, projector=projector, user=user, seat_token=seat_token)
    if not isinstance(ident, identity.Identity):
        return JsonResponse({"error": "forbidden", "message": "no identity for this game"},
                            status=403)
    lo = _tick_param(request, "from")
    if isinstance(lo, str):
        return _bad(lo)
    hi = _tick_param(request, "to")
    if isinstance(hi, str):
        return _bad(hi)
    if lo is not None and hi is not None and lo > hi:
        return _bad("`from` is after `to`")
    game = Game.objects.only("id", "code", "tick").get(pk=ident.game_id)
    last = game.tick - 1  # the last settled tick (-1: none yet)
    start = lo if lo is not None else max(0, last - MAX_TICKS + 1)
    end = min(hi if hi is not None else last, last, start + MAX_TICKS - 1)
    # Cacheable only if this URL can never mean anything else: both ends given and settled.
    settled = lo is not None and hi is not None and end == hi
    key = (game.id, game.code, start, end)
    hit = _cache.get(key) if end >= start else None
    if hit is None:
        body = broadcast.encode(columns(game.id, start, end) if end >= start else {
            "from": start, "to": end, "ticks": [], "epoch": [], "subnets": [],
            "epoch_rows": {"epoch": [], "tick": [], "network_health": []}}).encode()
        hit = ('"' + hashlib.sha256(body).hexdigest()[:24] + '"',
               gzip.compress(body, compresslevel=6, mtime=0))
        if end >= start:
            _remember(key, hit)
    etag, zipped = hit
    cache_control = SETTLED_CACHE_CONTROL if settled else LIVE_CACHE_CONTROL
    if etag in [t.strip() for t in request.META.get("HTTP_IF_NONE_MATCH", "").split(",")]:
        response: HttpResponse = HttpResponseNotModified()
    else:
        accepts_gzip = "gzip" in request.META.get("HTTP_ACCEPT_ENCODING", "")
        response = HttpResponse(zipped if accepts_gzip else gzip.decompress(zipped),
                                content_type="application/json")
        if accepts_gzip:
            response["Content-Encoding"] = "gzip"
    response["ETag"] = etag
    response["Cache-Control"] = cache_control
    response["Vary"] = "Accept-Encoding, Cookie, X-Projector-Token"
    return response
