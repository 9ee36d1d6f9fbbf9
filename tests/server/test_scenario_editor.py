"""The scenario editor: an instructor makes their own preset from a preset or a blank one,
edits it field by field (every field validated by the simulator, the error beside the field,
nothing saved), dry-runs it with bots, saves, duplicates, renames, deletes, imports and exports
it as the JSON file `python -m sim run` reads, and creates a game from it. Another instructor's
scenario is not found, and bad files change nothing."""
from __future__ import annotations

import html
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

import sim
from game import customscenarios as cs
from game.actions.setup import CreateError, Overrides, create_game
from game.models import CustomScenario, Game
from sim.headless import play_scenario

pytestmark = [pytest.mark.server, pytest.mark.django_db]

ROOT = Path(__file__).resolve().parents[2]


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _form(obj: CustomScenario | dict, **changes: str) -> dict[str, str]:
    """The editor's form as the page posts it, from the stored body (or a body as the page
    shows it), with `changes`."""
    body = obj.body if isinstance(obj, CustomScenario) else obj
    post: dict[str, str] = {"name": body["name"], "description": body["description"],
                            "rules.present": "1", "players": json.dumps(body["players"]),
                            "subnets.count": str(len(body["subnets"])),
                            "events.count": str(len(body["events"]))}
    for key, value in body["clock"].items():
        post[f"clock.{key}"] = str(value)
    for i, s in enumerate(body["subnets"]):
        for key in ("id", "name", "tao", "alpha", "mechanism"):
            post[f"subnets[{i}].{key}"] = str(s[key])
    for i, e in enumerate(body["events"]):
        post.update({f"events[{i}].epoch": str(e["epoch"]), f"events[{i}].title": e["title"],
                     f"events[{i}].text": e["text"],
                     f"events[{i}].actions": json.dumps(e["actions"]),
                     f"events[{i}].extra": json.dumps({k: v for k, v in e.items() if k not in (
                         "epoch", "title", "text", "actions", "note", "prediction")})})
        asked = e.get("prediction") or {}
        post.update({f"events[{i}].prediction.text": asked.get("text", ""),
                     f"events[{i}].prediction.choices": "\n".join(asked.get("choices", [])),
                     f"events[{i}].prediction.subnet": str(asked.get("subnet", "")),
                     f"events[{i}].prediction.correct": asked.get("correct", "")})
    post.update(changes)
    return post


@pytest.fixture
def other(db) -> User:
    return User.objects.create_user("other-teacher", password="another-long-password")


@pytest.fixture
def mine(instructor) -> CustomScenario:
    return cs.create(instructor, "sandbox")


def test_it_makes_a_scenario_from_a_preset_or_a_blank_one(instructor):
    client = _client(instructor)
    res = client.post("/console/scenarios/", {"op": "new", "start": "sandbox"})
    obj = CustomScenario.objects.get(owner=instructor)
    assert res.status_code == 302 and res["Location"] == f"/console/scenarios/{obj.pk}/edit"
    assert obj.name == "Sandbox (my copy)"
    preset = sim.load_scenario(ROOT / "sim/scenarios/sandbox.json")
    assert obj.body == {**preset, "name": "Sandbox (my copy)"}
    client.post("/console/scenarios/", {"op": "new", "start": "blank"})
    blank = CustomScenario.objects.get(owner=instructor, name="New scenario")
    assert [s["name"] for s in blank.body["subnets"]] == ["Subnet 1", "Subnet 2"]
    page = client.get("/console/scenarios/").content.decode()
    assert "Sandbox (my copy)" in page and "New scenario" in page


