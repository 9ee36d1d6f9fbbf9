"""The scenario editor's prediction question of a scripted event (docs/scenario-format.md,
`prediction`): four inputs per event, `events[i].prediction.text`, `.choices` (one per line),
`.subnet` and `.correct` (the answer key), read into the event's `prediction` and laid out with
their values and errors.

Reading only turns text into a question: the rules (2–5 distinct choices, lengths, a subnet
of the scenario, a key that is one of the choices) are the simulator's (sim.scenario.prediction,
through load_scenario), whose error names the input it is shown beside.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Mapping

FIELDS = (("text", "Prediction question (empty: none)", "text"),
          ("choices", "Its choices, one per line (2 to 5)", "area"),
          ("subnet", "Subnet whose price the debrief shows (id; empty: none)", "int"),
          ("correct", "The right choice, as typed above (empty: no answer key)", "text"))
_ID = re.compile(r"^[+-]?\d{1,9}$")


def read(row: dict[str, Any], i: int, post: Mapping[str, Any], errors: dict[str, str]) -> None:
    """Set (or remove) `row["prediction"]` from the posted inputs of event `i`; inputs not on
    the form keep the prediction the event had. Empty text and choices: no question."""
    prefix = f"events[{i}].prediction"
    raw = {key: post.get(f"{prefix}.{key}") for key, _label, _kind in FIELDS}
    if raw["text"] is None and raw["choices"] is None:
        return
    choices = [c.strip() for c in (raw["choices"] or "").splitlines() if c.strip()]
    if not (raw["text"] or "").strip() and not choices:
        row.pop("prediction", None)
        return
    asked: dict[str, Any] = {"text": raw["text"] or "", "choices": choices}
    subnet = (raw["subnet"] or "").strip()
    if subnet:
        if _ID.match(subnet):
            asked["subnet"] = int(subnet)
        else:
            asked["subnet"] = subnet
            errors[f"{prefix}.subnet"] = "Type a subnet's id (a whole number)."
    if (raw["correct"] or "").strip():
        asked["correct"] = raw["correct"]
    row["prediction"] = asked


def _value(asked: dict[str, Any], key: str) -> Any:
    value = asked.get(key)
    if key == "choices" and isinstance(value, list):
        return "\n".join(str(c) for c in value)
    return value


def cells(i: int, row: dict[str, Any], field: Callable[..., dict[str, Any]]
          ) -> list[dict[str, Any]]:
    """The four inputs of event `i`, made by the editor's `field(path, label, kind, value)`."""
    asked = row.get("prediction")
    asked = asked if isinstance(asked, dict) else {}
    return [field(f"events[{i}].prediction.{key}", label, kind, _value(asked, key))
            for key, label, kind in FIELDS]
