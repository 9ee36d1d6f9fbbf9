"""An instructor's socket ends with the login session it was opened with, and the socket's
Origin check compares scheme, host and port."""
from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.sessions.models import Session
from django.test import Client
from serverkit import WAIT, closed_with, open_socket

from game import errors
from game.actions.lobby import join_game
from game.live.origin import origin_allowed
from game.models import Game

pytestmark = pytest.mark.django_db(transaction=True)
db = database_sync_to_async


def _logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


async def test_logging_out_closes_the_instructors_sockets(game, instructor):
    console = await db(_logged_in)(instructor)
    other_tab = await db(_logged_in)(instructor)  # another login session: stays open
    key, other_key = console.cookies["sessionid"].value, other_tab.cookies["sessionid"].value
    first, _ = await open_socket(game.code, cookies={"sessionid": key})
    second, _ = await open_socket(game.code, cookies={"sessionid": key})
    kept, _ = await open_socket(game.code, cookies={"sessionid": other_key})
    assert (await db(console.post)("/logout/")).status_code == 302
    assert [await closed_with(first), await closed_with(second)] == [errors.CLOSE_NO_IDENTITY] * 2
    await kept.send_json_to({"type": "ping", "id": "p"})
    reply = await kept.receive_json_from(timeout=WAIT)
    while reply["type"] != "pong":
        reply = await kept.receive_json_from(timeout=WAIT)
    await kept.disconnect()


async def test_a_control_after_the_session_ended_is_refused_and_closes_the_socket(
        game, instructor):
    console = await db(_logged_in)(instructor)
    key = console.cookies["sessionid"].value
    comm, _ = await open_socket(game.code, cookies={"sessionid": key})
    # The session ends without a logout on this server (expired, removed by an administrator).
    await db(lambda: Session.objects.all().delete())()
    await comm.send_json_to({"type": "control", "id": "k", "op": "start"})
    assert await closed_with(comm) == errors.CLOSE_NO_IDENTITY
    assert (await db(Game.objects.get)(pk=game.id)).status == "lobby"


async def test_a_control_with_a_live_session_still_works(game, instructor):
    console = await db(_logged_in)(instructor)
    key = console.cookies["sessionid"].value
    comm, _ = await open_socket(game.code, cookies={"sessionid": key})
    await comm.send_json_to({"type": "control", "id": "k", "op": "lock"})
    reply = await comm.receive_json_from(timeout=WAIT)
    while reply["type"] != "ok":
        reply = await comm.receive_json_from(timeout=WAIT)
    assert reply["op"] == "lock"
    await comm.disconnect()


@pytest.mark.parametrize("origin, host, scheme, allowed", [
    ("http://127.0.0.1:8000", "127.0.0.1:8000", "http", True),
    ("http://127.0.0.1:9999", "127.0.0.1:8000", "http", False),  # another port, same host
    ("http://localhost:1234", "127.0.0.1:8000", "http", False),  # a listed host, another port
    ("http://localhost:8000", "127.0.0.1:8000", "http", True),  # a listed host, same port
    ("https://127.0.0.1:8000", "127.0.0.1:8000", "http", False),  # another scheme
    ("http://game.example.edu", "game.example.edu", "https", False),
    ("https://game.example.edu", "game.example.edu", "https", True),  # default port 443
    ("https://game.example.edu:443", "game.example.edu", "https", True),
    ("http://game.example.edu:80", "game.example.edu", "http", True),
    ("http://game.example.edu:8080", "game.example.edu", "http", False),
    ("http://[::1]:8000", "[::1]:8000", "http", True),
    ("http://user@127.0.0.1:8000", "127.0.0.1:8000", "http", False),
    ("http://127.0.0.1:notaport", "127.0.0.1:8000", "http", False),
])
def test_the_origin_must_match_scheme_host_and_port(settings, origin, host, scheme, allowed):
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]", "game.example.edu"]
    assert origin_allowed(origin, host, scheme) is allowed


async def test_a_page_on_another_port_of_the_same_host_cannot_open_a_socket(game):
    from game.asgi import application

    _seat, token = await db(join_game)(game.code, "Ann")
    for origin in (b"http://127.0.0.1:9999", b"http://localhost:1234"):
        comm = WebsocketCommunicator(application, f"/ws/game/{game.code}/", headers=[
            (b"host", b"127.0.0.1:8000"), (b"origin", origin),
            (b"cookie", f"seat_{game.code}={token}".encode())])
        connected, _ = await comm.connect(timeout=WAIT)
        assert not connected, origin
    comm, snap = await open_socket(game.code, cookies={f"seat_{game.code}": token},
                                   host="127.0.0.1:8000", origin="http://127.0.0.1:8000")
    assert snap["type"] == "snapshot"
    await comm.disconnect()
