"""Fair scores, honest forms and a lesson a class cannot break by accident (issue #13), in real
Chromium against a real daphne server, on the launch preset:

- the create form names the scripted event an override would drop, and shows the preset's
  registration setting;
- every page writes a subnet as "SN28 · TAO Accumulation Corp" (phone market, validator weights,
  the console's events, the projector's legend, an event's banner);
- an owner who cannot pay the chain's 1,000 TAO lock sees the register button disabled with the
  reason, and a game created with registration forbidden says so;
- the projector's podium shows students only (no bot, no Foundation);
- the console flags a seat whose device tried to open another seat.

Screenshots go to artifacts_dir/<run name>/<test name>/ (tests/conftest.py `artifacts_dir`:
TEST_ARTIFACTS, default test-artifacts/, which git ignores).
"""
from __future__ import annotations

import re

import pytest
from test_browser_game import PHONE, _console, _join, _new_page, _set_role

pytestmark = pytest.mark.slow

PROJECTOR = {"width": 1280, "height": 720}
SN28 = "SN28 · TAO Accumulation Corp"


def _create_launch(console, shots, *, epochs="", registration="", lock_cost="", name="shot"):
    console.locator("input[name=preset][value=launch_month]").check()
    console.get_by_label("Epochs (rounds)").fill(epochs)
    console.get_by_label("Tick length (seconds)").fill("600")  # ticks only by hand
    console.get_by_label("Speculators").fill("1")
    console.get_by_label("Subnet owners").fill("1")
    console.get_by_label("Root validators").fill("1")
    if registration:
        console.get_by_label("Students may register subnets").select_option(registration)
    if lock_cost:
        console.get_by_label("Lock cost (τ), with “allowed, at this cost”").fill(lock_cost)
    console.screenshot(path=str(shots / f"create-{name}-1280.png"), full_page=True)
    console.get_by_role("button", name="Create game").click()


def _code(console):
    console.wait_for_url(re.compile(r"/console/[A-Z0-9]+/$"))
    return console.url.rstrip("/").rsplit("/", 1)[-1]


def _advance(console, pages):
    tick = console.evaluate("() => dtao.store.state.game.tick")
    console.get_by_role("button", name="Advance 1 tick").click()
    for page in pages:
        page.wait_for_function("(t) => dtao.store.state.game.tick > t", arg=tick)


def test_the_create_form_names_the_event_an_override_would_drop(browser, daphne_server,
                                                                 instructor, watch, shots):
    console = _console(browser, watch, daphne_server, instructor)
    watch.allow(r"status of 400")  # the refused form comes back as 400 Bad Request
    facts = console.locator(".preset-facts[data-preset=launch_month]").text_content()
    assert "24 epochs" in facts and "registering a subnet locks from 1000 τ" in facts, facts
    _create_launch(console, shots, epochs="6", name="six-epochs")
    alert = console.locator(".alert.error, .alert", has_text="would break")
    alert.wait_for()
    text = alert.text_content()
    assert "“The Foundation steps in” (epoch 6) would never fire" in text, text
    assert re.search(r"/console/$", console.url)  # refused: no game was created
    console.screenshot(path=str(shots / "override-warning-1280.png"), full_page=True)


