"""Build a finished game quickly through the real services and engine (no waiting on the clock):
create from a small preset, join students, start, queue their orders, settle every tick."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.utils import timezone

from game import engine
from game.actions.clock import scripted_event
from game.actions.lobby import join_game, set_role
from game.actions.orders import submit_command
from game.actions.setup import Overrides, create_game
from game.actions.start import start_game
from game.models import Game, Seat

LATE_NICK = "Late Lou"
EVIL_NICKS = ('=HYPERLINK("http://x")', "<script>alert(1)//", "<img src=x onerror=1>")

SCENARIO: dict[str, Any] = {
    "name": "Debrief market",
    "description": "Two subnets, a Foundation, bots; a scripted event with an action.",
    "seed": 11,
    "clock": {"blocks_per_tick": 300, "ticks_per_epoch": 2, "epochs": 6, "tick_seconds": 5},
    "root": {"stake": 200000},
    "subnets": [
        {"id": 1, "name": "Text prompting", "tao": 2000, "alpha": 40000, "mechanism": "ai_work"},
        {"id": 2, "name": "Meme coin", "tao": 800, "alpha": 16000, "mechanism": "hold_to_earn"},
    ],
    "players": [
        {"id": "otf", "role": "root_validator", "tao": 0, "root_stake": 50000},
        {"id": "m1", "role": "speculator", "tao": 800, "bot": "momentum"},
        {"id": "n1", "role": "speculator", "tao": 600, "bot": "noise_trader"},
    ],
    "events": [
        {"epoch": 2, "title": "A whale arrives", "text": "Someone big buys the meme subnet.",
         "actions": [{"player": "m1", "do": "stake", "subnet": 2, "tao": 200}]},
        {"epoch": 4, "title": "Root weight rises", "text": "Validators look at root again.",
         "actions": []},
    ],
    "lesson": ["Emission follows where stake goes.", "Root's share decays as alpha grows."],
}


def write_preset(directory: Path, name: str = "debrief_market") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.json"
    path.write_text(json.dumps(SCENARIO))
    return path


# The students' orders: (tick, nickname index, action without player).
ORDERS: list[tuple[int, int, dict[str, Any]]] = [
    (0, 0, {"do": "stake", "subnet": 1, "tao": 300.0}),
    (0, 1, {"do": "stake", "subnet": 2, "tao": 150.0}),
    (1, 2, {"do": "root_stake", "tao": 100.0}),
    (2, 0, {"do": "move", "from": 1, "to": 2, "alpha": 1000.0}),
    (3, 1, {"do": "unstake", "subnet": 2, "alpha": 500.0}),
    (4, 0, {"do": "stake", "subnet": 1, "tao": 1e9}),  # rejected: more than the balance
    (5, 2, {"do": "stake", "subnet": 1, "tao": 50.0, "limit_price": 0.5}),
    (7, 1, {"do": "stake", "subnet": 1, "tao": 40.0}),
    (9, 0, {"do": "unstake", "subnet": 2, "alpha": 200.0}),
]


def settle_one(game_id: int) -> None:
    now = timezone.now()
    # Keep the students "present" so the engine does not hand their seats to bots.
    Seat.objects.filter(game_id=game_id, kind="human").update(last_seen=now)
    Game.objects.filter(pk=game_id).update(next_tick_at=now)
    assert engine.settle_tick(game_id, now=now)


def play_finished_game(owner: Any, preset: str = "debrief_market",
                       nicknames: tuple[str, ...] = EVIL_NICKS,
                       stop_at: int | None = None) -> tuple[Game, dict[str, tuple[Seat, str]]]:
    game = create_game(owner, preset, Overrides(seed=SCENARIO["seed"]))
    seats: dict[str, tuple[Seat, str]] = {}
    for nick in nicknames:
        seat, token = join_game(game.code, nick)
        seats[nick] = (seat, token)
    set_role(game.id, seats[nicknames[2]][0].id, "root_validator")
    start_game(game.id)
    game.refresh_from_db()
    n = 0
    while True:
        game.refresh_from_db()
        if game.status == "ended" or (stop_at is not None and game.tick >= stop_at):
            break
        for tick, who, action in ORDERS:
            if tick == game.tick and who < len(nicknames):
                seat = seats[nicknames[who]][0]
                submit_command(seat.id, f"c{tick}-{who}", action)
        if game.tick == 3:
            scripted_event(game.id, 1, "fire")  # fired early by the instructor
        if game.tick == 4 and stop_at is None:
            seats[LATE_NICK] = join_game(game.code, LATE_NICK)  # a late joiner
        if game.tick == 6 and LATE_NICK in seats:
            submit_command(seats[LATE_NICK][0].id, "late-1",
                                    {"do": "stake", "subnet": 2, "tao": 100.0})
        settle_one(game.id)
        n += 1
    game.refresh_from_db()
    for nick, (seat, token) in list(seats.items()):
        seat.refresh_from_db()
        seats[nick] = (seat, token)
    return game, seats
