"""The scenario editor in real Chromium at 1280 wide: an instructor builds a scenario from the
Sandbox preset, adds a subnet and an event (on the timeline), sees a bad value's error beside
its field, runs the bots-only dry run (charts of price and emission share per subnet), saves,
exports the JSON file (which `python -m sim run` runs), imports it back, and creates a game
from their own preset. The new pages pass axe and fit a 360 px phone.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_accessibility import _scan
from test_browser_game import PHONE, _console

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
FITS = "() => document.documentElement.scrollWidth <= window.innerWidth"
WIDE = """() => [...document.querySelectorAll('body *')].filter(
    e => e.getBoundingClientRect().right > window.innerWidth + 1).map(
    e => e.tagName + '#' + e.id + '.' + e.className).slice(-5)"""


def test_an_instructor_builds_dry_runs_saves_exports_and_plays_a_scenario(
        browser, daphne_server, instructor, watch, shots, axe_source, tmp_path):
    base = daphne_server
    problems: list[str] = []
    page = _console(browser, watch, base, instructor)
    page.locator("#scenarios-link").click()
    page.wait_for_url(re.compile(r"/console/scenarios/$"))
    page.get_by_label("Start from").select_option("sandbox")
    page.get_by_role("button", name="Create and edit").click()
    page.wait_for_url(re.compile(r"/console/scenarios/\d+/edit$"))
    edit_url = page.url
    assert page.locator("#scenario-name").text_content() == "Sandbox (my copy)"

    page.get_by_role("button", name="Add a subnet").click()
    page.locator("#editor-notice").wait_for()
    page.locator("[name='subnets[4].name']").fill("Weather")
    page.get_by_role("button", name="Add an event").click()
    page.locator("[name='events[1].epoch']").fill("7")
    page.locator("[name='events[1].title']").fill("Weather halving")
    page.locator("[name='subnets[0].tao']").fill("-5")  # a bad value
    watch.allow(r"status of 400")  # the refused save is served with HTTP 400
    page.get_by_role("button", name="Save").click()
    error = page.locator("[data-field='subnets[0].tao']")
    error.wait_for()
    assert error.text_content() == "must be >= 0.01, got -5"
    assert page.locator("[name='subnets[0].tao']").get_attribute("aria-invalid") == "true"
    assert page.locator("[name='subnets[4].name']").input_value() == "Weather"  # kept
    problems += _scan(page, axe_source, "scenario-editor-error-1280", shots)
    page.locator("[name='subnets[0].tao']").fill("7000")

    page.get_by_role("button", name="Dry run (bots only)").click()
    page.locator("#dry-run-status[data-state=done]").wait_for()
    assert page.locator("#dry-run-status").text_content() == (
        "Played 96 ticks (16 of 16 epochs) with bots only.")
    for chart in ("#dry-price", "#dry-share"):
        assert page.locator(chart).get_attribute("data-series") == "5"
        assert page.locator(chart).get_attribute("data-points") == "96"

    page.get_by_role("button", name="Save").click()
    page.locator("#editor-notice").wait_for()
    assert page.locator("#editor-notice").text_content() == "Saved."
    assert page.locator("#timeline circle.mark[data-epoch='7']").count() == 1
    problems += _scan(page, axe_source, "scenario-editor-1280", shots)

    with page.expect_download() as download:
        page.locator("#export-scenario").click()
    exported = tmp_path / "exported.json"
    download.value.save_as(exported)
    body = json.loads(exported.read_text())
    assert [s["name"] for s in body["subnets"]][-1] == "Weather"
    assert [e["title"] for e in body["events"]] == ["Sandbox", "Weather halving"]
    out = tmp_path / "result.json"
    subprocess.run([sys.executable, "-m", "sim", "run", str(exported), "--out", str(out)],
                   cwd=ROOT, check=True, capture_output=True)
    assert len(json.loads(out.read_text())["ticks"]) == 96

    page.goto(base + "/console/scenarios/")
    page.get_by_label("Scenario JSON file").set_input_files(str(exported))
    page.get_by_role("button", name="Import").click()
    page.wait_for_url(re.compile(r"/console/scenarios/\d+/edit$"))
    assert page.url != edit_url
    assert page.locator("[name='subnets[4].name']").input_value() == "Weather"
    page.goto(base + "/console/scenarios/")
    assert page.locator("#my-scenarios tbody tr").count() == 2
    problems += _scan(page, axe_source, "scenarios-1280", shots)

    page.goto(base + "/console/")
    custom = page.locator("label.preset.custom input").first
    custom.check()
    page.get_by_role("button", name="Create game").click()
    page.wait_for_url(re.compile(r"/console/[A-Z0-9]+/$"))
    assert "Sandbox (my copy)" in page.locator("h1").first.text_content()

    phone = browser.new_context(viewport=PHONE).new_page()
    watch.attach(phone, "phone")
    phone.context.add_cookies(page.context.cookies())
    for url, where in ((edit_url, "scenario-editor-360"), (base + "/console/scenarios/",
                                                            "scenarios-360")):
        phone.goto(url)
        assert phone.evaluate(FITS), f"{url} is wider than a phone: {phone.evaluate(WIDE)}"
        problems += _scan(phone, axe_source, where, shots)
    assert problems == []


def test_an_events_prediction_question_and_the_teachers_notes_reach_the_console(
        browser, daphne_server, instructor, watch, shots, axe_source):
    """The editor's prediction fields (an error beside the answer key, then saved), the game's
    console asking that question and showing the guide's goal and the event's note beside the
    event; deleting the scenario asks first."""
    base = daphne_server
    page = _console(browser, watch, base, instructor)
    page.goto(base + "/console/scenarios/")
    page.get_by_label("Start from").select_option("sandbox")
    page.get_by_role("button", name="Create and edit").click()
    page.wait_for_url(re.compile(r"/console/scenarios/\d+/edit$"))
    page.locator("#f-name").fill("Prediction lesson")
    page.get_by_label("The lesson's goal (teacher's guide)").fill("See dilution happen.")
    page.locator("[name='events[0].note']").fill("Ask: who gains?")
    page.locator("[name='events[0].prediction.text']").fill("Where does SN2's price go?")
    page.locator("[name='events[0].prediction.choices']").fill("Up\nDown\nFlat")
    page.locator("[name='events[0].prediction.subnet']").fill("2")
    page.locator("[name='events[0].prediction.correct']").fill("Sideways")
    watch.allow(r"status of 400")  # the refused save is served with HTTP 400
    page.get_by_role("button", name="Save").click()
    error = page.locator("[data-field='events[0].prediction.correct']")
    error.wait_for()
    assert error.text_content() == "must be one of the choices, got 'Sideways'"
    field = page.locator("[name='events[0].prediction.correct']")
    assert field.get_attribute("aria-invalid") == "true"
    assert page.locator("[name='events[0].prediction.choices']").input_value() == (
        "Up\nDown\nFlat")  # kept as typed
    problems = _scan(page, axe_source, "scenario-editor-prediction-error-1280", shots)
    field.fill("Down")
    page.get_by_role("button", name="Save").click()
    page.locator("#editor-notice").wait_for()
    assert page.locator("#editor-notice").text_content() == "Saved."
    assert field.input_value() == "Down"

    page.goto(base + "/console/")
    page.locator("label.preset.custom", has_text="Prediction lesson").locator("input").check()
    page.get_by_role("button", name="Create game").click()
    page.wait_for_url(re.compile(r"/console/[A-Z0-9]+/$"))
    assert page.locator("#guide-goal").text_content() == (
        "The lesson's goal (your guide): See dilution happen.")
    note = page.locator("#events tr[data-event='0'] .event-note")
    note.wait_for()
    assert note.text_content() == "Your note: Ask: who gains?"
    ask = page.locator("#questions-card button[data-ask='0']")
    ask.wait_for()
    ask.click()
    page.locator("#q-count").wait_for()
    assert page.locator("#questions-card").get_by_text("Where does SN2's price go?").count() == 1
    problems += _scan(page, axe_source, "console-own-guide-1280", shots)

    page.goto(base + "/console/scenarios/")
    row = page.locator("#my-scenarios tbody tr", has_text="Prediction lesson")
    row.get_by_role("button", name="Delete Prediction lesson").click()
    page.locator("#confirm-delete").wait_for()
    assert page.locator("#delete-games").text_content() == (
        "Games made from it: 1. They keep their scenario and debrief, but “play again” will "
        "no longer work for them.")
    problems += _scan(page, axe_source, "scenario-delete-1280", shots)
    page.get_by_role("link", name="No, keep it").click()
    page.wait_for_url(re.compile(r"/console/scenarios/$"))
    assert row.count() == 1
    row.get_by_role("button", name="Delete Prediction lesson").click()
    page.get_by_role("button", name="Yes, delete “Prediction lesson”").click()
    page.wait_for_url(re.compile(r"/console/scenarios/$"))
    assert row.count() == 0
    assert problems == []
