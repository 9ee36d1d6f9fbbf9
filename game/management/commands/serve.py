"""Run the scale-out topology on one machine: N daphne processes + M engine processes.

    python manage.py serve --workers 2 --engines 1 --port 8000

All daphne workers listen on the same port: the supervisor opens one listening socket per worker
with SO_REUSEPORT and hands it over with `daphne --fd` (daphne adopts an already-listening
socket), so the kernel spreads new connections over the workers. Without SO_REUSEPORT (or with
`--consecutive-ports`) worker k listens on PORT+k instead and a reverse proxy spreads the load.

The workers run with ENGINE_IN_PROCESS=false; ticks are settled by `manage.py run_engine`
processes (each tick is claimed with a conditional UPDATE, so any number may run). A child that
dies is restarted (with a back-off); Ctrl-C or SIGTERM stops everything: engines first (SIGINT:
an interrupted settlement rolls back), then the workers (SIGTERM: daphne closes its sockets).
More than one process needs REDIS_URL (the in-memory channel layer lives inside one process) and
should use DATABASE_URL (PostgreSQL); see docs/deploy.md.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from game.launch import daphne_argv, stop_on_signals

MANAGE = Path(__file__).resolve().parents[3] / "manage.py"
RESTART_BACKOFF = (0.5, 1.0, 2.0, 5.0, 10.0)  # seconds before the 1st, 2nd, … restart in a row
STABLE_SECONDS = 30.0  # a child that ran this long has its back-off reset
STOP_GRACE_SECONDS = 8.0  # per group (engines, then workers); then SIGKILL


def reuseport_supported() -> bool:
    return hasattr(socket, "SO_REUSEPORT") and sys.platform.startswith("linux")


def listening_socket(host: str, port: int, *, reuseport: bool,
                     backlog: int = 1024) -> socket.socket:
    """A bound, listening, inheritable TCP socket (for `daphne --fd`)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuseport:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


