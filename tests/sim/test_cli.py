"""`python -m sim`: the result document, determinism, --exact, Monte Carlo bands, bench, errors."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sim.cli import main

ROOT = Path(__file__).resolve().parents[2]


def small_scenario(**over) -> dict:
    scn = {
        "name": "Small",
        "seed": 11,
        "params": {"moving_alpha": 3e-4},
        "clock": {"blocks_per_tick": 30, "ticks_per_epoch": 3, "epochs": 4, "tick_seconds": 1},
        "root": {"stake": 100000},
        "subnets": [
            {"id": 1, "name": "Work", "tao": 500, "alpha": 5000, "alpha_out": 5000},
            {"id": 2, "name": "Meme", "tao": 200, "alpha": 5000, "alpha_out": 5000,
             "mechanism": "hold_to_earn"},
        ],
        "players": [
            {"id": "alice", "role": "speculator", "tao": 100},
            {"id": "own", "role": "subnet_owner", "subnet": 2, "tao": 50, "bot": "meme_owner"},
            {"id": "n1", "role": "speculator", "tao": 100, "bot": "noise_trader",
             "bot_params": {"activity": 1.0}},
            {"id": "n2", "role": "speculator", "tao": 100, "bot": "noise_trader",
             "bot_params": {"activity": 1.0}},
            {"id": "y1", "role": "speculator", "tao": 100, "bot": "yield_chaser"},
        ],
        "actions": [{"tick": 0, "player": "alice", "do": "stake", "subnet": 1, "tao": 10},
                    {"tick": 4, "player": "alice", "do": "unstake", "subnet": 1, "alpha": 20}],
        "events": [{"epoch": 1, "title": "Nothing much", "text": "A banner."}],
    }
    scn.update(over)
    return scn


@pytest.fixture()
def scenario_file(tmp_path) -> Path:
    path = tmp_path / "small.json"
    path.write_text(json.dumps(small_scenario()))
    return path


def run(*args: str) -> int:
    return main([str(a) for a in args])


def test_run_writes_the_result_document(scenario_file, tmp_path):
    out = tmp_path / "r.json"
    assert run("run", scenario_file, "--out", out) == 0
    doc = json.loads(out.read_text())
    assert set(doc) >= {"scenario", "ticks", "epochs", "trades"}
    assert doc["scenario"]["params"]["stake_fee"] == 0.00005  # defaults filled in
    assert len(doc["ticks"]) == 12 and len(doc["epochs"]) == 4
    assert [t["tick"] for t in doc["ticks"]] == list(range(12))
    row = doc["ticks"][-1]
    assert {"tick", "epoch", "block", "tao_emission", "tao_issued", "root_stake",
            "subnets"} <= set(row)
    assert {"id", "tao", "alpha", "alpha_out", "price", "moving_price", "share", "tao_in",
            "alpha_in", "root_prop"} <= set(row["subnets"][0])
    ep = doc["epochs"][0]
    assert {"epoch", "tick", "subnets", "players", "network_health"} <= set(ep)
    assert {"workers", "holders", "owner"} <= set(ep["subnets"][0]["incentive"])
    assert {"id", "tao", "alpha", "root_stake", "net_worth"} <= set(ep["players"][0])
    scripted = [t for t in doc["trades"] if t["player"] == "alice"]
    assert [(t["tick"], t["do"], t["status"]) for t in scripted] == \
        [(0, "stake", "filled"), (4, "unstake", "filled")]
    bot_trades = [t for t in doc["trades"] if t["player"] in ("n1", "n2", "y1")]
    assert bot_trades, "bots must trade in a headless run"


def test_run_is_byte_identical_for_the_same_seed(scenario_file, tmp_path):
    a, b, c = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "c.json"
    assert run("run", scenario_file, "--out", a) == 0
    assert run("run", scenario_file, "--out", b) == 0
    assert a.read_bytes() == b.read_bytes()
    # another process with another string-hash seed: nothing may depend on set/dict hashing
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    proc = subprocess.run([sys.executable, "-m", "sim", "run", str(scenario_file), "--out", str(c)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert c.read_bytes() == a.read_bytes()


def test_a_different_seed_gives_different_bot_trades(scenario_file, tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert run("run", scenario_file, "--out", a, "--seed", "1") == 0
    assert run("run", scenario_file, "--out", b, "--seed", "2") == 0
    da, db = json.loads(a.read_text()), json.loads(b.read_text())
    assert da["scenario"]["seed"] == 1 and db["scenario"]["seed"] == 2

    def bot_trades(doc):
        return [(t["tick"], t["player"], t["do"], t.get("subnet"), t.get("tao"), t.get("alpha"))
                for t in doc["trades"] if t["player"] in ("n1", "n2")]
    assert bot_trades(da) != bot_trades(db)


def test_run_exact_steps_block_by_block_and_agrees_with_the_fast_path(scenario_file, tmp_path):
    fast, exact = tmp_path / "f.json", tmp_path / "e.json"
    assert run("run", scenario_file, "--out", fast) == 0
    assert run("run", scenario_file, "--out", exact, "--exact") == 0
    f, e = json.loads(fast.read_text()), json.loads(exact.read_text())
    assert len(e["ticks"]) == len(f["ticks"])
    assert e["ticks"][-1]["block"] == f["ticks"][-1]["block"] == 12 * 30
    for sf, se in zip(f["ticks"][-1]["subnets"], e["ticks"][-1]["subnets"], strict=True):
        assert se["moving_price"] == pytest.approx(sf["moving_price"], rel=0.05)


def test_run_accepts_toml(tmp_path):
    toml = tmp_path / "s.toml"
    toml.write_text("""
