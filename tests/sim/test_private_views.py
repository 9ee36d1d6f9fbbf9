"""Every student's view at once (sim.Game.private_views, what the server sends each tick and
what the bots observe) equals asking for each player's view one by one, to the bit; and the
player lookup behind both (State.player_index) follows players joining late and copies."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from sim import Game
from sim.scenario import load_scenario

PRESETS = sorted((Path(__file__).resolve().parents[2] / "sim" / "scenarios").glob("*.json"))


def _text(views: list[dict]) -> str:
    return json.dumps(views, sort_keys=True)  # repr of every float: -0.0 and 0.0 differ


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
def test_all_views_at_once_equal_each_view_alone(path):
    g = Game.from_scenario(load_scenario(path))
    ids = list(g.st.ids)
    assert len(ids) > 3
    for tick in range(12):
        if tick % 4 == 0:
            one_by_one = [g.private_view(p) for p in ids]
            together = g.private_views(ids)
            assert _text(together) == _text(one_by_one)
            assert together == one_by_one
            # any order and any subset, as the server asks (its active students)
            subset = ids[::-2]
            assert _text(g.private_views(subset)) == _text([g.private_view(p) for p in subset])
        g.step([])
    assert g.private_views([]) == []
    with pytest.raises(KeyError):
        g.private_views([ids[0], "nobody"])


def test_the_player_lookup_follows_late_joiners_and_copies():
    path = next(p for p in PRESETS if p.stem == "sandbox")
    g = Game.from_scenario(load_scenario(path))
    st = g.st
    assert [st.player_index(p) for p in st.ids] == list(range(len(st.ids)))
    assert st.player_index("zed") is None and st.player_index(7) is None
    g.step([{"do": "join", "player": "zed", "role": "speculator", "tao": 100.0}])
    assert st.player_index("zed") == len(st.ids) - 1 == st.ids.index("zed")
    copy = st.copy()
    assert copy.add_player(pid="yan", role="speculator", tao=5.0, bot=None) == len(st.ids)
    assert copy.player_index("yan") == len(st.ids) and st.player_index("yan") is None
    restored = Game.from_json(g.to_json())
    assert [restored.st.player_index(p) for p in st.ids] == list(range(len(st.ids)))
    assert restored.private_views(list(st.ids)) == [g.private_view(p) for p in st.ids]
