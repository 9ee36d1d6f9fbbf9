"""A game's research export: one zip of tidy CSV files, the scenario, a README and game.json.

Students appear under a random pseudonym drawn for each export (export_tables.pseudonyms), with
the subnet names they wrote replaced; nicknames, names and sim player ids ("p17") only when
asked (`nicknames=True`). Every CSV is UTF-8 with a BOM (so spreadsheet programs pick the
encoding) and every place in a *text* cell where a spreadsheet could start a formula (= + - @
tab or CR at the start, or after a `,` `;` tab CR or LF) gets an apostrophe (`neutralise`).
Numbers are written as Python's repr (the shortest text that reads back to the same float),
never prefixed, so `-0.5` stays a number and a re-run can compare values exactly.

The scenario in scenario.json is the scenario as started (the lobby roster as its players)
with its seed; commands.csv holds every command in settlement order. Re-running the scenario
with sim.Game(bots=False), feeding each tick the settled commands' `parameters`, reproduces
subnets_by_tick.csv exactly (tests/debrief/test_exports.py does it).
"""
from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from typing import Any, Iterable

from game.debrief import analysis, export_tables as tables
from game.models import EpochRow, Game, TickRow

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

SUBNET_TICK_COLUMNS = ("tao", "alpha", "alpha_out", "price", "moving_price", "share", "tao_in",
                       "alpha_in", "root_prop")

COLUMNS: dict[str, list[tuple[str, str]]] = {
    "commands.csv": [
        ("seq", "order in the command log (settlement order within a tick); a trade's "
                "`command` in trades.csv"),
        ("client_id", "the id the player's page gave the command (`id` in docs/protocol.md); "
                      "empty for bot, late-join and event commands"),
        ("tick", "tick the command was settled at (empty if never settled)"),
        ("due_tick", "tick the command was due at when it was stored"),
        ("seat", "pseudonymous seat id (the sim player id); empty for the instructor's event "
                 "controls"),
        ("nickname", "only with --nicknames: the seat's nickname"),
        ("role", "speculator, subnet_owner or root_validator"),
        ("actor", "human (the student), bot (a bot policy played the seat: a bot's own seat, or "
                  "a kicked student's; never the student), instructor or system (late join)"),
        ("type", "the action: stake, unstake, move, root_stake, root_unstake, set_weights, "
                 "set_mechanism, buyback, register_subnet, join, event"),
        ("parameters", "the sim action as JSON (exactly what sim.Game.step received)"),
        ("outcome", "filled, rejected, cancelled or queued"),
        ("reason", "rejection or cancellation reason code (docs/architecture.md)"),
        ("tao", "TAO that changed hands (fill), fees excluded from what the player received"),
        ("alpha", "alpha that changed hands (fill)"),
        ("price_before", "spot price of the subnet before the fill"),
        ("price_after", "spot price of the subnet after the fill"),
    ],
    "trades.csv": [
        ("tick", "tick of the trade"),
        ("seat", "pseudonymous seat id"),
        ("nickname", "only with --nicknames"),
        ("role", "the seat's role"),
        ("source", "human, bot, instructor, system (commands), scripted (scenario actions) or "
                   "event (actions of a scripted event)"),
        ("type", "stake, unstake, move, buyback, root_stake, root_unstake, register_subnet"),
        ("subnet", "subnet of the trade (the source subnet of a move)"),
        ("subnet_label", "that subnet as the pages write it: \"SN28 · TAO Accumulation Corp\""),
        ("to_subnet", "destination subnet of a move"),
        ("to_subnet_label", "the destination subnet as the pages write it"),
        ("tao", "TAO paid (stake, buyback, register) or received (unstake, move's leg)"),
        ("alpha", "alpha received (stake, buyback) or sold (unstake, move)"),
        ("alpha_received", "alpha received on the destination subnet of a move"),
        ("fee", "fee charged (TAO, or alpha under percent_fee unstakes)"),
        ("price_before", "spot price before the trade"),
        ("price_after", "spot price after the trade"),
        ("limit_price", "the order's limit price, if any"),
        ("status", "filled or rejected"),
        ("reason", "rejection reason code"),
        ("command", "the command (commands.csv `seq`) this trade settled; empty for scripted "
                    "scenario actions and event actions"),
    ],
    "players_by_epoch.csv": [
        ("epoch", "epoch (round) number"),
        ("tick", "tick closing the epoch"),
        ("seat", "pseudonymous seat id"),
        ("nickname", "only with --nicknames"),
        ("role", "the seat's role"),
        ("actor", "human, bot or instructor: who held the seat"),
        ("tao", "free TAO balance"),
        ("root_stake", "TAO staked on root"),
        ("alpha_<subnet>", "alpha staked on that subnet (one column per subnet)"),
        ("net_worth", "TAO at liquidation value at the end of the epoch (slippage and fees "
                      "included; root stake at face value)"),
        ("rank", "overall rank by net worth at the end of the epoch (ties: seat id)"),
    ],
    "subnets_by_tick.csv": [
        ("tick", "tick (each row is the state after that tick)"),
        ("epoch", "epoch of the tick"),
        ("block", "chain block at the end of the tick"),
        ("tao_emission", "TAO emitted per block at the end of the tick"),
        ("root_stake", "all TAO on root (players' and the network's)"),
        ("subnet", "subnet id"),
        ("tao", "TAO reserve of the subnet's pool"),
        ("alpha", "alpha reserve of the pool"),
        ("alpha_out", "alpha outstanding (held stake and pending emission)"),
        ("price", "spot price tao/alpha"),
        ("moving_price", "the moving (EMA) price"),
        ("share", "emission share of the subnet"),
        ("tao_in", "TAO injected into the pool this tick"),
        ("alpha_in", "alpha injected into the pool this tick"),
        ("root_prop", "root proportion w*R / (w*R + alpha issuance)"),
    ],
    "epochs.csv": [
        ("epoch", "epoch number"),
        ("tick", "tick closing the epoch"),
        ("network_health", "share of the epoch's emission (TAO value) paying AI work"),
        ("subnet", "subnet id"),
        ("subnet_label", "the subnet as the pages write it: \"SN28 · TAO Accumulation Corp\""),
        ("incentive_workers", "alpha paid to external AI-work miners"),
        ("incentive_holders", "alpha paid to alpha holders (hold-to-earn)"),
        ("incentive_owner", "alpha paid to the owner's miners"),
        ("alpha_dividends", "alpha paid to validators (alpha and root)"),
        ("root_dividends_tao", "TAO paid to root stakers from this subnet"),
        ("events", "titles of scripted events fired during the epoch (JSON list), each "
                   "\"SN28\" in them written as its label"),
    ],
}


