"""A class period, rehearsed end to end (issue 11, item 5).

The server runs as `make run` runs it (scripts/run: migrate, collectstatic, daphne with its
WebSocket flags; the embedded default: SQLite, in-memory channel layer, engine in process). A
logged-in instructor creates one of the longest presets (One year later: 24 epochs × 6 = 144
ticks, 8 subnets) from the console's form; the one change is the preset's tick length, 0.2 s
instead of 7 s (the form refuses less than 1 s, so SCENARIOS_DIR holds a copy of the presets, as
an operator would point it elsewhere), so the whole game is played in about a minute. Launch
month, as long but with 64 subnets, settled about a second a tick on an earlier 2-core machine
(0.2 s on a faster one: the whole rehearsal in 45 s): too slow for a one-minute rehearsal on
every machine, so REHEARSAL_PRESET=launch_month runs it with that preset on demand.

- 40 students are protocol clients that join through the join form from one address (a
  school's NAT), trade on their own (most orders valid, some refused at once, some refused at
  settlement), drop their socket at two random ticks (half of them cleanly, half as a lost
  network) and come back; a third of them come back at the last tick, another third after the
  end (and are refused with `game_over` when they order).
- The console's and the projector's sockets go away and come back at several ticks, at the last
  tick and after the end.
- A real Chromium phone page (360 px) joins through the join page and reloads at an early, a
  middle and the last tick and after the end, each time with its tab storage cleared (so the
  charts' past must come from the server); each time it must render the right state: the live
  connection, the phase, the market table with the server's prices for the tick it shows, the
  price chart from tick 0 with no hole, and at the end "Ended" with the seat's final rank.
- The end is held: 20 ticks before it the instructor sets a long tick and settles the rest up
  to the last tick with "advance"; the checks at the last tick run; one more "advance" ends the
  game. So "at the last tick" is a state, not a race (the first 124 ticks run on the clock).

Asserted: every identity (40 students, console, projector, phone) comes back every time with a
fresh snapshot (seq and tick at least what anyone had seen), every first message on every
connect is under 64 kB (the largest of each kind is printed, and how long the phone's reload at
the last tick took to render), the server's output has no traceback, every acknowledged command
is in the command log and the export exactly once and settled at its due tick (nothing lost, no
duplicate), and `manage.py verify_replay` passes.
"""
from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import random
import re
import shutil
import threading
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from classkit import (
    Failure,
    Hub,
    Identity,
    command_log,
    instructor_creates,
    manage,
    start_like_make_run,
    wait_healthy,
)

from bench import http
from bench.stack import free_port, stop_process

pytestmark = pytest.mark.slow

PRESET = os.environ.get("REHEARSAL_PRESET", "one_year_later")
TICK_SECONDS = 0.2
STUDENTS = 40
P_TRADE = 0.15            # chance a student orders at a tick
EARLY, MIDDLE = 10, 72    # ticks at which the phone reloads (and the last one, and after the end)
CONSOLE_DROPS = (30, 75, 115)
PROJECTOR_DROPS = (20, 60, 100)
LAST_TICK_SECONDS = 300   # the held last tick (ended early by `advance`)
HOLD_BEFORE = 20          # ticks before the end: set the long tick, `advance` the rest
FRAME_LIMIT = 65536       # every first message must fit in 64 kB
PHONE = {"width": 360, "height": 740}
WAIT_MS = 30_000          # a page render on a loaded 2-core machine; never a timing assertion
USER, PASSWORD = "teacher", "class-period-rehearsal-9"


# --- the server ---------------------------------------------------------------------------------

