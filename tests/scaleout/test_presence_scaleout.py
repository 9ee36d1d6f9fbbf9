"""Presence with several daphne workers (docs/architecture.md, "Presence"): a worker killed with
SIGKILL leaves its seats' socket counts behind; the surviving worker's heartbeat sweeps them once
their leases lapse, and the engine lets bots stand in for those students, while the students on
the surviving worker stay present. No timed assertions: every wait is bounded."""
from __future__ import annotations

import asyncio
import json

import pytest
from kit import start, tables

from bench.stack import free_port, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres,
              pytest.mark.timeout(150)]

SEATS = """
import json
from game.models import Seat
print(json.dumps({s.id: [s.sockets, s.stand_in_tick] for s in Seat.objects.filter(
    game__code=%r, kind="human")}))
"""


async def test_a_killed_workers_seats_are_swept_by_the_other_and_played_by_bots(stack_factory):
    stack = stack_factory()
    stack.env["BOT_TAKEOVER_SECONDS"] = "3"  # the lease follows: 3 s, renewed every second
    preset = stack.workdir / "scenarios" / "bench_market.json"
    scenario = json.loads(preset.read_text())
    scenario["bot_fill"] = {"speculator": "noise_trader", "subnet_owner": "ai_owner",
                            "root_validator": "diligent_root"}
    preset.write_text(json.dumps(scenario))
    a, b = free_port(), free_port()
    doomed, _ = stack.daphne(a, b)
    stack.engine()
    urls = [f"ws://127.0.0.1:{a}", f"ws://127.0.0.1:{b}"]
    # Players 0 and 2 know only worker A (their phones never come back); 1 and 3 are on B.
    [table] = tables(stack, 1, 4, lambda i: [urls[i % 2]])
    await table.connect()
    start(stack, [table])
    await table.ticks(2)
    on_a = {p.seat_id for p in table.players[0::2]}
    on_b = {p.seat_id for p in table.players[1::2]}

    def seats() -> dict[int, list]:
        out = stack.manage("shell", "-c", SEATS % table.code)
        return {int(k): v for k, v in json.loads(out.strip().splitlines()[-1]).items()}

    assert {k: v[0] for k, v in seats().items()} == {s: 1 for s in on_a | on_b}
    doomed.kill()  # SIGKILL: its sockets' counts are never lowered
    # Worker B sweeps A's seats (count back to 0) and the engine hands them to bots; B's own
    # students stay present and play their seats themselves.
    final = {}

    def settled() -> bool:
        final.update(seats())
        return all(final[s][0] == 0 and final[s][1] is not None for s in on_a)

    await asyncio.to_thread(wait_until, settled, 60,
                            "the killed worker's seats swept and played by bots")
    assert {s: final[s] for s in on_b} == {s: [1, None] for s in on_b}
    table.stop.set()
    await asyncio.wait(table.tasks, timeout=20)
