"""HTTP pages: thin views over the actions (game/actions/). Templates (templates/) belong to the
UI; the context each one gets is documented in docs/pages.md. No GET changes state."""
from __future__ import annotations

import io
import json
import secrets
from typing import Any

import segno
from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from game import names, ratelimit, simapi
from game.actions.lobby import JoinError, join_game, resume_seat
from game.actions.rounds import carry_seat
from game.actions.setup import CreateError, Overrides, create_game
from game.live.identity import seat_cookie_name
from game.models import CustomScenario, Game, Seat
from game.sessionlist import session_list
from game.web import grading, reach

SEAT_COOKIE_AGE = 60 * 60 * 24 * 7


def _join_url(request: HttpRequest, code: str) -> str:
    path = f"/join/{code}"
    if settings.PUBLIC_URL:
        return settings.PUBLIC_URL + path
    return request.build_absolute_uri(path)


def _ws_path(code: str) -> str:
    return f"/ws/game/{code}/"


def _set_seat_cookie(request: HttpRequest, response: HttpResponse, code: str, token: str) -> None:
    # Path "/": the page (/play/…) and the socket (/ws/game/…) both need it; the name scopes it
    # to the game.
    response.set_cookie(seat_cookie_name(code), token, max_age=SEAT_COOKIE_AGE, httponly=True,
                        samesite="Lax", secure=request.is_secure())


# One student, one seat: a long-lived random cookie names the device (browser) a seat was opened
# from, across games; a device holds one seat per game (join_game).
DEVICE_COOKIE = "dtao_device"
DEVICE_COOKIE_AGE = 60 * 60 * 24 * 365


def _device(request: HttpRequest) -> str:
    """This browser's device id: its cookie, or a new one (set on the response by _keep_device)."""
    value = request.COOKIES.get(DEVICE_COOKIE, "")
    if not (20 <= len(value) <= 100) or not value.isascii():
        value = names.new_token()
    return value


def _keep_device(request: HttpRequest, response: HttpResponse, device: str) -> HttpResponse:
    if device and request.COOKIES.get(DEVICE_COOKIE) != device:
        response.set_cookie(DEVICE_COOKIE, device, max_age=DEVICE_COOKIE_AGE, httponly=True,
                            samesite="Lax", secure=request.is_secure())
    return response


# --- students -----------------------------------------------------------------------------------

def _join_page(request: HttpRequest, code: str = "", error: str = "", suggestion: str = "",
               status: int = 200, nickname: str = "", error_code: str = "") -> HttpResponse:
    get_token(request)  # the form posts back with the CSRF cookie, whatever the template does
    # A refused join shows the form again with what was typed (the template escapes it).
    return render(request, "join.html", {"code": code, "error": error, "suggestion": suggestion,
                                         "nickname": nickname, "error_code": error_code},
                  status=status)


@require_http_methods(["GET", "POST"])
def join(request: HttpRequest, code: str = "") -> HttpResponse:
    device = _device(request)
    return _keep_device(request, _join(request, code, device), device)


def _join(request: HttpRequest, code: str, device: str) -> HttpResponse:
    if request.method == "GET":
        return _join_page(request, names.normalize_code(code))
    code = names.normalize_code(request.POST.get("code", code))
    nickname = request.POST.get("nickname", "")[:200]
    mine = resume_seat(code, request.COOKIES.get(seat_cookie_name(code), ""))
    if mine is not None and nickname.strip() in ("", mine.nickname):
        # A double tap, or the form sent again from a device that already has this seat:
        # back to that seat, no second one (and no limit: the cookie proves who this is).
        return HttpResponseRedirect(f"/play/{mine.game.code}/")
    ip = ratelimit.client_ip(request)
    # Every attempt counts against the address; the code-guessing limit only holds back a
    # request that proves no identity (a seat cookie of this game does).
    if (mine is None and ratelimit.guessing(ip)) or not ratelimit.join_allowed(ip):
        return _join_page(request, code, "Too many attempts: wait a minute and try again.",
                          status=429, nickname=nickname)
    try:
        # Only a seat created spends the game's join budget: refused joins (a wrong code, a
        # taken name, a locked lobby) spend the address's alone (docs/security.md).
        seat, token = join_game(code, nickname, limited=True, device=device)
    except JoinError as exc:
        if exc.code == "unknown_game":
            ratelimit.note_miss(ip)
        return _join_page(request, code, exc.message, exc.suggestion,
                          status=429 if exc.code == "busy" else 400, nickname=nickname,
                          error_code=exc.code)
    response = HttpResponseRedirect(f"/play/{seat.game.code}/")
    _set_seat_cookie(request, response, seat.game.code, token)
    return response


