"""Shared test plumbing: markers by folder, and the real services some tests need.

Tests that need Redis, PostgreSQL or Chromium skip with a clear reason on a machine without
them, and fail instead of skipping in CI (CI=true): there they must always run.
"""
from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest
from chromium import CHROMIUM, CHROMIUM_ARGS

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
PG_HOST, PG_PORT = "127.0.0.1", 5432

_FOLDER_MARKERS = {"sim": "sim", "server": "server", "browser": "browser"}
# A test that uses one of these fixtures needs that service: marked so, whatever its folder, so
# that `-m "not redis and not postgres and not browser"` (make test-fast) leaves every one out.
_FIXTURE_MARKERS = {"redis_url": "redis", "own_redis": "redis", "postgres_url": "postgres",
                    "chromium_path": "browser", "browser": "browser"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        folder = Path(str(item.fspath)).parent.name
        marks = {_FOLDER_MARKERS.get(folder)}
        marks |= {m for f, m in _FIXTURE_MARKERS.items() if f in getattr(item, "fixturenames", ())}
        if "browser" in marks:
            marks.add("server")
        for marker in sorted(m for m in marks if m):
            item.add_marker(getattr(pytest.mark, marker))


def pytest_sessionstart(session):
    """The directories a first start makes (game/firstrun.py): the test database lives in
    VAR_DIR, and importing the settings no longer makes it."""
    from game import firstrun

    firstrun.make_dirs()


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def missing_service(what: str) -> None:
    """Skip (locally) or fail (in CI) a test whose service is not there."""
    message = f"needs {what}, which is not available on this machine"
    if IN_CI:
        pytest.fail(message + " (CI must run this test)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def redis_url() -> str:
    if not _port_open(REDIS_HOST, REDIS_PORT):
        missing_service(f"Redis at {REDIS_HOST}:{REDIS_PORT} (start it: see .ci/run)")
    return os.environ.get("TEST_REDIS_URL", f"redis://{REDIS_HOST}:{REDIS_PORT}/2")


@pytest.fixture(scope="session")
def postgres_url() -> str:
    if not _port_open(PG_HOST, PG_PORT):
        missing_service(f"PostgreSQL at {PG_HOST}:{PG_PORT}")
    return os.environ.get("TEST_DATABASE_URL", f"postgres://postgres@{PG_HOST}:{PG_PORT}/test")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        missing_service(f"Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="session")
def nginx_path() -> str:
    path = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(path).exists():
        missing_service("nginx (apt-get install nginx-light; scripts/setup installs it)")
    return path


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's script (package.json, installed by scripts/setup with npm ci)."""
    path = Path(__file__).resolve().parents[1] / "node_modules" / "axe-core" / "axe.min.js"
    if not path.exists():
        missing_service(f"axe-core at {path} (run scripts/setup: npm ci)")
    return path.read_text()


@pytest.fixture(scope="module")
def browser(chromium_path: str):
    """Debian's Chromium, headless, driven by Playwright (never a downloaded browser).

    Module scope, not session: a live sync Playwright keeps its asyncio loop marked as running
    in the main thread, which breaks every later asyncio.run() in the same session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where screenshots and other test artifacts go (named by the run; kept after it)."""
    path = Path(os.environ.get("TEST_ARTIFACTS", "test-artifacts")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def node_path() -> str:
    """Node.js, to run the client's own modules (static/js/store.js) in the state-diff tests."""
    path = shutil.which("node")
    if not path:
        missing_service("Node.js 20 (apt-get install nodejs)")
    return path
