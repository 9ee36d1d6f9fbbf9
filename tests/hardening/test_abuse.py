"""Abuse: join floods, code guessing, nickname tricks, XSS, CSRF, cross-site sockets, one seat on
two devices, another instructor's game, oversized and flooding messages."""
from __future__ import annotations

import io
import itertools
import json
import zipfile
from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import timezone
from serverkit import WAIT, closed_with, open_socket, session_cookie, student_socket

from game import engine, errors, names
from game.actions.clock import end_game
from game.actions.lobby import JoinError, join_game
from game.actions.orders import submit_command
from game.actions.setup import Overrides, create_game
from game.actions.start import start_game
from game.models import Game, Seat

pytestmark = [pytest.mark.server, pytest.mark.django_db(transaction=True)]
db = database_sync_to_async


def _join(client: Client, code: str, nickname: str = "") -> Any:
    client.get(f"/join/{code}")
    return client.post("/join", {"code": code, "nickname": nickname})


# --- join floods, lobby cap, code guessing -------------------------------------------------------

def test_it_rate_limits_joins_from_one_address(game: Any, settings: Any) -> None:
    settings.JOIN_RATE_PER_IP = 3
    def flood() -> Client:  # a script: no cookies kept between its joins
        return Client(REMOTE_ADDR="203.0.113.7")

    assert [_join(flood(), game.code).status_code for _ in range(4)] == [302, 302, 302, 429]
    assert b"Too many attempts" in _join(flood(), game.code).content
    # Another address (another classroom) is not affected.
    assert _join(Client(REMOTE_ADDR="198.51.100.1"), game.code).status_code == 302
    assert Seat.objects.filter(game=game, kind="human").count() == 4


def test_it_rate_limits_joins_into_one_game(game: Any, settings: Any, instructor: Any) -> None:
    settings.JOIN_RATE_PER_GAME = 2
    other = create_game(instructor, "test_market", Overrides(seed=3))
    codes = [_join(Client(REMOTE_ADDR=f"10.0.0.{i}"), game.code).status_code for i in range(3)]
    assert codes == [302, 302, 429]
    assert _join(Client(REMOTE_ADDR="10.0.1.1"), other.code).status_code == 302


def test_it_caps_the_lobby(game: Any, settings: Any) -> None:
    settings.GAME_MAX_SEATS = 2
    assert _join(Client(), game.code, "Ann").status_code == 302
    assert _join(Client(), game.code, "Bob").status_code == 302
    full = _join(Client(), game.code, "Cy")
    assert full.status_code == 400 and b"This game is full." in full.content
    with pytest.raises(JoinError) as exc:
        join_game(game.code, "Dee")
    assert exc.value.code == "full"


def test_game_codes_are_too_many_to_guess() -> None:
    # 31^6 ≈ 8.9e8 codes; at the default 60 misses a minute an address needs years per live game.
    assert len(names.CODE_ALPHABET) ** names.CODE_LENGTH > 5 * 10**8
    assert len({names.new_code() for _ in range(2000)}) == 2000


async def test_it_stops_code_guessing_over_http_and_websocket(game: Any, settings: Any) -> None:
    settings.CODE_MISSES_PER_IP = 3
    guesser = Client(REMOTE_ADDR="192.0.2.66")
    await db(guesser.get)("/join/AAAAAA")
    for wrong in ("AAAAAA", "BBBBBB"):
        assert (await db(guesser.post)("/join", {"code": wrong})).status_code == 400
    assert (await db(guesser.get)("/qr/CCCCCC.svg")).status_code == 404
    # Three misses: now even the right code is refused to this address, on every door.
    assert (await db(guesser.post)("/join", {"code": game.code})).status_code == 429
    assert (await db(guesser.get)(f"/qr/{game.code}.svg")).status_code == 429
    comm = WebsocketCommunicator(__import__("game.asgi").asgi.application,
                                 f"/ws/game/{game.code}/", headers=[(b"host", b"testserver")])
    comm.scope["client"] = ("192.0.2.66", 40000)
    assert (await comm.connect(timeout=WAIT))[0]
    assert await closed_with(comm) == errors.CLOSE_FLOODING
    # A student on another address joins as usual.
    assert (await db(_join)(Client(REMOTE_ADDR="192.0.2.1"), game.code)).status_code == 302


