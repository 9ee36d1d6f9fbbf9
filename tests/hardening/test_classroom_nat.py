"""A class behind one school NAT address (issue 11 item 4, issue 15 item 2): every phone, the
console and the projector share the address that strangers' guesses are counted against, so the
code-guessing limit holds back only requests that prove no identity, and the game's join budget
is spent only by seats actually created."""
from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from serverkit import WAIT, closed_with, session_cookie

from game import errors, ratelimit
from game.models import Seat

pytestmark = [pytest.mark.server, pytest.mark.django_db(transaction=True)]
db = database_sync_to_async

SCHOOL = "198.51.100.20"  # the NAT address every device of the class shares


def _join(client: Client, code: str, nickname: str = "") -> Any:
    client.get(f"/join/{code}")
    return client.post("/join", {"code": code, "nickname": nickname})


async def _socket(code: str, cookies: dict[str, str], query: str = ""
                  ) -> WebsocketCommunicator:
    from game.asgi import application

    headers = [(b"host", b"testserver"),
               (b"cookie", "; ".join(f"{k}={v}" for k, v in cookies.items()).encode())]
    comm = WebsocketCommunicator(application, f"/ws/game/{code}/" + (f"?{query}" if query else ""),
                                 headers=headers)
    comm.scope["client"] = (SCHOOL, 40000)
    assert (await comm.connect(timeout=WAIT))[0]
    return comm


async def _opened(comm: WebsocketCommunicator) -> str:
    """The first message's type, or the close code the server answered with."""
    out = await comm.receive_output(timeout=WAIT)
    if out["type"] == "websocket.close":
        return f"closed {out['code']}"
    import json

    return json.loads(out["text"])["type"]


async def _drain_until_quiet(comm: WebsocketCommunicator) -> list[str]:
    """Everything the server has sent this socket so far (its types, or the close)."""
    seen = []
    while not await comm.receive_nothing(timeout=0.2):
        out = await comm.receive_output(timeout=WAIT)
        seen.append(out["type"] if out["type"] == "websocket.close" else "message")
    return seen


async def test_sixty_phones_behind_one_address_join_make_mistakes_and_reconnect(
        game: Any, instructor: Any) -> None:
    console = await _socket(game.code, {"sessionid": await db(session_cookie)(instructor)})
    projector = await _socket(game.code, {}, f"projector={game.projector_token}")
    assert [await _opened(console), await _opened(projector)] == ["snapshot", "snapshot"]

    # Sixty students join within the minute from the school's address; ten of them first type
    # a wrong code, two double-tap the button.
    phones: list[Client] = []
    answers: list[int] = []
    for i in range(60):
        phone = Client(REMOTE_ADDR=SCHOOL)
        if i % 6 == 0:
            answers.append((await db(_join)(phone, "WRONG" + "ABCDEFGHJK"[i // 6])).status_code)
        answers.append((await db(_join)(phone, game.code, f"Kid {i:02d}")).status_code)
        if i in (7, 31):
            answers.append((await db(_join)(phone, game.code, f"Kid {i:02d}")).status_code)
        phones.append(phone)
    assert answers.count(400) == 10 and answers.count(302) == 62 and len(answers) == 72
    assert await db(Seat.objects.filter(game=game, kind="human").count)() == 60  # no doubles

    # Everyone opens the game: one socket per phone, all from the same address.
    cookie = f"seat_{game.code}"
    sockets = [await _socket(game.code, {cookie: p.cookies[cookie].value}) for p in phones]
    assert [await _opened(s) for s in sockets] == ["snapshot"] * 60

    # A stranger on the school network guesses codes until the address is over the limit.
    stranger = Client(REMOTE_ADDR=SCHOOL)
    while not await db(ratelimit.guessing)(SCHOOL):
        assert (await db(_join)(stranger, "ZZZZZZ")).status_code == 400
    assert (await db(_join)(stranger, game.code)).status_code == 429  # no identity: held back
    nobody = await _socket(game.code, {})
    assert await closed_with(nobody) == errors.CLOSE_FLOODING

    # The whole class reconnects at once (a Wi-Fi hiccup), console and projector included:
    # every one of them proves who it is, so none is refused.
    await asyncio.gather(*(s.disconnect() for s in sockets))
    sockets = [await _socket(game.code, {cookie: p.cookies[cookie].value}) for p in phones]
    again_console = await _socket(game.code, {"sessionid": await db(session_cookie)(instructor)})
    again_projector = await _socket(game.code, {}, f"projector={game.projector_token}")
    opened = await asyncio.gather(*(_opened(s) for s in [*sockets, again_console,
                                                         again_projector]))
    assert opened == ["snapshot"] * 62
    # A double tap from a phone that already has its seat goes back to it, limit or not.
    back = await db(_join)(phones[0], game.code, "Kid 00")
    assert (back.status_code, back["Location"]) == (302, f"/play/{game.code}/")
    assert await db(Seat.objects.filter(game=game, kind="human").count)() == 60
    # The console and projector opened first were never closed.
    assert "websocket.close" not in await _drain_until_quiet(console)
    assert "websocket.close" not in await _drain_until_quiet(projector)
    for s in [*sockets, console, projector, again_console, again_projector]:
        await s.disconnect()


def test_refused_joins_spend_the_address_budget_not_the_games(game: Any, settings: Any) -> None:
    settings.JOIN_RATE_PER_GAME = 3
    settings.JOIN_RATE_PER_IP = 5
    assert _join(Client(REMOTE_ADDR="10.9.0.1"), game.code, "Ann").status_code == 302
    # A stranger who read the code off the projector sends joins the game refuses (a taken
    # name): each one is counted against the stranger's address, none against the game.
    stranger = [_join(Client(REMOTE_ADDR="203.0.113.9"), game.code, "Ann").status_code
                for _ in range(7)]
    assert stranger == [400] * 5 + [429] * 2
    # The class's budget is whole: two more seats fit, the third is over JOIN_RATE_PER_GAME.
    assert [_join(Client(REMOTE_ADDR=SCHOOL), game.code, name).status_code
            for name in ("Bea", "Cy", "Dee")] == [302, 302, 429]
    assert sorted(Seat.objects.filter(game=game, kind="human").values_list(
        "nickname", flat=True)) == ["Ann", "Bea", "Cy"]
