"""Debrief test fixtures: a small preset and a finished game played through the real
services and engine (see gamekit.py)."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "server"))

from gamekit import play_finished_game, write_preset  # noqa: E402
from serverfixtures import _fast_password_hashing  # noqa: E402,F401  (autouse)


@pytest.fixture
def debrief_presets(tmp_path: Path, settings: Any) -> Path:
    from game import simapi

    directory = tmp_path / "scenarios"
    write_preset(directory)
    settings.SCENARIOS_DIR = directory
    settings.ENGINE_IN_PROCESS = False  # the tests settle ticks themselves
    settings.VAR_DIR = tmp_path / "var"
    simapi.presets.cache_clear()
    simapi.clear_cache()
    yield directory
    simapi.presets.cache_clear()
    simapi.clear_cache()


@pytest.fixture
def teacher(db: Any) -> Any:
    from django.contrib.auth.models import User

    return User.objects.create_user("teacher", password="a-long-test-password")


@pytest.fixture
def finished(debrief_presets: Path, teacher: Any):
    """(game, {nickname: (seat, token)}) of a game played to its end."""
    return play_finished_game(teacher)