# A formula start at the beginning of a text cell, or right after a character some spreadsheet
# splits cells on (`,`, `;`, tab) or starts a line at (CR, LF): `a;=1+1;b` is three cells, the
# middle one a formula, to a spreadsheet that reads `;`-separated files.
_FORMULA_AFTER_SEPARATOR = re.compile(r"(^|[,;\t\r\n])(?=[=+\-@\t\r])")


def neutralise(value: Any) -> Any:
    """Every place in a text cell where a spreadsheet could start a formula gets an apostrophe:
    the start of the cell and every `,` `;` tab CR LF followed by = + - @ tab or CR."""
    if isinstance(value, str):
        return _FORMULA_AFTER_SEPARATOR.sub(lambda m: m.group(1) + "'", value)
    return value


def _json_cell(value: Any) -> str:
    """JSON text (a command's parameters, a list of event titles): only its start is
    neutralised, as an apostrophe inside would change the JSON. JSON holding text always holds
    a `"`, so the CSV writer quotes the whole cell and a spreadsheet keeps it as one cell,
    whichever separator it splits on; the text inside was neutralised before encoding."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _neutralise_strings(value: Any) -> Any:
    """`neutralise` applied to every string inside a JSON value (keys are ours, not text)."""
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, dict):
        return {k: _neutralise_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_neutralise_strings(v) for v in value]
    return value


def cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (dict, list)):
        return _json_cell(_neutralise_strings(value))
    return neutralise(value if isinstance(value, (int, str)) else str(value))


def to_csv(header: list[str], rows: Iterable[list[Any]]) -> str:
    buf = io.StringIO()
    buf.write(BOM)
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([neutralise(h) for h in header])
    for row in rows:
        w.writerow([cell(v) for v in row])
    return buf.getvalue()


def subnets_by_tick_csv(tick_rows: Iterable[dict[str, Any]]) -> str:
    """Also used by the round-trip test on a re-run's rows: one writer, one format."""
    header = ["tick", "epoch", "block", "tao_emission", "root_stake", "subnet",
              *SUBNET_TICK_COLUMNS]
    rows = []
    for r in tick_rows:
        for s in r["subnets"]:
            rows.append([r["tick"], r["epoch"], r["block"], r["tao_emission"], r["root_stake"],
                         s["id"], *[s[c] for c in SUBNET_TICK_COLUMNS]])
    return to_csv(header, rows)


