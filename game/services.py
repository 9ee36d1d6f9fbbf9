"""The only code that changes game state (the engine's settlement lives in game/engine.py).

One named function per state change, each in one transaction that starts by locking the game
row (`_lock`): all writers of one game queue there, so "one writer per game" holds across
processes on PostgreSQL, and SQLite's IMMEDIATE transactions serialize them anyway. Broadcasts
are queued with `broadcast.on_commit` and leave only if the transaction commits.
"""
from __future__ import annotations

import json
import math
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from game import broadcast, names, ratelimit, simapi
from game import leaderboard as lb
from game.errors import ClientError, Rejected
from game.models import (Actor, Command, CommandStatus, Game, Role, Seat, SeatKind, Status)

ROLES = (Role.SPECULATOR, Role.SUBNET_OWNER, Role.ROOT_VALIDATOR)
FOUNDATION_NICK = "The Foundation"
FOUNDATION_IDS = ("foundation", "otf")  # preset player ids taken as the Foundation's seat


class JoinError(Exception):
    """Shown on the join page: {code: unknown_game | locked | ended | full | busy | nickname |
    removed}."""

    def __init__(self, code: str, message: str, suggestion: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.suggestion = suggestion


class CreateError(ValueError):
    pass


# --- helpers ------------------------------------------------------------------------------------

def _lock(game_id: int) -> Game:
    return Game.objects.select_for_update().get(pk=game_id)


def _dumps(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def timestamp(dt: Any) -> float | None:
    return None if dt is None else dt.timestamp()


def game_info(game: Game, players: int | None = None) -> dict[str, Any]:
    if players is None:
        players = human_seats(game).count()
    return {
        "code": game.code, "name": game.name, "status": game.status, "tick": game.tick,
        "epoch": game.epoch, "total_ticks": game.total_ticks,
        "ticks_per_epoch": game.ticks_per_epoch, "tick_seconds": game.tick_seconds,
        "next_tick_at": timestamp(game.next_tick_at), "locked": game.locked, "bots": game.bots,
        "players": players, "started": game.started_at is not None,
    }


def human_seats(game: Game):
    return game.seats.filter(kind__in=[SeatKind.HUMAN, SeatKind.FOUNDATION], kicked=False)


def lobby_list(game: Game) -> list[dict[str, Any]]:
    # Two columns, no model instances: every snapshot carries this list.
    return [{"nickname": nickname, "role": role} for nickname, role in
            human_seats(game).order_by("id").values_list("nickname", "role")]


def is_connected(seat: Seat, now: Any | None = None) -> bool:
    now = now or timezone.now()
    return seat.sockets > 0 and seat.last_seen is not None and (
        now - seat.last_seen).total_seconds() < presence_timeout()


# --- the roster: one rule for what the console says about each seat -----------------------------

# The `status` of a roster row (docs/protocol.md, "roster"): the console shows these words and
# nothing it works out for itself.
SEAT_STATUSES = ("removed", "bot", "foundation", "lobby", "joining", "playing", "reconnecting",
                 "away", "stand_in", "here", "left")


def stand_in_due(seat: Seat, now: Any) -> bool:
    """A student seat gone long enough for a bot to hold it at a tick settled at `now`: not
    connected, and last seen `BOT_TAKEOVER_SECONDS` ago or more. The engine hands such seats to
    a bot (if the game has bots); the roster says so with the same rule."""
    return not is_connected(seat, now) and (
        seat.last_seen is None
        or (now - seat.last_seen).total_seconds() >= settings.BOT_TAKEOVER_SECONDS)


def _bot_fill(game: Game) -> dict[str, str]:
    return json.loads(game.scenario).get("bot_fill") or {}


def seat_status(game: Game, seat: Seat, now: Any, fill: dict[str, str] | None = None) -> str:
    """What a seat is doing now, from the server's state alone (one of SEAT_STATUSES).

    `fill` is the scenario's bot_fill (role -> policy), read from the game when not given and
    only when needed."""
    if seat.kicked:
        return "removed"
    if seat.kind == SeatKind.BOT:
        return "bot"
    if seat.kind == SeatKind.FOUNDATION:
        return "foundation"
    if game.status == Status.LOBBY:
        return "lobby"
    connected = is_connected(seat, now)
    if game.status == Status.ENDED:
        return "here" if connected else "left"
    if not seat.active:
        return "joining"  # a late joiner: enters the sim at the next tick
    if connected:
        return "playing"
    if not stand_in_due(seat, now):
        return "reconnecting"  # gone for less than BOT_TAKEOVER_SECONDS
    if fill is None:
        fill = _bot_fill(game)
    return "stand_in" if game.bots and seat.role in fill else "away"


# A roster row leaves out every field that has its default value (docs/protocol.md, "roster"):
# the console's first message carries a row per seat, bots included (a 64-subnet preset has a
# bot owner per subnet), and must stay under 64 kB. static/js/store.js fills them back in.
ROSTER_DEFAULTS: dict[str, Any] = {
    "bot": None, "subnet": None, "connected": False, "kicked": False, "active": False,
    "role_by_hand": False, "stand_in": False, "other_seat_attempts": 0,
}


def _roster_row(game: Game, s: Seat, now: Any, fill: dict[str, str] | None) -> dict[str, Any]:
    row = {
        "seat_id": s.id, "nickname": s.nickname, "role": s.role, "player": s.player,
        "bot": s.bot_policy if s.kind == SeatKind.BOT else None, "kind": s.kind,
        "connected": is_connected(s, now), "kicked": s.kicked, "active": s.active,
        "role_by_hand": s.role_by_hand, "subnet": s.subnet,
        "status": seat_status(game, s, now, fill),
        # the tick since which a bot holds the seat (the engine records it), and how often this
        # seat's device tried to open another seat (one student, one seat)
        "stand_in": s.stand_in_tick is not None,
        "other_seat_attempts": s.other_seat_attempts,
    }
    return {k: v for k, v in row.items() if k not in ROSTER_DEFAULTS or v != ROSTER_DEFAULTS[k]}


def roster(game: Game, seats: list[Seat] | None = None, now: Any | None = None,
           fill: dict[str, str] | None = None) -> list[dict[str, Any]]:
    now = now or timezone.now()
    if seats is None:
        seats = list(game.seats.order_by("id"))
    else:
        seats = sorted(seats, key=lambda s: s.id)
    if fill is None and game.status in (Status.RUNNING, Status.PAUSED) and game.bots:
        fill = _bot_fill(game)  # read once for the whole roster
    return [_roster_row(game, s, now, fill or {}) for s in seats]


_ABSENT = ("reconnecting", "away", "stand_in")
# game id -> the statuses the last roster sent from a tick carried (per process: a miss only
# costs one roster message more).
_tick_roster_sent: dict[int, tuple[tuple[int, str, float | None], ...]] = {}


def roster_after_tick(game: Game, seats: list[Seat], now: Any,
                      fill: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    """For the engine, once a tick is settled: the roster for the console if a seat's status
    changed with the tick (a late joiner entered, a bot took an absent student's seat, the game
    ended), else nothing. `seats` are the tick's loaded seats (no query)."""
    rows = roster(game, seats, now, fill)
    # An absent seat's last_seen is part of it: a student who came back and left again between
    # two ticks (two presence messages) is a new absence, even if the status reads the same.
    seen = {s.id: timestamp(s.last_seen) for s in seats}
    signature = tuple((r["seat_id"], r["status"],
                       seen[r["seat_id"]] if r["status"] in _ABSENT else None)
                      for r in rows if r["kind"] != SeatKind.BOT)
    if _tick_roster_sent.get(game.id) == signature:
        return []
    if len(_tick_roster_sent) > 1024:
        _tick_roster_sent.clear()
    _tick_roster_sent[game.id] = signature
    return [broadcast.frame(broadcast.instructor_group(game.id), broadcast.encode(
        {"type": "roster", "seq": game.seq, "roster": rows}), game.seq)]


def _public(game: Game, message: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Stamp a public message with the next seq (bumped on the locked row) and frame it."""
    game.seq += 1
    message["seq"] = game.seq
    return [broadcast.frame(broadcast.game_group(game.id), broadcast.encode(message), game.seq)]


def _roster_frame(game: Game) -> tuple[str, dict[str, Any]]:
    return broadcast.frame(broadcast.instructor_group(game.id), broadcast.encode(
        {"type": "roster", "seq": game.seq, "roster": roster(game)}), game.seq)


def _status_frames(game: Game, reason: str) -> list[tuple[str, dict[str, Any]]]:
    return _public(game, {"type": "status", "game": game_info(game), "reason": reason})


def _lobby_frames(game: Game) -> list[tuple[str, dict[str, Any]]]:
    lobby = lobby_list(game)
    # Every join reaches every socket: past a class-sized lobby, send only the newest entries
    # (the count stays exact) so 300 joins do not cost 300 x 300 full lists.
    shown = lobby[-settings.LOBBY_BROADCAST_MAX:]
    frames = _public(game, {"type": "lobby", "players": len(lobby), "lobby": shown})
    frames.append(_roster_frame(game))
    return frames


# --- creating a game ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Overrides:
    name: str | None = None
    epochs: int | None = None
    tick_seconds: float | None = None
    subnets: int | None = None
    starting_tao: float | None = None
    role_mix: dict[str, float] | None = None
    bots: bool = True
    # Create the game without the scripted events the other overrides would drop or orphan
    # (otherwise such overrides are refused, naming the events).
    drop_events: bool = False
    # Registering subnets: None keeps the preset's setting, "forbid" closes it, "cost" opens
    # it with `lock_cost` as the lock cost's floor (docs/scenario-format.md `registration_open`).
    registration: str | None = None
    lock_cost: float | None = None
    # None (the console): a fresh random seed for every game, so bot moves and settlement order
    # cannot be read from the preset in the public repository. Tests and tools pass one.
    seed: int | None = None


def _refers_to(action: dict[str, Any], keep_subnets: set[int], keep_players: set[str]) -> bool:
    for key in ("subnet", "from", "to"):
        if key in action and action[key] not in keep_subnets:
            return False
    player = action.get("player")
    if player is not None and player != "instructor" and player not in keep_players:
        return False
    validator = action.get("validator")
    return validator is None or validator in keep_players


def _prune(scn: dict[str, Any]) -> None:
    """Drop scripted actions that refer to subnets or players no longer in the scenario."""
    subnets = {s["id"] for s in scn["subnets"]}
    n_reg = sum(1 for a in scn.get("actions", []) if a.get("do") == "register_subnet")
    top = max(subnets, default=0)
    subnets |= set(range(top + 1, top + 1 + n_reg))
    players = {p["id"] for p in scn["players"]}
    scn["actions"] = [a for a in scn.get("actions", []) if _refers_to(a, subnets, players)]
    for event in scn.get("events", []):
        event["actions"] = [a for a in event.get("actions", [])
                            if _refers_to(a, subnets, players)]


_SUBNET_MENTION = re.compile(r"\bSN ?(\d+)\b")


def event_problems(before: dict[str, Any], after: dict[str, Any]) -> dict[int, str]:
    """The scripted events of `before` that `after` (the preset with overrides applied, before
    any event is removed) would lose or leave pointing at nothing: past the game's last epoch,
    an action dropped because its subnet or player is gone, or a title or text that names a
    subnet ("SN28") the game no longer has. {event index: one sentence for the teacher}."""
    epochs = after["clock"]["epochs"]
    subnets = {s["id"] for s in after["subnets"]}
    out: dict[int, str] = {}
    for i, (old, new) in enumerate(zip(before.get("events", []), after.get("events", []))):
        label = f"\u201c{old['title']}\u201d (epoch {old['epoch']})"
        words = f"{old['title']} {old.get('text', '')}"
        mentioned = {int(m) for m in _SUBNET_MENTION.findall(words)}
        if old["epoch"] >= epochs:
            out[i] = f"{label} would never fire: the game ends after epoch {epochs - 1}."
        elif len(new.get("actions", [])) < len(old.get("actions", [])):
            out[i] = f"{label} acts on a subnet or player this game would not have."
        elif mentioned - subnets:
            missing = ", ".join(f"SN{n}" for n in sorted(mentioned - subnets))
            out[i] = f"{label} is about {missing}, which this game would not have."
    return out


def apply_overrides(scn: dict[str, Any], o: Overrides) -> dict[str, Any]:
    """The preset with the teacher's overrides. An override that would drop or orphan a
    scripted event (event_problems) is refused with CreateError naming the events, unless the
    teacher asked to drop them (`drop_events`): a preset's events are its lesson."""
    before = scn
    scn = json.loads(json.dumps(scn))
    if o.epochs is not None:
        scn["clock"]["epochs"] = o.epochs
        scn["actions"] = [a for a in scn.get("actions", [])
                          if a["tick"] < o.epochs * scn["clock"]["ticks_per_epoch"]]
    if o.tick_seconds is not None:
        scn["clock"]["tick_seconds"] = float(o.tick_seconds)
    if o.subnets is not None and o.subnets != len(scn["subnets"]):
        subnets = scn["subnets"]
        if o.subnets < len(subnets):
            scn["subnets"] = subnets[:o.subnets]
            kept = {s["id"] for s in scn["subnets"]}
            scn["players"] = [p for p in scn["players"]
                              if p.get("subnet") is None or p["subnet"] in kept]
            for p in scn["players"]:
                if isinstance(p.get("alpha"), dict):
                    p["alpha"] = {k: v for k, v in p["alpha"].items() if int(k) in kept}
        else:
            template = subnets[-1] if subnets else {"tao": 1000.0, "alpha": 20000.0}
            next_id = max((s["id"] for s in subnets), default=0) + 1
            for k in range(o.subnets - len(subnets)):
                extra = {key: template[key] for key in ("tao", "alpha", "moving_price",
                                                         "mechanism") if key in template}
                extra.update({"id": next_id + k, "name": f"Subnet {next_id + k}",
                              "alpha_out": 0.0, "age_blocks": 0})
                subnets.append(extra)
    if o.role_mix:
        scn["role_mix"] = dict(o.role_mix)
    registration_override(scn, o)
    _prune(scn)
    problems = event_problems(before, scn)
    if problems and not o.drop_events:
        raise CreateError("These settings would break the preset's scripted events: "
                          + " ".join(problems.values())
                          + " Change the settings, or tick \u201cdrop these events\u201d.")
    scn["events"] = [e for i, e in enumerate(scn.get("events", [])) if i not in problems]
    return scn


def registration_override(scn: dict[str, Any], o: Overrides) -> None:
    """The teacher's registration setting on the scenario's params: "forbid" sets
    `registration_open` 0 (a registration is refused `registration_closed`); "cost" opens it
    with `lock_cost` as `lock_min`, the floor the chain's doubling-and-decay rule starts from."""
    params = scn.setdefault("params", {})
    if o.registration == "forbid":
        params["registration_open"] = 0
    elif o.registration == "cost":
        if o.lock_cost is None:
            raise CreateError("Give the lock cost (in TAO) a registration should start at.")
        params["registration_open"] = 1
        params["lock_min"] = float(o.lock_cost)


MAX_SEED = 2 ** 53  # exact in JSON and in the browser's numbers


def create_game(owner: AbstractBaseUser, preset: str, overrides: Overrides) -> Game:
    """A new game in the lobby, from a preset scenario and the instructor's overrides."""
    sim = simapi.sim_module()
    try:
        base = simapi.load_preset(preset)
    except KeyError:
        raise CreateError(f"unknown preset {preset!r}") from None
    try:
        scn = sim.load_scenario(apply_overrides(base, overrides))
    except sim.ScenarioError as exc:
        raise CreateError(str(exc)) from None
    clock = scn["clock"]
    # Stored on the game and in its scenario: replay, the debrief and exports reproduce it.
    scn["seed"] = secrets.randbelow(MAX_SEED) if overrides.seed is None else int(overrides.seed)
    with transaction.atomic():
        for _ in range(20):
            code = names.new_code()
            if not Game.objects.filter(code=code).exists():
                break
        else:  # 31^6 ≈ 887M codes: only reachable if the table is absurdly full
            raise CreateError("could not allocate a join code")
        return Game.objects.create(
            code=code, owner=owner, name=(overrides.name or scn["name"])[:200], preset=preset,
            scenario=_dumps(scn), seed=scn["seed"], bots=overrides.bots,
            role_mix=scn["role_mix"], starting_tao=overrides.starting_tao,
            total_ticks=clock["epochs"] * clock["ticks_per_epoch"],
            ticks_per_epoch=clock["ticks_per_epoch"], tick_seconds=clock["tick_seconds"],
            projector_token=names.new_token(),
        )


# --- joining ------------------------------------------------------------------------------------

def _subnet_count(game: Game) -> int:
    return len(json.loads(game.scenario)["subnets"])


def _auto_role(game: Game, counts: dict[str, int], late: bool) -> str:
    """The role furthest below its share of the game's role mix (owners capped by subnets)."""
    mix = {r: float(game.role_mix.get(r, 0.0)) for r in ROLES}
    total_ratio = sum(mix.values()) or 1.0
    n = sum(counts.values()) + 1
    best, best_gap = Role.SPECULATOR.value, -math.inf
    for role in ROLES:
        if mix[role] <= 0:
            continue
        if role == Role.SUBNET_OWNER and (late or counts.get(role, 0) >= _subnet_count(game)):
            continue  # a late joiner never owns a subnet: the subnets are already dealt
        gap = mix[role] / total_ratio * n - counts.get(role, 0)
        if gap > best_gap:
            best, best_gap = role, gap
    return best


def _role_counts(game: Game) -> dict[str, int]:
    counts = {r.value: 0 for r in ROLES}
    for role in human_seats(game).values_list("role", flat=True):
        counts[role] = counts.get(role, 0) + 1
    return counts


def _taken_keys(game: Game) -> set[str]:
    """The nickname keys in use in this game (names.nickname_key: case and look-alikes
    ignored); a removed seat's name is free again, the Foundation's never is."""
    nicks = game.seats.filter(kicked=False).values_list("nickname", flat=True)
    return {names.nickname_key(n) for n in nicks} | {names.nickname_key(FOUNDATION_NICK)}


def _suggest(taken: set[str], nickname: str) -> str:
    for k in range(2, 50):
        candidate = f"{nickname[:names.NICK_MAX - 3]} {k}"
        if names.nickname_key(candidate) not in taken:
            return candidate
    return names.generated_nickname()


def _device_seat(game: Game, device_hash: str, nick: str | None, token: str) -> Seat | None:
    """One student, one seat: the seat this device already opened in this game, handed back
    under a new token (the device proved who it is; its seat cookie was lost), or None. A device
    whose seat was removed stays out (JoinError "removed"). Asking for another name counts as an
    attempt to open a second seat, which the console flags."""
    seat = game.seats.filter(device_hash=device_hash, kind=SeatKind.HUMAN).first()
    if seat is None:
        return None
    if seat.kicked:
        raise JoinError("removed", "You were removed from this game.")
    seat.token_hash = names.token_hash(token)
    fields = ["token_hash"]
    if nick is not None and names.nickname_key(nick) != names.nickname_key(seat.nickname):
        seat.other_seat_attempts += 1
        fields.append("other_seat_attempts")
    seat.save(update_fields=fields)
    if "other_seat_attempts" in fields:
        broadcast.on_commit([_roster_frame(game)])
    return seat


def join_game(code: str, nickname: str | None, *, limited: bool = False,
              device: str | None = None) -> tuple[Seat, str]:
    """A seat (and its token, which only the caller ever sees) for a student. `limited`
    (the join page, a door open to anyone): the seat spends one of the game's
    JOIN_RATE_PER_GAME joins; a refused join spends none (game/ratelimit.py). `device` (the
    join page's device cookie): a device holds one seat per game, so a device that already has
    one gets it back rather than a second (_device_seat)."""
    code = names.normalize_code(code)
    game = Game.objects.filter(code=code).first()
    if game is None:
        raise JoinError("unknown_game", "No game with this code.")
    try:
        nick = names.clean_nickname(nickname) if nickname and nickname.strip() else None
    except names.NicknameError as exc:
        raise JoinError("nickname", str(exc), names.generated_nickname()) from None
    token = names.new_token()
    with transaction.atomic():
        game = _lock(game.id)
        if game.status == Status.ENDED:
            raise JoinError("ended", "This game is over.")
        device_hash = names.token_hash(device) if device else None
        if device_hash is not None:
            mine = _device_seat(game, device_hash, nick, token)
            if mine is not None:
                return mine, token
        if game.locked:
            raise JoinError("locked", "The instructor has locked this game.")
        if human_seats(game).count() >= settings.GAME_MAX_SEATS:  # the lobby cap
            raise JoinError("full", "This game is full.")
        if limited and not ratelimit.game_has_room(game.code):
            # JOIN_RATE_PER_GAME: only seats created spend it (under this lock, so exactly),
            # never refused joins (docs/security.md).
            raise JoinError("busy", "Too many students are joining right now: "
                                    "wait a minute and try again.")
        taken = _taken_keys(game)
        if nick is None:
            for _ in range(50):
                nick = names.generated_nickname()
                if names.nickname_key(nick) not in taken:
                    break
            else:
                nick = f"{names.generated_nickname()} {len(taken)}"
        elif names.nickname_key(nick) in taken:
            raise JoinError("nickname", "That nickname is taken (or looks like one that is).",
                            _suggest(taken, nick))
        late = game.status != Status.LOBBY
        role = _auto_role(game, _role_counts(game), late)
        seat = Seat.objects.create(game=game, nickname=nick, role=role, player=f"tmp-{token[:12]}",
                                   token_hash=names.token_hash(token), active=False,
                                   last_seen=timezone.now(), device_hash=device_hash)
        seat.player = f"p{seat.id}"
        seat.save(update_fields=["player"])
        if limited:
            ratelimit.note_join(game.code)
        if late:
            _queue_late_join(game, seat)
        frames = _lobby_frames(game)
        game.save(update_fields=["seq"])
        broadcast.on_commit(frames)
    return seat, token


def _role_start(game: Game, scn: dict[str, Any], role: str) -> dict[str, float]:
    defaults = scn["role_defaults"][role]
    tao = game.starting_tao if game.starting_tao is not None else defaults["tao"]
    out = {"tao": float(tao)}
    if role == Role.ROOT_VALIDATOR:
        out["root_stake"] = float(defaults["root_stake"])
    return out


def _queue_late_join(game: Game, seat: Seat) -> None:
    """A late joiner enters the sim through a `join` action at the next tick (in the log)."""
    scn = json.loads(game.scenario)
    action = {"do": "join", "player": seat.player, "role": seat.role,
              **_role_start(game, scn, seat.role)}
    Command.objects.create(game=game, seat=seat, actor=Actor.SYSTEM, do="join",
                           action=_dumps(action), due_tick=game.tick)


def resume_seat(code: str, token: str) -> Seat | None:
    """The seat this token belongs to in this game, or None (unknown, other game, kicked)."""
    if not token or len(token) > 200:
        return None
    seat = Seat.objects.select_related("game").filter(
        token_hash=names.token_hash(token), game__code=names.normalize_code(code),
        kicked=False).first()
    return seat


# --- presence -----------------------------------------------------------------------------------
#
# A seat is connected while it has an open socket *and* a fresh lease (docs/architecture.md,
# "Presence"): `Seat.sockets` is raised on connect and lowered on a clean close, and every server
# process renews `Seat.last_seen` for the seats of its open sockets every `heartbeat_seconds()`
# (game/presence.py). A process killed with SIGKILL lowers nothing, but its leases stop being
# renewed: after `presence_timeout()` its seats no longer count as connected, and the next sweep
# (any process's heartbeat) resets their counters and tells the consoles.

def presence_timeout() -> float:
    """How long a lease vouches for a seat: PRESENCE_TIMEOUT_SECONDS, but never longer than
    BOT_TAKEOVER_SECONDS (a bot must be able to stand in on time), and at least 1 s."""
    return max(1.0, min(settings.PRESENCE_TIMEOUT_SECONDS, settings.BOT_TAKEOVER_SECONDS))


def heartbeat_seconds() -> float:
    """How often a process renews its seats' leases: three renewals per lease, so one late
    renewal (a busy worker) does not drop anyone."""
    return presence_timeout() / 3


def presence_event(game: Game, seat: Seat, now: Any) -> tuple[str, dict[str, Any]]:
    """One seat's presence for the console: a constant-size message (connected, the roster's
    `status` by the one rule seat_status, whether a bot holds it), so a class reconnecting at
    once costs N small frames, not N full rosters (O(N^2)). It carries no seq of its own: each
    console socket stamps it with the highest seq it has sent (GameConsumer.presence_send), so
    it never runs ahead of a public broadcast still on its way."""
    return broadcast.instructor_group(game.id), {
        "type": "presence.send",
        "presence": {"seat_id": seat.id, "connected": is_connected(seat, now),
                     "status": seat_status(game, seat, now),
                     "stand_in": seat.stand_in_tick is not None}}


def _presence_frames(seat_id: int) -> list[tuple[str, dict[str, Any]]]:
    """One seat's presence for its game's console (presence_event); nothing for a seat that was
    deleted under an open socket. The game's scenario text (tens of kB) is left unloaded: a
    connect or close reads it only for a seat already due a stand-in (seat_status)."""
    seat = Seat.objects.select_related("game").only(
        "id", "sockets", "last_seen", "kind", "kicked", "active", "role", "stand_in_tick",
        "game__id", "game__status", "game__bots").filter(pk=seat_id).first()
    if seat is None:
        return []
    return [presence_event(seat.game, seat, timezone.now())]


def _presence_write() -> None:
    """Inside a presence transaction: PostgreSQL may acknowledge the commit before its WAL
    reaches the disk. A crash can lose the last fraction of a second of presence (who is
    online, renewed by the next heartbeat anyway), never a command or a tick; and a
    class reconnecting at once no longer waits for one disk flush per socket."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def seat_connected(seat_id: int) -> None:
    with transaction.atomic():
        _presence_write()
        Seat.objects.filter(pk=seat_id).update(sockets=F("sockets") + 1, last_seen=timezone.now())
        broadcast.on_commit(_presence_frames(seat_id))


def seat_disconnected(seat_id: int) -> None:
    with transaction.atomic():
        _presence_write()
        Seat.objects.filter(pk=seat_id, sockets__gt=0).update(
            sockets=F("sockets") - 1, last_seen=timezone.now())
        broadcast.on_commit(_presence_frames(seat_id))


def presence_beat(seat_ids: list[int], now: Any | None = None) -> list[int]:
    """One heartbeat of a server process: renew the leases of the seats it holds open sockets
    for (and make their counters at least 1, in case a sweep reset them while this process was
    too busy to renew), then sweep: seats that claim a socket but whose lease has lapsed had
    their sockets in a process that died (SIGKILL, a lost machine) or stalled. Their counters go
    back to 0 and their consoles get a `presence` message. Returns the swept seat ids."""
    now = now or timezone.now()
    with transaction.atomic():
        _presence_write()
        if seat_ids:
            Seat.objects.filter(pk__in=seat_ids).update(
                last_seen=now, sockets=Greatest(F("sockets"), Value(1)))
        lapsed = now - timedelta(seconds=presence_timeout())
        # Locked (and locked rows skipped) so that two processes sweeping at once report each
        # seat once, and a connect cannot slip in between the read and the reset.
        stale = list(Seat.objects.select_for_update(skip_locked=True, of=("self",))
                     .select_related("game").filter(
                         Q(last_seen__lt=lapsed) | Q(last_seen__isnull=True), sockets__gt=0))
        if stale:
            Seat.objects.filter(pk__in=[seat.id for seat in stale]).update(sockets=0)
            for seat in stale:
                seat.sockets = 0
            broadcast.on_commit([presence_event(seat.game, seat, now) for seat in stale])
    return [seat.id for seat in stale]


# --- commands -----------------------------------------------------------------------------------

def _accepted(cmd: Command) -> dict[str, Any]:
    return {"type": "accepted", "id": cmd.client_id, "command": cmd.id, "due_tick": cmd.due_tick}


def submit_command(seat_id: int, client_id: str, action: dict[str, Any]) -> dict[str, Any]:
    """Store a seat's command for the next tick; the reply is sent only after the commit."""
    existing = Command.objects.filter(seat_id=seat_id, client_id=client_id).first()
    if existing is not None:
        return _accepted(existing)  # idempotent by (seat, client id): the first answer again
    try:
        with transaction.atomic():
            seat = Seat.objects.get(pk=seat_id)
            game = _lock(seat.game_id)
            if game.status == Status.LOBBY:
                raise Rejected("game_not_started", "The game has not started yet.")
            if game.status == Status.ENDED:
                raise Rejected("game_over", "The game is over.")
            seat.refresh_from_db()
            if seat.kicked or not seat.active:
                raise Rejected("seat_not_active", "Your seat enters the game at the next tick."
                               if not seat.kicked else "You were removed from this game.")
            full = {**action, "player": seat.player}
            cmd = Command.objects.create(
                game=game, seat=seat, client_id=client_id,
                actor=Actor.INSTRUCTOR if seat.kind == SeatKind.FOUNDATION else Actor.HUMAN,
                do=action["do"], action=_dumps(full), due_tick=game.tick)
    except IntegrityError:
        # The same id from another socket of this seat won the race: answer as it was answered.
        return _accepted(Command.objects.get(seat_id=seat_id, client_id=client_id))
    return _accepted(cmd)


def cancel_command(seat_id: int, target: str) -> dict[str, Any]:
    with transaction.atomic():
        seat = Seat.objects.get(pk=seat_id)
        _lock(seat.game_id)  # the engine settles under this lock: no cancel of a settling command
        cmd = Command.objects.filter(seat_id=seat_id, client_id=target).first()
        if cmd is None:
            raise ClientError("unknown_command", f"no command {target!r} from this seat")
        if cmd.status != CommandStatus.QUEUED:
            raise ClientError("not_cancellable", f"command {target!r} is already {cmd.status}")
        cmd.status = CommandStatus.CANCELLED
        cmd.reason = "cancelled"
        cmd.save(update_fields=["status", "reason"])
    return {"type": "cancelled", "command": target}


def quote(game_id: int, player: str, action: dict[str, Any]) -> dict[str, Any]:
    game = Game.objects.get(pk=game_id)
    if game.status == Status.LOBBY or game.state is None:
        raise ClientError("game_not_started", "The game has not started yet.")
    if game.status == Status.ENDED:
        raise ClientError("game_over", "The game is over.")
    sim_game = simapi.cached(game.id, game.tick, game.state)
    return sim_game.quote({**action, "player": player})


# --- the instructor's controls ------------------------------------------------------------------

def _need(game: Game, *statuses: str) -> None:
    if game.status not in statuses:
        raise ClientError("bad_state", f"not allowed while the game is {game.status}")


def _save_and_send(game: Game, frames: list, *fields: str) -> None:
    game.save(update_fields=list({"seq", *fields}))
    broadcast.on_commit(frames)


def control(game_id: int, op: str, **kw: Any) -> dict[str, Any]:
    """Dispatch an instructor op (already validated by game.protocol) to its service."""
    handler = _CONTROLS[op]
    return handler(game_id, **kw) or {}


def pause_game(game_id: int) -> None:
    with transaction.atomic():
        game = _lock(game_id)
        _need(game, Status.RUNNING)
        game.status, game.next_tick_at = Status.PAUSED, None
        _save_and_send(game, _status_frames(game, "pause"), "status", "next_tick_at")


def resume_game(game_id: int) -> None:
    with transaction.atomic():
        game = _lock(game_id)
        _need(game, Status.PAUSED)
        game.status = Status.RUNNING
        game.next_tick_at = timezone.now() + timedelta(seconds=game.tick_seconds)
        _save_and_send(game, _status_frames(game, "resume"), "status", "next_tick_at")


def end_game(game_id: int) -> None:
    with transaction.atomic():
        game = _lock(game_id)
        _need(game, Status.LOBBY, Status.RUNNING, Status.PAUSED)
        finish(game)
        frames = _status_frames(game, "end")
        frames.append(_roster_frame(game))  # every seat's status changes with the end
        _save_and_send(game, frames, "status", "next_tick_at", "ended_at")


def finish(game: Game) -> None:
    """Mark a (locked) game ended; queued commands can no longer settle: cancel them."""
    game.status, game.next_tick_at, game.ended_at = Status.ENDED, None, timezone.now()
    game.commands.filter(status=CommandStatus.QUEUED).update(
        status=CommandStatus.CANCELLED, reason="game_over")


def delete_game(game_id: int) -> None:
    """Delete a game in any state, with everything it stored (seats, commands, rows). A game
    not yet over is ended first and its sockets told so (a `status` message, reason
    "deleted"); a page reconnecting later is closed with 4004 (no such game). The caller
    checks ownership and forgets the debrief's cached files (game.debrief.purge_cache)."""
    with transaction.atomic():
        game = _lock(game_id)
        frames: list[tuple[str, dict[str, Any]]] = []
        if game.status != Status.ENDED:
            finish(game)
            frames = _status_frames(game, "deleted")
        game.delete()
        broadcast.on_commit(frames)


def set_tick_seconds(game_id: int, seconds: float) -> None:
    with transaction.atomic():
        game = _lock(game_id)
        _need(game, Status.LOBBY, Status.RUNNING, Status.PAUSED)
        game.tick_seconds = float(seconds)
        if game.status == Status.RUNNING:
            game.next_tick_at = timezone.now() + timedelta(seconds=game.tick_seconds)
        _save_and_send(game, _status_frames(game, "tick_seconds"), "tick_seconds", "next_tick_at")


def advance(game_id: int, unit: str = "tick") -> dict[str, Any]:
    """Ask the engine to settle one tick (or the rest of the epoch) now, even while paused."""
    with transaction.atomic():
        game = _lock(game_id)
        _need(game, Status.RUNNING, Status.PAUSED)
        target = game.tick + game.advance_ticks
        n = 1 if unit == "tick" else game.ticks_per_epoch - target % game.ticks_per_epoch
        n = max(0, min(n, game.total_ticks - target))
        game.advance_ticks += n
        game.save(update_fields=["advance_ticks"])
    return {"ticks": n}


def set_locked(game_id: int, locked: bool) -> None:
    with transaction.atomic():
        game = _lock(game_id)
        _need(game, Status.LOBBY, Status.RUNNING, Status.PAUSED)
        game.locked = locked
        _save_and_send(game, _status_frames(game, "lock" if locked else "unlock"), "locked")


def kick(game_id: int, seat_id: int) -> None:
    with transaction.atomic():
        game = _lock(game_id)
        seat = game.seats.filter(pk=seat_id, kind=SeatKind.HUMAN).first()
        if seat is None:
            raise ClientError("unknown_seat", f"no student seat {seat_id} in this game")
        # Removed is a state of the seat, not a new name: its nickname is free for someone
        # else (the unique constraint covers seats not kicked); the seat and its sim player stay.
        seat.kicked, seat.token_hash = True, None
        seat.save(update_fields=["kicked", "token_hash"])
        if game.status == Status.LOBBY:
            game.commands.filter(seat=seat, status=CommandStatus.QUEUED).update(
                status=CommandStatus.CANCELLED, reason="kicked")
        frames = _lobby_frames(game)
        frames.append(broadcast.kick(seat.id))
        _save_and_send(game, frames)


def set_role(game_id: int, seat_id: int, role: str) -> None:
    with transaction.atomic():
        game = _lock(game_id)
        _need(game, Status.LOBBY)
        seat = human_seats(game).filter(pk=seat_id, kind=SeatKind.HUMAN).first()
        if seat is None:
            raise ClientError("unknown_seat", f"no student seat {seat_id} in this game")
        if role == Role.SUBNET_OWNER and seat.role != role:
            owners = human_seats(game).filter(role=Role.SUBNET_OWNER).count()
            if owners >= _subnet_count(game):
                raise ClientError("bad_state", "every subnet already has an owner")
        seat.role, seat.role_by_hand = role, True
        seat.save(update_fields=["role", "role_by_hand"])
        _save_and_send(game, _lobby_frames(game))


def auto_roles(game_id: int) -> None:
    with transaction.atomic():
        game = _lock(game_id)
        _need(game, Status.LOBBY)
        seats = list(human_seats(game).order_by("id"))
        counts = {r.value: 0 for r in ROLES}
        for seat in seats:
            if seat.role_by_hand or seat.kind == SeatKind.FOUNDATION:
                counts[seat.role] += 1
        for seat in seats:
            if not (seat.role_by_hand or seat.kind == SeatKind.FOUNDATION):
                seat.role = _auto_role(game, counts, late=False)
                counts[seat.role] += 1
                seat.save(update_fields=["role"])
        _save_and_send(game, _lobby_frames(game))


def scripted_event(game_id: int, event: int, action: str) -> dict[str, Any]:
    """Fire, hold or skip a scripted event: an `event` action in the command log."""
    with transaction.atomic():
        game = _lock(game_id)
        _need(game, Status.RUNNING, Status.PAUSED)
        events = json.loads(game.scenario).get("events", [])
        if not 0 <= event < len(events):
            raise ClientError("unknown_event", f"no scripted event {event}")
        sim_action = {"do": "event", "player": "instructor", "event": event, "op": action}
        Command.objects.create(game=game, seat=None, actor=Actor.INSTRUCTOR, do="event",
                               action=_dumps(sim_action), due_tick=game.tick)
    return {"due_tick": game.tick}


def set_foundation(game_id: int, on: bool) -> None:
    """The instructor takes (or leaves) the Foundation's root validator seat before start."""
    with transaction.atomic():
        game = _lock(game_id)
        _need(game, Status.LOBBY)
        seat = game.seats.filter(kind=SeatKind.FOUNDATION).first()
        if on and seat is None:
            Seat.objects.create(game=game, kind=SeatKind.FOUNDATION, nickname=FOUNDATION_NICK,
                                role=Role.ROOT_VALIDATOR, role_by_hand=True,
                                player=_foundation_player(json.loads(game.scenario)),
                                user_id=game.owner_id)
        elif not on and seat is not None:
            seat.delete()
        _save_and_send(game, _lobby_frames(game))


def _foundation_player(scn: dict[str, Any]) -> str:
    ids = {p["id"] for p in scn["players"]}
    wanted = scn.get("foundation")
    if isinstance(wanted, str) and wanted in ids:
        return wanted
    for pid in FOUNDATION_IDS:
        if pid in ids:
            return pid
    return "foundation"


# --- start ----------------------------------------------------------------------------------------

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
    subnet_ids = sorted((s["id"] for s in scn["subnets"]), key=lambda sid: (
        sid in preset_owner, preset_owner.get(sid) == "meme_owner"))
    foundation_id = _foundation_player(scn)
    foundation_seat = next((s for s in seats if s.kind == SeatKind.FOUNDATION), None)
    humans = [s for s in seats if s.kind == SeatKind.HUMAN]
    players: list[dict[str, Any]] = []
    bots: list[dict[str, Any]] = []
    free = list(subnet_ids)

    for seat in humans:
        if seat.role == Role.SUBNET_OWNER and not free:
            seat.role = Role.SPECULATOR  # more owners than subnets (hand-set): trade instead
        entry = {"id": seat.player, "role": seat.role, **_role_start(game, scn, seat.role)}
        if seat.role == Role.SUBNET_OWNER:
            seat.subnet = free.pop(0)
            entry["subnet"] = seat.subnet
        players.append(entry)

    used = {p["id"] for p in players}
    preset_foundation = next((p for p in preset if p["id"] == foundation_id), None)
    if foundation_seat is not None:
        entry = dict(preset_foundation) if preset_foundation else {
            "id": foundation_id, "role": Role.ROOT_VALIDATOR.value, "tao": 0.0,
            # No Foundation in the preset: a quarter of the network's root stake.
            "root_stake": float(scn["root"]["stake"]) * 0.25}
        entry.pop("bot", None)
        entry["role"] = Role.ROOT_VALIDATOR.value
        players.append(entry)
        used.add(entry["id"])
    elif preset_foundation is not None:
        players.append(dict(preset_foundation))  # the Foundation plays as the preset says
        used.add(preset_foundation["id"])

    if game.bots:
        for p in preset:
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
                            **_role_start(game, scn, Role.SUBNET_OWNER)})
            bots.append({"player": pid, "role": Role.SUBNET_OWNER.value,
                         "policy": fill[Role.SUBNET_OWNER], "subnet": sid})
        for role in (Role.SPECULATOR, Role.ROOT_VALIDATOR):
            have = sum(1 for p in players if p["role"] == role)
            want = 3 if role == Role.SPECULATOR else 1  # a market needs a few traders
            for k in range(have, want):
                pid = f"bot-{role.value}-{k + 1}"
                players.append({"id": pid, "role": role.value, "bot": fill[role],
                                **_role_start(game, scn, role)})
                bots.append({"player": pid, "role": role.value, "policy": fill[role],
                             "subnet": None})
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


def start_game(game_id: int) -> None:
    sim = simapi.sim_module()
    with transaction.atomic():
        game = _lock(game_id)
        _need(game, Status.LOBBY)
        scn = json.loads(game.scenario)
        seats = list(game.seats.filter(kicked=False).order_by("id"))
        players, bots = build_players(game, scn, seats)
        scn["players"] = players
        _prune(scn)
        try:
            scn = sim.load_scenario(scn)
        except sim.ScenarioError as exc:
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
        game.scenario = _dumps(scn)
        game.state = sim_game.to_json()
        market = lb.label_root_validators(sim_game.public_view(), lb.seat_map(game))
        game.public = _dumps({"market": market,
                              "leaderboard": leaderboard(game, sim_game, settings.LEADERBOARD_TOP)})
        game.status, game.started_at = Status.RUNNING, now
        game.next_tick_at = now + timedelta(seconds=game.tick_seconds)
        frames = _status_frames(game, "start")
        frames.append(_roster_frame(game))
        _save_and_send(game, frames, "scenario", "state", "public", "status", "started_at",
                       "next_tick_at")


def leaderboard(game: Game, sim_game: Any, top: int | None = None,
                rows: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The top rows by nickname (what the projector shows); ranking in game/leaderboard.py."""
    rows = lb.standings(sim_game, lb.seat_map(game)) if rows is None else rows
    return lb.top(rows, len(rows) if top is None else top)


_CONTROLS = {
    "start": lambda gid: start_game(gid),
    "pause": lambda gid: pause_game(gid),
    "resume": lambda gid: resume_game(gid),
    "end": lambda gid: end_game(gid),
    "lock": lambda gid: set_locked(gid, True),
    "unlock": lambda gid: set_locked(gid, False),
    "auto_roles": lambda gid: auto_roles(gid),
    "tick_seconds": lambda gid, seconds: set_tick_seconds(gid, seconds),
    "advance": lambda gid, unit: advance(gid, unit),
    "kick": lambda gid, seat_id: kick(gid, seat_id),
    "set_role": lambda gid, seat_id, role: set_role(gid, seat_id, role),
    "event": lambda gid, event, action: scripted_event(gid, event, action),
    "foundation": lambda gid, on: set_foundation(gid, on),
}
