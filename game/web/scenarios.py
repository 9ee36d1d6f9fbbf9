"""The scenario editor's pages: the instructor's own presets (list, new, duplicate, rename,
delete, import, export) and the editor (a form per section, validated by the simulator, with a
dry run charted before saving). Instructor only; another instructor's scenario is a 404.
Thin views over game.customscenarios and game.web.scenario_form.
"""
from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from game import customscenarios as cs, simapi
from game.models import CustomScenario, Game
from game.web import scenario_form

LIST_URL = "/console/scenarios/"


def _owned(request: HttpRequest, scenario_id: int) -> CustomScenario:
    try:
        return cs.owned(request.user, scenario_id)  # type: ignore[arg-type]
    except CustomScenario.DoesNotExist:
        raise Http404("no such scenario") from None


def _list_page(request: HttpRequest, error: str = "", code: str = "", status: int = 200
               ) -> HttpResponse:
    mine = CustomScenario.objects.filter(owner=request.user.pk).order_by("name", "pk")
    return render(request, "console/scenarios.html", {
        "mine": mine, "presets": simapi.presets(), "error": error, "error_code": code},
        status=status)


@login_required
@require_http_methods(["GET", "POST"])
def scenario_list(request: HttpRequest) -> HttpResponse:
    """GET: the list. POST: `op` = new (from `start`), import (the `file`)."""
    if request.method == "GET":
        return _list_page(request)
    op = request.POST.get("op")
    try:
        if op == "new":
            obj = cs.create(request.user, request.POST.get("start", ""))  # type: ignore[arg-type]
        elif op == "import":
            upload = request.FILES.get("file")
            if upload is None:
                raise cs.EditError("no_file", "Choose a scenario file (.json) to import.")
            if upload.size is None or upload.size > cs.MAX_BODY:
                raise cs.EditError("too_large", f"The file is too large: at most "
                                   f"{cs.MAX_BODY // 1024} KB.")
            obj = cs.import_file(request.user, upload.read())  # type: ignore[arg-type]
        else:
            raise cs.EditError("bad_op", "Unknown operation.")
    except cs.EditError as exc:
        where = f" ({exc.field})" if exc.field else ""
        return _list_page(request, f"{exc.message}{where}", exc.code, 400)
    return HttpResponseRedirect(f"{LIST_URL}{obj.pk}/edit")


def _confirm_delete(request: HttpRequest, obj: CustomScenario) -> HttpResponse:
    """The delete button's confirm step, a page of its own (the list works without scripts):
    what goes, and what the games made from it keep."""
    games = Game.objects.filter(owner=request.user.pk, preset=f"custom:{obj.pk}").count()
    return render(request, "console/scenario_delete.html", {"obj": obj, "games": games})


@login_required
@require_POST
def scenario_op(request: HttpRequest, scenario_id: int, op: str) -> HttpResponse:
    """duplicate, rename (`name`), delete (`confirm=yes`; without it, the confirm page): then
    back to the list."""
    obj = _owned(request, scenario_id)
    user = request.user
    try:
        if op == "duplicate":
            cs.duplicate(user, scenario_id)  # type: ignore[arg-type]
        elif op == "rename":
            cs.rename(user, scenario_id, request.POST.get("name"))  # type: ignore[arg-type]
        elif op == "delete" and request.POST.get("confirm") != "yes":
            return _confirm_delete(request, obj)
        elif op == "delete":
            cs.delete(user, scenario_id)  # type: ignore[arg-type]
        else:
            raise Http404("no such operation")
    except cs.EditError as exc:
        return _list_page(request, exc.message, exc.code, 400)
    return HttpResponseRedirect(LIST_URL)


