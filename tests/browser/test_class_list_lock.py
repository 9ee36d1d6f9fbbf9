"""A class list in real Chromium: the instructor imports the names in the lobby and locks the
game to them; a phone (360 px) typing an unlisted name is refused with a clear message and the
stable code `not_on_class_list`, keeps what it typed, and a listed name in another spelling
joins under the list's spelling. The new pages (class list, grade sheet, teacher's guide, the
refused join) pass axe and the keyboard and fit a 360 px phone.
"""
from __future__ import annotations

import re

import pytest
from test_accessibility import _scan, _unreachable
from test_browser_game import PHONE, _console, _new_page

pytestmark = pytest.mark.slow

FITS = "() => document.documentElement.scrollWidth <= window.innerWidth"


def test_a_locked_class_list_refuses_an_unlisted_name_on_a_phone(browser, daphne_server,
                                                                 instructor, watch, shots,
                                                                 axe_source):
    base = daphne_server
    problems: list[str] = []
    console = _console(browser, watch, base, instructor)
    console.locator("input[name=preset][value=sandbox]").check()
    console.get_by_role("button", name="Create game").click()
    console.wait_for_url(re.compile(r"/console/[A-Z0-9]+/$"))
    code = console.url.rstrip("/").rsplit("/", 1)[-1]
    console.wait_for_selector("#conn[data-state=live]")
    guide = console.locator("#guide-link")
    assert guide.get_attribute("href") == "/console/guides/sandbox/"

    console.locator("#class-list-link").click()
    console.wait_for_url(re.compile(rf"/console/{code}/class-list$"))
    console.get_by_label("Paste the names").fill("Maya López\nBen Okafor\n")
    console.get_by_label("Only names on the list may join").check()
    console.get_by_role("button", name="Save the class list").click()
    saved = console.locator("#class-list-saved")
    assert saved.text_content().strip() == "Saved: 2 names, only these names may join."
    problems += _scan(console, axe_source, "class-list-1280", shots)

    phone = _new_page(browser, watch, "phone", PHONE)
    watch.allow(r"status of 400")  # the refused join's page is served with HTTP 400
    phone.goto(f"{base}/join/{code}")
    phone.get_by_label("Nickname").fill("Walk In")
    phone.get_by_role("button", name="Join", exact=True).click()
    error = phone.locator("#join-error")
    error.wait_for()
    assert error.get_attribute("data-code") == "not_on_class_list"
    assert error.text_content().strip() == (
        "This game is open to the class list only: type your name exactly as your teacher "
        "listed it, or ask your teacher to add it.")
    assert error.get_attribute("role") == "alert"
    assert phone.get_by_label("Nickname").input_value() == "Walk In"
    assert phone.evaluate(FITS), "the refused join page is wider than the phone"
    problems += _scan(phone, axe_source, "join-refused-360", shots)

    phone.get_by_label("Nickname").fill("maya lopez")
    phone.get_by_role("button", name="Join", exact=True).click()
    phone.wait_for_url(re.compile(rf"/play/{code}/$"))
    phone.wait_for_selector("#conn[data-state=live]")
    assert "Maya López" in phone.locator("body").text_content()

    teacher_phone = _new_page(browser, watch, "teacher-phone", PHONE)
    teacher_phone.context.add_cookies(console.context.cookies())
    teacher_phone.goto(f"{base}/console/{code}/class-list")
    assert teacher_phone.locator("#cl-missing li").all_text_contents() == ["Ben Okafor"]
    for path, where in ((f"/console/{code}/class-list", "class-list-360"),
                        ("/console/guides/sandbox/", "guide-360")):
        teacher_phone.goto(base + path)
        assert teacher_phone.evaluate(FITS), f"{where} is wider than the phone"
        problems += _scan(teacher_phone, axe_source, where, shots)
        problems += _unreachable(teacher_phone, where)

    console.goto(f"{base}/console/{code}/")
    console.wait_for_selector("#conn[data-state=live]")
    console.get_by_role("button", name="Start game").click()
    console.wait_for_selector("#game-status:text('running')")
    teacher_phone.goto(f"{base}/console/{code}/grades/")
    rows = teacher_phone.locator("#grades tbody tr")
    assert rows.count() == 2
    assert rows.nth(1).locator("th").text_content().strip().startswith("Ben Okafor")
    assert teacher_phone.evaluate(FITS), "the grade sheet is wider than the phone"
    problems += _scan(teacher_phone, axe_source, "grades-360", shots)
    problems += _unreachable(teacher_phone, "grades-360")
    assert problems == []
