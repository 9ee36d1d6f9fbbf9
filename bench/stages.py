"""Per-stage times of each tick (docs/performance.md "Where a tick's time goes"): the `STAGE`
lines that the engines and the daphne workers log with `STAGE_TIMES=1` (game/stagetimes.py),
joined with what the clients received, as milliseconds from the start of the settlement.

Stages, in order:

- `stepped`: claimed the tick, loaded the state, ran the sim step (bot commands included);
- `persisted`: commands' outcomes, tick/epoch rows, written (not yet committed);
- `encoded`: the public `tick` built and encoded, the game row saved;
- `committed`: the transaction committed (the broadcast starts);
- `tick_published`: the public `tick` handed to Redis;
- `private_encoded`: the rest of the tick's frames (each student's `private`, the console's)
  built and encoded, after the commit;
- `all_published`: the last of them handed to Redis;
- `tick_at_worker` / `private_at_worker`: the first socket of the slowest worker ran its
  handler (the message came out of the channel layer);
- `tick_sent_by_workers` / `private_sent_by_workers`: the slowest worker's last socket send
  returned (the bytes are with the kernel);
- `tick_first_client`, `tick_half_clients`, `tick_every_client` (and `private_…`): the first
  client, half the clients, the last client received it.

Also per worker and tick: `*_worker_span_ms` (first to last socket of one worker) and
`*_per_socket_us` (that span over the number of sockets).
"""
from __future__ import annotations

import json
from collections import defaultdict
from typing import Any, Callable

ENGINE_STAGES = (("stepped", "stepped"), ("persisted", "persisted"), ("encoded", "encoded"),
                 ("committed", "committed"), ("tick_published", "tick_sent"),
                 ("private_encoded", "private_encoded"), ("all_published", "all_sent"))


def parse(log_text: str) -> tuple[dict[tuple[int, int], dict[str, Any]],
                                   dict[tuple[int, int, str], list[dict[str, Any]]]]:
    """(engine lines by (game, tick), worker lines by (game, tick, kind))."""
    engine: dict[tuple[int, int], dict[str, Any]] = {}
    workers: dict[tuple[int, int, str], list[dict[str, Any]]] = defaultdict(list)
    for line in log_text.splitlines():
        at = line.find("STAGE {")
        if at < 0:
            continue
        try:
            rec = json.loads(line[at + 6:])
        except ValueError:
            continue
        if rec.get("src") == "engine":
            engine[(rec["game"], rec["tick"])] = rec
        elif rec.get("src") == "worker":
            workers[(rec["game"], rec["tick"], rec["kind"])].append(rec)
    return engine, workers


def report(log_text: str, code_of: dict[int, str],
           received: dict[str, dict[tuple[str, int], list[float]]],
           summary: Callable[[list[float]], dict[str, Any]]) -> dict[str, Any]:
    """`received`: {"tick": Metrics.tick_recv, "private": Metrics.private_recv}."""
    engine, workers = parse(log_text)
    series: dict[str, list[float]] = defaultdict(list)
    for (game, tick), rec in engine.items():
        start = rec["start"]
        for name, key in ENGINE_STAGES:
            if key in rec:
                series[name].append((rec[key] - start) * 1000)
        for kind in ("tick", "private"):
            ws = workers.get((game, tick, kind)) or []
            if ws:
                series[f"{kind}_at_worker"].append((max(w["first"] for w in ws) - start) * 1000)
                series[f"{kind}_sent_by_workers"].append(
                    (max(w["last"] for w in ws) - start) * 1000)
                for w in ws:
                    span = (w["last"] - w["first"]) * 1000
                    series[f"{kind}_worker_span_ms"].append(span)
                    series[f"{kind}_per_socket_us"].append(span * 1000 / max(1, w["sockets"]))
            times = received.get(kind, {}).get((code_of.get(game, ""), tick))
            if times:
                ordered = sorted(times)
                series[f"{kind}_first_client"].append((ordered[0] - start) * 1000)
                series[f"{kind}_half_clients"].append((ordered[len(ordered) // 2] - start) * 1000)
                series[f"{kind}_every_client"].append((ordered[-1] - start) * 1000)
    return {"ticks": len(engine), "ms_from_settle_start": {k: summary(v) for k, v in
                                                          series.items()}}


ORDER = ("stepped", "persisted", "encoded", "committed", "tick_published", "tick_at_worker",
         "tick_sent_by_workers", "tick_first_client", "tick_half_clients", "tick_every_client",
         "private_encoded", "all_published", "private_at_worker",
         "private_sent_by_workers", "private_first_client", "private_half_clients",
         "private_every_client")


def line(name: str, stages: dict[str, Any]) -> str:
    """One line of the printed table: each stage's p50/p95 in ms from the settlement's start."""
    s = stages["ms_from_settle_start"]
    parts = [f"{k} {s[k]['p50']:.0f}/{s[k]['p95']:.0f}" for k in ORDER if s.get(k, {}).get("n")]
    per = s.get("private_per_socket_us", {})
    if per.get("n"):
        parts.append(f"per socket (private) {per['p50']:.0f}/{per['p95']:.0f} µs")
    return f"stages p50/p95 ms from settle start ({name}, {stages['ticks']} ticks): " + \
        ", ".join(parts)