async def test_a_socket_to_an_unknown_code_counts_as_a_guess(game: Any, settings: Any) -> None:
    settings.CODE_MISSES_PER_IP = 2
    from game.asgi import application

    async def knock(code: str) -> int:
        comm = WebsocketCommunicator(application, f"/ws/game/{code}/",
                                     headers=[(b"host", b"testserver")])
        comm.scope["client"] = ("192.0.2.99", 40000)
        await comm.connect(timeout=WAIT)
        return await closed_with(comm)

    assert [await knock("ZZZZZZ"), await knock("YYYYYY"), await knock(game.code)] == [
        errors.CLOSE_NO_GAME, errors.CLOSE_NO_GAME, errors.CLOSE_FLOODING]


# --- nicknames ----------------------------------------------------------------------------------

@pytest.mark.parametrize("typed,expected", [
    ("Ann\u200bie", "Annie"),                       # zero-width space
    ("\u202eevil\u202c", "evil"),                   # RTL override and pop
    ("Ja\u2066ne\u2069", "Jane"),                   # bidi isolates
    ("Z" + "\u0301" * 40 + "oe", "\u0179\u0301\u0301oe"),  # mark spam: at most two kept
    ("  Spaced   Out  ", "Spaced Out"),
    ("Tab\tand\nnewline", "Tabandnewline"),
    ("ｗｉｄｅ", "wide"),                            # fullwidth folded (NFKC)
    ("<svg onload=alert(1)>", "<svg onload=alert(1)>"),  # kept as text: escaped on output
])
def test_it_sanitizes_nickname_tricks(typed: str, expected: str) -> None:
    assert names.clean_nickname(typed) == expected


@pytest.mark.parametrize("typed", [
    "fuck", "F U C K", "f\u200buck", "ｆｕｃｋ", "\U0001d41f\U0001d42e\U0001d41c\U0001d424",
    "n\u0430zi", "\u0455hit", "h\u0456tler", "f\u00fack", "sh1t", "n@zi", "Admin", "Te4cher",
    "x", "\u200b\u200b\u200b", "...", "a" * 25, "\u0301\u0301\u0301",
])
def test_it_refuses_abusive_or_empty_nicknames(typed: str) -> None:
    with pytest.raises(names.NicknameError):
        names.clean_nickname(typed)


def test_every_generated_nickname_passes_its_own_filter() -> None:
    for adj, animal in itertools.product(names._ADJECTIVES, names._ANIMALS):
        nick = f"{adj} {animal}"
        assert names.clean_nickname(nick) == nick


# --- XSS in every field rendered anywhere ---------------------------------------------------------

NICK_XSS = "<svg onload=alert(1)>"
NAME_XSS = "</script><script>alert('name')</script><img src=x onerror=alert(2)>"
RAW = ("<svg onload", "<script>alert", "<img src=x")


def _assert_inert(body: bytes, where: str) -> None:
    text = body.decode("utf-8", "replace")
    for marker in RAW:
        assert marker not in text, f"{where} renders {marker!r} unescaped"


