"""NUL and other control characters in any text a client sends over HTTP (form fields, query
strings, cookies) or the socket's handshake: refused with `bad_value` and nothing changed, on
SQLite and on PostgreSQL (suite 2 runs this file there), never `internal` / HTTP 500."""
from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from game.actions.lobby import join_game
from game.models import Seat

pytestmark = pytest.mark.django_db(transaction=True)
db = database_sync_to_async


def _refused(response) -> bool:
    return response.status_code == 400 and b"bad_value" in response.content


@pytest.mark.parametrize("field, value", [
    ("nickname", "Ali\x00ce"), ("nickname", "Bob\x1b[31m"), ("code", "AB\x00CD"),
])
def test_the_join_form_refuses_control_characters(game, field, value):
    data = {"code": game.code, "nickname": "Carol", field: value}
    response = Client().post(f"/join/{game.code}", data)
    assert _refused(response), response.status_code
    assert Seat.objects.filter(game=game).count() == 0


def test_a_seat_token_with_a_nul_is_refused_on_resume_and_report(game):
    join_game(game.code, "Dana")
    resume = Client().post(f"/join/{game.code}/resume", {"token": "abc\x00def"})
    report = Client().post(f"/report/{game.code}/", {"token": "abc\x00def"})
    cookie = Client()
    cookie.cookies[f"seat_{game.code}"] = "abc\x00"
    assert [_refused(resume), _refused(report), _refused(cookie.get(f"/play/{game.code}/"))] \
        == [True, True, True]
    assert _refused(Client().get(f"/join/{game.code}", {"nickname": "x\x00"}))


async def test_a_socket_with_a_nul_in_its_token_is_refused_at_the_handshake(game):
    from channels.testing import WebsocketCommunicator

    from game.asgi import application

    comm = WebsocketCommunicator(application, f"/ws/game/{game.code}/?seat=abc%00def",
                                 headers=[(b"host", b"testserver")])
    connected, _ = await comm.connect(timeout=15)
    assert connected is False