@pytest.fixture
def make_run(tmp_path: Path):
    """scripts/run on a free port with its own SQLite file and a copy of the presets whose
    longest one ticks every TICK_SECONDS; yields (port, env, stdout path, stderr path, the
    process)."""
    root = Path(__file__).resolve().parents[2]
    scenarios = tmp_path / "scenarios"
    shutil.copytree(root / "sim" / "scenarios", scenarios)
    path = scenarios / f"{PRESET}.json"
    scn = json.loads(path.read_text())
    scn["clock"]["tick_seconds"] = TICK_SECONDS
    path.write_text(json.dumps(scn))
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL"} and not k.startswith("PYTEST")}
    env.update({
        "HOST": "127.0.0.1", "PORT": str(port), "DJANGO_SETTINGS_MODULE": "game.settings",
        "VAR_DIR": str(tmp_path / "var"), "SQLITE_PATH": str(tmp_path / "db.sqlite3"),
        "SCENARIOS_DIR": str(scenarios), "DJANGO_SECRET_KEY": "rehearsal-" + "k" * 40,
        "DEBUG": "0", "ALLOWED_HOSTS": "127.0.0.1,localhost", "PYTHONUNBUFFERED": "1",
        # The engine looks for due ticks this often (default 0.25 s: as long as a whole tick).
        "ENGINE_POLL_SECONDS": "0.05", "REHEARSAL_PW": PASSWORD,
    })
    out, err = tmp_path / "server.out", tmp_path / "server.err"
    started = time.monotonic()
    proc = start_like_make_run(env, out, err)
    try:
        wait_healthy(port, proc)
        done = manage(env, "createinstructor", USER, "--password-from-env", "REHEARSAL_PW")
        assert done.returncode == 0, done.stderr
        print(f"\nscripts/run serving, instructor created: {time.monotonic() - started:.1f} s")
        yield port, env, out, err, proc
    finally:
        stop_process(proc, timeout=5)


# --- the protocol side (its own thread and event loop: sync Playwright owns the main one) ------

@dataclass
class Link:
    """What the phone (main thread) and the protocol clients (rehearsal thread) tell each
    other. Every wait on it is bounded and gives up when the other side failed."""

    hub: Hub | None = None
    code: str = ""
    error: BaseException | None = None
    lobby_ready: threading.Event = field(default_factory=threading.Event)
    phone_joined: threading.Event = field(default_factory=threading.Event)
    last_tick_ready: threading.Event = field(default_factory=threading.Event)
    phone_last_done: threading.Event = field(default_factory=threading.Event)
    ended_ready: threading.Event = field(default_factory=threading.Event)
    phone_end_done: threading.Event = field(default_factory=threading.Event)
    phone_cookie: str = ""
    result: dict[str, Any] = field(default_factory=dict)
    stop: bool = False


