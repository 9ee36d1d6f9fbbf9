"""`python -m sim run|montecarlo|bench`: headless runs of scenario files.

    python -m sim run SCENARIO --out RESULT.json [--exact] [--seed N]
    python -m sim montecarlo SCENARIO --runs N --out BANDS.json [--seed-base S] [--workers K]
    python -m sim ticktime [--quick]

`run` writes the docs/scenario-format.md result document: byte-identical for the same scenario and
seed (sorted keys, floats by repr, no NaN). Errors — a bad file, a ScenarioError, an unwritable
output — are one line on stderr and exit code 2, never a traceback.

This is the one module of sim/ that does I/O.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from sim.headless import play_scenario
from sim.montecarlo import bands
from sim.scenario import ScenarioError, load_scenario
from sim.ticktime import run_ticktime

EXIT_USAGE = 2
EXIT_INTERNAL = 1


def _plain(obj: Any) -> Any:
    """json's fallback for numpy scalars and arrays that slip into rows."""
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def dumps_result(doc: Mapping[str, Any]) -> str:
    """Canonical text of a result: sorted keys, floats by repr (shortest exact), one line per
    top-level section would be nicer to diff but one document per line keeps it byte-stable."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False, default=_plain) + "\n"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and exit 2), like every other error here."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(f"{self.prog}: {message}")


class _UsageError(Exception):
    pass


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def _seed(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if v < 0 or v > 2**63 - 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 2**63-1, got {v}")
    return v


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m sim", description="Headless dTAO Classroom simulator.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    r = sub.add_parser("run", help="play a scenario to its end and write the result document")
    r.add_argument("scenario", help="scenario file (.json, or .toml)")
    r.add_argument("--out", required=True, help="where to write RESULT.json ('-' for stdout)")
    r.add_argument("--exact", action="store_true",
                   help="step every chain block one by one (the fidelity reference)")
    r.add_argument("--seed", type=_seed, default=None, help="override the scenario's seed")

    m = sub.add_parser("montecarlo", help="percentile bands over many bot-only games")
    m.add_argument("scenario")
    m.add_argument("--runs", type=_positive_int, required=True)
    m.add_argument("--out", required=True)
    m.add_argument("--seed-base", type=_seed, default=0)
    m.add_argument("--workers", type=_positive_int, default=1)
    m.add_argument("--exact", action="store_true")

    b = sub.add_parser("ticktime", help="time one tick (prints figures; asserts nothing)")
    b.add_argument("--quick", action="store_true",
                   help="a tiny size, to check the benchmark itself runs")
    return p


def _write(path: str, text: str) -> None:
    if path == "-":
        sys.stdout.write(text)
        return
    out = Path(path)
    # Write then rename: a reader never sees half a result.
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, out)


def _check_out(path: str) -> None:
    """Fail before a long run, not after it, when the result cannot be written."""
    if path == "-":
        return
    parent = Path(path).resolve().parent
    if not parent.is_dir():
        raise _UsageError(f"--out: no such directory: {parent}")
    if not os.access(parent, os.W_OK):
        raise _UsageError(f"--out: directory not writable: {parent}")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.command in ("run", "montecarlo"):
            _check_out(args.out)
        if args.command == "run":
            scn = load_scenario(args.scenario)
            doc = play_scenario(scn, seed=args.seed, exact=args.exact)
            _write(args.out, dumps_result(doc))
        elif args.command == "montecarlo":
            scn = load_scenario(args.scenario)
            doc = bands(scn, runs=args.runs, seed_base=args.seed_base, workers=args.workers,
                        exact=args.exact)
            _write(args.out, dumps_result(doc))
        elif args.command == "ticktime":
            run_ticktime(quick=args.quick, out=sys.stdout)
        return 0
    except _UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ScenarioError as exc:
        print(f"error: scenario {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # an engine bug: still one line, but say where to look
        if os.environ.get("SIM_DEBUG"):
            raise
        print(f"error: internal {type(exc).__name__}: {exc} (set SIM_DEBUG=1 for a traceback)",
              file=sys.stderr)
        return EXIT_INTERNAL
