"""The client's reducer as it ships: static/js/store.js, run by Node through
tests/js/store_driver.mjs, for the state-diff tests ("old client state + the messages an action
sent == a fresh snapshot", Zulip's `verify_action`). Python only records the messages and
compares what the store made of them."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DRIVER = ROOT / "tests" / "js" / "store_driver.mjs"
# Numbered 1, 2, 3… for everyone (docs/protocol.md).
PUBLIC = ("lobby", "status", "tick", "next_round")
# Left out of the comparison: the chart history and its loading state (it has its own path and
# its own tests), and what *just* happened (the last tick's banner and fills), which a fresh
# snapshot does not replay.
TRANSIENT = ("history", "epochs", "historyLoading", "historyError", "news", "lastFills")


class StoreJS:
    """One Node process holding any number of store.js clients (one per browser tab)."""

    def __init__(self, node: str) -> None:
        self.proc = subprocess.Popen([node, str(DRIVER)], cwd=ROOT, text=True, bufsize=1,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.count = 0

    def call(self, **request: Any) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        line = self.proc.stdout.readline()
        assert line, f"store_driver.mjs exited ({self.proc.poll()})"
        answer = json.loads(line)
        assert answer["ok"], f"store.js failed on {request['op']}: {answer['error']}"
        return answer["result"]

    def tab(self, code: str) -> Tab:
        self.count += 1
        return Tab(self, f"tab{self.count}", code)

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=10)


def drawn(state: dict[str, Any]) -> dict[str, Any]:
    """The store's state, less what the comparison leaves out (TRANSIENT)."""
    return {k: v for k, v in state.items() if k not in TRANSIENT}


class Tab:
    """One page: a store.js Store given every message its socket receives, in order. Also checks
    what socket.js relies on: public messages come numbered with no hole."""

    def __init__(self, js: StoreJS, name: str, code: str) -> None:
        self.js, self.name, self.code = js, name, code
        self.seq: int | None = None
        self.ticked = False  # a tick message has arrived
        js.call(op="new", client=name, code=code)

    def sent(self, command: dict[str, Any]) -> None:
        """What play.js does before it sends a command: the store notes what it was."""
        self.js.call(op="sent", client=self.name, command=command)

    def apply(self, msg: dict[str, Any]) -> None:
        kind = msg["type"]
        if kind == "snapshot":
            self.seq = msg["seq"]
        elif kind in PUBLIC:
            assert self.seq is not None and msg["seq"] == self.seq + 1, \
                f"public seq hole: {self.seq} → {msg['seq']}"
            self.seq = msg["seq"]
            self.ticked |= kind == "tick"
        self.js.call(op="apply", client=self.name, message=msg)

    def state(self) -> dict[str, Any]:
        return drawn(self.js.call(op="state", client=self.name))

    def reloaded(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        """The state this page draws after a reload that receives only `snapshot` (the same
        tab: what it keeps in sessionStorage stays)."""
        self.js.count += 1
        name = f"tab{self.js.count}"
        self.js.call(op="reload", client=name, **{"from": self.name})
        self.js.call(op="apply", client=name, message=snapshot)
        return drawn(self.js.call(op="state", client=name))


def differences(have: Any, want: Any, path: str = "") -> list[str]:
    """Where two JSON values differ, as `path: have != want` lines (an assertion's message)."""
    if isinstance(have, dict) and isinstance(want, dict):
        return [d for k in sorted(set(have) | set(want), key=str)
                for d in differences(have.get(k, "<missing>"), want.get(k, "<missing>"),
                                     f"{path}.{k}")]
    if isinstance(have, list) and isinstance(want, list) and len(have) == len(want):
        return [d for i, (a, b) in enumerate(zip(have, want, strict=True))
                for d in differences(a, b, f"{path}[{i}]")]
    return [] if have == want else [f"{path or '.'}: {have!r} != {want!r}"]
