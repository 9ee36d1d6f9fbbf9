"""A page that applies every message an action sent draws the same state as a page that loads a
fresh snapshot: the protocol's deltas are complete, as the shipped reducer (static/js/store.js,
run by Node) applies them. Zulip's `verify_action`: one test per action, each also failing when
the action changed nothing the pages draw."""
from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from channels.db import database_sync_to_async
from serverkit import WAIT, open_socket, session_cookie, student_socket
from storejs import differences

from game import engine
from game.actions.clock import advance

pytestmark = pytest.mark.django_db(transaction=True)
db = database_sync_to_async
QUIET = 0.3  # a socket that has sent nothing for this long has sent all an action caused


class Page:
    """One socket and the store.js tab it feeds."""

    def __init__(self, js: Any, code: str, comm: Any, snapshot: dict[str, Any]) -> None:
        self.comm, self.tab = comm, js.tab(code)
        self.tab.apply(snapshot)
        self.open = True

    async def drain(self) -> None:
        while self.open and not await self.comm.receive_nothing(timeout=QUIET):
            out = await self.comm.receive_output(timeout=WAIT)
            if out["type"] == "websocket.close":
                self.open = False
                await self.comm.disconnect()
                break
            self.tab.apply(json.loads(out["text"]))

    async def reply(self, message: dict[str, Any], kind: str) -> dict[str, Any]:
        """Send a message and apply everything up to its reply of this type."""
        await self.comm.send_json_to(message)
        while True:
            msg = await self.comm.receive_json_from(timeout=WAIT)
            self.tab.apply(msg)
            if msg["type"] == kind:
                return msg
            assert msg["type"] != "error", msg

    async def fresh(self) -> dict[str, Any]:
        """What a reload of this page would draw from a fresh snapshot."""
        await self.comm.send_json_to({"type": "snapshot"})
        while (msg := await self.comm.receive_json_from(timeout=WAIT))["type"] != "snapshot":
            self.tab.apply(msg)
        return self.tab.reloaded(msg)


class Table:
    """A game with a student page (Alice), a second student (Bob, page open), the instructor's
    console and the projector."""

    def __init__(self, game: Any, js: Any) -> None:
        self.game, self.js = game, js

    async def open(self, started: bool) -> Table:
        code = self.game.code
        self.alice_seat, _t, comm, snap = await student_socket(code, "Alice")
        self.alice = Page(self.js, code, comm, snap)
        self.bob_seat, _t, comm, snap = await student_socket(code, "Bob")
        self.bob = Page(self.js, code, comm, snap)
        cookie = await db(session_cookie)(self.game.owner)
        comm, snap = await open_socket(code, cookies={"sessionid": cookie})
        self.console = Page(self.js, code, comm, snap)
        comm, snap = await open_socket(code, query=f"projector={self.game.projector_token}")
        self.projector = Page(self.js, code, comm, snap)
        if started:
            await self.console.reply({"type": "control", "id": "k-start", "op": "start"}, "ok")
            await self.tick()  # the market reaches the pages with the first tick
        await self.settle_down()
        return self

    @property
    def pages(self) -> list[Page]:
        return [self.alice, self.bob, self.console, self.projector]

    async def settle_down(self) -> None:
        await asyncio.gather(*(page.drain() for page in self.pages))

    async def tick(self) -> None:
        await db(advance)(self.game.id, "tick")
        assert await db(engine.settle_tick)(self.game.id)

    async def control(self, op: str, **fields: Any) -> dict[str, Any]:
        return await self.console.reply({"type": "control", "id": f"k-{op}", "op": op,
                                         **fields}, "ok")

    async def verify(self, action: Any, changes: tuple[str, ...]) -> None:
        """Run the action; then every open page's state equals a fresh snapshot's, and each
        page named in `changes` (alice, bob, console, projector) draws something new."""
        names = {"alice": self.alice, "bob": self.bob, "console": self.console,
                 "projector": self.projector}
        before = {name: page.tab.state() for name, page in names.items()}
        await action()
        await self.settle_down()
        for name, page in names.items():
            if not page.open:
                continue
            after = page.tab.state()
            behind = differences(after, await page.fresh())
            assert not behind, f"{name}: the messages left it behind: " + "; ".join(behind)
            if name in changes:
                assert after != before[name], f"{name}: the action changed nothing it draws"
        for page in self.pages:
            if page.open:
                await page.comm.disconnect()


@pytest.fixture
async def table(game: Any, store_js: Any):
    return Table(game, store_js)


async def test_a_command(table):
    t = await table.open(started=True)
    order = {"type": "command", "id": "c-1", "do": "stake", "subnet": 1, "tao": 25.0}

    async def act() -> None:
        t.alice.tab.sent(order)
        await t.alice.reply(order, "accepted")

    await t.verify(act, changes=("alice",))


async def test_a_cancel(table):
    t = await table.open(started=True)
    order = {"type": "command", "id": "c-1", "do": "stake", "subnet": 2, "tao": 5.0}
    t.alice.tab.sent(order)
    await t.alice.reply(order, "accepted")
    await t.verify(lambda: t.alice.reply({"type": "cancel", "id": "x-1", "command": "c-1"},
                                         "cancelled"), changes=("alice",))


