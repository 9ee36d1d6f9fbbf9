"""A page opened or reloaded late in a long game draws its charts from tick 0 (issue #11): the
snapshot no longer carries the chart history; static/js/store.js fetches it from
GET /g/<code>/history in blocks of 64 ticks and merges it. Real Chromium, daphne started as
`make run` starts it (game/launch.py), a game settled to tick 70 (past one block), then to its
end."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from procs import stop_tree

from bench.stack import free_port, wait_for_port
from game import launch

ROOT = Path(__file__).resolve().parents[2]
WAIT = 120_000  # ms: generous for a loaded machine; never a timing assertion
MID, TICKS = 70, 80

SCENARIO = {
    "name": "Long market", "description": "Long enough for two history blocks.", "seed": 5,
    "clock": {"blocks_per_tick": 100, "ticks_per_epoch": 2, "epochs": TICKS // 2,
              "tick_seconds": 5},
    "root": {"stake": 100000},
    "subnets": [{"id": 1, "name": "One", "tao": 1000, "alpha": 20000},
                {"id": 2, "name": "Two", "tao": 500, "alpha": 10000}],
    "players": [{"id": "otf", "role": "root_validator", "tao": 0, "root_stake": 50000},
                {"id": "m1", "role": "speculator", "tao": 500, "bot": "momentum"}],
    "events": [],
}

# Run with `manage.py shell -c`: settle the game (made by BUILD) up to tick N.
SETTLE = """
from django.utils import timezone
from game import engine
from game.models import Game, Seat
g = Game.objects.get(code=CODE)
while g.tick < N and g.status != "ended":
    now = timezone.now()
    Seat.objects.filter(game=g, kind="human").update(last_seen=now)
    Game.objects.filter(pk=g.id).update(next_tick_at=now)
    assert engine.settle_tick(g.id, now=now)
    g.refresh_from_db()
