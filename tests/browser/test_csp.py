"""Every page keeps to its Content-Security-Policy (game/web/headers.py) in a real Chromium: no
inline script, style or handler is blocked on the login, console, join, play and projector
pages, and the policy is really enforced (an injected inline script does not run)."""
from __future__ import annotations

import re

# Recorded before any page script runs: every violation the browser reports.
RECORD = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(
  `${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber} ${e.sample}`));
"""


def _page(browser, viewport=None):
    ctx = browser.new_context(viewport=viewport or {"width": 1280, "height": 900})
    ctx.add_init_script(RECORD)
    page = ctx.new_page()
    page.set_default_timeout(30_000)
    return page


def _violations(page) -> list[str]:
    page.wait_for_load_state("load")
    page.wait_for_timeout(0)  # let queued violation events fire
    return page.evaluate("() => window.__csp")


def test_every_page_keeps_to_the_content_security_policy(browser, daphne_server, instructor):
    base = daphne_server
    seen: dict[str, list[str]] = {}

    console = _page(browser)
    console.goto(base + "/console/")
    console.wait_for_url(re.compile(r"/login/"))
    seen["login"] = _violations(console)
    console.get_by_label("Username").fill(instructor[0])
    console.get_by_label("Password").fill(instructor[1])
    console.get_by_role("button", name="Log in").click()
    console.wait_for_url(re.compile(r"/console/$"))
    seen["console"] = _violations(console)
    console.get_by_role("button", name="Create game").click()
    console.wait_for_url(re.compile(r"/console/[A-Z0-9]+/$"))
    console.wait_for_selector("#conn[data-state=live]")
    code = console.url.rstrip("/").rsplit("/", 1)[-1]
    seen["console game"] = _violations(console)

    projector = _page(browser, {"width": 1920, "height": 1080})
    projector.goto(base + console.locator("#projector-link").get_attribute("href"))
    projector.wait_for_selector("#conn[data-state=live]", state="attached")
    seen["projector"] = _violations(projector)

    student = _page(browser, {"width": 360, "height": 740})
    student.goto(f"{base}/join/{code}")
    seen["join"] = _violations(student)
    student.get_by_label("Nickname").fill("Csp Tester")
    student.get_by_role("button", name="Join", exact=True).click()
    student.wait_for_url(re.compile(rf"/play/{code}/$"))
    student.wait_for_selector("#conn[data-state=live]")
    seen["play"] = _violations(student)

    assert seen == {name: [] for name in seen}
    assert set(seen) == {"login", "console", "console game", "projector", "join", "play"}

    # The policy is enforced, not just sent: an inline script injected into the page is blocked.
    student.evaluate("""() => { const s = document.createElement('script');
        s.textContent = 'window.__ran = true'; document.body.append(s); }""")
    student.wait_for_function("() => window.__csp.length > 0")
    assert student.evaluate("() => window.__ran === undefined")
    assert student.evaluate("() => window.__csp[0]").startswith("script-src")
