"""Rounds of one session (game/actions/rounds.py): a practice round before the real game, play again
with one setting changed, students' seats carried over without a new join, and bad input."""
from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from serverkit import write_preset

from game import engine, simapi
from game.actions import clock, lobby, rounds, start
from game.actions.setup import Overrides, create_game
from game.errors import ClientError
from game.live import identity, protocol
from game.live.identity import seat_cookie_name
from game.models import Game, Seat, SeatKind, Status

pytestmark = pytest.mark.django_db


@pytest.fixture
def sandbox(preset_dir: Any) -> None:
    write_preset(preset_dir, "sandbox",
                 clock={"blocks_per_tick": 100, "ticks_per_epoch": 2, "epochs": 8,
                        "tick_seconds": 9})
    simapi.presets.cache_clear()


def _student(client: Client, code: str, nickname: str) -> tuple[Client, Seat]:
    response = client.post(f"/join/{code}", {"code": code, "nickname": nickname})
    assert response.status_code == 302
    seat = Seat.objects.get(game__code=code, nickname=nickname)
    return client, seat


def _ended(game: Game) -> Game:
    start.start_game(game.id)
    clock.end_game(game.id)
    game.refresh_from_db()
    return game


def _carry(client: Client, to: str, frm: str) -> Any:
    return client.post(f"/join/{to}/carry", json.dumps({"from": frm}),
                       content_type="application/json")


def _messages(frames: list, kind: str) -> list[dict[str, Any]]:
    out = []
    for _group, event in frames:
        if "text" in event and json.loads(event["text"])["type"] == kind:
            out.append(json.loads(event["text"]))
    return out


@pytest.mark.django_db(transaction=True)
def test_it_makes_a_short_practice_round_with_the_lobby_and_moves_the_class_there(
        game, sandbox, frames):
    alice, a_seat = _student(Client(), game.code, "Alice")
    _bob, _b = _student(Client(), game.code, "Bob")
    lobby.kick(game.id, _b.id)
    result = rounds.practice(game.id)
    practice = Game.objects.get(code=result["code"])
    assert practice.practice and practice.preset == "sandbox"
    assert practice.total_ticks == rounds.PRACTICE_EPOCHS * 2
    assert practice.previous_round_id == game.id and practice.session_id == game.id
    assert [(s.nickname, s.from_seat_id) for s in practice.seats.all()] == [("Alice", a_seat.id)]
    moved = _messages(frames, "next_round")[-1]
    assert moved["next_round"]["code"] == practice.code and moved["next_round"]["practice"]
    # the same answer again, nothing new
    assert rounds.practice(game.id) == result
    assert Game.objects.count() == 2


def test_it_keeps_every_seat_from_practice_to_the_real_game_without_a_new_join(game, sandbox):
    alice, a_seat = _student(Client(), game.code, "Alice")
    practice = Game.objects.get(code=rounds.practice(game.id)["code"])
    response = _carry(alice, practice.code, game.code)
    assert response.json() == {"ok": True, "redirect": f"/play/{practice.code}/"}
    assert alice.get(f"/play/{practice.code}/").status_code == 200
    start.start_game(practice.id)
    result = rounds.to_real(practice.id)
    practice.refresh_from_db()
    game.refresh_from_db()
    assert result["code"] == game.code and practice.status == Status.ENDED
    assert game.moved_to_id is None and practice.moved_to_id == game.id
    assert _carry(alice, game.code, practice.code).json()["ok"] is True
    with pytest.raises(ClientError) as err:  # its practice is over
        rounds.practice(game.id)
    assert err.value.code == "bad_state"
    seat = lobby.resume_seat(game.code, alice.cookies[seat_cookie_name(game.code)].value)
    assert seat.id == a_seat.id and seat.nickname == "Alice"
    assert game.seats.filter(kind=SeatKind.HUMAN).count() == 1  # no second seat


