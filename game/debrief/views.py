"""After the game: the instructor's debrief page, the bot-class bands, the export download, the
per-game delete, and each student's private report. Thin views over analysis.py and
exports.py.

Instructor views answer 404 for another instructor's game (codes are not confirmed to
strangers), like the console.
"""
from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from game import names
from game.actions import clock
from game.actions.lobby import resume_seat
from game.debrief import analysis, compare, exports
from game.live.identity import seat_cookie_name
from game.models import Game, Status

DEFAULT_RUNS = 20
MAX_RUNS = 200


def _owned(request: HttpRequest, code: str) -> Game:
    return get_object_or_404(Game, code=names.normalize_code(code), owner=request.user)


def _runs(request: HttpRequest) -> int:
    try:
        runs = int(request.GET.get("runs", DEFAULT_RUNS))
    except ValueError:
        runs = DEFAULT_RUNS
    return max(1, min(runs, MAX_RUNS))


@login_required
@require_GET
def debrief_page(request: HttpRequest, code: str) -> HttpResponse:
    game = _owned(request, code)
    if game.state is None:
        return render(request, "debrief/unavailable.html", {
            "game": game, "reason": "The game has not started: there is nothing to debrief yet."},
            status=409)
    doc = analysis.analyse(game)
    runs = _runs(request)
    return render(request, "debrief/debrief.html", {
        "game": game, "doc": doc, "runs": runs, "compare": compare.comparison(game),
        "boot": {"code": game.code, "runs": runs, "ended": game.status == Status.ENDED,
                 "bands_url": f"/console/{game.code}/debrief/bands?runs={runs}"},
        "projector_url": f"/projector/{game.code}/{game.projector_token}/"})


@login_required
@require_http_methods(["GET", "POST"])
def bands(request: HttpRequest, code: str) -> JsonResponse:
    """GET: progress (queued with its place, running with done/runs) or the bands with the
    class's path. POST: queue the job (once; 409 `busy` while the game has a job for another
    number of runs, 503 `queue_full`)."""
    game = _owned(request, code)
    runs = _runs(request)
    http_status = 200
    if request.method == "POST":
        if game.status != Status.ENDED:
            return JsonResponse({"state": "not_ended", "done": 0, "runs": runs}, status=409)
        status, http_status = analysis.start_bands(game, runs)
    else:
        status = analysis.bands_status(game, runs)
    if status.get("state") == "done":
        status = {**status, "class": analysis.class_path(analysis.analyse(game))}
    return JsonResponse(status, status=http_status)


@login_required
@require_GET
def export_zip(request: HttpRequest, code: str) -> HttpResponse:
    game = _owned(request, code)
    if game.state is None:
        raise Http404("nothing to export before the game starts")
    nicknames = request.GET.get("nicknames") == "1"
    response = HttpResponse(exports.zip_bytes(game, nicknames=nicknames),
                            content_type="application/zip")
    suffix = "-nicknames" if nicknames else ""
    response["Content-Disposition"] = f'attachment; filename="dtao-{game.code}{suffix}.zip"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def delete_game(request: HttpRequest, code: str) -> HttpResponse:
    """Owner only, POST with the CSRF token (Django's middleware checks it)."""
    game = _owned(request, code)
    clock.delete_game(game.id)
    analysis.purge_cache(game.id)
    return HttpResponseRedirect("/console/")


@require_http_methods(["GET", "POST"])
def report(request: HttpRequest, code: str) -> HttpResponse:
    """A student's own report, by seat token: the seat cookie set at join, or the token posted
    from the form (another device: the token is kept in the play page's storage)."""
    code = names.normalize_code(code)
    token = request.POST.get("token", "") if request.method == "POST" else ""
    token = token or request.COOKIES.get(seat_cookie_name(code), "")
    seat = resume_seat(code, token) if token else None
    if seat is None:
        return render(request, "debrief/report_login.html", {"code": code,
                      "error": "That seat token is not valid for this game." if token else ""},
                      status=403 if token else 200)
    game = seat.game
    if game.status != Status.ENDED:
        return render(request, "debrief/unavailable.html", {
            "game": game, "reason": "Your report opens when the game is over."}, status=409)
    data = analysis.private_report(analysis.analyse(game), seat.player)
    if data is None:
        return render(request, "debrief/unavailable.html", {
            "game": game, "reason": "Your seat never entered the game."}, status=404)
    response = render(request, "debrief/report.html", {"game": game, "report": data,
                                                       "seat": seat})
    response["Cache-Control"] = "private, no-store"
    return response


def urlpatterns_for(path: Any) -> list[Any]:
    """The routes, for game/web/urls.py: `urlpatterns += debrief_views.urlpatterns_for(path)`."""
    return [
        path("console/<str:code>/debrief/", debrief_page, name="debrief"),
        path("console/<str:code>/debrief/bands", bands, name="debrief_bands"),
        path("console/<str:code>/export.zip", export_zip, name="export_zip"),
        path("console/<str:code>/delete", delete_game, name="delete_game"),
        path("report/<str:code>/", report, name="report"),
    ]
