"""A refused join shows the form again with what the student typed: the code and the nickname
come back in the inputs, escaped by the template (never as markup)."""
from __future__ import annotations

import html
import re

import pytest
from django.test import Client

from game import ratelimit
from game.actions.lobby import set_locked
from game.models import Seat

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_limits():
    ratelimit.reset()  # earlier tests' code misses must not turn these into 429s
    yield
    ratelimit.reset()


def _value(page: str, input_id: str) -> str:
    """The value attribute of one input, unescaped as a browser would read it."""
    tag = re.search(rf'<input id="{input_id}"[^>]*>', page, re.S)
    assert tag, f"no input #{input_id}"
    value = re.search(r'\svalue="([^"]*)"', tag.group(0))
    assert value, f"input #{input_id} has no value attribute"
    return html.unescape(value.group(1))


def _post(data: dict) -> tuple[int, str, object]:
    response = Client().post("/join", data)
    return response.status_code, response.content.decode(), response


def test_a_wrong_code_keeps_the_typed_nickname_and_code(game):
    status, page, response = _post({"code": "nope42", "nickname": "Lost Student"})
    assert status == 400
    assert "No game with this code" in page
    assert response.context["nickname"] == "Lost Student"
    assert _value(page, "id_nickname") == "Lost Student"
    assert _value(page, "id_code") == "NOPE42"
    assert not Seat.objects.exists()


@pytest.mark.parametrize("nickname", ["x", "!!!", "a" * 30])
def test_a_refused_nickname_comes_back_with_a_suggestion(game, nickname):
    status, page, response = _post({"code": game.code, "nickname": nickname})
    assert status == 400 and response.context["suggestion"]
    assert _value(page, "id_nickname") == nickname
    assert _value(page, "id_code") == game.code


def test_a_taken_nickname_comes_back_next_to_the_suggestion(game):
    assert _post({"code": game.code, "nickname": "Ada"})[0] == 302
    status, page, response = _post({"code": game.code, "nickname": "Ada"})
    assert status == 400
    assert _value(page, "id_nickname") == "Ada"
    assert response.context["suggestion"] == "Ada 2"
    assert 'id="suggestion">Ada 2<' in page


def test_a_locked_game_keeps_the_typed_nickname(game):
    set_locked(game.id, True)
    status, page, _ = _post({"code": game.code.lower(), "nickname": "Late Larry"})
    assert status == 400 and "locked" in page
    assert _value(page, "id_nickname") == "Late Larry"
    assert _value(page, "id_code") == game.code


def test_the_typed_nickname_is_escaped_not_markup(game):
    hostile = '"><script>alert(1)</script><b x="'
    status, page, _ = _post({"code": "NOPE42", "nickname": hostile})
    assert status == 400
    assert "<script>alert(1)" not in page
    assert '<b x="' not in page
    assert 'value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;b x=&quot;"' in page
    assert _value(page, "id_nickname") == hostile


def test_an_empty_nickname_stays_empty_and_a_get_has_none(game):
    status, page, _ = _post({"code": "NOPE42", "nickname": ""})
    assert status == 400 and _value(page, "id_nickname") == ""
    page = Client().get(f"/join/{game.code}").content.decode()
    assert _value(page, "id_nickname") == "" and _value(page, "id_code") == game.code


def test_a_rate_limited_join_keeps_the_typed_nickname(game, settings):
    settings.JOIN_RATE_PER_IP = 1
    assert _post({"code": game.code, "nickname": "First One"})[0] == 302
    status, page, _ = _post({"code": game.code, "nickname": "Second One"})
    assert status == 429 and "Too many attempts" in page
    assert _value(page, "id_nickname") == "Second One"