@pytest.mark.django_db(transaction=True)
def test_it_plays_again_with_the_same_roster_a_fresh_seed_and_one_setting_changed(
        game, frames):
    alice, a_seat = _student(Client(), game.code, "Alice")
    lobby.set_foundation(game.id, True)
    _ended(game)
    result = rounds.play_again(game.id, "foundation_stake", 1234.0)
    nxt = Game.objects.get(code=result["code"])
    assert nxt.status == Status.LOBBY and nxt.previous_round_id == game.id
    assert nxt.seed != game.seed
    assert nxt.round_change == {"setting": "foundation_stake", "value": 1234.0}
    assert nxt.name == "Test market · round 2"
    seats = sorted((s.kind, s.nickname, s.from_seat_id) for s in nxt.seats.all())
    found = game.seats.get(kind=SeatKind.FOUNDATION)
    assert seats == [("foundation", "The Foundation", found.id), ("human", "Alice", a_seat.id)]
    scn = json.loads(nxt.scenario)
    assert next(p for p in scn["players"] if p["id"] == "otf")["root_stake"] == 1234.0
    assert [p["id"] for p in scn["players"]] == ["otf", "m1"]  # the preset's, not the roster
    assert _messages(frames, "next_round")[-1]["next_round"]["code"] == nxt.code
    # the student's page carries the seat: no join, same nickname
    assert _carry(alice, nxt.code, game.code).json()["ok"] is True
    ident = identity.resolve(nxt.code, projector=None, user=None,
                             seat_token=alice.cookies[seat_cookie_name(nxt.code)].value)
    assert ident.seat_id == nxt.seats.get(nickname="Alice").id
    # round 2 starts and plays like any game
    start.start_game(nxt.id)
    clock.advance(nxt.id)
    assert engine.settle_tick(nxt.id)


def test_it_switches_the_rule_and_registration_for_the_next_round(game):
    _ended(game)
    nxt = Game.objects.get(code=rounds.play_again(game.id, "rules", "tao_flow")["code"])
    assert "tao_flow" in json.loads(nxt.scenario)["rules"]
    _ended(nxt)
    third = Game.objects.get(code=rounds.play_again(nxt.id, "registration", False)["code"])
    scn = json.loads(third.scenario)
    assert scn["params"]["registration_open"] == 0 and "tao_flow" in scn["rules"]
    assert third.session_id == game.id and third.name == "Test market · round 3"


@pytest.mark.django_db(transaction=True)
def test_a_second_play_again_answers_with_the_first_round(game, frames):
    _ended(game)
    first = rounds.play_again(game.id)
    sent = len(frames)
    assert rounds.play_again(game.id, "rules", "tao_flow") == first
    assert Game.objects.count() == 2 and len(frames) == sent


@pytest.mark.parametrize("setting, value, code", [
    ("colour", "red", "unknown_setting"),
    ("rules", "chain_buys", "bad_value"),
    ("registration", "yes", "bad_value"),
    ("foundation_stake", -1.0, "bad_value"),
    ("foundation_stake", True, "bad_value"),
    (None, 5.0, "bad_value"),
])
def test_bad_play_again_settings_get_a_stable_code_and_change_nothing(game, setting, value,
                                                                      code):
    _ended(game)
    seq = game.seq
    with pytest.raises(ClientError) as err:
        rounds.play_again(game.id, setting, value)
    assert err.value.code == code
    game.refresh_from_db()
    assert Game.objects.count() == 1 and game.seq == seq and game.moved_to_id is None


@pytest.mark.parametrize("status", ["lobby", "running"])
def test_play_again_on_a_game_not_over_is_refused(game, status):
    if status == "running":
        start.start_game(game.id)
    with pytest.raises(ClientError) as err:
        rounds.play_again(game.id)
    assert err.value.code == "bad_state" and Game.objects.count() == 1


def test_practice_is_refused_once_the_game_has_started_and_to_real_outside_a_practice(game):
    start.start_game(game.id)
    for action in (rounds.practice, rounds.to_real):
        with pytest.raises(ClientError) as err:
            action(game.id)
        assert err.value.code == "bad_state"
    assert Game.objects.count() == 1


def test_a_seat_is_not_carried_without_its_token_or_into_a_game_the_class_was_not_sent_to(
        game, preset_dir, instructor):
    alice, _seat = _student(Client(), game.code, "Alice")
    _ended(game)
    nxt = rounds.play_again(game.id)["code"]
    other = create_game(instructor, "test_market", Overrides())
    assert _carry(Client(), nxt, game.code).status_code == 404  # no cookie
    assert _carry(alice, other.code, game.code).status_code == 404
    assert Client().post(f"/join/{nxt}/carry", "[1]",
                         content_type="application/json").status_code == 400
    assert Game.objects.get(code=nxt).seats.get(nickname="Alice").token_hash is None


