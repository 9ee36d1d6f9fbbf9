"""Fixtures for the hardening tests: the server tests' game setup, plus the hypothesis profiles.

HARDENING_PROFILE=ci (default) keeps every property test to a few dozen examples so the folder
runs in a few minutes on 2 cores; HARDENING_PROFILE=long explores far more (hundreds of examples,
longer state-machine runs) for a soak before a release.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings as hsettings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "server"))

from serverfixtures import (  # noqa: E402,F401
    _close_worker_connections,
    _fast_password_hashing,
    _fresh_channel_layer,
    game,
    instructor,
    preset_dir,
    store_js,
)

_SLOW_OK = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
            HealthCheck.data_too_large]
hsettings.register_profile("ci", max_examples=25, deadline=None, suppress_health_check=_SLOW_OK,
                           stateful_step_count=20, derandomize=False)
hsettings.register_profile("long", max_examples=400, deadline=None,
                           suppress_health_check=_SLOW_OK, stateful_step_count=60)
hsettings.load_profile(os.environ.get("HARDENING_PROFILE", "ci"))


@pytest.fixture
def other_instructor(db: Any) -> Any:
    from django.contrib.auth.models import User

    return User.objects.create_user("rival", password="another-long-password")


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Rate-limit counters live in the process's cache: each test starts from zero."""
    from game import ratelimit

    ratelimit.reset()
    yield
    ratelimit.reset()
