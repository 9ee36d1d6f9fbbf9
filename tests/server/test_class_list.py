"""A class list (roster): the teacher pastes or uploads the students' names; listed names are
reserved and spelled as listed, other names may still join unless the game is locked to the
list, which refuses them with a clear message and a stable code; the grade sheet then has a
row for every listed name."""
from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from game import classlist
from game.actions import clock, lobby, start
from game.debrief import gradesheet
from game.models import ClassList, Seat

pytestmark = [pytest.mark.server, pytest.mark.django_db]

NAMES = "name\nMaya López\n\nBen Okafor\t12b\nmaya lopez\nZoë Park;zoe@example.org\n"


def _owner(game) -> Client:
    client = Client()
    client.force_login(game.owner)
    return client


def test_it_cleans_the_names_and_keeps_one_per_nickname_key():
    assert classlist.parse(NAMES) == ["Maya López", "Ben Okafor", "Zoë Park"]
    assert classlist.parse("\ufeffLopez, Maya\r\n") == ["Lopez, Maya"]


@pytest.mark.parametrize("text,message", [
    ("Ann\nx\n", "Line 2: Choose a nickname of at least 2 characters."),
    ("Ann\n" + "y" * 30, "Line 2: Choose a nickname of at most 24 characters."),
    ("Ann\nHitler\n", "Line 2: Please choose another nickname."),
    ("\n".join(f"Student {k}" for k in range(501)), "The list is too long: at most 500 names."),
])
def test_it_refuses_an_unusable_list_naming_the_line(game, text, message):
    client = _owner(game)
    res = client.post(f"/console/{game.code}/class-list", {"names": text, "locked": "on"})
    assert res.status_code == 400
    assert message in res.content.decode()
    assert not ClassList.objects.filter(game=game).exists()  # nothing changed


def test_a_listed_name_joins_under_the_lists_spelling_and_is_reserved(game):
    classlist.save(game, NAMES, locked=False)
    seat, _ = lobby.join_game(game.code, "MAYA LOPEZ")
    assert seat.nickname == "Maya López"
    with pytest.raises(lobby.JoinError) as taken:
        lobby.join_game(game.code, "Maya Lopez")
    assert taken.value.code == "nickname"
    # Unlisted names still join; a generated name or a suggestion never takes a listed one.
    assert lobby.join_game(game.code, "Walk In")[0].nickname == "Walk In"
    for _ in range(20):
        seat, _ = lobby.join_game(game.code, None)
        assert classlist.key(seat.nickname) not in {classlist.key(n) for n in classlist.listed(
            game)}


def test_a_locked_list_refuses_an_unlisted_name_with_a_stable_code(game):
    classlist.save(game, NAMES, locked=True)
    for typed in ("Walk In", None, "  "):
        with pytest.raises(lobby.JoinError) as refused:
            lobby.join_game(game.code, typed)
        assert (refused.value.code, refused.value.message) == (
            "not_on_class_list", classlist.REFUSED_MESSAGE)
    assert not Seat.objects.filter(game=game, kind="human").exists()
    assert lobby.join_game(game.code, "ben okafor")[0].nickname == "Ben Okafor"
    # A listed name already taken: no suggestion of another name, which could not join.
    with pytest.raises(lobby.JoinError) as taken:
        lobby.join_game(game.code, "Ben Okafor")
    assert (taken.value.code, taken.value.message, taken.value.suggestion) == (
        "nickname", classlist.TAKEN_MESSAGE, "")


def test_the_join_page_shows_the_refusal_and_its_code(game):
    classlist.save(game, NAMES, locked=True)
    res = Client().post("/join", {"code": game.code, "nickname": "Walk In"})
    html = res.content.decode()
    assert res.status_code == 400
    assert 'id="join-error" data-code="not_on_class_list"' in html
    assert "This game is open to the class list only" in html
    assert 'value="Walk In"' in html  # what was typed stays in the form
    ok = Client().post("/join", {"code": game.code, "nickname": "Zoe Park"})
    assert ok.status_code == 302


