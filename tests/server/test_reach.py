"""Reachable from phones (issue #13): when the join link points at a loopback address, the
console and the projector say phones cannot open it and show the command that fixes it, with
this machine's network addresses; a link on a network address shows no warning."""
from __future__ import annotations

import pytest
from django.test import Client

from game.web import reach

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/join/ABC", "http://localhost:8000/j",
                                 "http://[::1]:8000/join/ABC", "http://127.0.1.1/join/A"])
def test_a_loopback_link_gets_a_warning_with_the_command(url, monkeypatch):
    monkeypatch.setattr(reach, "lan_addresses", lambda: ["192.168.1.20", "10.0.0.5"])
    warning = reach.phone_warning(url)
    assert warning["addresses"] == ["192.168.1.20", "10.0.0.5"]
    port = 8000  # the link's port, else make run's default
    assert warning["command"] == (
        f"HOST=0.0.0.0 PORT={port} ALLOWED_HOSTS=192.168.1.20,10.0.0.5,localhost,127.0.0.1 "
        f"PUBLIC_URL=http://192.168.1.20:{port} make run")


@pytest.mark.parametrize("url", ["http://192.168.1.20:8000/join/ABC",
                                 "https://class.example.org/join/ABC"])
def test_a_network_link_gets_no_warning(url):
    assert reach.phone_warning(url) is None


def test_this_machines_addresses_are_read_and_never_loopback():
    addresses = reach.lan_addresses()
    assert all(not a.startswith("127.") for a in addresses)


def test_the_console_and_projector_show_the_warning_only_on_loopback(game, instructor, settings):
    client = Client()
    client.force_login(instructor)
    page = client.get(f"/console/{game.code}/", HTTP_HOST="127.0.0.1").content.decode()
    assert 'id="phone-warning"' in page and "HOST=0.0.0.0" in page
    projector = f"/projector/{game.code}/{game.projector_token}/"
    assert 'id="phone-warning"' in Client().get(projector, HTTP_HOST="localhost").content.decode()
    settings.PUBLIC_URL = "http://192.168.1.20:8000"
    page = client.get(f"/console/{game.code}/", HTTP_HOST="127.0.0.1").content.decode()
    assert 'id="phone-warning"' not in page
    assert 'id="phone-warning"' not in Client().get(projector).content.decode()


def test_a_browsers_favicon_request_is_answered_without_a_404(client):
    """Chromium asks for /favicon.ico on a text page (/healthz); a 404 there showed up as a
    console error in the back-button browser test, at random."""
    response = client.get("/favicon.ico")
    assert response.status_code == 204
    assert response["Cache-Control"] == "public, max-age=86400"
