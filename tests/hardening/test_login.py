"""The instructor login: throttled per address and per username (django-axes, in the database so
every worker counts together), a clear lockout page with a cool-off, the unlock command, and the
password rules createinstructor enforces."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password"  # the `instructor` fixture's


def _login(password: str, *, ip: str = "10.0.0.1", username: str = "teacher"):
    return Client(REMOTE_ADDR=ip).post("/login/", {"username": username, "password": password})


@override_settings(AXES_FAILURE_LIMIT=5)
def test_wrong_passwords_lock_the_username_out_even_with_the_right_one(instructor):
    for k in range(4):
        assert _login(f"guess-{k}", ip=f"10.0.1.{k}").status_code == 200  # the form again
    locked = _login("guess-4", ip="10.0.1.4")
    assert locked.status_code == 429
    text = locked.content.decode()
    assert "Too many login attempts" in text and "Try again in 15 minutes" in text
    # The right password from a fresh address is refused too while the username is locked.
    right = _login(PASSWORD, ip="10.0.2.1")
    assert right.status_code == 429 and "_auth_user_id" not in right.client.session
    # The unlock command (django-axes' own) lets the instructor in at once.
    out = io.StringIO()
    call_command("axes_reset_username", "teacher", stdout=out)
    assert out.getvalue() == "6 attempts removed.\n"  # one row per address tried
    ok = _login(PASSWORD, ip="10.0.2.1")
    assert ok.status_code == 302 and ok["Location"] == "/console/"


@override_settings(AXES_FAILURE_LIMIT=5)
def test_one_address_guessing_many_usernames_is_locked_out(instructor):
    for k in range(4):
        assert _login("wrong-password", username=f"user{k}").status_code == 200
    assert _login("wrong-password", username="user4").status_code == 429
    # That address cannot log in even with the right credentials; another address can.
    assert _login(PASSWORD, username="teacher").status_code == 429
    assert _login(PASSWORD, username="teacher", ip="10.9.9.9").status_code == 302


@override_settings(AXES_FAILURE_LIMIT=3)
def test_the_lockout_ends_after_the_cool_off(instructor):
    from axes.models import AccessAttempt

    for k in range(3):
        _login(f"guess-{k}")
    assert _login(PASSWORD).status_code == 429
    # The failures are rows in the database (shared by every daphne worker); age them past
    # the cool-off instead of waiting.
    assert AccessAttempt.objects.count() >= 1
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.first().attempt_time
                                 - timedelta(minutes=16))
    assert _login(PASSWORD).status_code == 302


def test_the_default_limits():
    from django.conf import settings

    assert settings.AXES_FAILURE_LIMIT == 10
    assert settings.AXES_COOLOFF_TIME == timedelta(minutes=15)
    assert settings.AXES_LOCKOUT_PARAMETERS == ["ip_address", "username"]
    assert settings.AXES_HANDLER == "axes.handlers.database.AxesDatabaseHandler"


@pytest.mark.parametrize("password, message", [
    ("ms_lee_2024", "too similar to the username"),
    ("11111112", "entirely numeric"),
    ("password1", "too common"),
    ("short", "too short"),
])
def test_createinstructor_refuses_weak_passwords(monkeypatch, password, message):
    from django.contrib.auth.models import User

    monkeypatch.setenv("PW", password)
    with pytest.raises(CommandError, match=message):
        call_command("createinstructor", "ms_lee_2024", password_from_env="PW")
    assert not User.objects.filter(username="ms_lee_2024").exists()