@require_POST
def resume(request: HttpRequest, code: str) -> HttpResponse:
    """Rejoin a seat from a token kept in localStorage (another tab, a cleared cookie)."""
    wants_json = request.content_type == "application/json"
    if wants_json:
        try:
            token = json.loads(request.body or b"{}").get("token", "")
        except (ValueError, AttributeError):
            token = ""
    else:
        token = request.POST.get("token", "")
    seat = resume_seat(code, token if isinstance(token, str) else "")
    if seat is None:
        if wants_json:
            return JsonResponse({"ok": False, "error": "unknown_seat"}, status=404)
        return _join_page(request, names.normalize_code(code),
                          "That seat is no longer available: join again.", status=404)
    url = f"/play/{seat.game.code}/"
    response: HttpResponse = (JsonResponse({"ok": True, "redirect": url}) if wants_json
                              else HttpResponseRedirect(url))
    _set_seat_cookie(request, response, seat.game.code, token)
    return response


@require_POST
def carry(request: HttpRequest, code: str) -> HttpResponse:
    """Move a student's page to the next round (game/actions/rounds.py): JSON {"from": the code
    of the round the page is on, "token": optional, else that round's seat cookie}. Answers
    {"ok": true, "redirect": "/play/<code>/"} with the new round's seat cookie, or 404
    {"ok": false, "error": "unknown_seat"} (then the page joins as usual)."""
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("from"), str) \
            or not isinstance(body.get("token", ""), str) or len(body["from"]) > 16:
        return JsonResponse({"ok": False, "error": "invalid"}, status=400)
    from_code = names.normalize_code(body["from"])
    token = body.get("token") or request.COOKIES.get(seat_cookie_name(from_code), "")
    carried = carry_seat(code, from_code, token)
    if carried is None:
        return JsonResponse({"ok": False, "error": "unknown_seat"}, status=404)
    seat, new_token = carried
    response = JsonResponse({"ok": True, "redirect": f"/play/{seat.game.code}/"})
    _set_seat_cookie(request, response, seat.game.code, new_token)
    return response


@require_GET
def play(request: HttpRequest, code: str) -> HttpResponse:
    code = names.normalize_code(code)
    token = request.COOKIES.get(seat_cookie_name(code), "")
    seat = resume_seat(code, token)
    if seat is None:
        return HttpResponseRedirect(f"/join/{code}")
    game = seat.game
    bootstrap = {"code": game.code, "ws_url": _ws_path(game.code), "role": seat.role,
                 "seat_id": seat.id, "nickname": seat.nickname, "token": token,
                 "is_instructor": False, "is_projector": False}
    return render(request, "play.html", {"game": game, "seat": seat, "bootstrap": bootstrap})


@require_GET
def qr(request: HttpRequest, code: str) -> HttpResponse:
    ip = ratelimit.client_ip(request)
    # The instructor's own browser (console, projector tab) is never held back by guesses made
    # by others behind the same address.
    if not request.user.is_authenticated and ratelimit.guessing(ip):
        return HttpResponse("too many attempts", status=429, content_type="text/plain")
    game = Game.objects.filter(code=names.normalize_code(code)).first()
    if game is None:
        ratelimit.note_miss(ip)
        raise Http404("no such game")
    buf = io.BytesIO()
    segno.make(_join_url(request, game.code), error="m").save(
        buf, kind="svg", scale=8, border=2, xmldecl=False)
    response = HttpResponse(buf.getvalue(), content_type="image/svg+xml")
    response["Cache-Control"] = "private, max-age=3600"
    return response


# --- the projector --------------------------------------------------------------------------------

@require_GET
def projector(request: HttpRequest, code: str, token: str) -> HttpResponse:
    game = get_object_or_404(Game, code=names.normalize_code(code))
    if not secrets.compare_digest(token.encode(), game.projector_token.encode()):
        # The projector of the game this one's class came from follows it (game/actions/rounds.py).
        if not any(secrets.compare_digest(token.encode(), t.encode()) for t in
                   game.moved_from.values_list("projector_token", flat=True)):
            raise Http404("no such projector")
        return HttpResponseRedirect(f"/projector/{game.code}/{game.projector_token}/")
    bootstrap = {"code": game.code, "ws_url": f"{_ws_path(game.code)}?projector={token}",
                 "role": None, "seat_id": None, "nickname": None, "is_instructor": False,
                 "is_projector": True,
                 # for the chart history's X-Projector-Token header (game/live/history.py)
                 "projector_token": game.projector_token}
    join_url = _join_url(request, game.code)
    return render(request, "projector.html", {
        "game": game, "join_url": join_url, "phone_warning": reach.phone_warning(join_url),
        "qr_url": f"/qr/{game.code}.svg", "bootstrap": bootstrap})


# --- the instructor's console --------------------------------------------------------------------

