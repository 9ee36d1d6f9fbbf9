"""The floor: the same broadcast pattern through a bare `websockets` server, no Django, no
channel layer, no database. `python -m bench.floor --port P --tick-seconds T --tick-bytes N
--private-bytes M` serves /ws/game/<CODE>/ speaking just enough of protocol v1 for
bench.client.Player: a snapshot on connect and on request, `accepted` for every command, and
per game every T seconds one `tick` (encoded once, sent to all) then one `private` per socket.

With `--tick-sample FILE` / `--private-sample FILE` (a message the real server sent, as `python
-m bench` passes them) the tick and each private are that message with this tick's seq, tick and
clock: the clients parse the same JSON as the stack's (a real tick takes a client several times
as long to parse as a padded one of the same size). Without, padded messages of N and M bytes.
"""
from __future__ import annotations

import argparse
import asyncio
import signal
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
from websockets.asyncio.server import ServerConnection, broadcast, serve

games: dict[str, set[ServerConnection]] = defaultdict(set)
seqs: dict[str, int] = defaultdict(int)
ticks: dict[str, int] = defaultdict(int)
counter = 0


def _sample(path: str | None) -> dict[str, Any] | None:
    return orjson.loads(Path(path).read_bytes()) if path else None


def _message(sample: dict[str, Any] | None, fields: dict[str, Any], size: int) -> str:
    """The sample with these fields (its `game` object merged), else a padded message."""
    if sample is None:
        return _pad(fields, size)
    game = {**(sample.get("game") or {}), **fields.get("game", {})}
    return orjson.dumps({**sample, **fields, **({"game": game} if game else {})}).decode()


def _pad(message: dict[str, Any], size: int) -> str:
    text = orjson.dumps(message).decode()
    if len(text) < size:
        message["pad"] = "x" * (size - len(text) - 9)
        text = orjson.dumps(message).decode()
    return text


async def handler(ws: ServerConnection, args: argparse.Namespace) -> None:
    global counter
    path = ws.request.path if ws.request else ""
    code = path.strip("/").split("/")[-1] or "FLOOR"
    seat = id(ws) & 0xFFFFFF

    def snapshot() -> str:
        return _pad({"type": "snapshot", "seq": seqs[code], "you": {"seat_id": seat},
                     "game": {"status": "running"}, "commands": []}, args.snapshot_bytes)

    games[code].add(ws)
    if code not in tickers:
        tickers[code] = asyncio.create_task(ticker(code, args))
    try:
        await ws.send(snapshot())
        async for raw in ws:
            msg = orjson.loads(raw)
            kind = msg.get("type")
            if kind == "command":
                counter += 1
                await ws.send(orjson.dumps({"type": "accepted", "id": msg.get("id"),
                                            "command": counter, "due_tick": ticks[code],
                                            "seq": seqs[code]}).decode())
            elif kind == "snapshot":
                await ws.send(snapshot())
            elif kind == "ping":
                await ws.send(orjson.dumps({"type": "pong", "id": msg.get("id"),
                                            "seq": seqs[code], "time": time.time()}).decode())
    except Exception:
        pass
    finally:
        games[code].discard(ws)


tickers: dict[str, asyncio.Task] = {}


async def ticker(code: str, args: argparse.Namespace) -> None:
    period = args.tick_seconds
    next_at = time.time() + period
    while True:
        await asyncio.sleep(max(0.0, next_at - time.time()))
        start = time.time()
        next_at = start + period
        t = ticks[code]
        ticks[code] += 1
        seqs[code] += 1
        conns = list(games[code])
        text = _message(args.tick_message, {
            "type": "tick", "seq": seqs[code], "tick": t, "settle_started_at": start,
            "game": {"status": "running", "next_tick_at": next_at, "tick_seconds": period}},
            args.tick_bytes)
        broadcast(conns, text)  # encoded once, written to every socket
        for ws in conns:  # private messages differ per socket: one encode each, as the server
            try:
                await ws.send(_message(args.private_message, {
                    "type": "private", "seq": seqs[code], "tick": t, "fills": []},
                    args.private_bytes))
            except Exception:
                pass


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--tick-seconds", type=float, default=2.0)
    p.add_argument("--tick-bytes", type=int, default=6000)
    p.add_argument("--private-bytes", type=int, default=800)
    p.add_argument("--snapshot-bytes", type=int, default=8000)
    p.add_argument("--tick-sample", default=None, help="a tick message (JSON) to send")
    p.add_argument("--private-sample", default=None, help="a private message (JSON) to send")
    args = p.parse_args()
    args.tick_message = _sample(args.tick_sample)
    args.private_message = _sample(args.private_sample)
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(
            sig, lambda: stop.done() or stop.set_result(0))
    async with serve(lambda ws: handler(ws, args), "127.0.0.1", args.port, compression=None,
                     max_size=1 << 20, ping_interval=None):
        print(f"floor listening on {args.port}", flush=True)
        await stop


if __name__ == "__main__":
    asyncio.run(main())