def test_it_escapes_hostile_names_on_every_page_and_export(preset_dir: Any, instructor: Any
                                                           ) -> None:
    teacher = Client()
    teacher.force_login(instructor)
    created = teacher.post("/console/", {"preset": "test_market", "name": NAME_XSS, "bots": "on"})
    assert created.status_code == 302
    game = Game.objects.get(owner=instructor)
    student = Client()
    assert _join(student, game.code, NICK_XSS).status_code == 302
    pages = {"join": student.get(f"/join/{game.code}"),
             "play (lobby)": student.get(f"/play/{game.code}/"),
             "console index": teacher.get("/console/"),
             "console game (lobby)": teacher.get(f"/console/{game.code}/"),
             "projector (lobby)": Client().get(f"/projector/{game.code}/{game.projector_token}/")}
    start_game(game.id)
    for _ in range(2):
        engine.settle_tick(game.id, timezone.now() + timedelta(hours=1))
    pages.update({"play": student.get(f"/play/{game.code}/"),
                  "console game": teacher.get(f"/console/{game.code}/"),
                  "projector": Client().get(f"/projector/{game.code}/{game.projector_token}/")})
    end_game(game.id)
    pages.update({"debrief": teacher.get(f"/console/{game.code}/debrief/"),
                  "report": student.get(f"/report/{game.code}/"),
                  "bands": teacher.get(f"/console/{game.code}/debrief/bands")})
    for where, response in pages.items():
        assert response.status_code == 200, (where, response.status_code)
        _assert_inert(response.content, where)
    # The hostile strings did reach the pages, as text (so the test is not vacuous).
    assert "&lt;svg onload=alert(1)&gt;" in pages["play"].content.decode() or \
        "\\u003Csvg onload" in pages["play"].content.decode()
    exported = teacher.get(f"/console/{game.code}/export.zip?nicknames=1")
    assert exported.status_code == 200
    with zipfile.ZipFile(io.BytesIO(exported.content)) as z:
        for name in z.namelist():
            if name.endswith((".html", ".htm")):
                _assert_inert(z.read(name), f"export {name}")
            if name.endswith(".csv"):
                for line in z.read(name).decode("utf-8-sig").splitlines():
                    for cell in line.split(","):
                        assert not cell.strip('"').startswith(("=", "+", "@")), (name, line)


def test_it_neutralises_spreadsheet_formulas_in_exported_nicknames(game: Any) -> None:
    teacher = Client()
    teacher.force_login(game.owner)
    seat, _token = join_game(game.code, "=HYPERLINK(1)")
    start_game(game.id)
    submit_command(seat.id, "c-1", {"do": "stake", "subnet": 1, "tao": 1.0})
    for _ in range(2):  # a whole epoch: its per-player rows carry nicknames too
        engine.settle_tick(game.id, timezone.now() + timedelta(hours=1))
    exported = teacher.get(f"/console/{game.code}/export.zip?nicknames=1")
    with zipfile.ZipFile(io.BytesIO(exported.content)) as z:
        text = "\n".join(z.read(n).decode("utf-8-sig") for n in z.namelist()
                         if n.endswith(".csv"))
    assert "HYPERLINK" in text and "'=HYPERLINK" in text
    assert ",=HYPERLINK" not in text and '"=HYPERLINK' not in text


# --- CSRF ---------------------------------------------------------------------------------------

def test_every_form_refuses_a_post_without_its_csrf_token(game: Any, instructor: Any) -> None:
    start_game(game.id)
    end_game(game.id)
    teacher = Client(enforce_csrf_checks=True)
    teacher.force_login(instructor)
    student = Client(enforce_csrf_checks=True)
    posts = [
        (teacher, "/console/", {"preset": "test_market"}),
        (teacher, f"/console/{game.code}/delete", {}),
        (teacher, f"/console/{game.code}/debrief/bands", {}),
        (teacher, "/logout/", {}),
        (student, "/join", {"code": game.code, "nickname": "Eve"}),
        (student, "/", {"code": game.code, "nickname": "Eve"}),
        (student, f"/join/{game.code}", {"nickname": "Eve"}),
        (student, f"/join/{game.code}/resume", {"token": "x"}),
        (student, f"/report/{game.code}/", {"token": "x"}),
        (Client(enforce_csrf_checks=True), "/login/", {"username": "teacher",
                                                       "password": "a-long-test-password"}),
    ]
    for client, url, data in posts:
        assert client.post(url, data).status_code == 403, url
    assert Game.objects.filter(pk=game.id).exists()
    assert Game.objects.filter(owner=instructor).count() == 1
    assert not Seat.objects.filter(game=game, nickname="Eve").exists()


# --- sockets: cross-site, two devices, another instructor ---------------------------------