def test_it_adds_a_subnet_and_an_event_and_saves_them(instructor, mine):
    client = _client(instructor)
    res = client.post(f"/console/scenarios/{mine.pk}/edit", _form(mine, add="subnet"))
    assert res.status_code == 200
    page = res.content.decode()
    assert 'name="subnets[4].name" value="Subnet 5"' in page
    assert "Not saved yet" in page
    assert len(CustomScenario.objects.get(pk=mine.pk).body["subnets"]) == 4  # not saved yet
    post = _form(mine, **{"subnets.count": "5", "subnets[4].id": "5",
                          "subnets[4].name": "Weather", "subnets[4].tao": "2500",
                          "subnets[4].alpha": "20000", "subnets[4].mechanism": "ai_work",
                          "events.count": "2", "events[1].epoch": "7",
                          "events[1].title": "Weather halving", "events[1].text": "Watch SN5.",
                          "events[1].actions": "[]", "events[1].note": "Ask: who gains?",
                          "clock.epochs": "12", "role_defaults.speculator.tao": "750",
                          "role_mix.speculator": "3", "bot_fill.speculator": "momentum",
                          "params.lock_min": "250", "guide.goal": "See dilution.",
                          "guide.timing": "5 min: roles.\r\n30 min: play.",
                          "guide.discussion": "Who gained? The early stakers.",
                          "guide.misconceptions": ""})
    res = client.post(f"/console/scenarios/{mine.pk}/edit", post)
    assert res.status_code == 200 and "Saved." in res.content.decode()
    body = CustomScenario.objects.get(pk=mine.pk).body
    assert body["subnets"][4] == {"id": 5, "name": "Weather", "tao": 2500.0, "alpha": 20000.0,
                                  "alpha_out": 0.0, "moving_price": 0.125,
                                  "mechanism": "ai_work", "age_blocks": 0}
    assert body["events"][1] == {"epoch": 7, "title": "Weather halving", "text": "Watch SN5.",
                                 "actions": [], "note": "Ask: who gains?"}
    assert body["clock"]["epochs"] == 12
    assert body["role_defaults"]["speculator"]["tao"] == 750.0
    assert body["role_mix"]["speculator"] == 3.0
    assert body["bot_fill"]["speculator"] == "momentum"
    assert body["params"]["lock_min"] == 250.0
    assert body["guide"] == {"goal": "See dilution.", "timing": "5 min: roles.\r\n30 min: play.",
                             "discussion": "Who gained? The early stakers."}  # empty: dropped
    page = client.get(f"/console/scenarios/{mine.pk}/edit").content.decode()
    assert ('name="guide.discussion" rows="2" spellcheck="true">Who gained? The early stakers.'
            '</textarea>') in page
    cleared = {f"guide.{k}": "" for k in ("goal", "timing", "discussion", "misconceptions")}
    assert client.post(f"/console/scenarios/{mine.pk}/edit",
                       _form(CustomScenario.objects.get(pk=mine.pk), **cleared)).status_code == 200
    assert "guide" not in CustomScenario.objects.get(pk=mine.pk).body
    assert body == sim.load_scenario(body)  # what is stored is the simulator's normal form