def _swap(value: Any, ids: dict[str, str]) -> Any:
    """Every string (value or key) naming a student seat, replaced by its pseudonym."""
    if isinstance(value, str):
        return ids.get(value, value)
    if isinstance(value, dict):
        return {ids.get(k, k): _swap(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_swap(v, ids) for v in value]
    return value


def _without_written_names(value: Any) -> Any:
    """Student-written subnet names out: a register_subnet's `name` is dropped (sim then names
    the subnet "Subnet <id>", as a re-run will). The tick and epoch rows carry no names."""
    if isinstance(value, list):
        return [_without_written_names(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: _without_written_names(v) for k, v in value.items()}
    if out.get("do") == "register_subnet":
        out.pop("name", None)
    return out


def build(game: Game, nicknames: bool = False) -> dict[str, Any]:
    """Every table of the export as lists of dicts (game.json) plus the CSV texts; each table
    is built by its own function in game/debrief/export_tables.py.

    Pseudonymous (the default): student seats appear under a random id drawn for this export
    (export_tables.pseudonyms), rows are ordered by it, not by seat, and student-written subnet
    names are replaced (`_without_written_names`)."""
    scn = json.loads(game.scenario)
    scn["seed"] = int(game.seed)
    who = tables.Who(game, scn, nicknames)
    tick_rows = [json.loads(t.row) for t in TickRow.objects.filter(game=game).order_by("tick")]
    tick_events = {t.tick: json.loads(t.events) for t in TickRow.objects.filter(game=game)}
    epoch_rows = [json.loads(e.row) for e in EpochRow.objects.filter(game=game).order_by("epoch")]
    doc = analysis.analyse(game)
    who.learn_subnets(doc)
    commands = tables.commands(game, who)
    trades = tables.trades(doc, who)
    subnet_ids = sorted({int(k) for e in epoch_rows for p in e["players"] for k in p["alpha"]})
    players_by_epoch = tables.players_by_epoch(epoch_rows, subnet_ids, who)
    epochs = tables.epochs(game, epoch_rows, tick_events, who)
    pbe_header = [c for c, _ in COLUMNS["players_by_epoch.csv"] if c not in (
        "alpha_<subnet>", "net_worth", "rank")] + [f"alpha_{s}" for s in subnet_ids] + [
        "net_worth", "rank"]
    events = doc["events"]
    if not nicknames:
        commands, trades, tick_rows, epoch_rows, events, players_by_epoch, scn = _anonymous(
            who.ids, commands, trades, tick_rows, epoch_rows, events, players_by_epoch, scn)
    files = {
        "commands.csv": _table(commands, _header_of("commands.csv"), nicknames),
        "trades.csv": _table(trades, _header_of("trades.csv"), nicknames),
        "players_by_epoch.csv": _table(players_by_epoch, pbe_header, nicknames),
        "subnets_by_tick.csv": subnets_by_tick_csv(tick_rows),
        "epochs.csv": _table(epochs, _header_of("epochs.csv"), nicknames),
    }
    game_json = {
        "format": "dtao-classroom.export/1",
        "game": {"code": game.code, "name": game.name, "preset": game.preset,
                 "status": game.status, "seed": int(game.seed), "ticks_settled": game.tick,
                 "total_ticks": game.total_ticks, "ticks_per_epoch": game.ticks_per_epoch,
                 "started_at": game.started_at.isoformat() if game.started_at else None,
                 "ended_at": game.ended_at.isoformat() if game.ended_at else None,
                 "nicknames": nicknames, "replay_ok": doc["replay_ok"]},
        "scenario": scn, "commands": commands, "trades": trades,
        "players_by_epoch": players_by_epoch, "ticks": tick_rows, "epochs": epoch_rows,
        "events": events, "columns": {k: dict(v) for k, v in COLUMNS.items()},
    }
    return {"files": files, "scenario": scn, "game": game_json}


def _table(rows: list[dict[str, Any]], header: list[str], nicknames: bool) -> str:
    if not nicknames:
        header = [h for h in header if h != "nickname"]
    return to_csv(header, ([r.get(h) for h in header] for r in rows))


def _header_of(name: str) -> list[str]:
    return [c for c, _ in COLUMNS[name] if c != "alpha_<subnet>"]


def _anonymous(ids: dict[str, str], commands: Any, trades: Any, tick_rows: Any, epoch_rows: Any,
               events: Any, players_by_epoch: Any, scn: dict[str, Any]) -> tuple[Any, ...]:
    """The tables with students under their pseudonyms and their written names out."""
    for rows in (commands, trades, players_by_epoch):
        for r in rows:
            r.pop("nickname", None)

    def anonymous(value: Any) -> Any:
        return _without_written_names(_swap(value, ids))

    commands, trades, tick_rows, epoch_rows, events = (anonymous(x) for x in (
        commands, trades, tick_rows, epoch_rows, events))
    players_by_epoch = sorted(anonymous(players_by_epoch),
                              key=lambda r: (r["epoch"], r["seat"]))
    # The roster's students in the order of their pseudonyms, in the places they held
    # (the other players keep theirs): the list's order no longer tells the join order.
    roster = anonymous(scn.get("players", []))
    places = [k for k, p in enumerate(roster) if p.get("id") in set(ids.values())]
    for k, p in zip(places, sorted((roster[k] for k in places), key=lambda p: p["id"]),
                    strict=True):
        roster[k] = p
    scn = {**anonymous({k: v for k, v in scn.items() if k != "players"}), "players": roster}
    return commands, trades, tick_rows, epoch_rows, events, players_by_epoch, scn


def readme(game: Game, nicknames: bool) -> str:
    lines = [
        f"dTAO Classroom export of game {game.code} ({game.name})",
        "",
        *(["Seats appear under their sim player id (p<N> for a student, bot-... for a bot",
            "filler, scenario ids such as otf for scripted players).",
            "Nicknames and student-written subnet names are INCLUDED (--nicknames)."]
          if nicknames else [
            "Seats are pseudonymous: each student appears under an id drawn at random for",
            "this export (s-<8 hex digits>; another export of the same game draws others),",
            "unrelated to the join order; bot fillers and scripted players keep their",
            "scenario ids (bot-..., otf). Nicknames are NOT included, and subnet names",
            "written by students are replaced by 'Subnet <id>' (the name is left out of",
            "register_subnet parameters, so a re-run names the subnet the same way)."]),
        "",
        "CSV files are UTF-8 with a byte-order mark, comma separated, CRLF line ends.",
        "Numbers are written exactly (Python repr). In text, an apostrophe (') is put before",
        "every = + - @ tab or CR that starts the cell or follows a comma, semicolon, tab, CR",
        "or LF, so that spreadsheet programs (whichever separator they split on) do not run",
        "it as a formula; remove an apostrophe in those places to get the original text.",
        "Empty cells mean 'not applicable'.",
        "",
        "scenario.json: the scenario as started (the lobby roster as players), with its",
        "seed and every parameter (defaults filled in). Re-run: sim.Game.from_scenario(",
        "scenario, seed), then for each tick t call step(actions, bots=False) with the",
        "`parameters` of the commands whose tick is t, in seq order; the tick rows",
        "reproduce subnets_by_tick.csv exactly. Scenario `actions` and due scripted events",
        "are played by sim itself.",
        "game.json: all of the tables below as JSON, plus the stored tick and epoch rows.",
        "",
    ]
    for name, cols in COLUMNS.items():
        lines.append(name)
        for col, text in cols:
            if col == "nickname" and not nicknames:
                continue
            lines.append(f"  {col}: {text}")
        lines.append("")
    return "\r\n".join(lines)


def write_zip(game: Game, out: Any, nicknames: bool = False) -> None:
    """Write the export zip to a path or a binary file object."""
    data = build(game, nicknames)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, text in data["files"].items():
            z.writestr(name, text.encode("utf-8"))
        z.writestr("scenario.json", json.dumps(data["scenario"], indent=2, sort_keys=True,
                                               ensure_ascii=False).encode("utf-8"))
        z.writestr("game.json", json.dumps(data["game"], sort_keys=True,
                                           ensure_ascii=False).encode("utf-8"))
        z.writestr("README.txt", (BOM + readme(game, nicknames)).encode("utf-8"))


def zip_bytes(game: Game, nicknames: bool = False) -> bytes:
    buf = io.BytesIO()
    write_zip(game, buf, nicknames)
    return buf.getvalue()
