"""Your class vs N bot classes: the started scenario played N times with a bot in every seat,
then per-epoch percentile bands across the runs (sim.montecarlo's document layout).

Runs as its own process (`python -m game.bands JOB.json`, started by game/debrief.py), at a
lower CPU priority: a few minutes of simulation must not take the GIL, or the cores, from the
live games the same web process serves. No Django here: it reads its job file and writes its
progress, then the bands, to the output file (atomically: a poller never reads half a file).

Job file: {"out": path, "scenario": {...}, "runs": N, "seed_base": S}.
"""
from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np


def write_atomic(path: Path, text: str) -> None:
    """Write then rename: a poller never reads half a file (unique per process and thread)."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), allow_nan=False)


def _percentiles(matrix: np.ndarray, qs: tuple[int, ...]) -> dict[str, list[float | None]]:
    out: dict[str, list[float | None]] = {}
    for q in qs:
        col: list[float | None] = []
        for j in range(matrix.shape[1]):
            vals = matrix[:, j]
            vals = vals[~np.isnan(vals)]
            col.append(float(np.percentile(vals, q)) if vals.size else None)
        out[f"p{q}"] = col
    return out


def aggregate(results: list[dict[str, Any]], qs: tuple[int, ...]) -> dict[str, Any]:
    """Per-epoch percentiles across runs of montecarlo.play() series."""
    n_ep = max(len(r["health"]) for r in results)
    health = np.full((len(results), n_ep), np.nan)
    for k, r in enumerate(results):
        health[k, :len(r["health"])] = r["health"]
    subnets: dict[str, Any] = {}
    for sid in sorted({sid for r in results for sid in r["subnets"]}):
        entry: dict[str, Any] = {}
        for key in ("price", "share", "root_prop"):
            mat = np.full((len(results), n_ep), np.nan)
            for k, r in enumerate(results):
                for j, v in r["subnets"].get(sid, {}).get(key, {}).items():
                    mat[k, int(j)] = v
            entry[key] = _percentiles(mat, qs)
        subnets[str(sid)] = entry
    return {"percentiles": list(qs), "epochs": list(range(n_ep)),
            "network_health": _percentiles(health, qs), "subnets": subnets}


def run(out: Path, scn: dict[str, Any], runs: int, seed_base: int) -> None:
    """One bot-only game per seed, progress after each, then the bands; a failure is written
    to the file too (the page shows it; the instructor may retry)."""
    from sim import montecarlo

    try:
        results = []
        for k in range(runs):
            results.append(montecarlo.play(scn, seed_base + k))
            write_atomic(out, dumps({"state": "running", "done": k + 1, "runs": runs,
                                     "updated": time.time(), "pid": os.getpid()}))
        doc = aggregate(results, montecarlo.PERCENTILES)
        doc.update(state="done", done=runs, runs=runs, seed_base=seed_base,
                   seeds=[seed_base + k for k in range(runs)], updated=time.time(),
                   pid=os.getpid())
        write_atomic(out, dumps(doc))
    except Exception as exc:
        write_atomic(out, dumps({"state": "failed", "done": 0, "runs": runs,
                                 "error": f"{type(exc).__name__}: {exc}",
                                 "updated": time.time()}))
        raise


def main(argv: list[str]) -> int:
    job = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    try:
        os.nice(10)  # behind the live games
    except OSError:
        pass
    run(Path(job["out"]), job["scenario"], int(job["runs"]), int(job["seed_base"]))
    Path(argv[0]).unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
