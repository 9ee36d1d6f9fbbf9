"""End to end against a real daphne: a whole short game with an instructor and 20 students,
and a kill -9 in the middle of play."""
from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest
from livekit import Client, LiveServer, Template, join, login_and_create
from serverkit import write_preset

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]
STUDENTS = 20


@pytest.fixture
def server(tmp_path: Path, template: Template):
    scenarios = tmp_path / "scenarios"
    write_preset(scenarios)
    live = LiveServer(tmp_path, scenarios, template)
    try:
        live.start()
        yield live
    finally:
        live.stop()


async def _seat_everyone(server: LiveServer, **form) -> tuple[Client, list[Client], str]:
    teacher, code = login_and_create(server, preset="test_market", bots="on", drop_events="on",
                                     **form)
    instructor = Client(server, code, teacher, "teacher")
    await instructor.connect()
    await instructor.wait_for(lambda: instructor.snapshots == 1, 20)
    students = [Client(server, code, join(server, code, f"Student {i:02d}"), f"s{i:02d}")
                for i in range(STUDENTS)]
    # The joins were HTTP requests: their lobby broadcasts reached the open console.
    await instructor.wait_for(lambda: instructor.players == STUDENTS, 20)
    for s in students:
        await s.connect()
    await asyncio.gather(*(c.wait_for(lambda c=c: c.snapshots >= 1, 20)
                           for c in [instructor, *students]))
    return instructor, students, code


def _assert_in_order_or_healed(client: Client, final_seq: int) -> None:
    # Applied public messages are consecutive between snapshots (the client enforces it),
    # and the client ends on the server's last seq: nothing was silently skipped.
    assert client.last_seq == final_seq, (client.name, client.last_seq, final_seq)
    assert client.applied == sorted(set(client.applied))
    assert not client.awaiting_snapshot  # every gap it saw was healed by a snapshot


async def test_it_plays_a_whole_game_with_twenty_students(server):
    instructor, students, code = await _seat_everyone(server, epochs=2, tick_seconds=1)
    await instructor.send({"type": "control", "id": "k-start", "op": "start"})
    total = 4  # 2 epochs x 2 ticks
    done_ticks: dict[str, int] = {}

    async def play(s: Client) -> None:
        traded = -1
        while s.status != "ended":
            await s.wait_for(lambda traded=traded: s.status == "ended"
                             or max(s.ticks_seen, default=-1) > traded
                             or (traded == -1 and s.status == "running"), 30)
            if s.status == "ended":
                break
            traded = max(s.ticks_seen, default=0)
            cid = await s.command(do="stake", subnet=1 + traded % 2, tao=5.0)
            if traded == 1:
                await s.send(s.sent[cid])  # a resend: must get the first answer back
        done_ticks[s.name] = len(s.ticks_seen)

    await asyncio.gather(*(play(s) for s in students))
    await instructor.wait_for(lambda: instructor.status == "ended", 30)
    await asyncio.sleep(0.5)  # let the last private messages land
    record = server.query(code)
    assert record["status"] == "ended" and record["tick"] == total
    for c in [instructor, *students]:
        _assert_in_order_or_healed(c, record["seq"])
        assert not c.errors, c.errors
    for s in students:
        assert s.answers, s.name
        for cid, answer in s.answers.items():
            assert answer["type"] == "accepted", answer
            assert len(s.fills.get(cid, [])) == 1, (cid, s.fills.get(cid))  # settled once
    humans = [c for c in record["commands"] if c["actor"] == "human"]
    assert len(humans) == sum(len(s.answers) for s in students)  # the resends stored nothing
    assert all(c["status"] in ("filled", "rejected") for c in humans)
    assert record["replay_ok"], record["replay"]
    for c in [instructor, *students]:
        await c.close()


