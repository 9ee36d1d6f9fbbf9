"""A class session in real Chromium (issue #16 items 4–5): the console, two 360-px phones and
the projector. Practice → real game keeps every seat without a new join; play again moves the
phones (and the projector) to round 2 by themselves; round 2's debrief shows round 1 beside it;
the games list groups the session's rounds. The new console UI passes the axe scan (tests/browser/test_accessibility.py's pattern).
The server's side is tests/server/test_rounds.py."""
from __future__ import annotations

import re

import pytest
from test_accessibility import _scan
from test_browser_game import PHONE, _console, _join, _new_page

pytestmark = pytest.mark.slow


def _code(page) -> str:
    return page.url.rstrip("/").rsplit("/", 1)[-1]


def _create_sandbox(console) -> str:
    console.check("input[name=preset][value=sandbox]")
    console.get_by_label("Game name").fill("Period 3")
    console.get_by_label("Epochs (rounds)").fill("2")
    console.get_by_label("Tick length (seconds)").fill("30")
    console.get_by_role("button", name="Create game").click()
    console.wait_for_url(re.compile(r"/console/[A-Z0-9]+/$"))
    console.wait_for_selector("#conn[data-state=live]")
    return _code(console)


def _you(phone) -> dict:
    return phone.evaluate("() => dtao.store.state.you")


def _follow(page, code: str) -> None:
    """The page moved to the game `code` by itself and is live there."""
    page.wait_for_url(re.compile(rf"/(play|console)/{code}/$"))
    page.wait_for_selector("#conn[data-state=live]")


def _roster_nicks(console) -> list[str]:
    return sorted(console.eval_on_selector_all("#roster tbody tr .nick",
                                               "ns => ns.map(n => n.textContent)"))


def _play_and_end(console) -> None:
    console.get_by_role("button", name="Start game").click()
    console.wait_for_selector("#ctl-epoch:not([hidden])")
    console.get_by_role("button", name="Advance 1 epoch").click()
    console.wait_for_function("() => (dtao.store.state.game || {}).epoch >= 1")
    console.once("dialog", lambda d: d.accept())
    console.get_by_role("button", name="End game").click()
    console.wait_for_function("() => (dtao.store.state.game || {}).status === 'ended'")