def _die_with_parent() -> None:
    """In the child, before exec: get SIGKILL if the supervisor dies (Linux), so a killed
    supervisor leaves no orphaned workers holding the port. SIGKILL, not SIGTERM: after a
    load run a daphne worker was seen to ignore SIGTERM (stuck in shutdown), and nobody is left
    to escalate. Nothing is lost: an engine's open transaction rolls back."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # not Linux: the children outlive a SIGKILLed supervisor
        pass


@dataclass
class Child:
    name: str
    argv: list[str]
    stop_signal: int
    port: int | None = None  # daphne: the port its socket listens on
    daphne: dict[str, Any] | None = None  # daphne: game.launch.daphne_argv's options (no fd)
    proc: subprocess.Popen | None = None
    started: float = 0.0
    failures: int = 0
    restart_at: float | None = None
    pass_fds: tuple[int, ...] = field(default_factory=tuple)


class Supervisor:
    def __init__(self, children: list[Child], env: dict[str, str], host: str, reuseport: bool,
                 out: Any) -> None:
        self.children, self.env, self.host, self.reuseport = children, env, host, reuseport
        self.out = out
        self.stopping = False

    def log(self, text: str) -> None:
        self.out.write(f"serve: {text}\n")
        self.out.flush()

    def spawn(self, child: Child) -> None:
        sock = None
        argv = list(child.argv)
        if child.port is not None:
            # A fresh socket per (re)start: the parent keeps no copy, so when a worker dies the
            # kernel stops routing connections to its socket instead of queueing them unseen.
            sock = listening_socket(self.host, child.port, reuseport=self.reuseport)
            argv = daphne_argv(fd=sock.fileno(), **(child.daphne or {}))
        try:
            child.proc = subprocess.Popen(
                argv, env=self.env, pass_fds=(sock.fileno(),) if sock else (),
                start_new_session=True,  # Ctrl-C reaches the supervisor only: it stops in order
                preexec_fn=_die_with_parent)
        finally:
            if sock is not None:
                sock.close()
        child.started = time.monotonic()
        child.restart_at = None
        self.log(f"{child.name} started (pid {child.proc.pid})")

    def run(self) -> None:
        for child in self.children:
            self.spawn(child)
        while not self.stopping:
            now = time.monotonic()
            for child in self.children:
                if child.proc is not None and child.proc.poll() is not None:
                    code = child.proc.returncode
                    ran = now - child.started
                    child.failures = 0 if ran >= STABLE_SECONDS else child.failures + 1
                    delay = RESTART_BACKOFF[min(child.failures, len(RESTART_BACKOFF) - 1)]
                    self.log(f"{child.name} (pid {child.proc.pid}) exited with {code} after "
                             f"{ran:.1f}s; restarting in {delay:.1f}s")
                    child.proc, child.restart_at = None, now + delay
                if child.proc is None and child.restart_at is not None and now >= child.restart_at:
                    self.spawn(child)
            time.sleep(0.2)

    def stop(self) -> None:
        """Engines first (an interrupted tick rolls back), then the web workers."""
        self.stopping = True
        engines = [c for c in self.children if c.port is None]
        workers = [c for c in self.children if c.port is not None]
        for group in (engines, workers):
            live = [(c, c.proc) for c in group if c.proc is not None and c.proc.poll() is None]
            for c, proc in live:
                proc.send_signal(c.stop_signal)
            deadline = time.monotonic() + STOP_GRACE_SECONDS
            for c, proc in live:
                try:
                    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    self.log(f"{c.name} (pid {proc.pid}) did not stop: killing it")
                    proc.kill()
                    proc.wait(timeout=5)
        self.log("stopped")


class Command(BaseCommand):
    help = ("Run N daphne workers and M engine processes under one supervisor "
            "(needs REDIS_URL for more than one process).")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                            help="daphne processes (default: one per core)")
        parser.add_argument("--engines", type=int, default=1,
                            help="run_engine processes (default 1; 0: settled elsewhere)")
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--consecutive-ports", action="store_true",
                            help="worker k listens on PORT+k (for a reverse proxy) instead of "
                                 "all sharing PORT through SO_REUSEPORT")
        parser.add_argument("--shard-engines", action="store_true",
                            help="engine k settles only games with id %% M == k (less lock "
                                 "contention; a stopped engine's games wait for its restart)")
        parser.add_argument("--proxy-headers", action="store_true",
                            help="trust X-Forwarded-For/-Proto from the reverse proxy")
        parser.add_argument("--access-log", default=os.devnull, metavar="PATH",
                            help="daphne's access log (default: none; '-' for stdout)")
        parser.add_argument("--no-migrate", action="store_true",
                            help="skip `migrate` before starting")

    def handle(self, *args: Any, workers: int, engines: int, host: str, port: int,
               consecutive_ports: bool, shard_engines: bool, proxy_headers: bool,
               access_log: str, no_migrate: bool, **options: Any) -> None:
        if workers < 1 or engines < 0:
            raise CommandError("--workers must be ≥ 1 and --engines ≥ 0")
        if not settings.REDIS_URL and workers + engines > 1:
            raise CommandError(
                "more than one process needs REDIS_URL (e.g. redis://127.0.0.1:6379/0): the "
                "in-memory channel layer cannot carry broadcasts between processes. For one "
                "process use scripts/run, or: serve --workers 1 --engines 0 (engine in-process)")
        if not settings.DATABASE_URL and workers + engines > 1:
            self.stderr.write("warning: SQLite with several processes works but serializes "
                              "every write; set DATABASE_URL (PostgreSQL) for scale-out")
        if ":" in host:
            raise CommandError("--host: an IPv4 address (daphne adopts IPv4 sockets only); "
                               "put a reverse proxy in front for IPv6")
        reuseport = reuseport_supported() and not consecutive_ports
        if not no_migrate:
            call_command("migrate", interactive=False, verbosity=0)

        env = dict(os.environ)
        # One process with no separate engine keeps the embedded engine; otherwise engines
        # settle ticks and the workers only serve sockets.
        env["ENGINE_IN_PROCESS"] = "true" if engines == 0 and workers == 1 and \
            not settings.REDIS_URL else "false"
        if engines == 0 and settings.REDIS_URL:
            self.stderr.write("note: --engines 0: start `manage.py run_engine` elsewhere, or no "
                              "tick will settle")
        py = sys.executable
        children = [Child(name=f"web-{k}", port=port if reuseport else port + k, argv=[],
                          daphne={"python": py, "verbosity": 1, "access_log": access_log,
                                  "proxy_headers": proxy_headers},
                          stop_signal=signal.SIGTERM)
                    for k in range(workers)]
        for k in range(engines):
            argv = [py, str(MANAGE), "run_engine"]
            if shard_engines and engines > 1:
                argv += ["--shard", f"{k}/{engines}"]
            children.append(Child(name=f"engine-{k}", argv=argv, stop_signal=signal.SIGINT))

        where = (f"http://{host}:{port}/ (SO_REUSEPORT, {workers} worker(s))" if reuseport else
                 ", ".join(f"http://{host}:{port + k}/" for k in range(workers)))
        sup = Supervisor(children, env, host, reuseport, self.stdout)
        # SIGTERM behaves like Ctrl-C, and Ctrl-C works even if this process inherited SIGINT
        # ignored (which every child it starts would inherit too).
        stop_on_signals()
        try:
            sup.log(f"listening on {where}; {engines} engine(s); Ctrl-C stops everything")
            sup.run()
        except KeyboardInterrupt:
            sup.log("stopping")
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            sup.stop()
