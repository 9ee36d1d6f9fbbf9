"""The debrief page, a student's private report and the projector of a finished game in real
Chromium against a real daphne server. Screenshots go to artifacts_dir/debrief/.

Checks: the charts draw, the bot classes finish and are drawn, moving the replay scrubber
changes the tick, the market table and the banner; nicknames made of markup stay text
everywhere (no dialog, no injected element)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from gamekit import EVIL_NICKS, write_preset
from procs import stop_tree

from bench.stack import free_port, wait_for_port

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
USER, PASSWORD = "debrief-teacher", "debrief-long-password-42"
WAIT = 120_000  # ms: generous for a loaded 2-core machine; never a timing assertion


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("debrief-server")
    write_preset(tmp / "scenarios")
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update({
        "VAR_DIR": str(tmp / "var"), "SQLITE_PATH": str(tmp / "db.sqlite3"),
        "SCENARIOS_DIR": str(tmp / "scenarios"), "DJANGO_SETTINGS_MODULE": "game.settings",
        "DJANGO_SECRET_KEY": "debrief-browser-tests-only-0123456789abcdef", "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost", "ENGINE_IN_PROCESS": "0",
        "DEBRIEF_USER": USER, "DEBRIEF_PASSWORD": PASSWORD, "PYTHONUNBUFFERED": "1",
    })
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v0"],
                   cwd=ROOT, env=env, check=True)
    built = subprocess.run([sys.executable, str(Path(__file__).parent / "build_game.py")],
                           cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    info = json.loads(built.stdout.strip().splitlines()[-1])
    port = free_port()
    log = open(tmp / "daphne.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                             "game.asgi:application"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, proc, what="daphne")
        yield {"base": f"http://127.0.0.1:{port}", **info}
    finally:
        stop_tree(proc)
        log.close()


@pytest.fixture
def shots(artifacts_dir: Path) -> Path:
    path = artifacts_dir / "debrief"
    path.mkdir(parents=True, exist_ok=True)
    return path


class Watch:
    """Fails the test on page errors, console errors or any dialog (an injected alert)."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def page(self, context, name: str):
        page = context.new_page()
        page.set_default_timeout(WAIT)
        page.on("pageerror", lambda e: self.problems.append(f"[{name}] pageerror {e}"))
        page.on("console", lambda m: m.type == "error" and self.problems.append(
            f"[{name}] console {m.text}"))

        def dialog(d) -> None:
            self.problems.append(f"[{name}] dialog {d.type}: {d.message}")
            d.dismiss()

        page.on("dialog", dialog)
        return page


def _no_injection(page) -> None:
    injected = page.evaluate("""() => ({
        img: document.querySelectorAll('img[src="x"]').length,
        scripts: [...document.scripts].filter(s => s.textContent.includes('alert(1)')
                                                   && s.type !== 'application/json').length })""")
    assert injected == {"img": 0, "scripts": 0}


def _canvas_drawn(page, selector: str, watch: "Watch | None" = None) -> None:
    try:
        page.wait_for_function("""sel => { const c = document.querySelector(sel);
            return c && window.Chart && window.Chart.getChart(c) && c.width > 0; }""",
                               arg=selector)
    except Exception:
        problems = "\n".join(watch.problems) if watch else ""
        raise AssertionError(f"{selector} was not drawn; page problems:\n{problems}") from None