print(g.tick, g.status)
"""
BUILD = """
import json
from django.contrib.auth.models import User
from game.actions.lobby import join_game
from game.actions.setup import Overrides, create_game
from game.actions.start import start_game
user = User.objects.create_user("history-teacher", password="history-long-password-42")
game = create_game(user, "long_market", Overrides())
seat, token = join_game(game.code, "Reloader")
start_game(game.id)
print(json.dumps({"code": game.code, "projector": game.projector_token, "token": token}))
"""


def _server(tmp: Path, **extra_env: str):
    (tmp / "scenarios").mkdir()
    (tmp / "scenarios" / "long_market.json").write_text(json.dumps(SCENARIO))
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update({
        "VAR_DIR": str(tmp / "var"), "SQLITE_PATH": str(tmp / "db.sqlite3"),
        "SCENARIOS_DIR": str(tmp / "scenarios"), "DJANGO_SETTINGS_MODULE": "game.settings",
        "DJANGO_SECRET_KEY": "history-browser-tests-only-0123456789abcdef", "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost", "ENGINE_IN_PROCESS": "0",
        "BOT_TAKEOVER_SECONDS": "3600", "PYTHONUNBUFFERED": "1", **extra_env,
    })

    def manage(*args: str) -> str:
        done = subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT,
                              env=env, check=True, capture_output=True, text=True)
        return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""

    manage("migrate", "--noinput", "-v0")
    manage("collectstatic", "--noinput", "-v0")
    info = json.loads(manage("shell", "-c", BUILD))

    def settle(n: int) -> str:
        return manage("shell", "-c", f"CODE = {info['code']!r}\nN = {n}\n" + SETTLE)

    port = free_port()
    log = open(tmp / "daphne.log", "wb")
    proc = subprocess.Popen(launch.daphne_argv(host="127.0.0.1", port=port), cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, proc, what="daphne")
        yield {"base": f"http://127.0.0.1:{port}", "settle": settle, "log": tmp / "daphne.log",
               **info}
    finally:
        stop_tree(proc)
        log.close()
        text = (tmp / "daphne.log").read_text(errors="replace")
        assert "Traceback" not in text, text[-4000:]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from _server(tmp_path_factory.mktemp("history-server"))


@pytest.fixture
def tiny_send_server(tmp_path):
    """The server may send at most 1 kB: every snapshot of a running game is larger."""
    yield from _server(tmp_path, WS_MAX_SEND_BYTES="1024")


def _ticks(page) -> list[int]:
    return page.evaluate("() => window.dtao.store.state.history.map((r) => r.tick)")


def _chart_labels(page) -> list[int]:
    return page.evaluate("() => Chart.getChart(document.getElementById('ch-price')).data.labels")


def test_a_page_reloaded_late_draws_its_charts_from_the_first_tick(server, browser):
    assert server["settle"](MID) == f"{MID} running"
    problems: list[str] = []
    history_requests: list[str] = []

    def page_for(name: str, cookies: list[dict] | None = None):
        ctx = browser.new_context(viewport={"width": 1280, "height": 800})
        if cookies:
            ctx.add_cookies(cookies)
        page = ctx.new_page()
        page.set_default_timeout(WAIT)
        page.on("pageerror", lambda e: problems.append(f"[{name}] pageerror {e}"))
        page.on("console", lambda m: m.type == "error" and problems.append(
            f"[{name}] console {m.text}"))
        page.on("request", lambda r: "/history" in r.url and history_requests.append(
            f"[{name}] {r.url.split('/g/')[1]} projector={r.headers.get('x-projector-token')}"))
        return page

    code, base = server["code"], server["base"]
    phone = page_for("phone", [{"name": f"seat_{code}", "value": server["token"],
                                "url": base}])
    phone.goto(f"{base}/play/{code}/")
    phone.wait_for_selector("#conn[data-state=live]")
    want = list(range(MID))
    phone.wait_for_function(f"() => window.dtao.store.state.history.length === {MID}")
    assert _ticks(phone) == want
    # Two blocks: 0–63 and 64–69 (the page asks in aligned blocks of 64 ticks).
    assert sorted(history_requests) == [f"[phone] {code}/history?from=0&to=63 projector=None",
                                        f"[phone] {code}/history?from=64&to=69 projector=None"]

    # The projector (token in a header, never in the history URL) draws from tick 0.
    projector = page_for("projector")
    projector.goto(f"{base}/projector/{code}/{server['projector']}/")
    projector.wait_for_function(
        "() => { const c = Chart.getChart(document.getElementById('ch-price'));"
        f" return c && c.data.labels.length === {MID}; }}")
    assert _chart_labels(projector) == want
    assert all(r.endswith(f"projector={server['projector']}")
               for r in history_requests if r.startswith("[projector]"))
    assert not any(server["projector"] in r.split(" ")[1] for r in history_requests)

    # The game ends; the phone reloads (its session storage keeps the old rows: the server's
    # replace them) and draws the whole game.
    assert server["settle"](TICKS) == f"{TICKS} ended"
    phone.evaluate("() => sessionStorage.setItem("
                   f"'history:{code}', JSON.stringify([{{tick: 3, epoch: 9, subnets: []}}]))")
    phone.reload()
    phone.wait_for_selector("#conn[data-state=live]")
    phone.wait_for_function(f"() => window.dtao.store.state.history.length === {TICKS}")
    assert _ticks(phone) == list(range(TICKS))
    row = phone.evaluate("() => window.dtao.store.state.history[3]")
    assert row["epoch"] == 1 and [s["id"] for s in row["subnets"]] == [1, 2]
    epochs = phone.evaluate("() => window.dtao.store.state.epochs.map((e) => e.epoch)")
    assert epochs == list(range(TICKS // 2))
    projector.reload()
    projector.wait_for_function(
        "() => { const c = Chart.getChart(document.getElementById('ch-price'));"
        f" return c && c.data.labels.length === {TICKS}; }}")
    assert _chart_labels(projector) == list(range(TICKS))
    assert not problems, problems


def test_a_page_the_server_cannot_send_to_retries_once_then_shows_an_error(tiny_send_server,
                                                                          browser):
    server = tiny_send_server
    code, base = server["code"], server["base"]
    ctx = browser.new_context(viewport={"width": 390, "height": 800})
    ctx.add_cookies([{"name": f"seat_{code}", "value": server["token"], "url": base}])
    page = ctx.new_page()
    page.set_default_timeout(WAIT)
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.goto(f"{base}/play/{code}/")
    # Not "Syncing…" forever, and not a reconnect loop: one retry, then the error.
    page.wait_for_selector("#fatal:not([hidden])")
    assert "could not send this page the game" in page.locator("#fatal").text_content()
    assert page.locator("#conn").get_attribute("data-state") == "closed"
    assert len(sockets) == 2, sockets
    log = server["log"].read_text()
    assert log.count("could not send a snapshot message") == 2, log[-3000:]
    ctx.close()
