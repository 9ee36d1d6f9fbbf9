"""The console's participation monitor (issue #16): what the console's store makes of the
snapshot and the per-tick `participation` messages equals the command log counted directly,
epoch by epoch; each message carries only the tick's increments, not the roster."""
from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from channels.db import database_sync_to_async as db
from serverkit import WAIT, open_socket, session_cookie

from game import engine
from game.actions.clock import advance
from game.actions.lobby import join_game, kick
from game.actions.orders import submit_command
from game.actions.start import start_game
from game.models import Command, Game

pytestmark = pytest.mark.django_db(transaction=True)


def _from_the_log(game_id: int) -> dict[str, Any]:
    """The monitor's numbers counted straight from the command log, as a check."""
    game = Game.objects.get(pk=game_id)
    last = game.tick - 1
    epoch = last // game.ticks_per_epoch
    rows: dict[str, dict[str, Any]] = {}
    for c in Command.objects.filter(game=game, seat__kind="human",
                                    status__in=("filled", "rejected")):
        if c.do in ("join", "event"):
            continue
        row = rows.setdefault(str(c.seat_id), Counter())
        if c.actor == "bot":
            row["stand_in_orders"] += 1
            continue
        row["orders"] += 1
        row["orders_epoch"] += c.settled_tick // game.ticks_per_epoch == epoch
        row["refused"] += c.status == "rejected"
        row["last_tick"] = max(row.get("last_tick") or 0, c.settled_tick)
    full = {k: {"orders": 0, "orders_epoch": 0, "refused": 0, "stand_in_orders": 0,
                "last_tick": None, **dict(v)} for k, v in rows.items()}
    return {"tick": last, "epoch": epoch, "seats": full}


class Console:
    def __init__(self, js: Any, code: str, comm: Any, snapshot: dict[str, Any]) -> None:
        self.comm, self.tab = comm, js.tab(code)
        self.tab.apply(snapshot)
        self.sizes: list[int] = []

    async def drain(self) -> None:
        while not await self.comm.receive_nothing(timeout=0.3):
            msg = await self.comm.receive_json_from(timeout=WAIT)
            if msg["type"] == "participation":
                self.sizes.append(len(msg["seats"]))
            self.tab.apply(msg)

    def monitor(self) -> dict[str, Any]:
        return self.tab.state()["participation"]


async def _tick(game_id: int) -> None:
    await db(advance)(game_id, "tick")
    assert await db(engine.settle_tick)(game_id)


async def test_the_monitor_counts_what_the_command_log_holds(game, store_js):
    seats = [(await db(join_game)(game.code, name))[0]
             for name in ("Alice", "Bob", "Carol")]
    alice, bob, carol = seats
    await db(start_game)(game.id)
    cookie = await db(session_cookie)(game.owner)
    comm, snap = await open_socket(game.code, cookies={"sessionid": cookie})
    console = Console(store_js, game.code, comm, snap)
    assert console.monitor() == {"tick": -1, "epoch": 0, "seats": {}}
    plan = [  # per tick: (seat, order)
        [(alice, {"do": "stake", "subnet": 1, "tao": 10.0}),
         (bob, {"do": "stake", "subnet": 2, "tao": 1e9})],       # refused: not enough TAO
        [(alice, {"do": "stake", "subnet": 2, "tao": 5.0})],
        [(bob, {"do": "stake", "subnet": 1, "tao": 3.0})],       # epoch 1 starts
        [],
        [(alice, {"do": "unstake", "subnet": 1, "alpha": 1e9})],  # refused
    ]
    for t, orders in enumerate(plan):
        for i, (seat, order) in enumerate(orders):
            await db(submit_command)(seat.id, f"c-{t}-{i}", order)
        if t == 3:
            await db(kick)(game.id, carol.id)  # the role's bot plays Carol's seat
        await _tick(game.id)
        await console.drain()
        assert console.monitor() == await db(_from_the_log)(game.id), f"after tick {t}"
    final = console.monitor()
    assert final["epoch"] == 2
    assert final["seats"][str(alice.id)]["orders"] == 3
    assert final["seats"][str(alice.id)]["orders_epoch"] == 1
    assert final["seats"][str(bob.id)]["refused"] == 1
    carol_row = final["seats"][str(carol.id)]
    assert carol_row["orders"] == 0 and carol_row["stand_in_orders"] > 0  # the bot, not Carol
    # Small messages: one per tick, naming only the seats that acted in it (Carol's: the bot).
    assert console.sizes == [2, 1, 1, 1, 2]
    await comm.send_json_to({"type": "snapshot"})
    while (msg := await comm.receive_json_from(timeout=WAIT))["type"] != "snapshot":
        pass
    assert msg["participation"] == await db(_from_the_log)(game.id)
    await comm.disconnect()
    assert json.dumps(final)  # plain JSON
