"""GET /g/<code>/history: the charts' past over HTTP (game/live/history.py, docs/pages.md): who may
read it, that its columns are the stored tick rows, its ranges, gzip and caching."""
from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from game import engine
from game.actions.clock import advance
from game.actions.lobby import join_game, kick
from game.actions.orders import submit_command
from game.actions.setup import Overrides, create_game
from game.actions.start import start_game
from game.live.history import MAX_TICKS, SUBNET_FIELDS
from game.models import EpochRow, TickRow

pytestmark = pytest.mark.django_db


def _play(game: Any, ticks: int) -> tuple[Any, str]:
    seat, token = join_game(game.code, "Alice")
    start_game(game.id)
    for _ in range(ticks):
        advance(game.id, "tick")
        assert engine.settle_tick(game.id)
    game.refresh_from_db()
    return seat, token


def _student(code: str, token: str) -> Client:
    client = Client()
    client.cookies[f"seat_{code}"] = token
    return client


def _get(client: Client, code: str, query: str = "", **headers: Any) -> Any:
    return client.get(f"/g/{code}/history" + (f"?{query}" if query else ""), **headers)


def _rows(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows the columns stand for (what static/js/store.js rebuilds)."""
    out = []
    for i, tick in enumerate(body["ticks"]):
        subnets = [{"id": s["id"], **{f: s[f][i] for f in SUBNET_FIELDS}}
                   for s in body["subnets"] if any(s[f][i] is not None for f in SUBNET_FIELDS)]
        out.append({"tick": tick, "epoch": body["epoch"][i], "subnets": subnets})
    return out


def _stored(game: Any, lo: int, hi: int) -> list[dict[str, Any]]:
    rows = [json.loads(r) for r in TickRow.objects.filter(
        game=game, tick__gte=lo, tick__lte=hi).order_by("tick").values_list("row", flat=True)]
    return [{"tick": r["tick"], "epoch": r["epoch"],
             "subnets": [{"id": s["id"], **{f: s[f] for f in SUBNET_FIELDS}}
                         for s in r["subnets"]]} for r in rows]


def test_it_refuses_a_request_without_an_identity_for_the_game(game: Any, instructor: Any,
                                                               preset_dir: Any) -> None:
    _seat, token = _play(game, 2)
    assert _get(Client(), game.code).status_code == 403
    assert _get(_student(game.code, "not-a-token"), game.code).status_code == 403
    assert _get(Client(), game.code, HTTP_X_PROJECTOR_TOKEN="wrong").status_code == 403
    # The projector token is a header, not a query parameter (it stays out of access logs).
    assert _get(Client(), game.code, f"projector={game.projector_token}").status_code == 403
    # A seat of another game, under that game's cookie name or this one's.
    other = create_game(instructor, "test_market", Overrides())
    _other_seat, other_token = join_game(other.code, "Bob")
    assert _get(_student(other.code, other_token), game.code).status_code == 403
    assert _get(_student(game.code, other_token), game.code).status_code == 403
    # Another instructor; an unknown game answers the same (no code is confirmed).
    stranger = Client()
    stranger.force_login(User.objects.create_user("other", password="a-long-test-password"))
    assert _get(stranger, game.code).status_code == 403
    unknown = _get(_student("ZZZZZZ", token), "ZZZZZZ")
    assert unknown.status_code == 403 and unknown.json()["error"] == "forbidden"
    # A kicked seat is no longer the game's.
    assert _get(_student(game.code, token), game.code).status_code == 200
    kick(game.id, _seat.id)
    assert _get(_student(game.code, token), game.code).status_code == 403


def test_it_answers_the_seat_the_instructor_and_the_projector(game: Any, instructor: Any) -> None:
    _seat, token = _play(game, 2)
    teacher = Client()
    teacher.force_login(instructor)
    answers = [_get(_student(game.code, token), game.code), _get(teacher, game.code),
               _get(Client(), game.code, HTTP_X_PROJECTOR_TOKEN=game.projector_token)]
    assert [r.status_code for r in answers] == [200, 200, 200]
    assert answers[0].content == answers[1].content == answers[2].content
    assert answers[0]["Content-Type"] == "application/json"


def test_its_columns_are_the_stored_tick_and_epoch_rows(game: Any) -> None:
    _seat, token = _play(game, 5)
    body = _get(_student(game.code, token), game.code).json()
    assert body["from"] == 0 and body["to"] == 4 and body["ticks"] == [0, 1, 2, 3, 4]
    assert _rows(body) == _stored(game, 0, 4)
    assert [s["id"] for s in body["subnets"]] == [1, 2]
    epochs = [json.loads(r) for r in EpochRow.objects.filter(game=game).order_by("epoch")
              .values_list("row", flat=True)]
    assert len(epochs) == 2
    assert body["epoch_rows"] == {"epoch": [e["epoch"] for e in epochs],
                                  "tick": [e["tick"] for e in epochs],
                                  "network_health": [e["network_health"] for e in epochs]}


def test_a_subnet_registered_mid_game_is_null_before_it_existed(game: Any) -> None:
    seat, token = _play(game, 1)
    submit_command(seat.id, "reg-1", {"do": "register_subnet", "name": "Late"})
    for _ in range(2):
        advance(game.id, "tick")
        assert engine.settle_tick(game.id)
    body = _get(_student(game.code, token), game.code).json()
    stored = _stored(game, 0, 2)
    assert len(stored[0]["subnets"]) == 2 and len(stored[2]["subnets"]) == 3  # it registered
    late = body["subnets"][2]
    assert late["price"][0] is None and late["price"][2] is not None
    assert _rows(body) == stored


def test_it_serves_ranges_and_refuses_bad_ones(game: Any) -> None:
    _seat, token = _play(game, 5)
    client = _student(game.code, token)
    part = _get(client, game.code, "from=1&to=3").json()
    assert (part["from"], part["to"], part["ticks"]) == (1, 3, [1, 2, 3])
    assert _rows(part) == _stored(game, 1, 3)
    assert part["epoch_rows"]["tick"] == [1, 3]  # two ticks an epoch: epochs close at 1, 3
    # Past the last settled tick (4): cut at it.
    late = _get(client, game.code, "from=3&to=99").json()
    assert (late["from"], late["to"], late["ticks"]) == (3, 4, [3, 4])
    # Nothing settled there yet: an empty answer.
    empty = _get(client, game.code, "from=7").json()
    assert empty["ticks"] == [] and empty["subnets"] == [] and empty["epoch_rows"]["epoch"] == []
    for query in ("from=-1", "from=x", "to=1.5", "from=3&to=2", "from=1234567890"):
        refused = _get(client, game.code, query)
        assert refused.status_code == 400 and refused.json()["error"] == "bad_range", query
    assert MAX_TICKS == 2000  # = static/js/store.js HISTORY_MAX


def test_it_caps_one_answer_at_max_ticks(game: Any, monkeypatch: Any) -> None:
    from game.live import history

    monkeypatch.setattr(history, "MAX_TICKS", 2)
    _seat, token = _play(game, 5)
    client = _student(game.code, token)
    assert _get(client, game.code).json()["ticks"] == [3, 4]  # default: the latest
    assert _get(client, game.code, "from=0&to=4").json()["ticks"] == [0, 1]


def test_it_gzips_and_lets_a_browser_cache_a_settled_range(game: Any) -> None:
    _seat, token = _play(game, 5)
    client = _student(game.code, token)
    plain = _get(client, game.code, "from=0&to=3")
    zipped = _get(client, game.code, "from=0&to=3", HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert "Content-Encoding" not in plain
    assert zipped["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.content) == plain.content
    print(f"\n4 ticks: {len(plain.content)} bytes, gzipped {len(zipped.content)}")
    # Both ends given and settled: never changes.
    assert plain["Cache-Control"] == "private, max-age=86400, immutable"
    assert plain["ETag"] == zipped["ETag"]
    again = _get(client, game.code, "from=0&to=3", HTTP_IF_NONE_MATCH=plain["ETag"])
    assert again.status_code == 304 and again.content == b""
    # Open-ended or cut at the last settled tick: revalidate.
    for query in ("", "from=0", "from=0&to=9"):
        assert _get(client, game.code, query)["Cache-Control"] == "private, no-cache", query