def test_debrief_page_scrubber_and_bot_classes(server, browser, shots):
    w = Watch()
    ctx = browser.new_context(viewport={"width": 1600, "height": 1000})
    page = w.page(ctx, "debrief")
    # Five bot classes keep the background work small on a shared 2-core machine.
    page.goto(server["base"] + f"/console/{server['code']}/debrief/?runs=5")
    page.wait_for_url(re.compile(r"/login/"))
    page.get_by_label("Username").fill(USER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/debrief/\?runs=5$"))
    for sel in ("#ch-price", "#ch-share", "#ch-rho", "#ch-health", "#ch-em-subnet",
                "#ch-em-role"):
        _canvas_drawn(page, sel, w)
    assert "1: Root weight rises" in page.locator("#event-legend").inner_text()
    # The bot classes start by themselves after the game and report progress until done.
    page.wait_for_selector("#mc-progress[data-state=done]", timeout=600_000)
    _canvas_drawn(page, "#ch-mc-health")
    _canvas_drawn(page, "#ch-mc-price")
    board = page.locator("#board tbody").inner_text()
    for nick in EVIL_NICKS:
        assert nick in board
    _no_injection(page)
    page.screenshot(path=str(shots / "debrief-1600.png"), full_page=True)
    page.locator("section:has(#mc-h)").screenshot(path=str(shots / "debrief-bot-classes.png"))

    # The replay scrubber: the last tick first, then back to an early one.
    last_tick = page.locator("#scrub-tick").inner_text()
    last_market = page.locator("#scrub-market tbody").inner_text()
    assert page.locator("#scrub-banner").is_visible()  # the last event is still showing
    page.locator("#scrub").fill("1")
    page.wait_for_function("() => document.querySelector('#scrub-tick').textContent"
                           ".startsWith('1 ')")
    assert page.locator("#scrub-tick").inner_text() != last_tick
    assert page.locator("#scrub-market tbody").inner_text() != last_market
    assert not page.locator("#scrub-banner").is_visible()  # no event had fired by tick 1
    page.locator("#scrub").fill("4")
    page.wait_for_function("() => document.querySelector('#scrub-tick').textContent"
                           ".startsWith('4 ')")
    assert "A whale arrives" in page.locator("#scrub-banner").inner_text()
    page.locator("#scrubber, #scrub-h").first.scroll_into_view_if_needed()
    page.locator(".scrubber").screenshot(path=str(shots / "debrief-scrubber-tick4.png"))

    # Role boards.
    page.get_by_role("tab", name="Root validators").click()
    assert EVIL_NICKS[2] in page.locator("#board tbody").inner_text()
    assert EVIL_NICKS[0] not in page.locator("#board tbody").inner_text()

    # Projector mode: larger text, the charts redrawn with it.
    page.locator("#big-btn").click()
    page.wait_for_function("() => document.body.classList.contains('big')")
    page.screenshot(path=str(shots / "debrief-projector-mode-1600.png"))
    page.locator("#big-btn").click()

    page.emulate_media(media="print")
    assert not page.locator("#delete-form").is_visible()
    page.screenshot(path=str(shots / "debrief-print.png"), full_page=True)
    ctx.close()
    assert not w.problems, "\n".join(w.problems)


def test_private_report_and_projector(server, browser, shots):
    w = Watch()
    nick = EVIL_NICKS[1]
    ctx = browser.new_context(viewport={"width": 390, "height": 844})
    ctx.add_cookies([{"name": f"seat_{server['code']}", "value": server["tokens"][nick],
                      "url": server["base"]}])
    page = w.page(ctx, "report")
    page.goto(server["base"] + f"/report/{server['code']}/")
    _canvas_drawn(page, "#ch-rep-price")
    assert page.locator("#rep-nick").inner_text() == nick
    assert re.match(r"#\d+ of \d+ overall", page.locator("#rep-rank").inner_text())
    assert "Total P&L" in page.locator("#rep-pnl").inner_text()
    assert "Emission follows where stake goes." in page.locator("#lesson").inner_text()
    assert page.locator("#rep-trades tbody tr").count() >= 2
    _no_injection(page)
    page.screenshot(path=str(shots / "report-390.png"), full_page=True)
    ctx.close()

    ctx = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = w.page(ctx, "projector")
    page.goto(server["base"] + f"/projector/{server['code']}/{server['projector_token']}/")
    page.wait_for_selector("#leaderboard li")
    board = page.locator("#leaderboard").inner_text()
    assert any(n in board for n in EVIL_NICKS)
    _no_injection(page)
    page.screenshot(path=str(shots / "projector-1920.png"), full_page=True)
    ctx.close()
    assert not w.problems, "\n".join(w.problems)


def _login(page, base: str, code: str) -> None:
    page.goto(base + f"/console/{code}/debrief/?runs=5")
    page.wait_for_url(re.compile(r"/login/"))
    page.get_by_label("Username").fill(USER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/debrief/\?runs=5$"))


def test_the_pnl_board_lists_students_first_and_reads_at_1280(server, browser, shots):
    """Issue #13: the debrief's P&L table, students first (ranked by return, their rank history
    among students), bots and the instructor after; at 1280 x 720 no name is broken mid-word
    and the rank history is not clipped (the table needs no sideways scroll)."""
    w = Watch()
    ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    page = w.page(ctx, "debrief-1280")
    _login(page, server["base"], server["code"])
    page.wait_for_selector("#board tbody tr.group")
    kinds = page.eval_on_selector_all(
        "#board tbody tr", "rows => rows.map(r => r.classList.contains('group') ? 'group'"
                           " : r.dataset.kind)")
    students = len(server["tokens"])  # every seat the game's students joined
    assert kinds[:students] == ["student"] * students
    assert kinds[students] == "group" and set(kinds[students + 1:]) == {"other"}
    ranks = page.eval_on_selector_all(
        "#board tbody tr[data-kind=student] td:first-child",
        "cells => cells.map(c => c.textContent)")
    assert ranks[0] == "1" and all(r.isdigit() for r in ranks)
    layout = page.evaluate("""() => {
        const wrap = document.querySelector('#board').closest('.tbl-wrap');
        const lines = (node) => { const r = document.createRange(); r.selectNodeContents(node);
                                  return r.getClientRects().length; };
        const cells = (sel) => [...document.querySelectorAll(sel)];
        const nicks = cells('#board td.nick').map(td => lines(td.firstChild));
        const hist = cells('#board td.hist').map(td => td.scrollWidth - td.clientWidth);
        return {overflow: wrap.scrollWidth - wrap.clientWidth, nicks, hist};
    }""")
    assert layout["overflow"] <= 0, layout
    assert set(layout["nicks"]) == {1}, layout
    assert max(layout["hist"]) <= 0, layout
    page.locator("section:has(#lb-h)").screenshot(path=str(shots / "debrief-board-1280.png"))
    # One name per subnet: the replay's market table writes each subnet by number and name.
    market = page.locator("#scrub-market tbody").inner_text()
    assert "SN1 · Text prompting" in market and "SN2 · Meme coin" in market, market
    ctx.close()

    # ...and so does a student's report, in its trades table (360 px).
    nick = EVIL_NICKS[0]  # bought on subnet 1 and moved to subnet 2 (gamekit ORDERS)
    ctx = browser.new_context(viewport={"width": 360, "height": 740})
    ctx.add_cookies([{"name": f"seat_{server['code']}", "value": server["tokens"][nick],
                      "url": server["base"]}])
    report = w.page(ctx, "report-360")
    report.goto(server["base"] + f"/report/{server['code']}/")
    report.wait_for_selector("#rep-trades tbody tr")
    cells = report.locator("#rep-trades tbody td:nth-child(3)").all_text_contents()
    assert "SN1 · Text prompting" in cells, cells
    assert "SN1 · Text prompting → SN2 · Meme coin" in cells, cells
    report.locator("#rep-trades").screenshot(path=str(shots / "report-trades-360.png"))
    ctx.close()
    assert not w.problems, "\n".join(w.problems)
