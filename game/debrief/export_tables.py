"""The export's tables, one function per file (game/debrief/exports.py writes them): who each
seat is in this export (`Who`), commands.csv, trades.csv, players_by_epoch.csv and epochs.csv."""
from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from typing import Any

from game import leaderboard, names
from game.models import Command, Game, Seat


def pseudonyms(players: Iterable[str]) -> dict[str, str]:
    """A fresh random id for each student seat (`s-` and 8 hex digits), drawn anew for every
    export: unrelated to the seat id, so to the join order, which the lobby shows publicly."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for pid in players:
        while (alias := f"s-{secrets.token_hex(4)}") in taken:
            pass
        taken.add(alias)
        out[pid] = alias
    return out


class Who:
    """The seats as this export shows them: their nickname (only with `nicknames`), role, actor
    kind, and the pseudonym drawn for each student seat (`ids`, empty with `nicknames`)."""

    def __init__(self, game: Game, scn: dict[str, Any], nicknames: bool) -> None:
        self.nicknames = nicknames
        self.seats = {s.player: s for s in Seat.objects.filter(game=game)}
        # Student seats (sim id p<seat id>, in join order) get a random pseudonym in this export.
        self.ids: dict[str, str] = {} if nicknames else pseudonyms(
            pid for pid, seat in self.seats.items() if pid == f"p{seat.id}")
        self.roles = {p["id"]: p.get("role") for p in scn.get("players", [])}
        self.scenario_bots = {p["id"] for p in scn.get("players", []) if p.get("bot")}
        # Subnet names the export may show: the scenario's; a subnet a student registered keeps
        # its written name only in a nicknames export (`learn_subnets`).
        self.subnet_names = {int(s["id"]): str(s.get("name") or "")
                             for s in scn.get("subnets", [])}

    def learn_subnets(self, doc: dict[str, Any]) -> None:
        if self.nicknames:
            for s in doc["subnets"]:
                self.subnet_names.setdefault(int(s["id"]), s["name"])

    def label(self, netuid: Any) -> str | None:
        """A subnet as the pages write it (game.names.subnet_label): "SN28 · TAO Accumulation
        Corp"; None for no subnet."""
        if netuid is None:
            return None
        return names.subnet_label(int(netuid), self.subnet_names.get(int(netuid)))

    def nick(self, pid: str | None) -> str | None:
        if not self.nicknames or pid is None or pid not in self.seats:
            return None
        return self.seats[pid].nickname

    def role(self, pid: str | None) -> str | None:
        seat = self.seats.get(pid) if pid else None
        return seat.role if seat else self.roles.get(pid or "")

    def actor(self, pid: str | None) -> str:
        seat = self.seats.get(pid) if pid else None
        if seat is None:
            return "bot" if pid and pid in self.scenario_bots else "scenario"
        return {"human": "human", "bot": "bot", "foundation": "instructor"}.get(seat.kind, "")


def commands(game: Game, who: Who) -> list[dict[str, Any]]:
    """commands.csv: settled commands first in settlement order, then those never settled
    (queued or cancelled)."""
    out = []
    for c in (Command.objects.filter(game=game).select_related("seat")
              .order_by("settled_tick", "id")):
        action = json.loads(c.action)
        pid = c.seat.player if c.seat else None
        fill = json.loads(c.fill) if c.fill else {}
        out.append({
            "seq": c.id, "client_id": c.client_id, "tick": c.settled_tick,
            "due_tick": c.due_tick, "seat": pid,
            "nickname": who.nick(pid), "role": c.seat.role if c.seat else None, "actor": c.actor,
            "type": c.do, "parameters": action, "outcome": c.status, "reason": c.reason or None,
            "tao": fill.get("tao"), "alpha": fill.get("alpha"),
            "price_before": fill.get("price_before"), "price_after": fill.get("price_after")})
    out.sort(key=lambda r: (r["tick"] is None, r["tick"] or 0, r["seq"]))
    return out


_SOURCES = {"human": "human", "bot": "bot", "instructor": "instructor", "system": "system"}


def trades(doc: dict[str, Any], who: Who) -> list[dict[str, Any]]:
    """trades.csv: every trade the debrief's replay saw (joins left out)."""
    return [{
        "tick": f["tick"], "seat": f["player"], "nickname": who.nick(f["player"]),
        "role": who.role(f["player"]), "source": _SOURCES.get(f["source"], f["source"]),
        "type": f["do"], "subnet": f["subnet"] if f["subnet"] is not None else f["from"],
        "subnet_label": who.label(f["subnet"] if f["subnet"] is not None else f["from"]),
        "to_subnet": f["to"], "to_subnet_label": who.label(f["to"]),
        "tao": f["tao"], "alpha": f["alpha"],
        "alpha_received": f["alpha_received"], "fee": f["fee"],
        "price_before": f["price_before"], "price_after": f["price_after"],
        "limit_price": f["limit_price"], "status": f["status"], "reason": f["reason"],
        "command": f["command"]}
        for f in doc["fills"] if f["do"] != "join"]


def players_by_epoch(epoch_rows: list[dict[str, Any]], subnet_ids: list[int], who: Who
                     ) -> list[dict[str, Any]]:
    """players_by_epoch.csv: each player's balances, net worth and rank at each epoch's end."""
    out = []
    for e in epoch_rows:
        # Ties are ranked by the id the export shows, never by the seat order.
        ranked = {r["player"]: r["rank"] for r in leaderboard.rank_rows(
            (who.ids.get(p["id"], p["id"]), who.role(p["id"]) or "", p["net_worth"])
            for p in e["players"])}
        for p in e["players"]:
            row = {"epoch": e["epoch"], "tick": e["tick"], "seat": p["id"],
                   "nickname": who.nick(p["id"]), "role": who.role(p["id"]),
                   "actor": who.actor(p["id"]), "tao": p["tao"], "root_stake": p["root_stake"]}
            for sid in subnet_ids:
                row[f"alpha_{sid}"] = p["alpha"].get(str(sid), 0.0)
            row["net_worth"] = p["net_worth"]
            row["rank"] = ranked[who.ids.get(p["id"], p["id"])]
            out.append(row)
    return out


def epochs(game: Game, epoch_rows: list[dict[str, Any]],
           tick_events: dict[int, list[dict[str, Any]]], who: Who) -> list[dict[str, Any]]:
    """epochs.csv: each subnet's incentive and dividends per epoch, with the events fired in
    the epoch (each "SN28" in their titles written as the subnet's label)."""
    out = []
    for e in epoch_rows:
        t0 = e["tick"] - game.ticks_per_epoch + 1
        fired = [names.label_mentions(ev.get("title", ""), who.subnet_names)
                 for t in range(t0, e["tick"] + 1) for ev in tick_events.get(t, [])]
        for s in e["subnets"]:
            out.append({"epoch": e["epoch"], "tick": e["tick"],
                        "network_health": e["network_health"], "subnet": s["id"],
                        "subnet_label": who.label(s["id"]),
                        "incentive_workers": s["incentive"].get("workers"),
                        "incentive_holders": s["incentive"].get("holders"),
                        "incentive_owner": s["incentive"].get("owner"),
                        "alpha_dividends": s.get("alpha_dividends"),
                        "root_dividends_tao": s.get("root_dividends_tao"),
                        "events": fired})
    return out
