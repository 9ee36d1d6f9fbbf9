"""Your class vs N bot classes: the started scenario played N times with a bot in every seat,
then per-epoch percentile bands across the runs (sim.montecarlo.play, then .aggregate: the
same bands as `python -m sim montecarlo`).

Two halves:

- the job (`python -m game.debrief.bands JOB.json`): a process of its own, at a lower CPU
  priority, so a few minutes of simulation take neither the GIL nor the cores from the live
  games the web process serves. No Django: it reads its job file, writes its progress and then
  the bands to the output file (atomically: a poller never reads half a file). It never creates
  a directory: once its game's directory is gone (the game was deleted), its next write fails
  and it stops, so nothing of a deleted game is written again.
- the scheduler (`Jobs`, used by analysis.py in the web process): at most one job per game
  at a time (queued or running, in any process sharing VAR_DIR), at most BANDS_MAX_JOBS jobs
  running on the machine (slot locks under VAR_DIR/debrief/slots: a running job holds its slot
  by an inherited file lock, released when it exits however it ends), the others queued in
  order, at most BANDS_QUEUE_MAX waiting per process; finished children are reaped (no
  zombies); deleting a game cancels its job and removes its directory.

Files of game G (key g<id>-<code>): VAR_DIR/debrief/<key>-bands/runs-N.json (the status:
queued, running with done/runs, done with the bands, or failed), runs-N.log (the job's
output) and job.json (the job: {"out", "scenario", "runs", "seed_base", "owner", "child"};
present while the game has a job queued or running).
"""
from __future__ import annotations

import collections
import errno
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from sim import montecarlo


def write_atomic(path: Path, text: str) -> None:
    """Write then rename: a poller never reads half a file (unique per process and thread).
    Readable by this user only (mode 0600): caches under VAR_DIR name players."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), allow_nan=False)


class Cancelled(Exception):
    """The job's directory is gone: its game was deleted."""


def _write_progress(out: Path, doc: dict[str, Any]) -> None:
    try:
        write_atomic(out, dumps(doc))
    except FileNotFoundError:
        raise Cancelled() from None


def run(out: Path, scn: dict[str, Any], runs: int, seed_base: int) -> None:
    """One bot-only game per seed, progress after each, then the bands; a failure is written
    to the file too (the page shows it; the instructor may retry)."""
    started = time.time()
    _write_progress(out, {"state": "running", "done": 0, "runs": runs, "updated": started,
                          "started": started, "pid": os.getpid()})
    try:
        results = []
        for k in range(runs):
            results.append(montecarlo.play(scn, seed_base + k))
            _write_progress(out, {"state": "running", "done": k + 1, "runs": runs,
                                  "updated": time.time(), "started": started,
                                  "pid": os.getpid()})
        doc = montecarlo.aggregate(results)
        doc.update(state="done", done=runs, runs=runs, seed_base=seed_base,
                   seeds=[seed_base + k for k in range(runs)], updated=time.time(),
                   started=started, pid=os.getpid())
        _write_progress(out, doc)
    except Cancelled:
        raise
    except Exception as exc:
        _write_progress(out, {"state": "failed", "done": 0, "runs": runs,
                              "error": f"{type(exc).__name__}: {exc}", "updated": time.time()})
        raise


def main(argv: list[str]) -> int:
    try:
        job = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return 0  # cancelled before it began
    try:
        os.nice(10)  # behind the live games
    except OSError:
        pass
    try:
        run(Path(job["out"]), job["scenario"], int(job["runs"]), int(job["seed_base"]))
    except Cancelled:
        return 0
    return 0


# --- the scheduler (web process side) -----------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]


def game_dir(cache: Path, key: str) -> Path:
    return cache / f"{key}-bands"


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


@dataclass
class Job:
    key: str
    directory: Path
    runs: int
    scenario: dict[str, Any]
    seed_base: int
    proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def out(self) -> Path:
        return self.directory / f"runs-{self.runs}.json"

    @property
    def marker(self) -> Path:
        return self.directory / "job.json"