@pytest.mark.parametrize("changes,field,message", [
    ({"subnets[0].mechanism": "meme"}, "subnets[0].mechanism", "unknown mechanism 'meme'"),
    ({"clock.epochs": "abc"}, "clock.epochs", "Type a number."),
    ({"clock.epochs": "NaN"}, "clock.epochs", "Type a finite number."),
    ({"subnets[1].tao": "1e999"}, "subnets[1].tao", "Type a finite number."),
    ({"clock.epochs": "9" * 40}, "clock.epochs", "must be <= 100000"),
    ({"subnets[2].tao": "-5"}, "subnets[2].tao", "must be >= 0.01, got -5"),
    ({"events[0].epoch": "16"}, "events[0].epoch", "must be <= 15, got 16"),
    ({"events[0].actions": "[{\"do\": \"fly\", \"player\": \"n1\"}]"}, "events[0].actions",
     "events[0].actions[0].do: unknown action 'fly'"),
    ({"events[0].actions": "[1,"}, "events[0].actions", "Not valid JSON"),
    ({"players": "[{\"id\": \"o9\", \"role\": \"subnet_owner\", \"subnet\": 99}]"}, "players",
     "99"),
    ({"role_mix.speculator": "-1"}, "role_mix.speculator", "must be >= 0"),
    ({"events[0].prediction.text": "Where?", "events[0].prediction.choices": "Only one"},
     "events[0].prediction.choices", "must hold 2 to 5 choices, got 1"),
    ({"events[0].prediction.text": "Where?", "events[0].prediction.choices": "Up\nUp"},
     "events[0].prediction.choices", "events[0].prediction.choices[1]: repeats the choice 'Up'"),
    ({"events[0].prediction.choices": "Up\nDown"}, "events[0].prediction.text",
     "must not be empty"),
    ({"events[0].prediction.text": "Where?", "events[0].prediction.choices": "Up\nDown",
      "events[0].prediction.correct": "Sideways"}, "events[0].prediction.correct",
     "must be one of the choices, got 'Sideways'"),
    ({"events[0].prediction.text": "Where?", "events[0].prediction.choices": "Up\nDown",
      "events[0].prediction.subnet": "two"}, "events[0].prediction.subnet",
     "Type a subnet's id (a whole number)."),
    ({"events[0].prediction.text": "Where?", "events[0].prediction.choices": "Up\nDown",
      "events[0].prediction.subnet": "9"}, "events[0].prediction.subnet", "unknown subnet 9"),
])
def test_a_bad_value_is_shown_beside_its_field_and_nothing_is_saved(instructor, mine, changes,
                                                                       field, message):
    before = CustomScenario.objects.get(pk=mine.pk).body
    res = _client(instructor).post(f"/console/scenarios/{mine.pk}/edit", _form(mine, **changes))
    assert res.status_code == 400
    page = res.content.decode()
    start = page.index(f'data-field="{field}"')
    assert message in html.unescape(page[start:page.index("</span>", start)])
    assert CustomScenario.objects.get(pk=mine.pk).body == before


def test_the_dry_run_plays_the_unsaved_form_through_the_headless_path(instructor, mine):
    res = _client(instructor).post(f"/console/scenarios/{mine.pk}/dry-run",
                                   _form(mine, **{"clock.epochs": "3"}))
    assert res.status_code == 200
    doc = res.json()
    played = play_scenario({**mine.body, "clock": {**mine.body["clock"], "epochs": 3}},
                           seed=mine.body["seed"], keep_trades=False)
    assert doc["ticks"] == list(range(18)) and doc["epochs_played"] == 3
    assert [s["id"] for s in doc["subnets"]] == [1, 2, 3, 4]
    assert doc["subnets"][0]["price"] == [round(r["subnets"][0]["price"], 6)
                                          for r in played["ticks"]]
    assert doc["subnets"][3]["share"] == [round(r["subnets"][3]["share"], 6)
                                          for r in played["ticks"]]
    assert CustomScenario.objects.get(pk=mine.pk).body["clock"]["epochs"] == 16  # unsaved


def test_the_dry_run_of_a_bad_form_names_the_field(instructor, mine):
    res = _client(instructor).post(f"/console/scenarios/{mine.pk}/dry-run",
                                   _form(mine, **{"subnets[0].mechanism": "meme"}))
    assert res.status_code == 400
    assert res.json()["errors"] == {"subnets[0].mechanism": "unknown mechanism 'meme' "
                                    "(expected one of ai_work, hold_to_earn, owner_mined)"}


