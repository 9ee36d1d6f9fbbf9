"""Running the class in real Chromium (issue #16): the console asks a scripted event's
prediction, two 360-px phones answer it while trading goes on, the projector counts the answers
and shows the split on reveal, and the debrief sets it beside what SN28's price then did; an
announcement and eyes-up reach every screen; the participation monitor shows who acted. The new
UI passes the axe-core scan."""
from __future__ import annotations

import re

import pytest
from test_accessibility import _scan
from test_browser_game import PHONE, _console, _filled, _join, _new_page, _set_role

pytestmark = pytest.mark.slow

PROJECTOR = {"width": 1280, "height": 720}
LONG = 90_000  # ms: ticks of a second on a loaded machine; a bound, never a timing assertion


def _text(page, sel):
    return page.locator(sel).text_content() or ""


def test_a_prediction_an_announcement_and_eyes_up_reach_every_screen(
        browser, daphne_server, instructor, watch, shots, axe_source):
    base = daphne_server
    problems: list[str] = []
    console = _console(browser, watch, base, instructor)
    console.locator("input[name=preset][value=one_year_later]").check()
    console.get_by_label("Tick length (seconds)").fill("1")
    console.get_by_role("button", name="Create game").click()
    console.wait_for_url(re.compile(r"/console/[A-Z0-9]+/$"))
    code = console.url.rstrip("/").rsplit("/", 1)[-1]
    console.wait_for_selector("#conn[data-state=live]")
    projector = _new_page(browser, watch, "projector", PROJECTOR)
    projector.goto(base + console.locator("#projector-link").get_attribute("href"))
    phones = {}
    for nick in ("Ann", "Ben"):
        phones[nick] = _new_page(browser, watch, nick, PHONE)
        _join(phones[nick], base, code, nick)
        _set_role(console, nick, "speculator")
    ann, ben = phones["Ann"], phones["Ben"]
    console.get_by_role("button", name="Start game").click()
    for page in phones.values():
        page.wait_for_selector("#market tbody tr")

    # --- a prediction, asked before the event fires -----------------------------------------------
    # The teacher's keyboard focus stays on an ask button while ticks arrive (no redraw per tick).
    ask = console.get_by_role("button", name="Ask before “SN28 pays its holders”")
    ask.focus()
    tick = console.evaluate("() => dtao.store.state.game.tick")
    console.wait_for_function(f"() => dtao.store.state.game.tick >= {tick + 2}", timeout=LONG)
    assert console.evaluate("() => document.activeElement.dataset.ask") is not None
    ask.click()
    for page in phones.values():
        page.locator("#question-card").wait_for()
        assert "SN28's price" in _text(page, "#question-card .q-text")
    projector.locator("#proj-question").wait_for()
    assert _text(projector, "#proj-q-answered") == "0"
    problems += _scan(ann, axe_source, "phone-question-360", shots)
    ann.get_by_role("button", name="It rises").click()
    ann.locator("#q-mine", has_text="It rises").wait_for()
    projector.wait_for_function("() => document.querySelector('#proj-q-answered').textContent === '1'")
    # Ben trades with the question still on his screen, then answers.
    assert ben.locator("#question-card .q-choice").count() == 3
    ben.locator("#market button[data-subnet='28']").click()
    ben.get_by_label("TAO to spend").fill("10")
    ben.get_by_role("button", name="Buy alpha").click()
    _filled(ben, "Buy on")
    assert ben.locator("#question-card .q-choice").count() == 3  # still open, still answerable
    ben.get_by_role("button", name="It falls").click()
    ben.locator("#q-mine", has_text="It falls").wait_for()
    projector.wait_for_function("() => document.querySelector('#proj-q-answered').textContent === '2'")
    console.locator("#q-count", has_text="2 of 2 students answered").wait_for()
    problems += _scan(console, axe_source, "console-question", shots)
    # The event fires at tick 12 (epoch 2); reveal once an epoch has passed since.
    console.wait_for_function("() => dtao.store.state.game.tick >= 18", timeout=LONG)
    console.get_by_role("button", name="Reveal on the projector").click()
    projector.locator("#proj-question .q-dist").wait_for()
    split = _text(projector, "#proj-question .q-dist")
    assert "It rises" in split and "1 (50%)" in split and "0 (0%)" in split
    projector.screenshot(path=str(shots / "projector-reveal-1280.png"))
    problems += _scan(projector, axe_source, "projector-reveal", shots)
    ben.locator("#question-card .q-dist li.mine", has_text="It falls").wait_for()
    ben.screenshot(path=str(shots / "phone-reveal-360.png"), full_page=True)

    # --- the participation monitor ---------------------------------------------------------------
    assert _text(console, "#participation tbody tr:has-text('Ben') [data-col=orders]") == "1"
    assert "never acted" in _text(console, "#participation tbody tr:has-text('Ann')")
    assert re.search(r"\d of 2 students acted this epoch", _text(console, "#pm-summary"))
    console.get_by_label("Show", exact=True).select_option("idle")
    console.locator("#participation tbody tr:has-text('Ann')").wait_for()

    # --- an announcement ----------------------------------------------------------------------------
    console.get_by_label("Announcement").fill("Eyes on the projector, please.")
    console.get_by_role("button", name="Show on every screen").click()
    for page in (ann, ben, projector):
        page.locator("#announcement-text", has_text="Eyes on the projector, please.").wait_for()
    problems += _scan(ann, axe_source, "phone-announcement-360", shots)
    ann.locator("#announcement-close").click()
    assert ann.locator("#announcement").is_hidden()
    assert ben.locator("#announcement").is_visible()

    # --- eyes up: every phone covered, the game paused, then resumed ------------------------------
    console.get_by_role("button", name="Eyes up", exact=True).click()
    for page in (ann, ben, projector):
        page.locator("#eyes-up").wait_for()
    console.wait_for_function("() => dtao.store.state.game.status === 'paused'")
    ann.screenshot(path=str(shots / "phone-eyes-up-360.png"))
    problems += _scan(ben, axe_source, "phone-eyes-up-360", shots)
    console.get_by_role("button", name="Lift eyes up (resume)").click()
    for page in (ann, ben, projector):
        page.locator("#eyes-up").wait_for(state="hidden")
    console.wait_for_function("() => dtao.store.state.game.status === 'running'")

    # --- a question typed in the console, any time ------------------------------------------------
    console.get_by_role("button", name="Ask a question of your own").click()
    console.get_by_label("Your own question").fill("Who earns most by the end?")
    console.get_by_label("Choices").fill("Holders\nOwners\nValidators")
    console.get_by_role("button", name="Ask the class").click()
    ann.locator("#question-card .q-text", has_text="Who earns most by the end?").wait_for()
    ann.get_by_role("button", name="Owners").click()
    console.locator("#q-count", has_text="1 of 2 students answered").wait_for()

    # --- after the game: the debrief and Ben's report ----------------------------------------------
    console.once("dialog", lambda dialog: dialog.accept())
    console.get_by_role("button", name="End game").click()
    console.wait_for_selector("#debrief-link:not([hidden])")
    console.goto(f"{base}/console/{code}/debrief/")
    item = console.locator("#prediction-1")
    assert "SN28 pays its holders" in _text(console, "#prediction-1 h3")
    assert "What happened: SN28's price went from" in _text(console, "#prediction-1 .pred-outcome")
    assert item.get_by_label("It rises: 1 of 2 answers").count() == 1
    assert item.get_by_label("It falls: 1 of 2 answers").count() == 1
    assert console.locator("#prediction-2").get_by_label("Owners: 1 of 1 answers").count() == 1
    problems += _scan(console, axe_source, "debrief-predictions", shots)
    ben.goto(f"{base}/report/{code}/")
    assert "← your answer" in _text(ben, "#prediction-1 li:has-text('It falls')")
    problems += _scan(ben, axe_source, "report-predictions-360", shots)
    assert not problems, "accessibility problems:\n" + "\n".join(problems)
