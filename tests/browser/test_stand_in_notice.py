"""The student is told what happened while they were away (issue #13, "a stand-in that holds,
not plays"): a `private` message with `while_away` (the server's side is in
tests/server/test_stand_in.py) shows a notice on the phone, in words, until dismissed."""
from __future__ import annotations

import pytest
from test_browser_game import PHONE, _console, _create_game, _join, _new_page

pytestmark = pytest.mark.slow


def test_a_returning_student_reads_what_the_stand_in_did(browser, daphne_server, instructor,
                                                         watch, shots):
    base = daphne_server
    console = _console(browser, watch, base, instructor)
    code = _create_game(console, shots)
    phone = _new_page(browser, watch, "phone", PHONE)
    _join(phone, base, code, "Back Again")
    console.get_by_role("button", name="Start game").click()
    phone.wait_for_selector("#market tbody tr")
    # What the engine sends at the tick that hands the seat back (as in test_stand_in.py).
    phone.evaluate("""() => dtao.store.apply({type: "private", seq: dtao.store.state.seq || 0,
        tick: 52, you: dtao.store.state.private, fills: [],
        while_away: {from_tick: 40, to_tick: 52, net_worth_before: 1012.5,
                     net_worth_now: 998.1, orders: 0}})""")
    note = phone.locator("#away-note")
    note.wait_for()
    text = note.text_content()
    assert "While you were away (ticks 40–51) your seat was held: nothing was bought or sold " \
           "for you" in text
    assert "1,012.5" in text or "1012.5" in text
    note.screenshot(path=str(shots / "stand-in-notice-360.png"))
    phone.get_by_role("button", name="OK").click()
    assert note.is_hidden()
