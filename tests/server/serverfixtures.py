"""Fixtures shared by the server and hardening tests (imported by both conftest.py files):
a preset scenario directory, an instructor and a game, fast password hashing, a fresh channel
layer per test and closed worker connections."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from serverkit import SCENARIO, write_preset

from game import simapi
from game.actions.setup import Overrides, create_game


@pytest.fixture
def preset_dir(tmp_path: Path, settings: Any) -> Path:
    directory = tmp_path / "scenarios"
    write_preset(directory)
    settings.SCENARIOS_DIR = directory
    settings.ENGINE_IN_PROCESS = False  # tests settle ticks themselves
    simapi.presets.cache_clear()
    simapi.clear_cache()
    yield directory
    simapi.presets.cache_clear()
    simapi.clear_cache()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # PBKDF2's deliberate slowness is for attackers, not for a test's setup.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def instructor(db: Any) -> Any:
    from django.contrib.auth.models import User

    return User.objects.create_user("teacher", password="a-long-test-password")


@pytest.fixture
def game(preset_dir: Path, instructor: Any) -> Any:
    return create_game(instructor, "test_market", Overrides(seed=SCENARIO["seed"]))


@pytest.fixture(scope="module")
def template(tmp_path_factory: Any):
    """A migrated database that each live-server test of a module clones (livekit.Template)."""
    from livekit import Template

    made = Template(tmp_path_factory.mktemp("live-template"))
    yield made
    made.close()


@pytest.fixture
def store_js(node_path: str):
    """The shipped static/js/store.js in a Node process (tests/server/storejs.py)."""
    from storejs import StoreJS

    js = StoreJS(node_path)
    yield js
    js.close()


@pytest.fixture
def frames(monkeypatch: Any) -> list[tuple[str, dict[str, Any]]]:
    """Every broadcast frame queued for after a commit (captured instead of sent), a batch's
    frames one by one, as the sockets of their groups get them."""
    from game import broadcast

    sent: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(broadcast, "_send_now",
                        lambda fs, stages=None, last=True: sent.extend(broadcast.unbatched(fs)))
    return sent


@pytest.fixture(autouse=True)
def _fresh_channel_layer():
    """A new channel layer object per test: each async test has its own event loop, and a
    channels_redis layer keeps locks bound to the loop that first used it."""
    from channels.layers import channel_layers

    channel_layers.backends = {}
    yield
    channel_layers.backends = {}


@pytest.fixture(autouse=True)
async def _close_worker_connections():
    """Close the database connection the sync_to_async worker thread opened, so the test
    database can be dropped at the end (PostgreSQL refuses while a session is open)."""
    yield
    from asgiref.sync import sync_to_async
    from django.db import connections

    await sync_to_async(connections.close_all, thread_sensitive=True)()
