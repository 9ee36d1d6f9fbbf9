"""The background bot-class jobs are bounded: one per game, a machine-wide cap with a queue,
children reaped, and a deleted game's job cancelled with nothing of it written again."""
from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

import psutil
import pytest
from django.test import Client
from gamekit import play_finished_game

from game.debrief import analysis, bands

pytestmark = [pytest.mark.server, pytest.mark.django_db(transaction=True)]


def _client(game) -> Client:
    client = Client()
    client.force_login(game.owner)
    return client


def _url(game, runs: int) -> str:
    return f"/console/{game.code}/debrief/bands?runs={runs}"


def _zombies() -> list[int]:
    return [p.pid for p in psutil.Process().children()
            if p.status() == psutil.STATUS_ZOMBIE]


class HeldSlots:
    """The test holds every machine-wide slot, so jobs stay queued until it lets go."""

    def __init__(self, count: int) -> None:
        slots = analysis.cache_dir() / "slots"
        slots.mkdir(parents=True, exist_ok=True)
        self.fds = []
        for k in range(count):
            fd = os.open(slots / f"slot-{k}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.fds.append(fd)

    def release(self) -> None:
        for fd in self.fds:
            os.close(fd)
        self.fds = []


@pytest.fixture
def finished_pair(debrief_presets, teacher):
    return play_finished_game(teacher)[0], play_finished_game(teacher)[0]


@pytest.fixture(autouse=True)
def _no_jobs_left():
    yield
    assert bands.JOBS.wait_idle(timeout=600)


def test_one_job_per_game_and_finished_children_are_reaped(finished, settings):
    settings.BANDS_MAX_JOBS = 2
    game, _ = finished
    client = _client(game)
    first = client.post(_url(game, 2))
    assert first.status_code == 200 and first.json()["state"] in ("queued", "running")
    again = client.post(_url(game, 2))  # the same job, not a second one
    assert again.status_code == 200 and again.json()["state"] in ("queued", "running", "done")
    other = client.post(_url(game, 3))  # another N while the first is on: refused
    assert other.status_code == 409 and other.json()["state"] == "busy"
    assert other.json()["busy_runs"] == 2
    assert bands.JOBS.wait_idle(timeout=600)
    assert client.get(_url(game, 2)).json()["state"] == "done"
    assert _zombies() == []
    assert bands.JOBS.children() == []
    # Done: the game may now have its other N.
    assert client.post(_url(game, 3)).json()["state"] in ("queued", "running")


def test_jobs_past_the_cap_wait_in_a_queue_and_run_one_after_the_other(finished_pair, settings):
    settings.BANDS_MAX_JOBS = 1
    a, b = finished_pair
    held = HeldSlots(1)
    try:
        assert _client(a).post(_url(a, 2)).json() == {
            "state": "queued", "done": 0, "runs": 2, "position": 1,
            "updated": _client(a).get(_url(a, 2)).json()["updated"]}
        second = _client(b).post(_url(b, 2)).json()
        assert (second["state"], second["position"]) == ("queued", 2)
        assert bands.JOBS.children() == []  # nothing started while no slot is free
    finally:
        held.release()
    assert bands.JOBS.wait_idle(timeout=600)
    done_a, done_b = (_client(g).get(_url(g, 2)).json() for g in (a, b))
    assert done_a["state"] == done_b["state"] == "done"
    # One at a time, in order: b's job began only after a's had written its last file.
    assert done_b["started"] >= done_a["updated"]
    assert _zombies() == []


def _files_of(game_id: int) -> list[Path]:
    return sorted(analysis.cache_dir().glob(f"g{game_id}-*"))


def test_deleting_a_game_cancels_its_queued_job(finished):
    game, _ = finished
    held = HeldSlots(1)
    try:
        assert _client(game).post(_url(game, 2)).json()["state"] == "queued"
        assert _client(game).post(f"/console/{game.code}/delete").status_code == 302
    finally:
        held.release()
    assert bands.JOBS.wait_idle(timeout=600)
    assert bands.JOBS.children() == [] and _files_of(game.id) == []


def test_deleting_a_game_kills_its_running_job_and_nothing_is_written_again(finished):
    game, _ = finished
    client = _client(game)
    game_id = game.id
    assert client.post(_url(game, 50)).json()["state"] in ("queued", "running")
    status = analysis.cache_dir() / f"g{game_id}-{game.code}-bands" / "runs-50.json"
    while '"running"' not in status.read_text():  # the child has begun writing
        time.sleep(0.05)
    child = bands.JOBS.children()[0]
    assert client.post(f"/console/{game.code}/delete").status_code == 302
    assert not psutil.pid_exists(child)  # killed and reaped by the time the delete returns
    assert _files_of(game_id) == [] and _zombies() == []


def test_a_job_whose_directory_is_gone_stops_without_writing(tmp_path):
    """A job of another worker process (not a child of the deleting one) stops by itself."""
    directory = tmp_path / "g1-ABC-bands"
    directory.mkdir()
    out = directory / "runs-1.json"
    bands._remove_dir(directory)
    with pytest.raises(bands.Cancelled):
        bands.run(out, {}, 1, 7)
    assert list(tmp_path.iterdir()) == []