def test_the_protocol_keeps_unknown_settings_for_the_action_and_refuses_unknown_fields():
    msg = protocol.parse(json.dumps({"type": "control", "id": "k-1", "op": "play_again",
                                     "setting": "colour", "value": "red"}))
    assert (msg.setting, msg.value) == ("colour", "red")
    with pytest.raises(ClientError) as err:
        protocol.parse(json.dumps({"type": "control", "id": "k-1", "op": "play_again",
                                   "rules": "tao_flow"}))
    assert err.value.code == "invalid"


def test_the_console_lists_the_rounds_of_a_session_together(game, sandbox, instructor):
    client = Client()
    client.force_login(instructor)
    alice, _ = _student(Client(), game.code, "Alice")
    rounds.practice(game.id)
    _ended(game)
    rounds.play_again(game.id)
    create_game(instructor, "test_market", Overrides(name="Other class"))
    sessions = client.get("/console/").context["sessions"]
    assert [s["name"] for s in sessions] == ["Other class", "Test market"]
    assert [(r["round"], r["players"], r["game"].status) for r in sessions[1]["rounds"]] == [
        ("1", 1, "ended"), ("practice", 1, "lobby"), ("2", 1, "lobby")]
    assert sessions[1]["rounds"][0]["debrief"] is True
    assert sessions[1]["rounds"][0]["length"].startswith("0/3 epochs · ")


def _play_out(game: Game) -> None:
    start.start_game(game.id)
    while True:
        game.refresh_from_db()
        if game.status == Status.ENDED:
            return
        clock.advance(game.id, "epoch")
        engine.settle_tick(game.id)


def test_the_debrief_of_round_two_shows_round_one_beside_it(game, instructor, settings,
                                                            tmp_path):
    settings.VAR_DIR = tmp_path
    client = Client()
    client.force_login(instructor)
    _alice, _seat = _student(Client(), game.code, "Alice")
    _play_out(game)
    nxt = Game.objects.get(code=rounds.play_again(game.id, "rules", "tao_flow")["code"])
    _play_out(nxt)
    first = client.get(f"/console/{game.code}/debrief/")
    assert first.context["compare"] is None and b'id="compare"' not in first.content
    page = client.get(f"/console/{nxt.code}/debrief/")
    cmp = page.context["compare"]
    assert (cmp["previous"]["code"], cmp["this"]["code"]) == (game.code, nxt.code)
    assert (cmp["previous"]["rules"], cmp["this"]["rules"]) == ("launch", "tao_flow")
    assert cmp["same_students"] == 1 and cmp["this"]["epochs"] == [0, 1, 2]
    assert len(cmp["previous"]["network_health"]) == 3
    assert len(cmp["this"]["students_return"]) == 3
    assert "Same class, rule changed" in page.content.decode()


def test_the_projector_follows_its_class_with_the_token_of_the_round_it_was_on(game):
    _ended(game)
    nxt = Game.objects.get(code=rounds.play_again(game.id)["code"])
    client = Client()
    response = client.get(f"/projector/{nxt.code}/{game.projector_token}/")
    assert response.status_code == 302
    assert response["Location"] == f"/projector/{nxt.code}/{nxt.projector_token}/"
    assert client.get(f"/projector/{game.code}/{nxt.projector_token}/").status_code == 404
    assert client.get(f"/projector/{nxt.code}/not-a-token/").status_code == 404


@pytest.mark.django_db(transaction=True)
async def test_the_console_socket_answers_play_again_with_stable_codes_then_the_first_round(
        game):
    from channels.db import database_sync_to_async as db
    from serverkit import WAIT, open_socket, session_cookie

    cookie = await db(session_cookie)(game.owner)
    comm, _snap = await open_socket(game.code, cookies={"sessionid": cookie})

    async def ask(**fields: Any) -> dict[str, Any]:
        await comm.send_json_to({"type": "control", "id": "k-1", "op": "play_again", **fields})
        while (msg := await comm.receive_json_from(timeout=WAIT))["type"] not in ("ok", "error"):
            pass
        return msg

    await db(start.start_game)(game.id)
    assert (await ask())["code"] == "bad_state"  # running
    await db(clock.end_game)(game.id)
    assert (await ask(setting="colour", value="red"))["code"] == "unknown_setting"
    assert (await ask(setting="rules", value=3.0))["code"] == "bad_value"
    assert await db(Game.objects.count)() == 1
    first = await ask(setting="registration", value=False)
    assert first["type"] == "ok" and first["op"] == "play_again"
    again = await ask()
    assert again["result"] == first["result"] and await db(Game.objects.count)() == 2
    await comm.disconnect()
