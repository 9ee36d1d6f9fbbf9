"""How daphne is started: the one place for its command line, used by `scripts/run` (`make run`),
`manage.py serve` and the tests that start a server as `make run` does.

    python -m game.launch [--host H] [--port P]   # exec daphne with these flags (scripts/run)

No Django import here: the argv is built before any settings are read.

Sizes (docs/protocol.md "Sizes"). daphne hands both flags below to autobahn, which applies
`--websocket-max-message-size` to what a client sends (a larger message drops the connection
before it is buffered: the client sees 1006) and also to what the server sends. Outbound messages are bounded
separately, in game/transport.py (setting `WS_MAX_SEND_BYTES`): a snapshot stays far below the
inbound limit by design (the chart history is served over HTTP), and a message that is too big
to send is logged and the client told (close 4013) instead of an exception inside daphne.
"""
from __future__ import annotations

import argparse
import os
import sys

APPLICATION = "game.asgi:application"
# What daphne reads of one client message at most (bytes). The application refuses anything
# over `WS_MAX_MESSAGE_BYTES` (4 kB by default) with `too_large`; this stops a bigger one
# before it is buffered.
WS_INBOUND_MAX_BYTES = 65536


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
    argv += ["--websocket-max-message-size", str(WS_INBOUND_MAX_BYTES),
             "--websocket-max-frame-size", str(WS_INBOUND_MAX_BYTES), APPLICATION]
    return argv


def main(args: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m game.launch",
                                     description="Run one daphne as `make run` does.")
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    opts = parser.parse_args(args)
    argv = daphne_argv(host=opts.host, port=opts.port)
    os.execv(argv[0], argv)


if __name__ == "__main__":
    main()