async def test_a_tick_that_settles_orders(table):
    t = await table.open(started=True)
    for order in ({"type": "command", "id": "c-1", "do": "stake", "subnet": 1, "tao": 25.0},
                  {"type": "command", "id": "c-2", "do": "stake", "subnet": 2, "tao": 1e9}):
        t.alice.tab.sent(order)
        await t.alice.reply(order, "accepted")
    await t.verify(t.tick, changes=("alice", "bob", "console", "projector"))


async def test_pause(table):
    t = await table.open(started=True)
    await t.verify(lambda: t.control("pause"), changes=("alice", "bob", "console", "projector"))


async def test_resume(table):
    t = await table.open(started=True)
    await t.control("pause")
    await t.settle_down()
    await t.verify(lambda: t.control("resume"), changes=("alice", "bob", "console", "projector"))


async def test_set_role(table):
    t = await table.open(started=False)
    await t.verify(lambda: t.control("set_role", seat_id=t.alice_seat.id, role="root_validator"),
                   changes=("alice", "bob", "console", "projector"))


async def test_kick(table):
    t = await table.open(started=False)
    await t.verify(lambda: t.control("kick", seat_id=t.bob_seat.id),
                   changes=("alice", "console", "projector"))
    assert not t.bob.open  # closed with 4010


async def test_presence(table):
    t = await table.open(started=True)

    async def bob_goes_away() -> None:
        await t.bob.comm.disconnect()
        t.bob.open = False

    await t.verify(bob_goes_away, changes=("console",))


async def test_a_scripted_event(table):
    t = await table.open(started=True)

    async def fire() -> None:
        await t.control("event", event=0, action="fire")
        await t.settle_down()
        await t.tick()  # a fired event reaches the pages with the tick it fires in

    await t.verify(fire, changes=("alice", "bob", "console", "projector"))


async def test_end(table):
    t = await table.open(started=True)
    await t.verify(lambda: t.control("end"), changes=("alice", "bob", "console", "projector"))



async def test_play_again(table):
    t = await table.open(started=True)
    await t.control("end")
    await t.settle_down()
    await t.verify(lambda: t.control("play_again", setting="rules", value="tao_flow"),
                   changes=("alice", "bob", "console", "projector"))


# --- running the class (issue #16) ---------------------------------------------------------------

async def test_asking_a_question(table):
    t = await table.open(started=True)
    await t.verify(lambda: t.control("ask", text="Up or down?", choices=["Up", "Down"]),
                   changes=("alice", "bob", "console", "projector"))


async def test_an_answer(table):
    t = await table.open(started=True)
    ok = await t.control("ask", text="Up or down?", choices=["Up", "Down"])
    await t.settle_down()
    await t.verify(lambda: t.alice.reply({"type": "answer", "id": "a-1", "question":
                                          ok["result"]["question"], "choice": 1}, "answered"),
                   changes=("alice", "console", "projector"))


async def _asked_and_answered(t: Table, student: Page) -> int:
    """A question asked in the console and answered by one student; its id."""
    ok = await t.control("ask", text="Up or down?", choices=["Up", "Down"])
    question = ok["result"]["question"]
    await student.reply({"type": "answer", "id": "a-1", "question": question, "choice": 0},
                        "answered")
    await t.settle_down()
    return question


async def test_closing_a_question(table):
    t = await table.open(started=True)
    question = await _asked_and_answered(t, t.alice)
    await t.verify(lambda: t.control("close_question", question=question),
                   changes=("alice", "bob", "console", "projector"))


async def test_revealing_a_question(table):
    t = await table.open(started=True)
    question = await _asked_and_answered(t, t.bob)
    await t.verify(lambda: t.control("reveal", question=question),
                   changes=("alice", "bob", "console", "projector"))


async def test_an_announcement(table):
    t = await table.open(started=True)
    await t.verify(lambda: t.control("announce", text="Five minutes left."),
                   changes=("alice", "bob", "console", "projector"))


async def test_clearing_the_announcement(table):
    t = await table.open(started=False)
    await t.control("announce", text="Welcome!")
    await t.settle_down()
    await t.verify(lambda: t.control("announce_clear"),
                   changes=("alice", "bob", "console", "projector"))


async def test_eyes_up(table):
    t = await table.open(started=True)
    await t.verify(lambda: t.control("eyes_up", on=True),
                   changes=("alice", "bob", "console", "projector"))


async def test_eyes_up_lifted(table):
    t = await table.open(started=True)
    await t.control("eyes_up", on=True)
    await t.settle_down()
    await t.verify(lambda: t.control("eyes_up", on=False),
                   changes=("alice", "bob", "console", "projector"))


async def test_a_tick_counted_by_the_participation_monitor(table):
    t = await table.open(started=True)
    order = {"type": "command", "id": "c-1", "do": "stake", "subnet": 1, "tao": 25.0}
    t.alice.tab.sent(order)
    await t.alice.reply(order, "accepted")
    await t.settle_down()
    before = t.console.tab.state()["participation"]
    await t.verify(t.tick, changes=("alice", "bob", "console", "projector"))
    after = t.console.tab.state()["participation"]
    assert after != before and after["seats"][str(t.alice_seat.id)]["orders"] == 1
