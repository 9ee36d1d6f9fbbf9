"""Teachers' guides: every preset has one in docs/teaching/ with every section and every scripted
event, the console links the guide of its game's preset beside the events, and the page renders
the Markdown with nothing of the guide's own markup getting through."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.test import Client

from game.actions import setup
from game.web import guides

pytestmark = [pytest.mark.server]

ROOT = Path(__file__).resolve().parents[2]
PRESETS = sorted(p.stem for p in (ROOT / "sim" / "scenarios").glob("*.json"))
SECTIONS = ("## The lesson's goal", "## Timing for a 45-minute period",
            "## Before each event: what to say",
            "## Prediction questions and what the data will show",
            "## Debrief: discussion questions and answers", "## Common misconceptions")


def test_there_are_presets_to_check():
    assert PRESETS == ["launch_month", "one_year_later", "rules_2026", "sandbox",
                       "tao_flow_era"]


@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_has_a_guide_with_every_section_and_event(preset):
    path = ROOT / "docs" / "teaching" / f"{preset}.md"
    text = path.read_text(encoding="utf-8")
    assert [s for s in SECTIONS if s not in text] == []
    scenario = json.loads((ROOT / "sim" / "scenarios" / f"{preset}.json").read_text())
    for event in scenario["events"]:
        assert f'**Epoch {event["epoch"]}, "{event["title"]}"**' in text, event["title"]
    assert f"python -m sim run sim/scenarios/{preset}.json" in text.replace("\n", " ")
    index = (ROOT / "docs" / "teaching" / "README.md").read_text(encoding="utf-8")
    assert f"]({preset}.md)" in index
    assert guides.path_for(preset) == path


@pytest.mark.django_db
@pytest.mark.parametrize("preset", PRESETS)
def test_the_console_links_the_guide_of_its_games_preset(preset, django_user_model):
    teacher = django_user_model.objects.create_user("teacher", password="a-long-pw-1")
    game = setup.create_game(teacher, preset, setup.Overrides(seed=1))
    client = Client()
    client.force_login(teacher)
    html = client.get(f"/console/{game.code}/").content.decode()
    events = html.index('id="ev-h"')
    link = html.index(f'<a href="/console/guides/{preset}/" id="guide-link"')
    assert events < link < html.index('id="events"')  # beside the scripted events
    page = client.get(f"/console/guides/{preset}/")
    body = page.content.decode()
    assert page.status_code == 200
    assert '<h2>The lesson&#x27;s goal</h2>' in body
    assert f'data-preset="{preset}"' in body
    assert re.search(r"<table class=\"text-table\"><thead><tr><th scope=\"col\">minutes", body)


@pytest.mark.django_db
def test_the_console_shows_a_custom_presets_own_guide_beside_its_events(django_user_model):
    from game import customscenarios as cs

    teacher = django_user_model.objects.create_user("teacher", password="a-long-pw-1")
    mine = cs.create(teacher, "sandbox")
    body = {**mine.body, "guide": {"goal": "See <b>dilution</b>\nthen discuss.",
                                   "misconceptions": "Price is value."}}
    body["events"] = [{**body["events"][0], "note": "Ask: who gains?"},
                      {"epoch": 3, "title": "Quiet", "text": "", "actions": [], "note": "  "}]
    cs.save(teacher, mine.pk, body)
    game = setup.create_game(teacher, f"custom:{mine.pk}", setup.Overrides(seed=1))
    client = Client()
    client.force_login(teacher)
    html = client.get(f"/console/{game.code}/").content.decode()
    goal = html.index('<p id="guide-goal"')
    assert html.index('id="ev-h"') < goal < html.index('id="events"')
    assert ("<strong>The lesson's goal (your guide):</strong> See &lt;b&gt;dilution&lt;/b&gt;"
            "<br>then discuss.</p>") in html.replace("&#x27;", "'")
    assert ('<p id="guide-misconceptions" class="guide-part"><strong>Misconceptions (your '
            'guide):</strong> Price is value.</p>') in html
    assert 'id="guide-timing"' not in html  # a part left empty is not shown
    notes = re.search(r'<script id="event-notes" type="application/json">(.*?)</script>', html)
    assert notes is not None and json.loads(notes.group(1)) == {"0": "Ask: who gains?"}
    assert "Your notes for each event" in html
    # A built-in preset's game has neither.
    plain = setup.create_game(teacher, "sandbox", setup.Overrides(seed=1))
    html = client.get(f"/console/{plain.code}/").content.decode()
    assert 'id="guide-goal"' not in html and "Your notes for each event" not in html
    assert '<script id="event-notes" type="application/json">{}</script>' in html


@pytest.mark.django_db
def test_the_guide_pages_are_for_instructors_and_only_for_presets(django_user_model):
    assert Client().get("/console/guides/sandbox/").status_code == 302  # log in first
    client = Client()
    client.force_login(django_user_model.objects.create_user("t", password="a-long-pw-1"))
    for name in ("nowhere", "README", "..%2Fdesign", "Sandbox", "sandbox.json"):
        assert client.get(f"/console/guides/{name}/").status_code == 404, name


def test_the_renderer_escapes_everything_a_guide_writes():
    html = guides.render('# A <b>title</b>\n\nText with <script>alert(1)</script> and '
                         '**bold** and `x < y` and [a link](javascript:void).\n\n'
                         '- one "item"\n  continued\n1. first\n\n> said\n\n| a | b<i> |\n'
                         '|---|---|\n| 1 | <img src=x> |\n')
    assert "<script" not in html and "<img" not in html and "<i>" not in html
    assert "javascript:" not in html
    assert html.splitlines() == [
        "<h1>A &lt;b&gt;title&lt;/b&gt;</h1>",
        "<p>Text with &lt;script&gt;alert(1)&lt;/script&gt; and <strong>bold</strong> and "
        "<code>x &lt; y</code> and a link.</p>",
        "<ul><li>one &quot;item&quot; continued</li></ul>",
        "<ol><li>first</li></ol>",
        "<blockquote><p>said</p></blockquote>",
        '<div class="table-wrap" tabindex="0" role="region" aria-label="Table">'
        '<table class="text-table"><thead><tr><th scope="col">a</th>'
        '<th scope="col">b&lt;i&gt;</th></tr></thead><tbody><tr><td>1</td>'
        '<td>&lt;img src=x&gt;</td></tr></tbody></table></div>',
    ]
