"""The canonical JSON text of everything the server stores (scenario, command actions, fills,
tick and epoch rows, the public payload): sorted keys, no spaces, no NaN. Replay compares stored
text, so there is one encoder. Messages to sockets are encoded by game.broadcast.encode."""
from __future__ import annotations

import json
from typing import Any


def dumps(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)
