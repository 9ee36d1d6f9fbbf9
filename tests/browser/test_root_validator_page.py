"""A root validator worth playing (issue #13): on a phone, the validator sees where it holds a
seat (its stake votes and earns only there) and can give it up or take it back; sees what the
root validators seated on a subnet hold together; and is told whether its vote agrees with
consensus, which its dividends now follow (Yuma-lite, docs/mechanism.md)."""
from __future__ import annotations

import pytest
from test_browser_game import PHONE, _console, _create_game, _join, _new_page, _set_role

pytestmark = pytest.mark.slow


def test_a_root_validator_gives_up_a_seat_and_sees_the_class_weight(
        browser, daphne_server, instructor, watch, shots):
    base = daphne_server
    console = _console(browser, watch, base, instructor)
    code = _create_game(console, shots)
    phone = _new_page(browser, watch, "validator", PHONE)
    _join(phone, base, code, "Val")
    _set_role(console, "Val", "root_validator")
    console.get_by_role("button", name="Start game").click()
    row = phone.locator("#weights li").first
    row.wait_for()
    name = row.locator(".wname").text_content()
    assert "You hold a seat here" in row.text_content()
    together = row.locator(".wline", has_text="seated here hold").text_content()
    assert together.startswith("The ") and "Val" in together
    phone.get_by_role("button", name=f"Give up your seat on {name}").click()
    phone.wait_for_function(
        "(n) => [...document.querySelectorAll('#weights li')].some(li =>"
        " li.querySelector('.wname').textContent === n &&"
        " li.textContent.includes('No seat here'))", arg=name)
    assert "Your weight 0.0%" in row.text_content()
    assert "Val" not in row.locator(".wline", has_text="seated here hold").text_content()
    row.screenshot(path=str(shots / "validator-no-seat-360.png"))
    phone.get_by_role("button", name=f"Take a seat on {name}").click()
    phone.wait_for_function(
        "(n) => [...document.querySelectorAll('#weights li')].some(li =>"
        " li.querySelector('.wname').textContent === n &&"
        " li.textContent.includes('You hold a seat here'))", arg=name)
