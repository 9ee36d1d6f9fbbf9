"""Start and stop the scale-out stack as real processes (used by `python -m bench` and by
tests/scaleout): a private PostgreSQL database, a Redis DB number + channel prefix, daphne
workers, engine processes, `manage.py serve`, and a throw-away redis-server.

Every wait is bounded; every process started here is stopped here (by its own pid).
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from game.launch import daphne_argv

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
MANAGE = str(ROOT / "manage.py")
# The CPU priority (nice value) this process started with. `python -m bench --clients-nice N`
# then raises its own (the clients') priority; every process started here goes back to this
# one first (`as_server`), so the stack and the floor run as they would without the option.
SERVER_NICE = os.getpriority(os.PRIO_PROCESS, 0)


def as_server() -> None:
    """In a child before it runs (`preexec_fn`): the priority the benchmark started with."""
    if os.getpriority(os.PRIO_PROCESS, 0) != SERVER_NICE:
        os.setpriority(os.PRIO_PROCESS, 0, SERVER_NICE)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(popen: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 10.0
                 ) -> None:
    """Signal a child (SIGTERM by default) and reap it; SIGKILL if it outlives `timeout`."""
    if popen.poll() is None:
        try:
            popen.send_signal(sig)
            popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait(timeout=5)


def wait_for_port(port: int, popen: subprocess.Popen | None = None, timeout: float = 30.0,
                  what: str = "server") -> None:
    """Until something accepts TCP connections on 127.0.0.1:port; fails at once if `popen`
    (the process meant to listen there) exits."""
    deadline = time.monotonic() + timeout
    while True:
        if popen is not None and popen.poll() is not None:
            raise RuntimeError(f"{what} exited with {popen.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{what} not listening on {port} after {timeout:.0f}s") from None
            time.sleep(0.05)


def wait_until(check: Any, timeout: float, what: str, step: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception as exc:  # noqa: BLE001 - the last one is reported on timeout
            last = exc
        time.sleep(step)
    raise TimeoutError(f"{what} not ready after {timeout:.0f}s" + (f": {last}" if last else ""))


def _with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


@dataclass
class Database:
    """A fresh PostgreSQL database on the server of `admin_url`, dropped by `drop()`."""

    admin_url: str
    name: str = field(default_factory=lambda: f"dtao_{uuid.uuid4().hex[:10]}")

    @property
    def url(self) -> str:
        return _with_db(self.admin_url, self.name)

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql)

    def create(self) -> "Database":
        self._admin(f'CREATE DATABASE "{self.name}"')
        return self

    def drop(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def redis_url_with_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))


def flush_prefix(redis_url: str, prefix: str) -> int:
    """Delete this run's channel-layer keys (never the whole Redis: others share it)."""
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        for i in range(0, len(keys), 500):
            client.delete(*keys[i:i + 500])
        return len(keys)
    finally:
        client.close()


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
        stop_process(self.popen, sig, timeout)

    def kill(self) -> None:
        stop_process(self.popen, signal.SIGKILL, 5)

    def output(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""


class Stack:
    """The processes of one test or benchmark run, sharing one environment."""

    def __init__(self, database_url: str, redis_url: str, *, workdir: Path | None = None,
                 prefix: str | None = None, tick_seconds: float = 2.0, epochs: int = 200,
                 extra_env: dict[str, str] | None = None, settings: str | None = None) -> None:
        from bench import scenario

        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="dtao-stack-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.prefix = prefix or f"dtao{uuid.uuid4().hex[:8]}"
        scenario.write(self.workdir / "scenarios", epochs=epochs, tick_seconds=tick_seconds)
        self.redis_url = redis_url
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url, "REDIS_URL": redis_url, "CHANNELS_PREFIX": self.prefix,
            "ENGINE_IN_PROCESS": "false", "SCENARIOS_DIR": str(self.workdir / "scenarios"),
            "VAR_DIR": str(self.workdir / "var"), "ENGINE_POLL_SECONDS": "0.05",
            "DJANGO_SECRET_KEY": "bench-" + "k" * 40, "LOG_LEVEL": "INFO",
            "ALLOWED_HOSTS": "127.0.0.1,localhost", "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": str(ROOT),
            # Every benchmark player joins from 127.0.0.1: the per-address and per-game join
            # limits (game/ratelimit.py) are turned off, as its docstring suggests.
            "JOIN_RATE_PER_IP": "0", "JOIN_RATE_PER_GAME": "0",
            **(extra_env or {}),
        }
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        if settings:  # e.g. bench.settings (an overlay); game/asgi.py and manage.py default it
            self.env["DJANGO_SETTINGS_MODULE"] = settings
        self.procs: list[Proc] = []

    # --- processes ------------------------------------------------------------------------------

    def spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Proc:
        log = self.workdir / f"{name}.log"
        fh = open(log, "ab")
        popen = subprocess.Popen(argv, cwd=ROOT, env={**self.env, **(env or {})}, stdout=fh,
                                 stderr=subprocess.STDOUT, start_new_session=True,
                                 preexec_fn=as_server)
        fh.close()
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def manage(self, *args: str, timeout: float = 120, input: str | None = None) -> str:
        out = subprocess.run([PY, MANAGE, *args], cwd=ROOT, env=self.env, input=input,
                             capture_output=True, text=True, timeout=timeout,
                             preexec_fn=as_server)
        if out.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)}: {out.stderr[-2000:]}")
        return out.stdout

    def admin(self, *args: str, input: Any = None, timeout: float = 120) -> Any:
        data = None if input is None else json.dumps(input)
        out = subprocess.run([PY, "-m", "bench.admin", *args], cwd=ROOT, env=self.env,
                             input=data, capture_output=True, text=True, timeout=timeout,
                             preexec_fn=as_server)
        if out.returncode != 0:
            raise RuntimeError(f"bench.admin {' '.join(args)}: {out.stderr[-2000:]}")
        return json.loads(out.stdout.strip().splitlines()[-1])

    def migrate(self) -> None:
        self.manage("migrate", "--noinput", "-v", "0", timeout=300)

    def daphne(self, *ports: int) -> list[Proc]:
        """One daphne worker per port (started together, then each waited for)."""
        procs = [self.spawn(f"daphne-{port}", daphne_argv(
            host="127.0.0.1", port=port, verbosity=1, access_log=os.devnull, python=PY))
            for port in ports]
        for port, proc in zip(ports, procs, strict=True):
            wait_healthy(port, proc)
        return procs

    def engine(self, name: str = "engine", *args: str) -> Proc:
        return self.spawn(name, [PY, MANAGE, "run_engine", *args])

    def serve(self, port: int, workers: int, engines: int, *args: str) -> Proc:
        proc = self.spawn("serve", [PY, MANAGE, "serve", "--workers", str(workers), "--engines",
                                    str(engines), "--port", str(port), "--no-migrate", *args])
        wait_healthy(port, proc)
        return proc

    def stop_all(self, timeout: float = 25.0) -> None:
        """Signal every process at once (engines and serve: SIGINT, daphne: SIGTERM), wait
        (bounded: serve stops its engines, then its workers, 8 s each at most), kill what is
        left, children of serve included; then delete this run's Redis keys."""
        import psutil

        live = [p for p in self.procs if p.alive()]
        descendants: list[psutil.Process] = []
        for proc in live:
            try:
                descendants += psutil.Process(proc.pid).children(recursive=True)
            except psutil.Error:
                pass
        for proc in live:
            try:
                proc.popen.send_signal(signal.SIGINT if "engine" in proc.name
                                       or proc.name == "serve" else signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout
        for proc in live:
            try:
                proc.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
        _gone, alive = psutil.wait_procs(descendants, timeout=5)
        for child in alive:
            try:
                child.kill()
            except psutil.Error:
                pass
        flush_prefix(self.redis_url, self.prefix)


def wait_healthy(port: int, proc: Proc | None = None, timeout: float = 60.0) -> None:
    def ok() -> bool:
        if proc is not None and not proc.alive():
            raise RuntimeError(f"{proc.name} exited: {proc.output()[-2000:]}")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
            return r.status == 200

    wait_until(ok, timeout, f"http://127.0.0.1:{port}/healthz", step=0.2)


class RedisServer:
    """A private redis-server (no persistence) for tests that restart Redis."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        log = open(self.workdir / f"redis-{self.port}.log", "ab")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no", "--dir", str(self.workdir)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=as_server)
        log.close()

        def ping() -> bool:
            import redis

            return bool(redis.Redis(port=self.port, socket_timeout=1).ping())

        wait_until(ping, 20, f"redis-server on {self.port}")
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)

    def kill(self) -> None:
        """An outage: no shutdown, as if the machine lost power (start() brings it back on the
        same port)."""
        if self.proc is not None:
            stop_process(self.proc, signal.SIGKILL, 30)
