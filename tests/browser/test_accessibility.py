"""Every page passes an axe-core scan with no serious or critical violation, and every control
on it can be reached with the keyboard (issue #13, "Accessible").

axe-core comes from the npm registry (package.json; `scripts/setup` installs it) and is used only
here. It is evaluated in the page through the DevTools protocol, so the pages' own
Content-Security-Policy does not have to allow it. Pages are scanned in the states a class sees
them: the join page, a phone in the lobby and in a running game (360 px), the console, the
projector (1280×720), the login page, and after the end the debrief and a student's report.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from test_browser_game import CREATED, PHONE, WAIT, _console, _join, _new_page

pytestmark = pytest.mark.slow

PROJECTOR = {"width": 1280, "height": 720}


def _scan(page, axe_source: str, where: str, shots: Path) -> list[str]:
    """axe's serious and critical violations on the page as it is now, as readable lines."""
    page.evaluate(axe_source)
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ["violations"]});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}));
    }""")
    (shots / f"axe-{where}.json").write_text(json.dumps(result, indent=1))
    page.screenshot(path=str(shots / f"{where}.png"), full_page=True)
    return [f"{where}: {v['id']} ({v['impact']}): {v['help']} at {v['nodes']}"
            for v in result if v["impact"] in ("serious", "critical")]


# A control's description, stable across the re-renders a live page does every tick (an element
# replaced by an identical one is the same control to a person). A group of radio buttons is one
# tab stop (the arrow keys move within it, as every platform does).
DESCRIBE = """e => e.type === 'radio' && e.name ? 'radio group ' + e.name
  : [e.tagName.toLowerCase(), e.type || '', e.id, e.name || '', e.getAttribute('aria-label') || '',
     e.getAttribute('href') || '', (e.textContent || '').trim().slice(0, 40)].join('|')"""

# Every visible, enabled control a person could use.
CONTROLS = """(describe) => [...new Set([...document.querySelectorAll(
    'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]')]
  .filter(e => !e.disabled && e.offsetParent !== null
               && getComputedStyle(e).visibility !== 'hidden')
  .map(eval(describe)))]"""


def _unreachable(page, where: str) -> list[str]:
    """Tab through the page from the top and list the controls focus never reached."""
    controls = set(page.evaluate(CONTROLS, DESCRIBE))
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); "
                  "window.scrollTo(0, 0); }")
    reached: set[str] = set()
    for _ in range(2 * len(controls) + 20):
        page.keyboard.press("Tab")
        reached.add(page.evaluate(f"() => document.activeElement ? ({DESCRIBE})("
                                  "document.activeElement) : ''"))
        if controls <= reached:
            break
    missing = sorted(controls - reached)
    return [f"{where}: not reachable by Tab: {missing}"] if missing else []


def test_every_page_passes_axe_and_the_keyboard(browser, daphne_server, instructor, watch,
                                                  shots, axe_source):
    base = daphne_server
    problems: list[str] = []

    def check(page, where):
        problems.extend(_scan(page, axe_source, where, shots))
        problems.extend(_unreachable(page, where))

    login = _new_page(browser, watch, "login", {"width": 1280, "height": 900})
    login.goto(base + "/login/")
    check(login, "login")

    console = _console(browser, watch, base, instructor)
    check(console, "console-index")
    # Sandbox (4 subnets): the debrief opened at the end starts its bot-class bands in the
    # background, which on the 64-subnet launch preset would keep a core busy for minutes.
    console.locator("input[name=preset][value=sandbox]").check()
    console.get_by_label("Tick length (seconds)").fill("1")
    console.get_by_role("button", name="Create game").click()
    console.wait_for_url(re.compile(r"/console/[A-Z0-9]+/$"))
    code = console.url.rstrip("/").rsplit("/", 1)[-1]
    CREATED.append((console.context, base, code))  # deleted after the test, bands job and all
    console.wait_for_selector("#conn[data-state=live]")
    projector_url = console.locator("#projector-link").get_attribute("href")
    # The test server listens on 127.0.0.1: the console says phones cannot open the link.
    warning = console.locator("#phone-warning")
    assert warning.is_visible() and "HOST=0.0.0.0" in warning.text_content()
    warning.screenshot(path=str(shots / "console-loopback-warning.png"))

    phone = _new_page(browser, watch, "phone", PHONE)
    phone.goto(f"{base}/join/{code}")
    check(phone, "join-360")
    _join(phone, base, code, "Ada")
    check(phone, "play-lobby-360")
    check(console, "console-lobby")

    projector = _new_page(browser, watch, "projector", PROJECTOR)
    projector.goto(base + projector_url)
    projector.wait_for_selector("#conn[data-state=live]", state="attached")
    check(projector, "projector-lobby")

    console.get_by_role("button", name="Start game").click()
    phone.wait_for_selector("#market tbody tr", timeout=WAIT)
    check(phone, "play-running-360")
    check(console, "console-running")
    projector.wait_for_selector("#proj-play:not([hidden])")
    check(projector, "projector-running")

    console.once("dialog", lambda dialog: dialog.accept())
    console.get_by_role("button", name="End game").click()
    phone.wait_for_selector("#ended-view:not([hidden])")
    check(phone, "play-ended-360")
    phone.get_by_role("link", name="See your personal report").click()
    phone.wait_for_load_state("networkidle")
    check(phone, "report-360")
    console.wait_for_selector("#debrief-link:not([hidden])")
    console.goto(f"{base}/console/{code}/debrief/")
    console.wait_for_load_state("networkidle")
    check(console, "debrief")

    assert not problems, "accessibility problems:\n" + "\n".join(problems)