def test_it_duplicates_renames_and_deletes(instructor, mine):
    client = _client(instructor)
    assert client.post(f"/console/scenarios/{mine.pk}/duplicate").status_code == 302
    copy = CustomScenario.objects.get(owner=instructor, name="Sandbox (my copy) (copy)")
    assert copy.body == {**mine.body, "name": "Sandbox (my copy) (copy)"}
    client.post(f"/console/scenarios/{copy.pk}/rename", {"name": "  Week 3   market "})
    copy.refresh_from_db()
    assert copy.name == "Week 3 market" and copy.body["name"] == "Week 3 market"
    res = client.post(f"/console/scenarios/{copy.pk}/rename", {"name": "   "})
    assert res.status_code == 400 and "Give the scenario a name." in res.content.decode()
    # Delete asks first, on a page of its own (no script needed): nothing goes until confirmed.
    create_game(instructor, f"custom:{copy.pk}", Overrides(seed=2))
    res = client.post(f"/console/scenarios/{copy.pk}/delete")
    page = html.unescape(res.content.decode())
    assert res.status_code == 200 and 'id="confirm-delete"' in page
    assert "Yes, delete “Week 3 market”" in page
    assert ('<p id="delete-games">Games made from it: <span class="num">1</span>. They keep '
            'their scenario and debrief, but “play again” will no longer work for them.</p>'
            ) in page
    assert 'name="confirm" value="yes"' in page
    assert CustomScenario.objects.filter(pk=copy.pk).exists()
    res = client.post(f"/console/scenarios/{copy.pk}/delete", {"confirm": "no"})
    assert res.status_code == 200 and CustomScenario.objects.filter(pk=copy.pk).exists()
    res = client.post(f"/console/scenarios/{copy.pk}/delete", {"confirm": "yes"})
    assert res.status_code == 302 and res["Location"] == "/console/scenarios/"
    assert list(CustomScenario.objects.filter(owner=instructor)) == [mine]


def test_another_instructors_scenario_is_not_found_and_unchanged(instructor, other, mine):
    client = _client(other)
    base = f"/console/scenarios/{mine.pk}"
    assert client.get(f"{base}/edit").status_code == 404
    assert client.post(f"{base}/edit", _form(mine, name="Stolen")).status_code == 404
    assert client.post(f"{base}/dry-run", _form(mine)).status_code == 404
    assert client.get(f"{base}/export.json").status_code == 404
    for op in ("duplicate", "rename", "delete"):
        assert client.post(f"{base}/{op}", {"name": "x"}).status_code == 404
    res = client.post("/console/", {"preset": f"custom:{mine.pk}", "bots": "on"})
    assert res.status_code == 400
    with pytest.raises(CreateError, match="unknown preset"):
        create_game(other, f"custom:{mine.pk}", Overrides(seed=1))
    assert not Game.objects.exists()
    assert CustomScenario.objects.get(pk=mine.pk).body == mine.body
    assert CustomScenario.objects.filter(owner=other).count() == 0


def test_a_game_is_created_from_the_instructors_own_scenario(instructor, mine):
    client = _client(instructor)
    assert f'value="custom:{mine.pk}"' in client.get("/console/").content.decode()
    res = client.post("/console/", {"preset": f"custom:{mine.pk}", "bots": "on"})
    game = Game.objects.get(owner=instructor)
    assert res.status_code == 302 and res["Location"] == f"/console/{game.code}/"
    scn = json.loads(game.scenario)
    assert game.preset == f"custom:{mine.pk}" and game.name == "Sandbox (my copy)"
    assert scn == {**mine.body, "seed": game.seed}


@pytest.mark.parametrize("raw,code,message", [
    (b"{\"name\": ", "bad_json", "The file is not valid JSON"),
    (b"{\"name\": \"x\", \"seed\": NaN}", "bad_json", "NaN is not a number JSON allows."),
    (b"[1, 2]", "bad_scenario", "A scenario is a JSON object."),
    (b"{\"name\": \"x\", \"colour\": \"red\"}", "unknown_field", "Unknown field 'colour'"),
    (b"{\"name\": \"x\", \"clock\": {\"epochs\": 1e300}}", "bad_scenario",
     "must be <= 100000, got 1e+300"),
    (b"\xff\xfe{}", "bad_json", "The file is not UTF-8 text."),
    (b" " * (cs.MAX_BODY + 1), "too_large", "The file is too large: at most 256 KB."),
])
def test_a_bad_import_is_refused_with_a_clear_error(instructor, raw, code, message):
    res = _client(instructor).post("/console/scenarios/", {
        "op": "import", "file": SimpleUploadedFile("s.json", raw, "application/json")})
    assert res.status_code == 400
    page = html.unescape(res.content.decode())
    assert f'data-code="{code}"' in page and message in page
    assert not CustomScenario.objects.exists()


