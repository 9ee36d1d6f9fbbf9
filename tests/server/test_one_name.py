"""One name per person in a game: nicknames unique without case or look-alike letters, and a
removed seat keeps its name as a state of the seat (issue #13, "one name per thing")."""
from __future__ import annotations

import pytest

from game import names
from game.actions.lobby import JoinError, join_game, kick
from game.models import Seat

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("first,second", [
    ("Maya", "maya"), ("Maya", "MAYA"), ("Blue Heron", "BIue Heron"), ("Blue Heron", "Blue  heron"),
    ("Otto", "0tto"), ("Corn", "Com"), ("Zoë", "Zoe"), ("Ivy", "Ivy\u200b"),
])
def test_it_refuses_a_nickname_that_reads_like_one_taken(game, first, second):
    join_game(game.code, first)
    with pytest.raises(JoinError) as refused:
        join_game(game.code, second)
    assert refused.value.code == "nickname"
    suggestion = refused.value.suggestion
    assert names.nickname_key(suggestion) != names.nickname_key(first)
    join_game(game.code, suggestion)  # the suggestion itself is free


@pytest.mark.parametrize("first,second", [("Ann", "Anne"), ("Ali 2", "Ali 3"), ("Sam", "Pam")])
def test_it_accepts_names_that_read_differently(game, first, second):
    join_game(game.code, first)
    seat, _ = join_game(game.code, second)
    assert seat.nickname == second


def test_it_keeps_the_foundations_name_for_the_foundation(game):
    with pytest.raises(JoinError):
        join_game(game.code, "The Foundati0n")


def test_kicking_is_a_state_not_a_rename_and_frees_the_name(game):
    ann, _ = join_game(game.code, "Ann")
    kick(game.id, ann.id)
    ann.refresh_from_db()
    assert (ann.kicked, ann.nickname) == (True, "Ann")
    again, _ = join_game(game.code, "ann")  # free again for someone else
    kick(game.id, again.id)                 # and that seat can be removed too
    assert sorted(Seat.objects.filter(game=game, kicked=True).values_list("nickname", flat=True)
                  ) == ["Ann", "ann"]


def test_it_kicks_a_seat_whose_old_removed_label_another_seat_took(game):
    """The old rename ("<nick> (removed <id>)") collided with a seat that had taken that text as
    its nickname, and the kick failed with `internal`."""
    ann, _ = join_game(game.code, "Ann")
    join_game(game.code, f"Ann (removed {ann.id})")
    kick(game.id, ann.id)
    ann.refresh_from_db()
    assert ann.kicked


@pytest.mark.parametrize("raw", ["Fuck coin", "\u202eevil", "nazi net", "x"])
def test_subnet_names_pass_the_nickname_filter(raw):
    if raw == "\u202eevil":
        assert names.clean_subnet_name(raw) == "evil"
        return
    with pytest.raises(names.NicknameError):
        names.clean_subnet_name(raw)


def _register(name: str) -> dict:
    from game.live.protocol import action_dict, parse

    msg = parse('{"type": "command", "id": "r1", "do": "register_subnet", "name": %s}'
                % __import__("json").dumps(name))
    return action_dict(msg)


def test_a_registered_subnets_name_is_cleaned_at_the_boundary():
    assert _register("Meme\u202e Coin\u200b")["name"] == "Meme Coin"


@pytest.mark.parametrize("name", ["shit coin", "\u200b\u200b", "!!"])
def test_a_registered_subnets_name_is_refused_like_a_nickname(name):
    from game.errors import ClientError

    with pytest.raises(ClientError) as refused:
        _register(name)
    assert refused.value.code == "invalid"
    assert "subnet name" in refused.value.details[0]["msg"]
