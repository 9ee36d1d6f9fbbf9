"""One student, one seat (issue #13): a device (its `dtao_device` cookie) holds one seat per
game. Joining again from it, even under another name and without the seat cookie, returns its
seat (and the console sees the attempt); a device whose seat was kicked stays out; another
device is another student."""
from __future__ import annotations

import pytest
from django.test import Client

from game import readmodel
from game.actions.lobby import kick
from game.live.identity import seat_cookie_name
from game.models import Seat

pytestmark = pytest.mark.django_db


def _join(client: Client, code: str, nickname: str):
    return client.post(f"/join/{code}", {"code": code, "nickname": nickname})


def test_a_device_that_has_a_seat_gets_it_back_instead_of_a_second(game):
    phone = Client()
    assert _join(phone, game.code, "Ann").status_code == 302
    device = phone.cookies["dtao_device"].value
    assert len(device) >= 40 and phone.cookies["dtao_device"]["httponly"]
    del phone.cookies[seat_cookie_name(game.code)]      # the seat cookie is gone, the device not
    response = _join(phone, game.code, "Puppet")
    assert (response.status_code, response["Location"]) == (302, f"/play/{game.code}/")
    seats = list(Seat.objects.filter(game=game, kind="human"))
    assert [(s.nickname, s.other_seat_attempts) for s in seats] == [("Ann", 1)]
    assert phone.get(f"/play/{game.code}/").status_code == 200   # the new seat cookie works
    roster = {r["nickname"]: r for r in readmodel.roster(game)}
    assert roster["Ann"]["other_seat_attempts"] == 1


def test_a_kicked_device_stays_out_and_its_name_is_free_for_another(game):
    phone = Client()
    _join(phone, game.code, "Ann")
    kick(game.id, Seat.objects.get(game=game, nickname="Ann").id)
    refused = _join(phone, game.code, "Ann again")
    assert refused.status_code == 400
    assert "You were removed from this game." in refused.content.decode()
    assert Seat.objects.filter(game=game, kind="human").count() == 1
    other = Client()
    assert _join(other, game.code, "Ann").status_code == 302
    assert Seat.objects.filter(game=game, kind="human", kicked=False).count() == 1


def test_two_devices_are_two_students(game):
    for name in ("Ann", "Bob"):
        assert _join(Client(), game.code, name).status_code == 302
    assert sorted(Seat.objects.filter(game=game).values_list("nickname", flat=True)) == [
        "Ann", "Bob"]


def test_a_forged_device_cookie_of_the_wrong_shape_is_replaced(game):
    phone = Client()
    phone.cookies["dtao_device"] = "short"
    _join(phone, game.code, "Ann")
    assert phone.cookies["dtao_device"].value != "short"
    assert Seat.objects.get(game=game, nickname="Ann").device_hash is not None