def test_an_exported_file_imports_back_and_runs_with_the_cli(instructor, mine, tmp_path):
    client = _client(instructor)
    res = client.get(f"/console/scenarios/{mine.pk}/export.json")
    assert res["Content-Disposition"] == f'attachment; filename="scenario-{mine.pk}.json"'
    path = tmp_path / "mine.json"
    path.write_bytes(res.content)
    assert json.loads(res.content) == mine.body
    res = client.post("/console/scenarios/", {
        "op": "import", "file": SimpleUploadedFile("mine.json", path.read_bytes())})
    again = CustomScenario.objects.exclude(pk=mine.pk).get(owner=instructor)
    assert res["Location"] == f"/console/scenarios/{again.pk}/edit"
    assert again.body == mine.body
    out = tmp_path / "result.json"
    subprocess.run([sys.executable, "-m", "sim", "run", str(path), "--out", str(out)],
                   cwd=ROOT, check=True, capture_output=True)
    result = json.loads(out.read_text())
    assert result["scenario"]["name"] == "Sandbox (my copy)"
    assert len(result["ticks"]) == 16 * 6


def test_an_events_text_keeps_its_line_breaks_and_a_control_character_is_refused(instructor,
                                                                                   mine):
    client = _client(instructor)
    res = client.post(f"/console/scenarios/{mine.pk}/edit",
                      _form(mine, **{"events[0].text": "First line.\r\nSecond line."}))
    assert res.status_code == 200
    saved = CustomScenario.objects.get(pk=mine.pk).body
    assert saved["events"][0]["text"] == "First line.\r\nSecond line."
    res = client.post(f"/console/scenarios/{mine.pk}/edit",
                      _form(mine, **{"events[0].text": "Bell\x07"}))
    assert res.status_code == 400
    res = client.post(f"/console/scenarios/{mine.pk}/edit",
                      _form(mine, **{"clock.epochs": "12\n"}))
    assert res.status_code == 400
    assert CustomScenario.objects.get(pk=mine.pk).body == saved


def test_the_foundation_seat_is_set_removed_and_checked_beside_its_field(instructor, mine):
    client = _client(instructor)
    url = f"/console/scenarios/{mine.pk}/edit"
    assert client.post(url, _form(mine, **{"foundation.root_stake": "250000"})).status_code == 200
    body = CustomScenario.objects.get(pk=mine.pk).body
    seat = next(p for p in body["players"] if p["id"] == "foundation")
    assert seat["root_stake"] == 250000.0 and "bot" not in seat
    res = client.post(url, _form(mine, **{"foundation.root_stake": "-1"}))
    assert res.status_code == 400
    page = html.unescape(res.content.decode())
    start = page.index('data-field="foundation.root_stake"')
    assert page[start:page.index("</span>", start)].endswith("must be >= 0, got -1")
    assert client.post(url, _form(mine, **{"foundation.root_stake": ""})).status_code == 200
    body = CustomScenario.objects.get(pk=mine.pk).body
    assert [p["id"] for p in body["players"]] == ["n1", "n2", "n3", "n4", "m1", "y1", "o1"]


def test_a_removed_subnet_takes_its_owner_and_the_others_keep_their_fields(instructor, mine):
    client = _client(instructor)
    url = f"/console/scenarios/{mine.pk}/edit"
    res = client.post(url, _form(mine, remove="subnets.0"))
    page = res.content.decode()
    assert res.status_code == 200 and 'name="subnets[0].name" value="Image generation"' in page
    shown = {**mine.body, "subnets": mine.body["subnets"][1:],
             "players": [p for p in mine.body["players"] if p["id"] != "o1"]}
    assert client.post(url, _form(shown)).status_code == 200
    body = CustomScenario.objects.get(pk=mine.pk).body
    assert body["subnets"] == mine.body["subnets"][1:]  # moving prices, ages: their own
    assert "o1" not in [p["id"] for p in body["players"]]


