"""HTTP pages and commands: join, resume, play, console, projector, QR, instructors."""
from __future__ import annotations

import hashlib
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from game.actions.lobby import join_game, set_locked
from game.models import Game, Seat

pytestmark = pytest.mark.django_db


def _bootstrap(response) -> dict:
    html = response.content.decode()
    start = html.index('id="bootstrap"')
    body = html[html.index(">", start) + 1:html.index("</script>", start)]
    return json.loads(body)


def test_it_joins_with_a_nickname_sets_an_httponly_cookie_and_redirects(game):
    client = Client()
    response = client.post("/join", {"code": game.code.lower(), "nickname": " Ada\u200b "})
    assert response.status_code == 302 and response["Location"] == f"/play/{game.code}/"
    cookie = response.cookies[f"seat_{game.code}"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    seat = Seat.objects.get(game=game)
    assert seat.nickname == "Ada"  # zero-width characters and outer spaces are gone
    assert seat.token_hash == hashlib.sha256(cookie.value.encode()).hexdigest()
    page = client.get(f"/play/{game.code}/")
    boot = _bootstrap(page)
    assert boot == {"code": game.code, "ws_url": f"/ws/game/{game.code}/", "role": seat.role,
                    "seat_id": seat.id, "nickname": "Ada", "token": cookie.value,
                    "is_instructor": False, "is_projector": False}


def test_it_generates_a_nickname_when_none_is_given(game):
    response = Client().post("/join", {"code": game.code, "nickname": ""})
    assert response.status_code == 302
    assert len(Seat.objects.get(game=game).nickname.split()) == 2


@pytest.mark.parametrize("nickname", ["x", "a" * 30, "\u202e\u202e", "fuckface", "!!!"])
def test_it_refuses_a_bad_nickname_with_a_suggestion(game, nickname):
    response = Client().post("/join", {"code": game.code, "nickname": nickname})
    assert response.status_code == 400
    assert response.context["error"] and response.context["suggestion"]
    assert not Seat.objects.exists()


def test_it_refuses_a_taken_nickname_and_suggests_another(game):
    Client().post("/join", {"code": game.code, "nickname": "Ada"})
    response = Client().post("/join", {"code": game.code, "nickname": "Ada"})
    assert response.status_code == 400 and response.context["suggestion"] == "Ada 2"


def test_it_refuses_an_unknown_code_and_a_locked_game(game):
    assert Client().post("/join", {"code": "NOPE22", "nickname": "Ada"}).status_code == 400
    set_locked(game.id, True)
    response = Client().post("/join", {"code": game.code, "nickname": "Ada"})
    assert response.status_code == 400 and "locked" in response.context["error"]


def test_it_resumes_a_seat_from_its_token_in_another_tab(game):
    seat, token = join_game(game.code, "Ada")
    tab = Client()
    response = tab.post(f"/join/{game.code}/resume", data=json.dumps({"token": token}),
                        content_type="application/json")
    assert response.json() == {"ok": True, "redirect": f"/play/{game.code}/"}
    assert _bootstrap(tab.get(f"/play/{game.code}/"))["seat_id"] == seat.id
    wrong = Client().post(f"/join/{game.code}/resume", data=json.dumps({"token": "nope"}),
                          content_type="application/json")
    assert wrong.status_code == 404


def test_it_changes_nothing_on_get(game):
    before = (Game.objects.get(pk=game.id).seq, Seat.objects.count())
    client = Client()
    for url in ("/", f"/join/{game.code}", f"/play/{game.code}/", f"/qr/{game.code}.svg",
                f"/projector/{game.code}/{game.projector_token}/"):
        assert client.get(url).status_code in (200, 302)
    assert (Game.objects.get(pk=game.id).seq, Seat.objects.count()) == before
    assert Client().get(f"/play/{game.code}/")["Location"] == f"/join/{game.code}"


def test_it_serves_a_qr_code_of_the_join_url(game):
    response = Client().get(f"/qr/{game.code}.svg")
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content.startswith(b"<svg")


def test_it_shows_the_projector_only_with_its_token(game):
    client = Client()
    assert client.get(f"/projector/{game.code}/wrong/").status_code == 404
    page = client.get(f"/projector/{game.code}/{game.projector_token}/")
    boot = _bootstrap(page)
    assert boot["is_projector"] and boot["ws_url"].endswith(f"?projector={game.projector_token}")
    assert page.context["qr_url"] == f"/qr/{game.code}.svg"
    assert page.context["join_url"].endswith(f"/join/{game.code}")


def test_it_shows_an_instructor_only_their_own_games(game, instructor):
    from django.contrib.auth.models import User

    assert Client().get("/console/")["Location"].startswith("/login/")
    other = User.objects.create_user("other", password="another-long-password")
    client = Client()
    client.force_login(other)
    assert list(client.get("/console/").context["games"]) == []
    assert client.get(f"/console/{game.code}/").status_code == 404
    client.force_login(instructor)
    assert [g.code for g in client.get("/console/").context["games"]] == [game.code]
    page = client.get(f"/console/{game.code}/")
    assert page.context["projector_url"] == f"/projector/{game.code}/{game.projector_token}/"
    assert _bootstrap(page)["is_instructor"]


def test_it_creates_a_game_from_a_preset_with_overrides(preset_dir, instructor):
    client = Client()
    client.force_login(instructor)
    response = client.post("/console/", {
        "preset": "test_market", "name": "Period 3", "epochs": 2, "tick_seconds": 3,
        "subnets": 3, "starting_tao": 250, "mix_speculator": 1, "mix_subnet_owner": 1,
        "mix_root_validator": 0, "bots": "", "drop_events": "on"})
    assert response.status_code == 302
    game = Game.objects.get(owner=instructor)
    assert response["Location"] == f"/console/{game.code}/"
    scn = json.loads(game.scenario)
    assert (game.name, game.total_ticks, game.tick_seconds, game.bots) == ("Period 3", 4, 3.0,
                                                                            False)
    assert [s["id"] for s in scn["subnets"]] == [1, 2, 3] and game.starting_tao == 250
    assert game.role_mix == {"speculator": 1.0, "subnet_owner": 1.0, "root_validator": 0.0}
    assert len(game.code) == 6 and set(game.code) <= set("ABCDEFGHJKMNPQRSTUVWXYZ23456789")
    bad = client.post("/console/", {"preset": "nope"})
    assert bad.status_code == 400 and bad.context["error"]


def test_it_logs_an_instructor_in_and_out(instructor):
    client = Client()
    response = client.post("/login/", {"username": "teacher",
                                       "password": "a-long-test-password"})
    assert response.status_code == 302 and response["Location"] == "/console/"
    assert client.post("/logout/").status_code == 302
    assert client.get("/console/").status_code == 302


def test_it_creates_an_instructor_from_the_command_line(monkeypatch):
    out = io.StringIO()
    call_command("check_instructors", stdout=out)
    assert "createinstructor" in out.getvalue() and "http://127.0.0.1:8000/login/" in out.getvalue()
    monkeypatch.setenv("NEW_PASSWORD", "correct-horse-battery")
    call_command("createinstructor", "ms_lee", password_from_env="NEW_PASSWORD", stdout=out)
    from django.contrib.auth.models import User

    assert User.objects.get(username="ms_lee").check_password("correct-horse-battery")
    with pytest.raises(CommandError):
        call_command("createinstructor", "ms_lee", password_from_env="NEW_PASSWORD")
    monkeypatch.setenv("SHORT", "abc")
    with pytest.raises(CommandError):
        call_command("createinstructor", "mr_short", password_from_env="SHORT")
    out = io.StringIO()
    call_command("check_instructors", url="http://10.0.0.5:8123", stdout=out)
    assert "1 instructor" in out.getvalue() and "http://10.0.0.5:8123/login/" in out.getvalue()
