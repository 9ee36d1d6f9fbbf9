"""One name per subnet (issue #13): the report's data and the export write a subnet as
"SN2 · Meme coin" through one Python helper (game.names.subnet_label, the twin of
static/js/ui.js subnetLabel), and an event title's "SN2" as that label."""
from __future__ import annotations

import csv
import io
import zipfile

import pytest

from game import names
from game.debrief import analysis, exports

pytestmark = [pytest.mark.server, pytest.mark.django_db(transaction=True)]


def _rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8")[1:])))


def test_a_subnet_label_is_its_number_then_its_name():
    assert names.subnet_label(28, "TAO Accumulation Corp") == "SN28 · TAO Accumulation Corp"
    assert names.subnet_label(4, "Subnet 4") == "SN4"
    assert names.subnet_label(7, None) == "SN7"


def test_an_event_names_the_subnets_it_mentions_once():
    table = {28: "TAO Accumulation Corp"}
    assert names.label_mentions("SN28 pays its holders", table) == \
        "SN28 · TAO Accumulation Corp pays its holders"
    assert names.label_mentions("SN28 · TAO Accumulation Corp", table) == \
        "SN28 · TAO Accumulation Corp"
    assert names.label_mentions("SN3 is gone", table) == "SN3 is gone"


def test_the_debrief_document_carries_each_subnets_label(finished):
    game, _ = finished
    doc = analysis.analyse(game)
    assert [(s["id"], s["label"]) for s in doc["subnets"]] == [
        (1, "SN1 · Text prompting"), (2, "SN2 · Meme coin")]


def test_the_export_labels_every_trade_and_epoch_row(finished):
    game, _ = finished
    z = zipfile.ZipFile(io.BytesIO(exports.zip_bytes(game)))
    trades = _rows(z.read("trades.csv"))
    want = {"1": "SN1 · Text prompting", "2": "SN2 · Meme coin", "": ""}
    assert trades and all(t["subnet_label"] == want[t["subnet"]] for t in trades)
    moves = [t for t in trades if t["type"] == "move"]
    assert moves and all((t["subnet_label"], t["to_subnet_label"]) ==
                         ("SN1 · Text prompting", "SN2 · Meme coin") for t in moves)
    epochs = _rows(z.read("epochs.csv"))
    assert {(e["subnet"], e["subnet_label"]) for e in epochs} == {
        ("1", "SN1 · Text prompting"), ("2", "SN2 · Meme coin")}