def test_a_subnet_rows_owner_choice_makes_or_removes_a_bot_owner(instructor, mine):
    client = _client(instructor)
    url = f"/console/scenarios/{mine.pk}/edit"
    res = client.post(url, _form(mine, **{"subnets[0].owner": "none",
                                          "subnets[1].owner": "meme_owner"}))
    assert res.status_code == 200
    owners = [p for p in CustomScenario.objects.get(pk=mine.pk).body["players"]
              if p["role"] == "subnet_owner"]
    assert owners == [{"id": "owner2", "role": "subnet_owner", "subnet": 2, "tao": 300.0,
                       "root_stake": 0.0, "bot": "meme_owner"}]


def test_an_events_other_fields_survive_removing_the_event_before_it(instructor):
    obj = cs.create(instructor, "launch_month")
    client = _client(instructor)
    url = f"/console/scenarios/{obj.pk}/edit"
    assert client.post(url, _form(obj, remove="events.0")).status_code == 200
    shown = {**obj.body, "events": obj.body["events"][1:]}
    assert client.post(url, _form(shown)).status_code == 200
    assert CustomScenario.objects.get(pk=obj.pk).body["events"] == obj.body["events"][1:]
    assert any("intervention" in e for e in obj.body["events"][1:])


def test_a_game_from_an_edited_scenario_plays_its_new_subnet_and_event(instructor, mine,
                                                                        settings, tmp_path):
    from game import engine
    from game.actions import clock, lobby, start
    from game.models import TickRow

    settings.VAR_DIR = tmp_path / "var"
    settings.ENGINE_IN_PROCESS = False
    client = _client(instructor)
    post = _form(mine, **{"subnets.count": "5", "subnets[4].id": "5",
                          "subnets[4].name": "Weather", "subnets[4].tao": "2500",
                          "subnets[4].alpha": "20000", "subnets[4].mechanism": "ai_work",
                          "events[0].title": "Weather halving"})
    assert client.post(f"/console/scenarios/{mine.pk}/edit", post).status_code == 200
    game = create_game(instructor, f"custom:{mine.pk}", Overrides(seed=7))
    lobby.join_game(game.code, "Ada Student")
    start.start_game(game.id)
    clock.advance(game.id, "epoch")
    settled = 0
    while engine.settle_tick(game.id):
        settled += 1
    rows = [json.loads(r.row) for r in TickRow.objects.filter(game=game).order_by("tick")]
    assert settled == 6 and [s["id"] for s in rows[-1]["subnets"]] == [1, 2, 3, 4, 5]
    fired = [e for r in TickRow.objects.filter(game=game) for e in json.loads(r.events)]
    assert [e["title"] for e in fired] == ["Weather halving"]


def test_the_dry_run_refuses_a_scenario_too_big_to_play_in_seconds(instructor, mine):
    client = _client(instructor)
    url = f"/console/scenarios/{mine.pk}/dry-run"
    res = client.post(url, _form(mine, **{"clock.ticks_per_epoch": "241"}))
    assert res.status_code == 400 and res.json()["code"] == "too_long"
    assert res.json()["error"] == ("The dry run plays at most 240 ticks: an epoch of 241 "
                                   "ticks is longer.")
    crowd = [{"id": f"b{k}", "role": "speculator", "tao": 1, "bot": "noise_trader"}
             for k in range(201)]
    res = client.post(url, _form(mine, players=json.dumps(crowd)))
    assert res.status_code == 400
    assert res.json()["error"] == "The dry run plays at most 200 players: this scenario has 201."


def test_every_scenario_page_needs_a_login(mine):
    anonymous = Client()
    base = f"/console/scenarios/{mine.pk}"
    for method, url in (("get", "/console/scenarios/"), ("get", f"{base}/edit"),
                        ("post", f"{base}/edit"), ("post", f"{base}/dry-run"),
                        ("get", f"{base}/export.json"), ("post", f"{base}/delete")):
        res = getattr(anonymous, method)(url)
        assert res.status_code == 302 and res["Location"].startswith("/login/?next=")
    assert CustomScenario.objects.get(pk=mine.pk).body == mine.body