name = "Toml"
[clock]
blocks_per_tick = 10
ticks_per_epoch = 1
epochs = 2
[[subnets]]
id = 1
tao = 100
alpha = 1000
alpha_out = 1000
[[players]]
id = "n"
role = "speculator"
tao = 10
bot = "noise_trader"
""")
    out = tmp_path / "r.json"
    assert run("run", toml, "--out", out) == 0
    assert len(json.loads(out.read_text())["ticks"]) == 2


def test_montecarlo_writes_percentile_bands(scenario_file, tmp_path):
    out = tmp_path / "bands.json"
    assert run("montecarlo", scenario_file, "--runs", "3", "--out", out, "--seed-base", "5") == 0
    doc = json.loads(out.read_text())
    assert doc["kind"] == "sim.montecarlo/1"
    assert doc["runs"] == 3 and doc["seeds"] == [5, 6, 7]
    assert doc["percentiles"] == [5, 25, 50, 75, 95]
    assert doc["epochs"] == [0, 1, 2, 3]
    assert set(doc["subnets"]) == {"1", "2"}
    for series in ("price", "share", "root_prop"):
        band = doc["subnets"]["2"][series]
        assert set(band) == {"p5", "p25", "p50", "p75", "p95"}
        for j in range(4):
            vals = [band[p][j] for p in ("p5", "p25", "p50", "p75", "p95")]
            assert vals == sorted(vals)
    assert len(doc["network_health"]["p50"]) == 4


def test_montecarlo_does_not_depend_on_the_number_of_workers(scenario_file, tmp_path):
    one, two = tmp_path / "1.json", tmp_path / "2.json"
    assert run("montecarlo", scenario_file, "--runs", "2", "--out", one) == 0
    assert run("montecarlo", scenario_file, "--runs", "2", "--out", two, "--workers", "2") == 0
    assert one.read_bytes() == two.read_bytes()


def test_bench_quick_prints_its_figures(capsys):
    assert run("ticktime", "--quick") == 0
    text = capsys.readouterr().out
    for needle in ("fast path", "exact path", "exact / fast", "simulated years/s"):
        assert needle in text


BAD_INVOCATIONS = [
    (["run", "{missing}", "--out", "{out}"], "no such file"),
    (["run", "{broken}", "--out", "{out}"], "not valid JSON"),
    (["run", "{bad}", "--out", "{out}"], "subnets[0].mechanism: unknown mechanism 'meme'"),
    (["run", "{good}"], "--out"),
    (["run", "{good}", "--out", "{out}", "--seed", "minus"], "--seed"),
    (["montecarlo", "{good}", "--runs", "0", "--out", "{out}"], "--runs"),
    (["run", "{good}", "--out", "{nodir}"], "no such directory"),
    (["launch"], "invalid choice"),
]


@pytest.mark.parametrize("argv, message", BAD_INVOCATIONS)
def test_errors_are_one_line_and_exit_2(argv, message, tmp_path):
    (tmp_path / "broken.json").write_text("{nope")
    (tmp_path / "bad.json").write_text(json.dumps(
        small_scenario(subnets=[{"id": 1, "mechanism": "meme"}], players=[], actions=[])))
    (tmp_path / "good.json").write_text(json.dumps(small_scenario()))
    names = {"missing": tmp_path / "missing.json", "broken": tmp_path / "broken.json",
             "bad": tmp_path / "bad.json", "good": tmp_path / "good.json",
             "out": tmp_path / "out.json", "nodir": tmp_path / "no" / "such" / "out.json"}
    args = [a.format(**names) for a in argv]
    proc = subprocess.run([sys.executable, "-m", "sim", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert message in lines[0]
    assert "Traceback" not in proc.stderr