class Jobs:
    """The bands jobs of this process: a FIFO queue, the running children, one reaper thread."""

    POLL_SECONDS = 0.2

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: collections.deque[Job] = collections.deque()
        self._running: dict[str, Job] = {}
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()
        self._idle.set()
        self._cache = Path(".")
        self._max_jobs = 1

    # -- what the views call --

    def status(self, cache: Path, key: str, runs: int) -> dict[str, Any]:
        directory = game_dir(cache, key)
        doc = _read(directory / f"runs-{runs}.json")
        if doc is None:
            return {"state": "missing", "done": 0, "runs": runs}
        if doc.get("state") in ("queued", "running") and not self._live(directory, runs):
            return {"state": "missing", "done": 0, "runs": runs}
        if doc.get("state") == "queued":
            doc = {**doc, "position": self._position(key)}
        return doc

    def start(self, cache: Path, key: str, runs: int, scenario: dict[str, Any],
              seed_base: int, still_wanted: Callable[[], bool], *, max_jobs: int,
              queue_max: int) -> tuple[dict[str, Any], int]:
        """Queue a game's job unless its bands are done or it already has one: (status, HTTP
        status). 409 `busy` if the game has a job for another N; 503 `queue_full`.
        `still_wanted()` (a database query: called here, in the caller's thread, never in the
        scheduler's) is False once the game is deleted; a deletion after it cancels the job."""
        current = self.status(cache, key, runs)
        if current["state"] in ("queued", "running", "done"):
            return current, 200
        directory = game_dir(cache, key)
        with self._lock:
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            marker = directory / "job.json"
            self._clear_stale(directory)
            if marker.exists():
                other = _read(marker) or {}
                return {"state": "busy", "done": 0, "runs": runs,
                        "busy_runs": other.get("runs"),
                        "error": "this game's bot classes are being computed for another "
                                 "number of runs; try again when they are done"}, 409
            if len(self._queue) >= queue_max:
                return {"state": "queue_full", "done": 0, "runs": runs,
                        "error": "too many bot-class jobs are waiting; try again later"}, 503
            job = Job(key, directory, runs, scenario, seed_base)
            spec = {"out": str(job.out), "scenario": scenario, "runs": runs,
                    "seed_base": seed_base, "owner": os.getpid(), "child": None}
            try:
                fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                return {"state": "busy", "done": 0, "runs": runs, "busy_runs": None}, 409
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(dumps(spec))
            first = {"state": "queued", "done": 0, "runs": runs, "updated": time.time()}
            write_atomic(job.out, dumps(first))
            if not still_wanted():  # deleted since the view loaded it: leave nothing behind
                _remove_dir(directory)
                return {"state": "missing", "done": 0, "runs": runs}, 404
            self._queue.append(job)
            self._idle.clear()
            self._max_jobs = max_jobs
            self._cache = cache
            self._ensure_thread()
        self._dispatch()
        return self.status(cache, key, runs), 200

    def cancel(self, cache: Path, key_prefix: str) -> None:
        """Forget every job of a game (keys starting with key_prefix, e.g. "g12-") and remove
        its directories: a queued job is dropped, a running child here is killed and reaped,
        a child of another process is killed and stops at its next write anyway."""
        with self._lock:
            for job in [j for j in self._queue if j.key.startswith(key_prefix)]:
                self._queue.remove(job)
            for key, job in list(self._running.items()):
                if key.startswith(key_prefix) and job.proc is not None:
                    _kill(job.proc.pid)
                    job.proc.wait()
                    del self._running[key]
            for directory in cache.glob(f"{key_prefix}*-bands"):
                spec = _read(directory / "job.json") or {}
                child = spec.get("child")
                if isinstance(child, int) and _alive(child) and _is_bands_job(child, directory):
                    _kill(child)
                _remove_dir(directory)
            if not self._queue and not self._running:
                self._idle.set()

    def wait_idle(self, timeout: float) -> bool:
        """Until no job of this process is queued or running (tests, shutdown)."""
        return self._idle.wait(timeout)

    def children(self) -> list[int]:
        with self._lock:
            return [j.proc.pid for j in self._running.values() if j.proc is not None]

    # -- inside --

    def _position(self, key: str) -> int | None:
        with self._lock:
            for k, job in enumerate(self._queue):
                if job.key == key:
                    return k + 1
        return None

    def _live(self, directory: Path, runs: int) -> bool:
        """The game has a queued or running job for N=runs, here or in another process."""
        spec = _read(directory / "job.json")
        if spec is None or spec.get("runs") != runs:
            return False
        return _alive(spec.get("owner")) or _alive(spec.get("child"))

    def _clear_stale(self, directory: Path) -> None:
        spec = _read(directory / "job.json")
        if spec is not None and not (_alive(spec.get("owner")) or _alive(spec.get("child"))):
            (directory / "job.json").unlink(missing_ok=True)

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name="bands-jobs", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while True:
            self._reap()
            self._dispatch()
            with self._lock:
                if not self._queue and not self._running:
                    self._idle.set()
                    self._thread = None
                    return
            time.sleep(self.POLL_SECONDS)

    def _reap(self) -> None:
        """Collect every finished child (no zombies) and end its game's job."""
        with self._lock:
            for key, job in list(self._running.items()):
                if job.proc is not None and job.proc.poll() is not None:
                    del self._running[key]
                    job.marker.unlink(missing_ok=True)

    def _dispatch(self) -> None:
        """Start queued jobs while a machine-wide slot is free."""
        with self._lock:
            while self._queue:
                job = self._queue[0]
                if not job.directory.is_dir():
                    self._queue.popleft()  # its game was deleted meanwhile
                    continue
                slot = _take_slot(self._cache, self._max_jobs)
                if slot is None:
                    return
                self._queue.popleft()
                try:
                    self._spawn(job, slot)
                finally:
                    os.close(slot)

    def _spawn(self, job: Job, slot: int) -> None:
        try:
            log_file = open(job.directory / f"runs-{job.runs}.log", "ab")
        except FileNotFoundError:
            return  # the directory went away: the game was deleted
        with log_file:
            job.proc = subprocess.Popen(
                [sys.executable, "-m", "game.debrief.bands", str(job.marker)], cwd=str(ROOT),
                stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file, pass_fds=(slot,))
        self._running[job.key] = job
        spec = _read(job.marker)
        if spec is not None:
            spec["child"] = job.proc.pid
            try:
                write_atomic(job.marker, dumps(spec))
            except FileNotFoundError:
                pass


def _take_slot(cache: Path, max_jobs: int) -> int | None:
    """An open, exclusively locked slot file (its lock passes to the child), or None."""
    slots = cache / "slots"
    slots.mkdir(parents=True, exist_ok=True)
    for k in range(max_jobs):
        fd = os.open(slots / f"slot-{k}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                continue
            raise
        return fd
    return None


def _is_bands_job(pid: int, directory: Path) -> bool:
    """That pid is a bands job of this directory (never kill a reused pid's process)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"game.debrief.bands" in cmdline and str(directory / "job.json").encode() in cmdline


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _remove_dir(directory: Path) -> None:
    """Rename, then delete: from the rename on, a job's write into the old path fails."""
    trash = directory.with_name(f"{directory.name}.deleted-{os.getpid()}-{time.monotonic_ns()}")
    try:
        os.rename(directory, trash)
    except FileNotFoundError:
        return
    for _ in range(5):  # a job may have been writing a temporary file at that moment
        shutil.rmtree(trash, ignore_errors=True)
        if not trash.exists():
            return
        time.sleep(0.05)


JOBS = Jobs()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