def test_play_again_deals_a_custom_games_own_players_and_refuses_once_it_is_deleted(
        instructor, mine, settings, tmp_path):
    from game.actions import clock, lobby, rounds, start
    from game.errors import ClientError

    settings.VAR_DIR = tmp_path / "var"
    crowd = mine.body["players"][:2] + [{"id": "w9", "role": "speculator", "tao": 50.0,
                                         "bot": "whale"}]
    cs.save(instructor, mine.pk, {**mine.body, "players": crowd})
    game = create_game(instructor, f"custom:{mine.pk}", Overrides(seed=3))
    lobby.join_game(game.code, "Ada Student")
    start.start_game(game.id)
    clock.end_game(game.id)
    nxt = Game.objects.get(code=rounds.play_again(game.id)["code"])
    assert [p["id"] for p in json.loads(nxt.scenario)["players"]] == ["n1", "n2", "w9"]
    cs.delete(instructor, mine.pk)
    start.start_game(nxt.id)
    clock.end_game(nxt.id)
    with pytest.raises(ClientError, match="this game's scenario is gone"):
        rounds.play_again(nxt.id)


def test_registration_may_be_forbidden_and_a_bad_switch_is_shown_beside_it(instructor, mine):
    client = _client(instructor)
    url = f"/console/scenarios/{mine.pk}/edit"
    assert client.post(url, _form(mine, **{"params.registration_open": "0"})).status_code == 200
    assert CustomScenario.objects.get(pk=mine.pk).body["params"]["registration_open"] == 0
    res = client.post(url, _form(mine, **{"params.registration_open": "2"}))
    assert res.status_code == 400
    page = html.unescape(res.content.decode())
    start = page.index('data-field="params.registration_open"')
    assert page[start:page.index("</span>", start)].endswith("must be <= 1, got 2")


ASKED = {"events[0].prediction.text": "Where does SN2's price go next epoch?",
         "events[0].prediction.choices": "Up\r\n Down \r\n\r\nFlat",
         "events[0].prediction.subnet": "2", "events[0].prediction.correct": "Down"}


def test_an_events_prediction_question_is_saved_exported_and_asked_in_a_game(instructor, mine,
                                                                             tmp_path):
    from game.actions import predictions
    from game.models import Question

    client = _client(instructor)
    url = f"/console/scenarios/{mine.pk}/edit"
    assert client.post(url, _form(mine, **ASKED)).status_code == 200
    body = CustomScenario.objects.get(pk=mine.pk).body
    assert body["events"][0]["prediction"] == {
        "text": "Where does SN2's price go next epoch?", "choices": ["Up", "Down", "Flat"],
        "subnet": 2, "correct": "Down"}
    page = client.get(url).content.decode()
    assert ('name="events[0].prediction.choices" rows="2" spellcheck="true">Up\nDown\nFlat'
            '</textarea>') in page
    assert 'name="events[0].prediction.correct" value="Down"' in page
    # Exported as the scenario file, imported back the same.
    exported = client.get(f"/console/scenarios/{mine.pk}/export.json").content
    assert json.loads(exported)["events"][0]["prediction"] == body["events"][0]["prediction"]
    client.post("/console/scenarios/", {
        "op": "import", "file": SimpleUploadedFile("mine.json", exported)})
    again = CustomScenario.objects.exclude(pk=mine.pk).get(owner=instructor)
    assert again.body["events"][0]["prediction"] == body["events"][0]["prediction"]
    # A game from the custom preset asks it (the console's "Ask before" button sends this).
    game = create_game(instructor, f"custom:{mine.pk}", Overrides(seed=5))
    predictions.ask(game.id, event=0)
    q = Question.objects.get(game=game)
    assert (q.event, q.text, q.choices, q.subnet) == (
        0, "Where does SN2's price go next epoch?", ["Up", "Down", "Flat"], 2)
    # Emptying the question's text and choices removes it.
    cleared = _form(CustomScenario.objects.get(pk=mine.pk), **{
        "events[0].prediction.text": "", "events[0].prediction.choices": ""})
    assert client.post(url, cleared).status_code == 200
    assert "prediction" not in CustomScenario.objects.get(pk=mine.pk).body["events"][0]