def test_every_page_names_sn28_and_the_podium_shows_students_only(browser, daphne_server,
                                                                  instructor, watch, shots):
    base = daphne_server
    console = _console(browser, watch, base, instructor)
    _create_launch(console, shots)
    code = _code(console)
    students = {"speculator": "Sam Spec", "subnet_owner": "Olive Owner",
                "root_validator": "Rita Root"}
    phones = {}
    for role, nick in students.items():
        phones[role] = _new_page(browser, watch, role, PHONE)
        _join(phones[role], base, code, nick)
        _set_role(console, nick, role)
    projector_url = console.locator("#projector-link").get_attribute("href")
    projector = _new_page(browser, watch, "projector", PROJECTOR)
    projector.goto(base + projector_url)
    console.get_by_role("button", name="Start game").click()
    pages = [console, projector, *phones.values()]
    _advance(console, pages)

    # the console's scripted events name the subnet with its number
    console.locator("#events tbody tr", has_text=f"{SN28} pays its holders").wait_for()
    # the speculator's market and trade form
    spec = phones["speculator"]
    spec.locator("#market tbody tr", has_text=SN28).first.wait_for()
    assert SN28 in spec.locator("#trade-subnet").inner_text()
    # the root validator's weights
    root = phones["root_validator"]
    root.locator("#validator-panel, body").first.locator(f"text={SN28}").first.wait_for()
    # the projector's legend (the subnets its charts draw: the top ones by share)
    projector.wait_for_selector("#legend .legend-item")
    legend = projector.locator("#legend .legend-item").all_text_contents()
    # (a subnet the preset leaves unnamed, "Subnet 2", reads "SN2")
    assert all(re.fullmatch(r"SN\d+( · \S.*)?", item) for item in legend), legend
    assert "SN1 · Text prompting" in legend and len(legend) == 16, legend
    # the legend names what the charts draw: the 16 largest by share (SN28 is not yet)
    drawn = projector.evaluate("() => Chart.getChart(document.getElementById('ch-share'))"
                               ".data.datasets.map(d => d.label)")
    assert sorted(d for d in drawn if d != "others") == sorted(legend), (drawn, legend)

    # An event's banner says which subnet, by number and name, on phones and the projector.
    row = console.locator("#events tbody tr", has_text=f"{SN28} pays its holders")
    row.get_by_role("button", name=f"Fire now: {SN28} pays its holders").click()
    _advance(console, pages)
    for page in (spec, projector):
        page.locator("#news:not([hidden])", has_text=f"{SN28} pays its holders").wait_for()
    spec.evaluate("() => window.scrollTo(0, 0)")
    spec.screenshot(path=str(shots / "sn28-banner-and-market-360.png"))

    # The owner cannot pay the 1,000 TAO lock: the button says so and cannot be pressed.
    owner = phones["subnet_owner"]
    button = owner.locator("#reg-submit")
    owner.wait_for_function("() => document.querySelector('#reg-submit').disabled")
    assert button.text_content() == "Not enough TAO to register"
    assert "Lock cost now: 1,000 τ" in owner.locator("#reg-cost").text_content()
    button.scroll_into_view_if_needed()
    owner.locator("#reg-submit").locator("xpath=ancestor::section[1]").screenshot(
        path=str(shots / "register-too-dear-360.png"))

    # The podium: students only, ranked by return (no bot, no Foundation).
    projector.wait_for_function("() => document.querySelectorAll('#leaderboard li').length >= 3")
    podium = set(projector.locator("#leaderboard .nick").all_text_contents())
    assert podium == set(students.values()), podium
    projector.screenshot(path=str(shots / "projector-podium-1280.png"))
    console.screenshot(path=str(shots / "console-sn28-1280.png"), full_page=True)


def test_a_game_that_forbids_registration_says_so_on_the_owners_phone(
        browser, daphne_server, instructor, watch, shots):
    base = daphne_server
    console = _console(browser, watch, base, instructor)
    _create_launch(console, shots, registration="forbid", name="forbid")
    code = _code(console)
    owner = _new_page(browser, watch, "owner", PHONE)
    _join(owner, base, code, "Otto Owner")
    _set_role(console, "Otto Owner", "subnet_owner")
    console.get_by_role("button", name="Start game").click()
    _advance(console, [console, owner])
    owner.wait_for_function("() => document.querySelector('#reg-submit').disabled")
    assert owner.locator("#reg-submit").text_content() == "Registration closed"
    assert "closed in this game" in owner.locator("#reg-cost").text_content()
    owner.locator("#reg-submit").scroll_into_view_if_needed()
    owner.locator("#reg-submit").locator("xpath=ancestor::section[1]").screenshot(
        path=str(shots / "register-closed-360.png"))


def test_the_console_flags_a_seat_whose_device_tried_to_open_another(browser, daphne_server,
                                                                      instructor, watch, shots):
    base = daphne_server
    console = _console(browser, watch, base, instructor)
    _create_launch(console, shots, name="device")
    code = _code(console)
    phone = _new_page(browser, watch, "phone", PHONE)
    _join(phone, base, code, "Dee Vice")
    row = console.locator("#roster tbody tr", has_text="Dee Vice")
    row.wait_for()
    assert row.locator(".device-flag").count() == 0
    # The same browser, its seat cookie lost, asks for a second seat under another name: it
    # gets its own seat back, and the console flags the attempt.
    phone.context.clear_cookies(name=f"seat_{code}")
    phone.goto(f"{base}/join/{code}")
    phone.get_by_label("Nickname").fill("Dee Two")
    phone.get_by_role("button", name="Join", exact=True).click()
    phone.wait_for_url(re.compile(rf"/play/{code}/$"))
    flag = row.locator(".device-flag")
    flag.wait_for()
    assert flag.text_content() == "⚑ same device tried 1 other seat"
    assert console.locator("#roster tbody tr", has_text="Dee Two").count() == 0
    console.locator("#roster").screenshot(path=str(shots / "console-device-flag-1280.png"))