def test_a_class_practises_plays_and_plays_again_without_joining_again(
        browser, daphne_server, instructor, watch, shots, axe_source):
    base = daphne_server
    problems: list[str] = []
    console = _console(browser, watch, base, instructor)
    real = _create_sandbox(console)
    phones = {nick: _new_page(browser, watch, f"phone-{nick}", PHONE) for nick in ("Ada", "Ben")}
    seats = {}
    for nick, phone in phones.items():
        _join(phone, base, real, nick)
        seats[nick] = _you(phone)["seat_id"]
    console.wait_for_function("() => (dtao.store.state.roster || []).filter(r => r.kind === "
                              "'human').length === 2")
    problems += _scan(console, axe_source, "rounds-console-lobby", shots)
    projector = _new_page(browser, watch, "projector", {"width": 1280, "height": 720})
    projector.goto(base + console.locator("#projector-link").get_attribute("href"))
    projector.wait_for_function("() => window.dtao && (dtao.store.state.game || {}).code")

    # Practice first: the console and both phones go to the practice round by themselves.
    console.get_by_role("button", name="Practice round first").click()
    console.wait_for_url(re.compile(rf"/console/(?!{real})[A-Z0-9]+/$"))
    practice = _code(console)
    console.wait_for_selector("#conn[data-state=live]")
    for nick, phone in phones.items():
        _follow(phone, practice)
        assert _you(phone)["nickname"] == nick
    projector.wait_for_url(re.compile(rf"/projector/{practice}/"))
    assert console.locator("#rounds-h").text_content() == "Practice round"
    problems += _scan(console, axe_source, "rounds-console-practice", shots)
    console.get_by_role("button", name="Start game").click()
    for phone in phones.values():
        phone.wait_for_selector("#market tbody tr")
    phones["Ada"].screenshot(path=str(shots / "rounds-practice-360.png"))

    # The real game: the seats the students joined with, no new join, nobody else.
    console.get_by_role("button", name="Go to the real game").click()
    _follow(console, real)
    projector.wait_for_url(re.compile(rf"/projector/{real}/"))
    for nick, phone in phones.items():
        _follow(phone, real)
        assert _you(phone)["seat_id"] == seats[nick] and _you(phone)["nickname"] == nick
    console.wait_for_function("() => (dtao.store.state.roster || []).filter(r => r.kind === "
                              "'human' && r.connected).length === 2")
    assert _roster_nicks(console) == ["Ada", "Ben"]
    assert console.locator("#round-practice").is_hidden()  # the game had its practice

    # Round 1, then play again with the emission rule changed.
    _play_and_end(console)
    console.wait_for_selector("#again-form:not([hidden])")
    problems += _scan(console, axe_source, "rounds-console-ended", shots)
    console.get_by_label("Change one setting").select_option("rules")
    console.get_by_label("Emission rule", exact=True).select_option("tao_flow")
    console.get_by_role("button", name="Play again").click()
    console.wait_for_url(re.compile(rf"/console/(?!{real}|{practice})[A-Z0-9]+/$"))
    second = _code(console)
    console.wait_for_selector("#conn[data-state=live]")
    projector.wait_for_url(re.compile(rf"/projector/{second}/"))
    projector.wait_for_function("(code) => window.dtao && (dtao.store.state.game || {}).code "
                                "=== code", arg=second)
    for nick, phone in phones.items():
        _follow(phone, second)
        assert _you(phone)["nickname"] == nick
        assert phone.locator("#lobby-view").is_visible()
    phones["Ben"].screenshot(path=str(shots / "rounds-round2-lobby-360.png"))
    assert console.locator("#round-change").text_content() == \
        "Changed from the last round: rules → tao_flow"
    console.wait_for_function("() => (dtao.store.state.roster || []).filter(r => r.kind === "
                              "'human' && r.connected).length === 2")
    _play_and_end(console)

    # Round 2's debrief shows round 1 beside it.
    console.goto(f"{base}/console/{second}/debrief/")
    section = console.locator("#compare")
    section.wait_for()
    assert "Same class, rule changed" in section.locator("h2").text_content()
    assert "Changed: rules from launch to tao_flow." in section.locator("#cmp-change").text_content()
    rows = section.locator("#cmp-table tbody tr")
    assert rows.count() == 2
    assert real in rows.nth(0).text_content() and second in rows.nth(1).text_content()
    drawn = console.evaluate("""() => ['ch-cmp-health', 'ch-cmp-return'].map(id =>
        window.Chart.getChart(document.getElementById(id)).data.datasets.map(d =>
            [d.label, d.data.length]))""")
    cmp = console.evaluate("() => JSON.parse(document.getElementById('debrief-compare')"
                           ".textContent)")
    lines = [[f"Before ({real})", len(cmp["previous"]["epochs"])],
             [f"This round ({second})", len(cmp["this"]["epochs"])]]
    assert drawn == [lines, lines] and lines[0][1] >= 1 and lines[1][1] >= 1
    section.screenshot(path=str(shots / "rounds-debrief-compare.png"))
    problems += _scan(console, axe_source, "rounds-debrief", shots)

    # The games list: one session, its rounds in order, each with players, length, debrief.
    console.goto(f"{base}/console/")
    group = console.locator("#games tbody.session", has=console.locator(f"tr[data-code='{real}']"))
    assert "Session: Period 3 (3 rounds)" in group.locator("tr.session-head").text_content()
    codes = group.locator("tr[data-code]").evaluate_all("rs => rs.map(r => r.dataset.code)")
    assert codes == [real, practice, second]
    rounds = group.locator("td.round").all_text_contents()
    assert rounds == ["1", "practice", "2"]
    assert group.locator("td.players").all_text_contents() == ["2", "2", "2"]
    assert group.locator("tr[data-code] a", has_text="Debrief").count() == 3
    problems += _scan(console, axe_source, "rounds-games-list", shots)
    assert not problems, "\n".join(problems)
