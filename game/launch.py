"""How daphne is started: the one place for its command line, used by `scripts/run` (`make run`),
`manage.py serve` and the tests that start a server as `make run` does.

    python -m game.launch [--host H] [--port P]   # daphne with these flags (scripts/run); prints
                                                  # where to open the game once it listens

No Django import here: the argv is built before any settings are read.

Sizes (docs/protocol.md "Sizes"). daphne hands both flags below to autobahn, which applies
`--websocket-max-message-size` to what a client sends (a larger message drops the connection
before it is buffered: the client sees 1006) and also to what the server sends. Outbound
messages are bounded separately, in game/live/transport.py (setting `WS_MAX_SEND_BYTES`): a snapshot
stays far below the inbound limit by design (the chart history is served over HTTP), and a
message that is too big to send is logged and the client told (close 4013) instead of an
exception inside daphne.

Handshake deadline. daphne rejects a WebSocket whose handshake the application has not accepted
within `--websocket_connect_timeout` (its CLI default: 5 s). In a reconnect storm of a whole
class the handshakes queue for the worker's database threads and the channel layer, and at
1,000 players some waited longer than 5 s: rejected, they came back (the client backs off and
retries) and added to the queue they had left, until the storm never healed
(docs/performance.md, round 2). `WS_CONNECT_TIMEOUT_SECONDS` lets a queued handshake finish; a
connection still idle is cut earlier by the header deadline (game/live/httpguard.py).
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Any

APPLICATION = "game.asgi:application"
# What daphne reads of one client message at most (bytes). The application refuses anything
# over `WS_MAX_MESSAGE_BYTES` (4 kB by default) with `too_large`; this stops a bigger one
# before it is buffered.
WS_INBOUND_MAX_BYTES = 65536
# How long daphne waits for the application to accept a socket's handshake (seconds).
WS_CONNECT_TIMEOUT_SECONDS = 30


def daphne_argv(*, host: str | None = None, port: int | None = None, fd: int | None = None,
                verbosity: int | None = None, access_log: str | None = None,
                proxy_headers: bool = False, python: str | None = None) -> list[str]:
    """The daphne command line: listen on host:port, or adopt the listening socket `fd`."""
    argv = [python or sys.executable, "-m", "daphne"]
    if fd is not None:
        # No -b/-p with --fd: with a host daphne would also bind its default port 8000.
        argv += ["--fd", str(fd)]
    else:
        argv += ["-b", host or "127.0.0.1", "-p", str(port if port is not None else 8000)]
    if verbosity is not None:
        argv += ["-v", str(verbosity)]
    if access_log is not None:
        argv += ["--access-log", access_log]
    if proxy_headers:
        argv.append("--proxy-headers")
    argv += ["--websocket_connect_timeout", str(WS_CONNECT_TIMEOUT_SECONDS),
             "--websocket-max-message-size", str(WS_INBOUND_MAX_BYTES),
             "--websocket-max-frame-size", str(WS_INBOUND_MAX_BYTES), APPLICATION]
    return argv


def ready_lines(host: str, port: int) -> list[str]:
    """What `make run` prints once the server really listens: where to open it, and on a
    loopback address, that phones cannot reach it (game/web/reach.py has the same rule)."""
    from game.web import reach  # stdlib only: no Django

    if host in ("0.0.0.0", "::", ""):
        where = ([f"http://{a}:{port}/" for a in reach.lan_addresses()]
                 or [f"http://<this computer>:{port}/"])
        return [f"dTAO Classroom is ready: students open {' or '.join(where)}; "
                f"you log in at {where[0]}login/"]
    lines = [f"dTAO Classroom is ready at http://{host}:{port}/ (log in at /login/)"]
    if reach.phone_warning(f"http://{host}:{port}/") is not None:
        lines.append("Only this computer can open it: for phones on the network run "
                     f"HOST=0.0.0.0 PORT={port} make run (README, \"On a classroom network\").")
    return lines


def main(args: list[str] | None = None) -> None:
    """Run daphne in this process with `daphne_argv`'s flags, and say so once it listens."""
    parser = argparse.ArgumentParser(prog="python -m game.launch",
                                     description="Run one daphne as `make run` does.")
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    opts = parser.parse_args(args)
    from daphne.cli import CommandLineInterface
    from daphne.server import Server

    class AnnouncingServer(Server):
        def listen_success(self, port: object) -> None:
            super().listen_success(port)
            for line in ready_lines(opts.host, opts.port):
                print(line, flush=True)

    cli = CommandLineInterface()
    cli.server_class = AnnouncingServer
    cli.run(daphne_argv(host=opts.host, port=opts.port)[3:])


if __name__ == "__main__":
    main()


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def stop_on_signals() -> None:
    """Ctrl-C and SIGTERM (systemd, docker stop, a supervisor, a test) raise KeyboardInterrupt in
    this process, whatever it inherited: a process started in the background by a
    non-interactive shell inherits SIGINT ignored, and Python then installs no handler of its
    own, so Ctrl-C (and a supervisor's SIGINT) would never stop it."""
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