def test_the_console_imports_a_pasted_or_uploaded_list_owner_only(game, django_user_model):
    url = f"/console/{game.code}/class-list"
    assert Client().post(url, {"names": NAMES}).status_code == 302  # log in first
    stranger = Client()
    stranger.force_login(django_user_model.objects.create_user("other", password="x-long-pw"))
    assert stranger.post(url, {"names": NAMES}).status_code == 404
    client = _owner(game)
    assert client.post(url, {"names": NAMES, "locked": "on"}).status_code == 200
    assert (classlist.listed(game), classlist.is_locked(game)) == (
        ["Maya López", "Ben Okafor", "Zoë Park"], True)
    upload = SimpleUploadedFile("class.csv", "\ufeffname,email\nAda Byron,ada@example.org\n"
                                             "Alan Kay,\n".encode())
    res = client.post(url, {"names": "ignored", "file": upload})  # the file wins
    assert res.status_code == 200 and "Saved: 2 names." in res.content.decode()
    assert (classlist.listed(game), classlist.is_locked(game)) == (["Ada Byron", "Alan Kay"],
                                                                   False)
    bad = SimpleUploadedFile("class.csv", "Ada\n\xff".encode("latin-1"))
    assert client.post(url, {"file": bad}).status_code == 400
    html = client.get(f"/console/{game.code}/").content.decode()
    assert 'Class list: <span class="num">2</span> names' in html
    assert client.post(url, {"names": ""}).status_code == 200  # empty removes the list
    assert not ClassList.objects.filter(game=game).exists()


def test_the_grade_sheet_lists_every_name_on_the_class_list(game, settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    classlist.save(game, NAMES, locked=False)
    lobby.join_game(game.code, "maya lopez")
    lobby.join_game(game.code, "Walk In")
    start.start_game(game.id)
    game.refresh_from_db()
    rows = gradesheet.build(game)["rows"]
    shown = [(r["nickname"], r["on_class_list"], r["joined"]) for r in rows]
    assert sorted(shown[:2]) == [("Maya López", True, True), ("Walk In", False, True)]
    assert shown[2:] == [("Ben Okafor", True, False), ("Zoë Park", True, False)]
    assert rows[2]["participation"] == 0.0 and rows[2]["orders"] == 0
    text = gradesheet.csv_text(gradesheet.build(game))
    assert text.startswith("\ufeffnickname,on_class_list,joined,role,")
    assert "\r\nBen Okafor,true,false,,,,,,,,,0,0,0,1,0,0,0,0,0.0\r\n" in text
    assert io.StringIO(text).read().count("\r\n") == 5


def test_the_pasted_list_may_hold_line_breaks_and_nothing_else_of_control(game):
    client = _owner(game)
    url = f"/console/{game.code}/class-list"
    res = client.post(url, {"names": "Ann\x00\r\nBob\r\n"})
    assert (res.status_code, res.content) == (
        400, b"bad_value: a field contains a control character.\n")
    assert client.post(url, {"names": "Ann\r\nBob\tx\r\n"}).status_code == 200
    assert classlist.listed(game) == ["Ann", "Bob"]
    # Line breaks stay refused in every other field.
    assert client.post(url, {"names": "Ann", "locked": "o\nn"}).status_code == 400


def test_the_list_cannot_change_once_the_game_is_over(game):
    classlist.save(game, NAMES, locked=True)
    clock.end_game(game.id)
    game.refresh_from_db()
    res = _owner(game).post(f"/console/{game.code}/class-list", {"names": "Someone Else"})
    assert res.status_code == 400
    assert "This game is over: its class list can no longer change." in res.content.decode()
    assert classlist.listed(game) == ["Maya López", "Ben Okafor", "Zoë Park"]