def _custom(owner: Any) -> list[dict[str, str]]:
    """The instructor's own presets (game/customscenarios.py), for the create form:
    [{"choice": "custom:<id>", "name", "description"}]."""
    if owner is None:
        return []
    return [{"choice": f"custom:{c.pk}", "name": c.name,
             "description": str(c.body.get("description", ""))}
            for c in CustomScenario.objects.filter(owner=owner).order_by("name", "pk")]


class CreateGameForm(forms.Form):
    preset = forms.ChoiceField(choices=())
    name = forms.CharField(max_length=200, required=False)
    epochs = forms.IntegerField(min_value=1, max_value=1000, required=False)
    tick_seconds = forms.FloatField(min_value=1, max_value=600, required=False)
    subnets = forms.IntegerField(min_value=1, max_value=64, required=False)
    starting_tao = forms.FloatField(min_value=0, max_value=1e9, required=False)
    mix_speculator = forms.FloatField(min_value=0, max_value=100, required=False)
    mix_subnet_owner = forms.FloatField(min_value=0, max_value=100, required=False)
    mix_root_validator = forms.FloatField(min_value=0, max_value=100, required=False)
    bots = forms.BooleanField(required=False, initial=True)
    drop_events = forms.BooleanField(required=False)
    registration = forms.ChoiceField(required=False, choices=(
        ("", "as the preset says"), ("forbid", "forbidden"), ("cost", "allowed, at this cost")))
    lock_cost = forms.FloatField(min_value=0, max_value=1e9, required=False)

    def __init__(self, *args: Any, owner: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        preset = self.fields["preset"]
        assert isinstance(preset, forms.ChoiceField)
        preset.choices = [(p["id"], p["name"]) for p in simapi.presets()] + [
            (c["choice"], c["name"]) for c in _custom(owner)]

    def overrides(self) -> Overrides:
        d = self.cleaned_data
        mix = {role: d[f"mix_{role}"] for role in ("speculator", "subnet_owner", "root_validator")
               if d.get(f"mix_{role}") is not None}
        if mix and sum(mix.values()) <= 0:
            mix = {}
        return Overrides(
            name=d.get("name") or None, epochs=d.get("epochs"), tick_seconds=d.get("tick_seconds"),
            subnets=d.get("subnets"), starting_tao=d.get("starting_tao"), role_mix=mix or None,
            bots=bool(d.get("bots")), drop_events=bool(d.get("drop_events")),
            registration=d.get("registration") or None, lock_cost=d.get("lock_cost"))


def _teacher(request: HttpRequest) -> User:
    """The instructor logged in on a console view (login_required lets no one else in)."""
    user = request.user
    assert isinstance(user, User), "console views are login_required"
    return user


@login_required
@require_http_methods(["GET", "POST"])
def console(request: HttpRequest) -> HttpResponse:
    error = ""
    if request.method == "POST":
        form = CreateGameForm(request.POST, owner=_teacher(request))
        if form.is_valid():
            try:
                game = create_game(_teacher(request), form.cleaned_data["preset"],
                                   form.overrides())
            except CreateError as exc:
                error = str(exc)
            else:
                return HttpResponseRedirect(f"/console/{game.code}/")
        else:
            error = "Please correct the form."
    else:
        form = CreateGameForm(initial={"bots": True}, owner=_teacher(request))
    games = Game.objects.filter(owner=_teacher(request)).order_by("-created_at")
    return render(request, "console/index.html", {
        "games": games, "sessions": session_list(_teacher(request)),
        "presets": simapi.presets(), "form": form, "error": error,
        "custom": _custom(_teacher(request))},
        status=400 if error else 200)


@login_required
@require_GET
def console_game(request: HttpRequest, code: str) -> HttpResponse:
    # Another instructor's game is a 404, not a 403: codes are not confirmed to strangers.
    game = get_object_or_404(Game, code=names.normalize_code(code), owner=_teacher(request))
    seat = Seat.objects.filter(game=game, kind="foundation").first()
    bootstrap = {"code": game.code, "ws_url": _ws_path(game.code),
                 "role": seat.role if seat else None, "seat_id": seat.id if seat else None,
                 "nickname": seat.nickname if seat else None, "is_instructor": True,
                 "is_projector": False}
    join_url = _join_url(request, game.code)
    return render(request, "console/game.html", {
        "game": game, "join_url": join_url, "phone_warning": reach.phone_warning(join_url),
        "projector_url": f"/projector/{game.code}/{game.projector_token}/",
        "qr_url": f"/qr/{game.code}.svg", "bootstrap": bootstrap,
        **grading.console_context(game)})


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico on pages without an icon link (/healthz, a JSON or text
    response): "no icon", not a 404 in every log and browser console."""
    response = HttpResponse(status=204)
    response["Cache-Control"] = "public, max-age=86400"
    return response


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")
