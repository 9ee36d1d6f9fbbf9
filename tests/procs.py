"""Servers the tests start, stopped with every process they started in turn (a debrief's
bot-class bands job, `python -m game.bands`, runs for minutes in a child of the server and
would otherwise outlive it, keeping a core busy for the tests that follow)."""
from __future__ import annotations

import subprocess

import psutil

from bench.stack import stop_process


def stop_tree(popen: subprocess.Popen, timeout: float = 10.0) -> None:
    """Stop `popen` as bench.stack.stop_process does (SIGTERM, then SIGKILL), then kill what
    it had started and is still running (listed before the stop: they are re-parented after)."""
    try:
        children = psutil.Process(popen.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    stop_process(popen, timeout=timeout)
    for child in children:
        try:
            child.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(children, timeout=5)