async def test_it_refuses_a_socket_from_a_foreign_origin(game: Any) -> None:
    from game.asgi import application

    seat, token = await db(join_game)(game.code, "Ann")
    for origin in ("http://evil.example", "null", "http://testserver.evil.example",
                   "file://", "https://localhost.evil.example"):
        comm = WebsocketCommunicator(application, f"/ws/game/{game.code}/", headers=[
            (b"host", b"testserver"), (b"origin", origin.encode()),
            (b"cookie", f"seat_{game.code}={token}".encode())])
        connected, _ = await comm.connect(timeout=WAIT)
        assert not connected, origin
    comm, snap = await open_socket(game.code, cookies={f"seat_{game.code}": token},
                                   origin="http://testserver")
    assert snap["type"] == "snapshot"
    await comm.disconnect()


async def test_a_seat_opened_on_a_second_device_closes_the_first(game: Any) -> None:
    _seat, token, first, _ = await student_socket(game.code, "Ann")
    second, snap = await open_socket(game.code, cookies={f"seat_{game.code}": token})
    assert snap["you"]["nickname"] == "Ann"
    assert await closed_with(first) == errors.CLOSE_REPLACED
    await second.send_json_to({"type": "ping", "id": "p"})
    while (await second.receive_json_from(timeout=WAIT))["type"] != "pong":
        pass
    # And the other way round: the first device coming back wins again.
    third, _ = await open_socket(game.code, cookies={f"seat_{game.code}": token})
    assert await closed_with(second) == errors.CLOSE_REPLACED
    await third.disconnect()


async def test_another_instructor_can_neither_read_nor_control_a_game(
        game: Any, other_instructor: Any) -> None:
    rival = Client()
    await db(rival.force_login)(other_instructor)
    for url in (f"/console/{game.code}/", f"/console/{game.code}/debrief/",
                f"/console/{game.code}/export.zip", f"/console/{game.code}/debrief/bands"):
        assert (await db(rival.get)(url)).status_code == 404, url
    assert (await db(rival.post)(f"/console/{game.code}/delete")).status_code == 404
    cookie = await db(session_cookie)(other_instructor)
    comm, _ = await open_socket(game.code, cookies={"sessionid": cookie}, expect_snapshot=False)
    assert await closed_with(comm) == errors.CLOSE_NO_IDENTITY
    assert (await db(Game.objects.get)(pk=game.id)).status == "lobby"


# --- oversized and flooding messages -------------------------------------------------------

async def _pong(comm: Any) -> None:
    await comm.send_json_to({"type": "ping", "id": "alive"})
    while (msg := await comm.receive_json_from(timeout=WAIT))["type"] != "pong":
        pass
    assert msg["id"] == "alive"


async def test_an_oversized_message_closes_only_its_socket(game: Any) -> None:
    _s, _t, big, _ = await student_socket(game.code, "Ann")
    _s2, _t2, neighbour, _ = await student_socket(game.code, "Bob")
    await big.send_to(text_data=json.dumps({"type": "ping", "id": "x", "pad": "y" * 100_000}))
    while (reply := await big.receive_json_from(timeout=WAIT))["type"] != "error":
        pass  # Bob's lobby broadcast may come first
    assert reply["code"] == "too_large"
    assert await closed_with(big) == errors.CLOSE_TOO_LARGE
    await _pong(neighbour)
    await neighbour.disconnect()


async def test_a_flooding_socket_is_closed_and_its_neighbour_is_not(game: Any, settings: Any
                                                                    ) -> None:
    settings.WS_RATE_PER_SECOND = 0.1
    settings.WS_RATE_BURST = 5
    settings.WS_RATE_STRIKES = 10
    _s, _t, flood, _ = await student_socket(game.code, "Ann")
    _s2, _t2, neighbour, _ = await student_socket(game.code, "Bob")
    for i in range(40):
        await flood.send_json_to({"type": "ping", "id": f"f{i}"})
    codes = []
    while True:
        out = await flood.receive_output(timeout=WAIT)
        if out["type"] == "websocket.close":
            close = out["code"]
            break
        msg = json.loads(out["text"])
        if msg["type"] in ("pong", "error"):
            codes.append(msg.get("code"))
    assert close == errors.CLOSE_FLOODING
    assert codes.count("rate_limited") == 9 and codes.count(None) >= 5
    await flood.disconnect()
    await _pong(neighbour)
    await neighbour.disconnect()
