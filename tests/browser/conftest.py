"""Browser-test plumbing: a real daphne server on a free loopback port with a temporary SQLite
database, an instructor account, and Debian's Chromium driven by Playwright (never downloaded).

Every page opened through `open_page` fails the test on a console error or an uncaught page
error, unless the test says that one specific message is expected.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest
from chromium import CHROMIUM_ARGS
from procs import stop_tree

from bench.stack import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
INSTRUCTOR = ("teacher", "correct-horse-battery-9")
# The shared server's stop (set while it runs): called after the last test that uses it, so
# its games and their children do not run on through the rest of the session's tests.
_STOP_SERVER: list = []


@pytest.fixture(scope="session")
def daphne_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("browser-server")
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update({
        "VAR_DIR": str(tmp), "SQLITE_PATH": str(tmp / "db.sqlite3"),
        "DJANGO_SECRET_KEY": "browser-tests-only-secret-key-0123456789abcdef",
        "DJANGO_SETTINGS_MODULE": "game.settings", "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost", "INSTRUCTOR_PASSWORD": INSTRUCTOR[1],
        "PYTHONUNBUFFERED": "1",
    })
    manage = [PY, str(ROOT / "manage.py")]
    subprocess.run(manage + ["migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    # As scripts/run does: serve hashed, compressed static files, and never stale ones left by
    # an earlier collectstatic (the server indexes staticfiles/ once, at start-up).
    subprocess.run(manage + ["collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run(manage + ["createinstructor", INSTRUCTOR[0], "--password-from-env",
                             "INSTRUCTOR_PASSWORD"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    port = free_port()
    log = open(tmp / "daphne.log", "wb")
    proc = subprocess.Popen([PY, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                             "game.asgi:application"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT)

    def stop() -> None:
        if log.closed:
            return
        stop_tree(proc)
        log.close()
        text = (tmp / "daphne.log").read_text(errors="replace")
        if "Traceback" in text:
            print("---- daphne log (tracebacks) ----\n" + text[-6000:])

    _STOP_SERVER.append(stop)
    try:
        wait_for_port(port, proc, what="daphne")
        yield f"http://127.0.0.1:{port}"
    finally:
        _STOP_SERVER.remove(stop)
        stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """After a test's own teardown: stop the shared server once no test left in this run uses
    it."""
    yield
    if not _STOP_SERVER:
        return
    items = item.session.items
    rest = items[items.index(item) + 1:] if item in items else []
    if not any("daphne_server" in getattr(i, "fixturenames", ()) for i in rest):
        _STOP_SERVER[-1]()


def _delete_game(base: str, code: str, cookies: dict[str, str]) -> None:
    """The console's Delete (POST with the CSRF token), as the instructor who made the game."""
    req = urllib.request.Request(
        f"{base}/console/{code}/delete", data=b"", method="POST",
        headers={"X-CSRFToken": cookies.get("csrftoken", ""),
                 "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)
    try:
        opener.open(req, timeout=30).close()
    except urllib.error.HTTPError as exc:
        if exc.code != 302:
            print(f"game {code} not deleted after its test: HTTP {exc.code}")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003
        return None


@pytest.fixture(autouse=True)
def _pages_and_games_end_with_their_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each test (its checks done: this is torn down after `watch`): close its pages and
    delete the games it created through the console (test_browser_game._create_game), which
    also cancels their bot-class bands jobs, so nothing of it ticks on through the next tests."""
    browser = request.getfixturevalue("browser") if "browser" in request.fixturenames else None
    yield
    from test_browser_game import CREATED

    made = []
    while CREATED:
        context, base, code = CREATED.pop()
        try:
            made.append((base, code, {c["name"]: c["value"] for c in context.cookies()}))
        except Exception as exc:  # the test closed that context: left to the server's stop
            print(f"game {code} not deleted after its test: {exc}")
    if browser is not None:
        for context in list(browser.contexts):
            context.close()
    for base, code, cookies in made:
        _delete_game(base, code, cookies)


@pytest.fixture(scope="session")
def instructor() -> tuple[str, str]:
    return INSTRUCTOR


@pytest.fixture
def bfcache_browser(browser, chromium_path: str):
    """A second Chromium with the back-forward cache on: Playwright launches with
    --disable-back-forward-cache, so a Back navigation would otherwise reload the page."""
    b = browser.browser_type.launch(executable_path=chromium_path, args=CHROMIUM_ARGS,
                                    ignore_default_args=["--disable-back-forward-cache"])
    try:
        yield b
    finally:
        b.close()


@dataclass
class ConsoleWatch:
    """Collects console errors and page errors of every page opened in a test."""

    errors: list[str] = field(default_factory=list)
    allowed: list[re.Pattern] = field(default_factory=list)

    def attach(self, page, name: str) -> None:
        def on_console(msg) -> None:
            if msg.type == "error" and not any(p.search(msg.text) for p in self.allowed):
                self.errors.append(f"[{name}] console.error: {msg.text}")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: self.errors.append(f"[{name}] pageerror: {exc}"))

    def allow(self, pattern: str) -> None:
        self.allowed.append(re.compile(pattern))

    def disallow(self, pattern: str) -> None:
        self.allowed = [p for p in self.allowed if p.pattern != pattern]


@pytest.fixture
def watch() -> Iterator[ConsoleWatch]:
    w = ConsoleWatch()
    yield w
    assert not w.errors, "browser errors:\n" + "\n".join(w.errors)


@pytest.fixture(scope="session")
def run_dir(artifacts_dir: Path) -> Path:
    """artifacts_dir/<run name>/: one folder per test run (TEST_RUN_NAME, else a timestamp)."""
    run = os.environ.get("TEST_RUN_NAME") or time.strftime("browser-%Y%m%d-%H%M%S")
    path = artifacts_dir / run
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def shots(run_dir: Path, request: pytest.FixtureRequest) -> Path:
    """run_dir/<test name>/: this test's screenshots."""
    path = run_dir / request.node.name
    path.mkdir(parents=True, exist_ok=True)
    return path
