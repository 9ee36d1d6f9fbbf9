"""Starting a game: the lobby's seats, the Foundation and bots for empty roles become the
simulator's players; the first state and public payload are stored and announced."""
from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from game import leaderboard as lb, simapi
from game.actions.base import lock, need, roster_frame, save_and_send, status_frames
from game.actions.lobby import foundation_player, role_start
from game.actions.setup import prune
from game.engine import tick_phase
from game.errors import ClientError
from game.jsontext import dumps
from game.models import Game, Role, Seat, SeatKind, Status
from game.readmodel import leaderboard
from sim.scenario import ScenarioError, load_scenario


def _bot_nickname(policy: str, taken: set[str]) -> str:
    base = policy.replace("_", " ").title() + " bot"
    nick, k = base, 2
    while nick in taken:
        nick, k = f"{base} {k}", k + 1
    taken.add(nick)
    return nick


def build_players(game: Game, scn: dict[str, Any], seats: list[Seat]) -> tuple[
        list[dict[str, Any]], list[dict[str, Any]]]:
    """The started scenario's players: the roster, the Foundation, bots for empty roles.

    Returns (players, new bot seats as dicts). Mutates the seats (role, subnet) in memory.
    """
    preset = scn["players"]
    # Students take subnets nobody in the preset owns first, then those of ordinary bot owners;
    # a meme_owner's subnet (the scenario's story) goes last.
    preset_owner = {p["subnet"]: p.get("bot") for p in preset if p["role"] == Role.SUBNET_OWNER}
    free = sorted((s["id"] for s in scn["subnets"]), key=lambda sid: (
        sid in preset_owner, preset_owner.get(sid) == "meme_owner"))
    players = _student_players(game, scn, seats, free)
    used = {p["id"] for p in players}
    foundation = _foundation_entry(scn, seats)
    if foundation is not None:
        players.append(foundation)
        used.add(foundation["id"])
    bots: list[dict[str, Any]] = []
    if game.bots:
        bots = _bot_players(game, scn, players, used, free)
    else:
        # Without bots the subnets nobody took keep the preset's owner as a passive player
        # (no policy), so set_mechanism stays meaningful for the students who do own one.
        for p in preset:
            if p["role"] == Role.SUBNET_OWNER and p["subnet"] in free and p["id"] not in used:
                entry = dict(p)
                entry.pop("bot", None)
                players.append(entry)
                used.add(p["id"])
    return players, bots


def _student_players(game: Game, scn: dict[str, Any], seats: list[Seat],
                     free: list[int]) -> list[dict[str, Any]]:
    """A player per student seat; an owner takes the first free subnet (popped from `free`)."""
    players: list[dict[str, Any]] = []
    for seat in seats:
        if seat.kind != SeatKind.HUMAN:
            continue
        if seat.role == Role.SUBNET_OWNER and not free:
            seat.role = Role.SPECULATOR  # more owners than subnets (hand-set): trade instead
        entry = {"id": seat.player, "role": seat.role, **role_start(game, scn, seat.role)}
        if seat.role == Role.SUBNET_OWNER:
            seat.subnet = free.pop(0)
            entry["subnet"] = seat.subnet
        players.append(entry)
    return players


def _foundation_entry(scn: dict[str, Any], seats: list[Seat]) -> dict[str, Any] | None:
    """The Foundation's player: the instructor's seat if taken (as the preset's Foundation, with
    no policy), else the preset's Foundation as it plays, else none."""
    foundation_id = foundation_player(scn)
    preset_foundation = next((p for p in scn["players"] if p["id"] == foundation_id), None)
    if not any(s.kind == SeatKind.FOUNDATION for s in seats):
        return None if preset_foundation is None else dict(preset_foundation)
    entry = dict(preset_foundation) if preset_foundation else {
        "id": foundation_id, "role": Role.ROOT_VALIDATOR.value, "tao": 0.0,
        # No Foundation in the preset: a quarter of the network's root stake.
        "root_stake": float(scn["root"]["stake"]) * 0.25}
    entry.pop("bot", None)
    entry["role"] = Role.ROOT_VALIDATOR.value
    return entry