@login_required
@require_GET
def scenario_export(request: HttpRequest, scenario_id: int) -> HttpResponse:
    obj = _owned(request, scenario_id)
    response = HttpResponse(cs.export_text(obj).encode("utf-8"),
                            content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="scenario-{obj.pk}.json"'
    response["Cache-Control"] = "private, no-store"
    return response


def _timeline(scn: dict[str, Any]) -> dict[str, Any]:
    """The events on an epoch axis drawn as SVG (x in 0..1000): markers and their labels."""
    epochs = scn.get("clock", {}).get("epochs")
    epochs = epochs if isinstance(epochs, int) and epochs > 0 else 1
    marks = []
    for i, e in enumerate(scn.get("events") or []):
        epoch = e.get("epoch") if isinstance(e, dict) else None
        if isinstance(epoch, int) and 0 <= epoch < epochs:
            marks.append({"x": 20 + round(960 * (epoch + 0.5) / epochs), "epoch": epoch,
                          "title": e.get("title") or f"Event {i + 1}", "index": i})
    ticks = [{"x": 20 + round(960 * k / epochs), "epoch": k}
             for k in range(0, epochs + 1, max(1, epochs // 10))]
    return {"epochs": epochs, "marks": marks, "ticks": ticks}


def _edit_page(request: HttpRequest, obj: CustomScenario, scn: dict[str, Any],
               errors: dict[str, str], general: str = "", notice: str = "",
               status: int = 200) -> HttpResponse:
    page = scenario_form.layout(scn, errors)
    return render(request, "console/scenario_edit.html", {
        "obj": obj, "page": page, "general": general, "notice": notice,
        "timeline": _timeline(scn), "has_errors": bool(errors or general),
        "mechanisms": scenario_form.MECHANISMS}, status=status)


def _check(parsed: scenario_form.Parsed) -> tuple[dict[str, Any] | None, str]:
    """(the validated scenario or None, a general error); field errors go into parsed.errors."""
    if parsed.errors:
        return None, "Some fields could not be read: see the messages beside them."
    try:
        return cs.validate(parsed.scn), ""
    except cs.EditError as exc:
        page = scenario_form.layout(parsed.scn, {})
        where = scenario_form.place_error(page, exc.field, exc.message, parsed.scn)
        if where:
            parsed.errors[where] = exc.message if where == exc.field else \
                f"{exc.field}: {exc.message}"
            return None, "The scenario was not saved: see the message beside the field."
        label = f"{exc.field}: " if exc.field else ""
        return None, f"The scenario was not saved: {label}{exc.message}"


@login_required
@require_http_methods(["GET", "POST"])
def scenario_edit(request: HttpRequest, scenario_id: int) -> HttpResponse:
    """GET: the editor. POST: `add` (subnet, event) or `remove` (subnets.N, events.N) redisplay
    unsaved; otherwise save, or redisplay with each field's error (nothing saved)."""
    obj = _owned(request, scenario_id)
    if request.method == "GET":
        return _edit_page(request, obj, obj.body, {})
    parsed = scenario_form.read(obj.body, request.POST)
    if request.POST.get("add") or request.POST.get("remove"):
        if request.POST.get("add"):
            scenario_form.add_row(parsed.scn, request.POST["add"])
        else:
            scenario_form.remove_row(parsed.scn, request.POST["remove"])
        return _edit_page(request, obj, parsed.scn, parsed.errors,
                          notice="Not saved yet: press Save when you are done.")
    scn, general = _check(parsed)
    if scn is None:
        return _edit_page(request, obj, parsed.scn, parsed.errors, general, status=400)
    try:
        obj = cs.save(request.user, obj.pk, scn)  # type: ignore[arg-type]
    except cs.EditError as exc:
        return _edit_page(request, obj, parsed.scn, {exc.field or "name": exc.message},
                          exc.message, status=400)
    return _edit_page(request, obj, obj.body, {}, notice="Saved.")


@login_required
@require_POST
def scenario_dry_run(request: HttpRequest, scenario_id: int) -> JsonResponse:
    """The form as it stands (unsaved) played by bots: the charts' series, or the errors."""
    obj = _owned(request, scenario_id)
    parsed = scenario_form.read(obj.body, request.POST)
    scn, general = _check(parsed)
    if scn is None:
        return JsonResponse({"ok": False, "error": general, "errors": parsed.errors},
                            status=400)
    try:
        return JsonResponse({"ok": True, **cs.dry_run(scn)})
    except cs.EditError as exc:
        return JsonResponse({"ok": False, "error": exc.message, "code": exc.code,
                             "errors": {}}, status=400)


def urlpatterns_for(path: Any) -> list[Any]:
    """The routes, for game/web/urls.py: `urlpatterns += scenarios.urlpatterns_for(path)`."""
    return [
        path("console/scenarios/", scenario_list, name="scenarios"),
        path("console/scenarios/<int:scenario_id>/edit", scenario_edit, name="scenario_edit"),
        path("console/scenarios/<int:scenario_id>/dry-run", scenario_dry_run,
             name="scenario_dry_run"),
        path("console/scenarios/<int:scenario_id>/export.json", scenario_export,
             name="scenario_export"),
        path("console/scenarios/<int:scenario_id>/<str:op>", scenario_op, name="scenario_op"),
    ]
