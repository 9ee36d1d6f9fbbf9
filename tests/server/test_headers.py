"""Every page carries the Content-Security-Policy and is never cached (seat and projector tokens,
results); static files keep their cache headers."""
from __future__ import annotations

import pytest
from django.test import Client

from game.actions.lobby import join_game

pytestmark = pytest.mark.django_db

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self' ws://testserver wss://testserver; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


def test_pages_with_tokens_are_not_cached_and_carry_the_policy(game, instructor):
    _seat, token = join_game(game.code, "Ann")
    student = Client()
    student.cookies[f"seat_{game.code}"] = token
    teacher = Client()
    teacher.force_login(instructor)
    pages = {
        "play": student.get(f"/play/{game.code}/"),
        "projector": Client().get(f"/projector/{game.code}/{game.projector_token}/"),
        "console": teacher.get(f"/console/{game.code}/"),
        "console list": teacher.get("/console/"),
        "join": Client().get(f"/join/{game.code}"),
        "login": Client().get("/login/"),
    }
    for name, response in pages.items():
        assert response.status_code == 200, name
        assert "no-store" in response["Cache-Control"].split(", "), name
        assert response["Content-Security-Policy"] == CSP, name
    assert token in pages["play"].content.decode()  # the page does carry the seat token
    joined = Client().post(f"/join/{game.code}", {"code": game.code, "nickname": "Bea"})
    assert joined.status_code == 302 and joined["Cache-Control"] == "no-store, private"
    assert pages["play"]["Cache-Control"] == "no-store, private"


def test_static_files_keep_their_cache_headers():
    response = Client().get("/static/js/ui.js")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
