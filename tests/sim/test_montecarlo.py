"""Monte Carlo bands: one aggregation (sim.montecarlo.aggregate) for the CLI and the debrief's
bot classes, with one rule for what is missing."""
from __future__ import annotations

import math

from sim.montecarlo import aggregate


def _run(health, **subnets):
    return {"ticks": [3, 6][: len(health)], "health": health,
            "subnets": {int(sid[1:]): {"name": f"SN{sid[1:]}", "price": prices,
                                       "share": dict.fromkeys(prices, 0.5),
                                       "root_prop": dict.fromkeys(prices, 0.1)}
                        for sid, prices in subnets.items()}}


def test_it_gives_null_where_no_run_has_a_value_and_percentiles_over_the_runs_that_do():
    doc = aggregate([_run([0.5, 1.0], s1={0: 1.0, 1: 2.0}, s2={1: 8.0}),
                     _run([1.0], s1={0: 3.0}, s3={0: math.inf})])
    assert doc["epochs"] == [0, 1] and doc["ticks"] == [3, 6]
    assert doc["network_health"]["p50"] == [0.75, 1.0]  # epoch 1: the one run that got there
    assert doc["subnets"]["1"]["price"]["p50"] == [2.0, 2.0]
    assert doc["subnets"]["2"]["price"]["p50"] == [None, 8.0]  # registered at epoch 1
    assert doc["subnets"]["2"]["name"] == "SN2"
    assert doc["subnets"]["3"]["price"]["p50"] == [None, None]  # not finite: null, not inf
    assert doc["subnets"]["1"]["price"]["p5"][0] == 1.0 + 0.05 * 2.0
