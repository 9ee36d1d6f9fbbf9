"""Preparing and grading: the teacher's guide of a preset, the class list (roster) of a game,
and the grade sheet (page and CSV). Instructor only; another instructor's game is a 404, like
the console. Thin views over game.web.guides, game.classlist and game.debrief.gradesheet.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET, require_http_methods

from game import classlist, names
from game.debrief import gradesheet
from game.models import Game
from game.web import guides

MAX_UPLOAD = classlist.MAX_TEXT * 4  # bytes: UTF-8 of the longest list accepted


def _owned(request: HttpRequest, code: str) -> Game:
    return get_object_or_404(Game, code=names.normalize_code(code), owner=request.user)


def console_context(game: Game) -> dict[str, Any]:
    """What the console page adds: its preset's guide, the guide written in the instructor's
    own preset (its parts above the events; each event's note, shown in its row), the class list
    summary."""
    parts, notes = guides.own_guide(game.scenario)
    return {"guide_url": guides.url_for(game.preset), "own_guide": parts, "event_notes": notes,
            "class_list": classlist.summary(game)}


@login_required
@require_GET
def guide(request: HttpRequest, preset: str) -> HttpResponse:
    path = guides.path_for(preset)
    if path is None:
        raise Http404("no guide for this preset")
    text = path.read_text(encoding="utf-8")
    return render(request, "console/guide.html", {
        "preset": preset, "title": guides.title(text), "body": guides.render(text)})


@login_required
@require_http_methods(["GET", "POST"])
def class_list(request: HttpRequest, code: str) -> HttpResponse:
    """GET: the form with the current list. POST: the pasted text, or an uploaded file (which
    wins), and the lock box; the list replaces the old one (empty removes it)."""
    game = _owned(request, code)
    error, saved, status = "", False, 200
    text = None
    if request.method == "POST":
        text = request.POST.get("names", "")
        upload = request.FILES.get("file")
        try:
            if upload is not None:
                if upload.size is None or upload.size > MAX_UPLOAD:
                    raise classlist.ClassListError("The file is too large.")
                try:
                    text = upload.read().decode("utf-8-sig")
                except UnicodeDecodeError:
                    raise classlist.ClassListError(
                        "The file is not UTF-8 text: save it as CSV (UTF-8) or plain text."
                    ) from None
            classlist.save(game, text, request.POST.get("locked") == "on", csv_file=(
                upload is not None and (upload.name or "").lower().endswith(".csv")))
            saved, text = True, None
        except classlist.ClassListError as exc:
            error, status = str(exc), 400
    summary = classlist.summary(game)
    return render(request, "console/class_list.html", {
        "game": game, "summary": summary, "error": error, "saved": saved,
        "text": summary["text"] if text is None else text}, status=status)


def _sheet(request: HttpRequest, game: Game) -> tuple[dict[str, Any] | None, str, str]:
    """(the sheet or None, the error, the query string of the weights in use)."""
    try:
        weights = gradesheet.parse_weights(request.GET)
    except gradesheet.WeightError as exc:
        return None, exc.message, ""
    query = urlencode({k: getattr(weights, v) for k, v in gradesheet.FIELDS.items()})
    return gradesheet.build(game, weights), "", query


@login_required
@require_GET
def grade_sheet(request: HttpRequest, code: str) -> HttpResponse:
    game = _owned(request, code)
    if game.state is None:
        return render(request, "debrief/unavailable.html", {
            "game": game, "reason": "The game has not started: there is nothing to grade yet."},
            status=409)
    sheet, error, query = _sheet(request, game)
    form = {k: request.GET.get(k, getattr(gradesheet.Weights(), v))
            for k, v in gradesheet.FIELDS.items()}
    response = render(request, "console/grades.html", {
        "game": game, "sheet": sheet, "error": error, "query": query, "form": form,
        "columns": gradesheet.COLUMNS}, status=400 if error else 200)
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def grade_sheet_csv(request: HttpRequest, code: str) -> HttpResponse:
    game = _owned(request, code)
    if game.state is None:
        raise Http404("nothing to grade before the game starts")
    sheet, error, _ = _sheet(request, game)
    if sheet is None:
        return HttpResponse(error, status=400, content_type="text/plain; charset=utf-8")
    response = HttpResponse(gradesheet.csv_text(sheet).encode("utf-8"),
                            content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="grades-{game.code}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response


def urlpatterns_for(path: Any) -> list[Any]:
    """The routes, for game/web/urls.py: `urlpatterns += grading.urlpatterns_for(path)`."""
    return [
        path("console/guides/<str:preset>/", guide, name="guide"),
        path("console/<str:code>/class-list", class_list, name="class_list"),
        path("console/<str:code>/grades/", grade_sheet, name="grades"),
        path("console/<str:code>/grades.csv", grade_sheet_csv, name="grades_csv"),
    ]