def _bot_players(game: Game, scn: dict[str, Any], players: list[dict[str, Any]], used: set[str],
                 free: list[int]) -> list[dict[str, Any]]:
    """Bots for what the students left: the preset's bots whose subnet is still free, an owner
    for every other free subnet, and enough traders and a root validator for a market. Appends
    their players to `players`; returns the new bot seats as dicts."""
    bots: list[dict[str, Any]] = []
    for p in scn["players"]:
        if "bot" not in p or p["id"] in used:
            continue
        if p["role"] == Role.SUBNET_OWNER:
            if p["subnet"] not in free:
                continue  # a student owns that subnet now
            free.remove(p["subnet"])
        players.append(dict(p))
        used.add(p["id"])
        bots.append({"player": p["id"], "role": p["role"], "policy": p["bot"],
                     "subnet": p.get("subnet")})
    fill = scn["bot_fill"]
    for sid in free:  # every subnet gets an owner
        pid = f"bot-owner-{sid}"
        players.append({"id": pid, "role": Role.SUBNET_OWNER.value, "subnet": sid,
                        "bot": fill[Role.SUBNET_OWNER],
                        **role_start(game, scn, Role.SUBNET_OWNER)})
        bots.append({"player": pid, "role": Role.SUBNET_OWNER.value,
                     "policy": fill[Role.SUBNET_OWNER], "subnet": sid})
    for role in (Role.SPECULATOR, Role.ROOT_VALIDATOR):
        have = sum(1 for p in players if p["role"] == role)
        want = 3 if role == Role.SPECULATOR else 1  # a market needs a few traders
        for k in range(have, want):
            pid = f"bot-{role.value}-{k + 1}"
            players.append({"id": pid, "role": role.value, "bot": fill[role],
                            **role_start(game, scn, role)})
            bots.append({"player": pid, "role": role.value, "policy": fill[role],
                         "subnet": None})
    return bots


def start_game(game_id: int) -> None:
    with transaction.atomic():
        game = lock(game_id)
        need(game, Status.LOBBY)
        scn = json.loads(game.scenario)
        seats = list(game.seats.filter(kicked=False).order_by("id"))
        players, bots = build_players(game, scn, seats)
        scn["players"] = players
        prune(scn)
        try:
            scn = load_scenario(scn)
        except ScenarioError as exc:
            raise ClientError("bad_state", f"cannot start: {exc}") from None
        sim_game = simapi.new_sim(scn, game.seed)
        for seat in seats:
            seat.active = True
            seat.save(update_fields=["active", "role", "subnet"])
        taken = set(game.seats.values_list("nickname", flat=True))
        for bot in bots:
            Seat.objects.create(game=game, kind=SeatKind.BOT, nickname=_bot_nickname(
                bot["policy"], taken), role=bot["role"], player=bot["player"],
                subnet=bot["subnet"], bot_policy=bot["policy"], active=True)
        now = timezone.now()
        game.scenario = dumps(scn)
        game.state = sim_game.to_json()
        market = lb.label_root_validators(sim_game.public_view(), lb.seat_map(game))
        game.public = dumps({"market": market,
                              "leaderboard": leaderboard(game, sim_game, settings.LEADERBOARD_TOP)})
        game.status, game.started_at = Status.RUNNING, now
        # The first tick a game-specific fraction later: games started together do not all
        # fall due at the same instant (engine.tick_phase).
        game.next_tick_at = now + timedelta(
            seconds=game.tick_seconds + tick_phase(game.id, game.tick_seconds))
        frames = status_frames(game, "start")
        frames.append(roster_frame(game))
        save_and_send(game, frames, "scenario", "state", "public", "status", "started_at",
                       "next_tick_at")