async def test_it_survives_a_kill_9_during_play(server):
    instructor, students, code = await _seat_everyone(server, epochs=3, tick_seconds=1)
    await instructor.send({"type": "control", "id": "k-start", "op": "start"})
    stop_trading = asyncio.Event()

    async def trade(s: Client) -> None:
        k = 0
        while not stop_trading.is_set() and s.status != "ended":
            if s.status == "running":
                k += 1
                await s.command(do="stake", subnet=1 + k % 2, tao=1.0 + k)
            await asyncio.sleep(0.25)

    traders = [asyncio.create_task(trade(s)) for s in students]
    await instructor.wait_for(lambda: len(instructor.ticks_seen) >= 2, 30)
    await asyncio.sleep(0.3)  # mid-tick, commands in flight
    server.kill9()
    acknowledged = {s.name: set(s.answers) for s in students}
    await asyncio.sleep(0.5)
    server.start()
    deadline = time.monotonic() + 30
    for c in [instructor, *students]:
        await c.close()
        await c.connect_retrying(deadline)
        await c.resend_unanswered()
    await asyncio.gather(*(c.wait_for(lambda c=c: c.status == "ended", 60)
                           for c in [instructor, *students]))
    stop_trading.set()
    await asyncio.gather(*traders)
    record = server.query(code)
    assert record["status"] == "ended" and record["tick"] == 6
    by_seat: dict[str, list[dict]] = {}
    for c in record["commands"]:
        if c["actor"] == "human":
            by_seat.setdefault(c["seat"], []).append(c)
    for i, s in enumerate(students):
        stored = by_seat.get(f"Student {i:02d}", [])
        ids = [c["id"] for c in stored]
        assert len(ids) == len(set(ids)), "a command was stored twice"
        status = {c["id"]: c["status"] for c in stored}
        for cid in acknowledged[s.name]:
            # acknowledged before the crash: settled (the game is over, so nothing is queued)
            assert status.get(cid) in ("filled", "rejected"), (cid, status.get(cid))
        accepted = {cid for cid, a in s.answers.items() if a["type"] == "accepted"}
        assert accepted <= set(status)  # every acknowledgement was for a stored command
        assert all(a["code"] == "game_over" for a in s.answers.values()
                   if a["type"] == "rejected")  # only commands sent as the game ended
    assert sum(len(a) for a in acknowledged.values()) > 0
    for c in [instructor, *students]:
        _assert_in_order_or_healed(c, record["seq"])
    assert record["replay_ok"], record["replay"]
    for c in [instructor, *students]:
        await c.close()


async def test_two_engine_processes_settle_every_tick_once(tmp_path, template, redis_url):
    # A separate engine reaches sockets only through Redis: this test uses the real local Redis
    # in both configurations (the redis_url fixture fails in CI if it is missing).
    scenarios = tmp_path / "scenarios"
    write_preset(scenarios)
    server = LiveServer(tmp_path, scenarios, template,
                        env={"ENGINE_IN_PROCESS": "false",
                             "REDIS_URL": os.environ.get("REDIS_URL") or redis_url})
    try:
        server.start()
        server.start_engine()
        server.start_engine()
        teacher, code = login_and_create(server, preset="test_market", bots="on", epochs=2,
                                         drop_events="on", tick_seconds=1)
        students = [Client(server, code, join(server, code, f"Student {i}"), f"s{i}")
                    for i in range(3)]
        instructor = Client(server, code, teacher, "teacher")
        for c in [instructor, *students]:
            await c.connect()
        await instructor.wait_for(lambda: instructor.snapshots >= 1, 20)
        await instructor.send({"type": "control", "id": "k-start", "op": "start"})
        for s in students:
            await s.wait_for(lambda s=s: s.status == "running", 20)
            await s.command(do="stake", subnet=1, tao=3.0)
        await asyncio.gather(*(c.wait_for(lambda c=c: c.status == "ended", 60)
                               for c in [instructor, *students]))
        record = server.query(code)
        assert record["status"] == "ended" and record["tick"] == 4
        assert record["replay_ok"], record["replay"]
        for c in [instructor, *students]:
            _assert_in_order_or_healed(c, record["seq"])
            assert c.ticks_seen <= {0, 1, 2, 3}
        for s in students:
            [cid] = s.answers
            assert len(s.fills[cid]) == 1  # settled once, by one of the two engines
        for c in [instructor, *students]:
            await c.close()
    finally:
        server.stop()