async def wait_event(ev: threading.Event, timeout: float, what: str, link: Link) -> None:
    deadline = time.monotonic() + timeout
    while not ev.is_set():
        if link.stop:
            raise Failure(f"stopped while waiting for {what} (the phone's side failed)")
        if time.monotonic() > deadline:
            raise Failure(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(0.1)


def order(s: Identity, rng: random.Random, subnets: list[int]) -> Any:
    """Most orders are valid; some are refused at settlement (selling alpha nobody holds), some
    at once (a negative amount: `error` `invalid`, nothing stored)."""
    r, sid = rng.random(), rng.choice(subnets)
    if r < 0.7:
        return s.command(do="stake", subnet=sid, tao=0.5)
    if r < 0.85:
        return s.command(do="unstake", subnet=sid, alpha=1e9)
    return s.command(do="stake", subnet=sid, tao=-1.0)


async def student_life(s: Identity, hub: Hub, rng: random.Random, drops: list[int],
                       subnets: list[int]) -> None:
    """Trade now and then; at each tick of `drops`, go away and come back. Ends when the game
    is held at its last tick, once every drop is done (a student behind the game catches up
    first: late is not lost, but silent for a minute is)."""
    seen, nxt = -1, 0
    while True:
        await hub.wait(lambda seen=seen: s.tick > seen or hub.phase != "running", 60,
                       lambda seen=seen: f"the next tick after {seen}: {s.describe()}")
        if hub.phase != "running":
            if nxt == len(drops):
                return
            await hub.wait(lambda nxt=nxt: s.tick >= drops[nxt], 60,
                           lambda nxt=nxt: f"tick {drops[nxt]}, the game being at {hub.tick}: "
                                           f"{s.describe()}")
        seen = s.tick
        if hub.phase == "running" and s.status == "running" and rng.random() < P_TRADE:
            await order(s, rng, subnets)
        if nxt < len(drops) and seen >= drops[nxt]:
            nxt += 1
            await s.drop(abrupt=rng.random() < 0.5)
            await asyncio.sleep(rng.uniform(0.0, 0.8))  # away for a moment (nothing timed)
            await s.connect(f"tick {hub.tick}")
            await s.resend_unanswered()


async def come_and_go(x: Identity, hub: Hub, ticks: tuple[int, ...]) -> None:
    for i, t in enumerate(ticks):
        await hub.wait(lambda t=t: hub.tick >= t, 120, f"tick {t} (to reconnect {x.who})")
        await x.drop(abrupt=i % 2 == 1)
        await x.connect(f"tick {hub.tick}")


async def rehearse(port: int, link: Link) -> dict[str, Any]:
    hub = Hub()
    hub.mark("start")
    link.hub = hub
    origin = f"http://127.0.0.1:{port}"
    web, code, projector_path = await instructor_creates(port, USER, PASSWORD, PRESET)
    link.code = code
    ws_url = f"ws://127.0.0.1:{port}/ws/game/{code}/"
    token = projector_path.rstrip("/").rsplit("/", 1)[-1]
    console = Identity(hub, "console", "instructor", ws_url, origin, cookie=web.cookie_header())
    projector = Identity(hub, "projector", "projector", f"{ws_url}?projector={token}", origin)
    await console.connect("lobby")
    await projector.connect("lobby")
    students: list[Identity] = []
    for i in range(STUDENTS):  # the join form, from one address
        seat = await http.join("127.0.0.1", port, code, f"Student {i:02d}")
        students.append(Identity(hub, f"s{i:02d}", "student", ws_url, origin,
                                 cookie=f"seat_{code}={seat}"))
    await asyncio.gather(*(s.connect("lobby") for s in students))
    hub.mark("40 joined")
    link.lobby_ready.set()
    await wait_event(link.phone_joined, 120, "the phone to join", link)
    await hub.wait(lambda: console.players == STUDENTS + 1, 60,
                   f"{STUDENTS + 1} players in the console's lobby")

    hub.mark("lobby full")
    await console.control("start")
    await hub.wait(lambda: hub.tick >= 1 and projector.market is not None, 60, "the first tick")
    hub.phase = "running"
    total = console.game["total_ticks"]
    assert total == 144, f"{PRESET} has {total} ticks, not 24 epochs × 6"
    subnets = [s["id"] for s in projector.market["subnets"]]
    rngs = [random.Random(1000 + i) for i in range(STUDENTS)]
    drops = {s.who: sorted(rngs[i].sample(range(3, total - 8), 2)) for i, s in enumerate(students)}
    life = [asyncio.create_task(hub.guard(student_life(s, hub, rngs[i], drops[s.who], subnets)))
            for i, s in enumerate(students)]
    others = [asyncio.create_task(hub.guard(come_and_go(console, hub, CONSOLE_DROPS))),
              asyncio.create_task(hub.guard(come_and_go(projector, hub, PROJECTOR_DROPS)))]
    try:
        await asyncio.gather(*others)
        await hub.wait(lambda: hub.tick >= total - HOLD_BEFORE, 300, f"tick {total - HOLD_BEFORE}")
        hub.mark(f"tick {hub.tick}")
        # Hold the last tick: a long tick, then settle up to it by hand.
        await console.control("tick_seconds", seconds=LAST_TICK_SECONDS)
        # Once the console has applied that status message, it has every tick before it.
        await hub.wait(lambda: console.game.get("tick_seconds") == LAST_TICK_SECONDS, 30,
                       "the console to see the long tick")
        for _ in range(total - 1 - console.tick):  # each settles one tick, at once
            await console.control("advance", unit="tick")
        await hub.wait(lambda: console.tick >= total - 1, 60, "the ticks settled by advance")
        assert (console.tick, console.status) == (total - 1, "running"), console.game
        hub.phase = "last"
        hub.mark("last tick held")
        await asyncio.gather(*life)
    except BaseException as exc:
        for task in life + others:
            task.cancel()
        await asyncio.gather(*life, *others, return_exceptions=True)
        raise hub.first_failure(exc) from None

    # --- the last tick: a third of the class, the console and the projector come back --------
    last_group, end_group = students[0::3], students[1::3]
    await asyncio.gather(*(s.drop(abrupt=i % 2 == 0) for i, s in enumerate(last_group)))
    await asyncio.gather(*(s.connect("last tick") for s in last_group))
    for s in last_group:
        await s.resend_unanswered()
    await console.drop(abrupt=False)
    await console.connect("last tick")
    await projector.drop(abrupt=True)
    await projector.connect("last tick")
    finals = {s.who: await s.command(do="stake", subnet=subnets[i % len(subnets)], tao=0.5)
              for i, s in enumerate(students)}
    await hub.wait(lambda: all(c in s.answers for s in students for c in s.sent), 60,
                   "an answer to every command sent")
    for s in students:
        a = s.answers[finals[s.who]]
        assert (a["type"], a.get("due_tick")) == ("accepted", total - 1), (s.who, a)
    link.result["last_market"] = dict(hub.markets[total - 1])
    hub.mark("last tick checked (protocol)")
    link.last_tick_ready.set()
    await wait_event(link.phone_last_done, 240, "the phone's reload at the last tick", link)

    await console.control("advance", unit="tick")
    everyone = [*students, console, projector]
    await hub.wait(lambda: all(x.status == "ended" for x in everyone), 60,
                   lambda: "everyone to see the end: " + ", ".join(
                       x.describe() for x in everyone if x.status != "ended"))
    hub.phase = "ended"
    hub.mark("ended")

    # --- after the end: another third, the console and the projector come back ---------------
    await asyncio.gather(*(s.drop(abrupt=i % 2 == 1) for i, s in enumerate(end_group)))
    await asyncio.gather(*(s.connect("after the end") for s in end_group))
    late = {s.who: await s.command(do="stake", subnet=subnets[0], tao=0.5) for s in end_group}
    await hub.wait(lambda: all(late[s.who] in s.answers for s in end_group), 60,
                   "answers to orders after the end")
    await console.drop(abrupt=True)
    await console.connect("after the end")
    await projector.drop(abrupt=False)
    await projector.connect("after the end")
    link.result["ended_market"] = dict(hub.markets[total])
    hub.mark("after the end checked (protocol)")
    link.ended_ready.set()
    await wait_event(link.phone_end_done, 240, "the phone's reload after the end", link)

    # The phone's seat over the protocol: its final rank, to compare with what the page said.
    phone = Identity(hub, "phone (protocol)", "student", ws_url, origin, cookie=link.phone_cookie)
    await phone.connect("after the end")
    link.result["phone_rank"] = (phone.snapshot["rank"], phone.snapshot.get("rank_of"))
    await asyncio.gather(*(x.close() for x in [*everyone, phone]))
    link.result.update(students=students, console=console, projector=projector, total=total,
                       drops=drops, last_group=[s.who for s in last_group],
                       end_group=[s.who for s in end_group], late=late, finals=finals)
    return link.result


def run_rehearsal(port: int, link: Link) -> None:
    try:
        asyncio.run(rehearse(port, link))
    except BaseException as exc:  # noqa: BLE001 - handed to the main thread
        link.error = exc


def wait_flag(ev: threading.Event, timeout: float, what: str, link: Link,
              thread: threading.Thread) -> None:
    deadline = time.monotonic() + timeout
    while not ev.wait(0.2):
        if link.error is not None:
            raise AssertionError(f"the rehearsal stopped: {link.error}") from link.error
        if not thread.is_alive():
            raise AssertionError(f"the rehearsal ended before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


# --- the phone ---------------------------------------------------------------------------------

READ_PAGE = """() => {
  const q = (s) => document.querySelector(s);
  const canvas = q('#detail-chart');
  const chart = window.Chart && canvas ? window.Chart.getChart(canvas) : null;
  const m = /tick (\\d+)/.exec(q('#clock').textContent || '');
  return {
    conn: q('#conn').dataset.state, status: q('#game-status').textContent,
    clock: q('#clock').textContent, tick: m ? Number(m[1]) : null,
    gameHidden: q('#game-view').hidden, endedHidden: q('#ended-view').hidden,
    ended: q('#ended-summary').textContent,
    rows: [...document.querySelectorAll('#market tbody tr')].map((tr) => ({
      id: Number(tr.dataset.subnet), price: tr.querySelector('td .num').textContent })),
    labels: chart ? chart.data.labels.slice() : null,
  };
}"""

# Rendered: live, the expected phase, a market table with prices, and the price chart holding
# every settled tick from 0 (as many points as the clock's tick says).
RENDERED = """([status]) => {
  const q = (s) => document.querySelector(s);
  const canvas = q('#detail-chart');
  const chart = window.Chart && canvas ? window.Chart.getChart(canvas) : null;
  const m = /tick (\\d+)/.exec(q('#clock').textContent || '');
  const rows = [...document.querySelectorAll('#market tbody tr')];
  return q('#conn').dataset.state === 'live' && q('#game-status').textContent === status
    && m !== null && rows.length > 0
    && rows.every((tr) => /\\d/.test(tr.querySelector('td .num').textContent))
    && chart !== null && chart.data.labels.length === Number(m[1]) && chart.data.labels[0] === 0;
}"""

FORMAT = """async (prices) => {
  const src = document.querySelector('script[type=module][src*="play"]').src;
  const ui = await import(new URL('ui.js', src).href);
  return prices.map((p) => ui.fmt(p));
}"""


def phone_reload(page, status: str, when: str, hub: Hub, markets: dict[int, dict[int, float]]
                 ) -> tuple[dict[str, Any], float]:
    """Reload (the tab's storage is emptied before the page's scripts run: see the test); wait
    (bounded) until the page renders `status`, then check it against the server: the prices of
    the tick it shows, the chart from tick 0."""
    started = time.monotonic()
    page.reload()
    try:
        page.wait_for_function(RENDERED, arg=[status], timeout=WAIT_MS)
    except Exception as exc:  # noqa: BLE001 - reported with what the page shows
        raise AssertionError(f"phone reload {when}: not rendered as {status!r} within "
                             f"{WAIT_MS / 1000:.0f} s; the page shows {page.evaluate(READ_PAGE)}"
                             ) from exc
    took = time.monotonic() - started
    shown = page.evaluate(READ_PAGE)
    tick = shown["tick"]
    assert shown["labels"] == list(range(tick)), f"phone {when}: chart ticks {shown['labels']}"
    deadline = time.monotonic() + 30
    while tick not in markets and time.monotonic() < deadline:  # the clients may lag the page
        time.sleep(0.1)
    assert tick in markets, f"phone {when}: no protocol client saw the market of tick {tick}"
    prices = markets[tick]
    assert sorted(r["id"] for r in shown["rows"]) == sorted(prices), (when, shown["rows"])
    ids = [r["id"] for r in shown["rows"]]
    expected = page.evaluate(FORMAT, [prices[i] for i in ids])
    assert [r["price"] for r in shown["rows"]] == expected, (
        f"phone {when} (tick {tick}): prices {shown['rows']} are not the server's {prices}")
    assert hub.markets.get(tick) == prices
    return shown, took


def watch_first_frames(page) -> list[tuple[int, str | None]]:
    """(bytes, type) of the first message on every socket the page opens."""
    firsts: list[tuple[int, str | None]] = []

    def on_socket(ws) -> None:
        state = {"first": True}

        def on_frame(payload) -> None:
            if state["first"]:
                state["first"] = False
                raw = payload.encode() if isinstance(payload, str) else payload
                try:
                    kind = json.loads(raw).get("type")
                except ValueError:
                    kind = None
                firsts.append((len(raw), kind))

        ws.on("framereceived", on_frame)

    page.on("websocket", on_socket)
    return firsts


# --- the test -----------------------------------------------------------------------------------

def test_a_class_period_everyone_comes_back(make_run, browser, watch, tmp_path):
    port, env, out_path, err_path, proc = make_run
    base = f"http://127.0.0.1:{port}"
    link = Link()
    thread = threading.Thread(target=run_rehearsal, args=(port, link), daemon=True)
    thread.start()
    ctx = browser.new_context(viewport=PHONE)
    page = ctx.new_page()
    page.set_default_timeout(WAIT_MS)
    watch.attach(page, "phone")
    phone_first = watch_first_frames(page)
    timings: dict[str, float] = {}
    failure: BaseException | None = None
    ended_text = ""
    try:
        ended_text = _phone_through_the_period(page, ctx, base, link, thread, timings)
    except BaseException as exc:  # noqa: BLE001 - raised below with the server's errors
        failure = exc
    finally:
        link.stop = True
        if link.hub is not None:
            link.hub.abort = True
        thread.join(30)
        ctx.close()
        stop_process(proc, timeout=5)
        print(f"\nthe server's exit status after SIGTERM: {proc.returncode}")
        server_out = out_path.read_text(errors="replace") + err_path.read_text(errors="replace")
        _report_sizes(link.hub, timings, phone_first)
    if failure is not None:
        raise AssertionError(f"{failure}\n-- errors in the server's log: "
                             f"{_log_errors(server_out)}") from failure

    r = link.result
    students: list[Identity] = r["students"]
    total = r["total"]
    _check_the_end(r, ended_text, server_out)
    _check_everyone_came_back(link.hub, r, students, phone_first, total)
    _check_roster_and_podium(r["console"], r["projector"])
    _check_refused_after_the_end(r, students)
    _check_the_log_and_export(env, link.code, tmp_path / "export.zip", r, students, total)


# --- the test's steps ---------------------------------------------------------------------------

def _phone_through_the_period(page, ctx, base: str, link: Link, thread: threading.Thread,
                              timings: dict[str, float]) -> str:
    """The phone joins, reloads early, in the middle, at the last tick and after the end (each
    reload checked); the rehearsal then finishes. Returns the "Ended" text the page showed."""
    wait_flag(link.lobby_ready, 120, "the lobby", link, thread)
    code, hub = link.code, link.hub
    _phone_joins(page, base, code)
    link.phone_joined.set()

    for when, at in (("early", EARLY), ("middle", MIDDLE)):
        _play_to_tick(hub, link, at)
        shown, timings[when] = phone_reload(page, "Running", f"at tick {hub.tick} ({when})",
                                            hub, hub.markets)
        assert shown["tick"] >= at and shown["gameHidden"] is False

    wait_flag(link.last_tick_ready, 300, "the last tick", link, thread)
    total = 144
    shown, timings["last tick"] = phone_reload(page, "Running", "at the last tick", hub,
                                               {total - 1: link.result["last_market"]})
    assert shown["tick"] == total - 1 and "next tick in" in shown["clock"], shown["clock"]
    link.phone_last_done.set()

    wait_flag(link.ended_ready, 120, "the end", link, thread)
    shown, timings["after the end"] = phone_reload(page, "Ended", "after the end", hub,
                                                   {total: link.result["ended_market"]})
    assert shown["tick"] == total and "game over" in shown["clock"], shown["clock"]
    assert shown["endedHidden"] is False
    ended_text = shown["ended"]
    cookie = next(c for c in ctx.cookies() if c["name"] == f"seat_{code}")
    link.phone_cookie = f"seat_{code}={cookie['value']}"
    page.close()  # the protocol check of its seat below would take the seat over (4011)
    link.phone_end_done.set()
    thread.join(120)
    assert not thread.is_alive(), "the rehearsal did not finish"
    if link.error is not None:
        raise AssertionError(f"the rehearsal stopped: {link.error}") from link.error
    return ended_text


def _phone_joins(page, base: str, code: str) -> None:
    page.goto(f"{base}/join/{code}")
    page.get_by_label("Nickname").fill("Phone")
    page.get_by_role("button", name="Join", exact=True).click()
    page.wait_for_url(re.compile(rf"/play/{code}/$"))
    page.wait_for_selector("#conn[data-state=live]")
    # From now on every load starts with the tab's storage empty (a new tab, a phone that
    # dropped it): the charts' past must come from the server, not from what the tab kept.
    page.add_init_script("try { sessionStorage.clear(); } catch (e) {}")


def _play_to_tick(hub: Hub, link: Link, at: int) -> None:
    deadline = time.monotonic() + 240
    while hub.tick < at:
        if link.error is not None:
            raise AssertionError(f"the rehearsal stopped: {link.error}") from link.error
        assert time.monotonic() < deadline, f"tick {at} not reached"
        time.sleep(0.1)


def _check_the_end(r: dict[str, Any], ended_text: str, server_out: str) -> None:
    # The page said the seat's final rank among the 41 students, as the server has it.
    rank, rank_of = r["phone_rank"]
    assert rank_of == STUDENTS + 1 and 1 <= rank <= rank_of, r["phone_rank"]
    assert f"rank #{rank} of {rank_of} students." in ended_text, (ended_text, r["phone_rank"])

    # No traceback, no message too large to send, in anything the server wrote.
    for bad in ("Traceback", "PayloadExceededError", "Exception"):
        assert bad not in server_out, _excerpt(server_out, bad)


def _check_everyone_came_back(hub: Hub, r: dict[str, Any], students: list[Identity],
                              phone_first: list[tuple[int, str | None]], total: int) -> None:
    # Every identity came back every time, with a fresh snapshot under 64 kB.
    expected = {s.who: 1 + len(r["drops"][s.who]) + (s.who in r["last_group"])
                + (s.who in r["end_group"]) for s in students}
    expected.update({"console": 1 + len(CONSOLE_DROPS) + 2,
                     "projector": 1 + len(PROJECTOR_DROPS) + 2, "phone (protocol)": 1})
    counted: dict[str, int] = {}
    for c in hub.connects:
        counted[c.who] = counted.get(c.who, 0) + 1
        assert c.first_type == "snapshot" and c.size is not None, c
        assert c.size < FRAME_LIMIT, f"{c.who} ({c.when}): first message {c.size} bytes"
    assert counted == expected
    # The phone's page: a socket per load (the join and four reloads), each opened by a snapshot.
    assert len(phone_first) >= 5 and all(k == "snapshot" for _, k in phone_first), phone_first
    assert all(size < FRAME_LIMIT for size, _ in phone_first), phone_first
    big = [s for s in hub.snapshots if s[1] >= FRAME_LIMIT]
    assert not big, f"snapshots of 64 kB or more (kind, bytes, tick): {big[:5]}"
    assert not hub.market_conflicts, hub.market_conflicts[:3]
    for x in [*students, r["console"], r["projector"]]:
        assert not x.problems, (x.who, x.problems[:3])
    for c in hub.connects:
        if c.when == "after the end":
            assert (c.status, c.tick) == ("ended", total), c
        if c.when == "last tick":
            assert (c.status, c.tick) == ("running", total - 1), c


def _check_roster_and_podium(console: Identity, projector: Identity) -> None:
    final_roster = console.snapshot["roster"]
    humans = sorted(x["nickname"] for x in final_roster if x["kind"] == "human")
    assert humans == sorted([f"Student {i:02d}" for i in range(STUDENTS)] + ["Phone"])
    # The projector's final podium: students only, best first (equal returns share a rank).
    board = projector.snapshot["leaderboard"]
    ranks = [x["rank"] for x in board]
    assert len(board) == 10 and ranks[0] == 1 and ranks == sorted(ranks), board
    assert {x["nickname"] for x in board} <= set(humans), board


def _check_refused_after_the_end(r: dict[str, Any], students: list[Identity]) -> None:
    # Orders after the end were refused with game_over and stored nowhere.
    for s in students:
        if s.who in r["late"]:
            a = s.answers[r["late"][s.who]]
            assert (a["type"], a.get("code")) == ("rejected", "game_over"), a


def _check_the_log_and_export(env: dict[str, str], code: str, zpath: Path, r: dict[str, Any],
                              students: list[Identity], total: int) -> None:
    # Nothing acknowledged lost or duplicated: the command log, the export, the fills.
    checks = time.monotonic()
    log = command_log(env, code, zpath)
    assert (log["status"], log["tick"]) == ("ended", total)
    seat_of = {s.who: s.you["seat_id"] for s in students}
    by_key: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for c in log["commands"]:
        if c["id"] is not None:
            by_key.setdefault((c["seat"], c["id"]), []).append(c)
    accepted = refused_now = 0
    for s in students:
        a_now, r_now = _check_logged_once(s, by_key, seat_of[s.who])
        accepted += a_now
        refused_now += r_now
    assert not {k: v for k, v in by_key.items() if k[0] in seat_of.values()}, \
        "stored commands no student was told about"
    refused_later = sum(1 for c in log["commands"] if c["actor"] == "human"
                        and c["status"] == "rejected")
    print(f"\nrehearsal: {accepted} orders acknowledged, {refused_now} refused at once, "
          f"{refused_later} refused at settlement, {len(r['late'])} refused after the end")
    assert refused_now > 0 and refused_later > 0 and accepted > STUDENTS

    _check_export(zpath, students)

    assert log["replay_exit"] == 0, log["replay"]
    print(f"checked after the game in {time.monotonic() - checks:.1f} s")


def _check_logged_once(s: Identity, by_key: dict[tuple[int, str], list[dict[str, Any]]],
                       seat: int) -> tuple[int, int]:
    """Each of a student's answered commands: stored once if acknowledged (settled at its due
    tick, as the client was told), nowhere if refused. Takes its rows out of `by_key`; returns
    (acknowledged, refused at once)."""
    accepted = refused_now = 0
    for cid, a in s.answers.items():
        rows = by_key.pop((seat, cid), [])
        if a["type"] != "accepted":
            assert rows == [], f"{s.who}: {cid} was refused ({a}) but stored: {rows}"
            refused_now += a["type"] == "error"
            continue
        accepted += 1
        assert len(rows) == 1, f"{s.who}: {cid} acknowledged ({a}), in the log {len(rows)}×"
        row = rows[0]
        assert row["command"] == a["command"] and row["status"] in ("filled", "rejected"), \
            f"{s.who}: {cid} acknowledged as {a}, logged as {row}"
        assert row["tick"] == row["due"] == a["due_tick"], \
            f"{s.who}: {cid} due at {a['due_tick']}, settled as {row}"
        assert s.settled.get(cid, {row["tick"]}) == {row["tick"]}, \
            f"{s.who}: {cid} settled at {row['tick']}, the client was told {s.settled[cid]}"
    return accepted, refused_now


def _check_export(zpath: Path, students: list[Identity]) -> None:
    """The export's commands.csv has exactly each student's acknowledged orders."""
    with zipfile.ZipFile(zpath) as z:
        rows = list(csv.DictReader(io.StringIO(z.read("commands.csv").decode("utf-8-sig"))))
    exported: dict[str, int] = {}
    for row in rows:
        if row["actor"] == "human":
            exported[row["nickname"]] = exported.get(row["nickname"], 0) + 1
    for s in students:
        nick = s.you["nickname"]
        acked = sum(1 for a in s.answers.values() if a["type"] == "accepted")
        assert exported.get(nick, 0) == acked, (nick, exported.get(nick), acked)


def _log_errors(text: str) -> str:
    """The distinct exception lines of a log, most frequent first."""
    found = Counter(m.group(0)[:160] for m in re.finditer(
        r"^[\w.]+(?:Error|Exception)\b.*$", text, re.MULTILINE))
    return "; ".join(f"{n}× {line}" for line, n in found.most_common(5)) or "none"


def _excerpt(text: str, word: str) -> str:
    i = text.find(word)
    return text[max(0, i - 1500):i + 1500]


def _report_sizes(hub: Hub | None, timings: dict[str, float],
                  phone_first: list[tuple[int, str | None]]) -> None:
    if hub is None:
        return
    largest: dict[str, tuple[int, str, str]] = {}
    for c in hub.connects:
        if c.size is not None and c.size > largest.get(c.kind, (0, "", ""))[0]:
            largest[c.kind] = (c.size, c.who, c.when)
    if phone_first:
        largest["phone page"] = (max(size for size, _ in phone_first), "phone", "any load")
    print("\nlargest first message by kind: " + "; ".join(
        f"{k} {v[0]} B ({v[1]}, {v[2]})" for k, v in sorted(largest.items())))
    snaps: dict[str, int] = {}
    for kind, size, _tick in hub.snapshots:
        snaps[kind] = max(snaps.get(kind, 0), size)
    print(f"largest snapshot by kind: {snaps}; connects: {len(hub.connects)}, "
          f"failed: {sum(1 for c in hub.connects if c.size is None)}")
    t0 = hub.timeline[0][1] if hub.timeline else 0.0
    print("timeline: " + ", ".join(f"{w} +{t - t0:.1f} s" for w, t in hub.timeline))
    print("phone reload → rendered: " + ", ".join(f"{k} {v:.2f} s" for k, v in timings.items()))
