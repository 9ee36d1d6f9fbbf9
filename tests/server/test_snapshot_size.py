"""The socket's first message does not grow with the game (issue #11): the longest preset played
to its end with 60 seats; the snapshot of a student (with a full command list), the instructor
(with the roster) and the projector at the last tick stay under 64 kB."""
from __future__ import annotations

import gzip
from typing import Any

import pytest
from django.utils import timezone

from game import broadcast, engine, launch, simapi
from game.actions.lobby import join_game
from game.actions.orders import submit_command
from game.actions.setup import Overrides, create_game
from game.actions.start import start_game
from game.live import history, identity
from game.models import Game, Seat

SEATS = 60


def _longest_preset() -> str:
    """The longest; among those, the one with the most subnets (the market, the history),
    then players."""
    def length(preset: dict[str, str]) -> tuple[int, int, int]:
        scenario = simapi.load_preset(preset["id"])
        clock = scenario["clock"]
        return (clock["epochs"] * clock["ticks_per_epoch"], len(scenario.get("subnets", [])),
                len(scenario.get("players", [])))

    return max(simapi.presets(), key=length)["id"]


def _size(message: dict[str, Any]) -> int:
    return len(broadcast.encode(message).encode())


@pytest.mark.slow  # a whole 144-tick class with 60 seats: about 12 s
@pytest.mark.django_db
def test_the_first_message_of_a_long_class_stays_under_64_kb(instructor: Any, settings: Any
                                                             ) -> None:
    settings.ENGINE_IN_PROCESS = False
    simapi.presets.cache_clear()
    preset = _longest_preset()
    game = create_game(instructor, preset, Overrides())
    seats = [join_game(game.code, None)[0] for _ in range(SEATS)]
    start_game(game.id)
    game.refresh_from_db()
    busy = seats[0]
    largest: dict[str, int] = {}
    while game.status != "ended":
        now = timezone.now()
        Seat.objects.filter(game=game, kind="human").update(last_seen=now, sockets=1)
        # One student orders every tick, each with a limit: the snapshot lists their last 50.
        submit_command(busy.id, f"c{game.tick}",
                                {"do": "stake", "subnet": 1, "tao": 1.0, "limit_price": 1e6})
        Game.objects.filter(pk=game.id).update(next_tick_at=now)
        assert engine.settle_tick(game.id, now=now)
        game.refresh_from_db()
    for kind, ident in (
                ("student", identity.Identity(identity.STUDENT, game.id, game.code,
                                              seat_id=busy.id, player=busy.player)),
                ("instructor", identity.Identity(identity.INSTRUCTOR, game.id, game.code,
                                                 user_id=instructor.pk)),
                ("projector", identity.Identity(identity.PROJECTOR, game.id, game.code))):
            size = _size(identity.snapshot(ident))
            largest[kind] = max(largest.get(kind, 0), size)
    last = identity.snapshot(identity.Identity(identity.STUDENT, game.id, game.code,
                                               seat_id=busy.id, player=busy.player))
    assert len(last["commands"]) == 50 and game.tick == game.total_ticks
    print(f"\n{preset}: {game.total_ticks} ticks, {SEATS} seats; largest snapshot (bytes): "
          f"{largest}")
    whole = broadcast.encode(history.columns(game.id, 0, game.tick - 1)).encode()
    print(f"the whole chart history over HTTP: {len(whole)} bytes, gzipped "
          f"{len(gzip.compress(whole))}")
    # The same bound as the inbound limit daphne is started with (and far below what may be sent).
    assert launch.WS_INBOUND_MAX_BYTES == 64 * 1024
    assert largest["student"] < launch.WS_INBOUND_MAX_BYTES
    assert largest["projector"] < launch.WS_INBOUND_MAX_BYTES
    # The console's roster has a row per seat, bots included (launch_month: a bot owner per
    # subnet), each without its default-valued fields (ROSTER_DEFAULTS).
    assert largest["instructor"] < launch.WS_INBOUND_MAX_BYTES
