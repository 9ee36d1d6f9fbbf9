"""The lobby and the seats: joining (and resuming) a seat, roles, removing a student, locking
the game, the instructor's Foundation seat."""
from __future__ import annotations

import json
import math
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from game import broadcast, classlist, names, ratelimit
from game.actions import predictions
from game.actions.base import lobby_frames, lock, need, roster_frame, save_and_send, status_frames
from game.errors import ClientError
from game.jsontext import dumps
from game.models import ROLES, Actor, Command, CommandStatus, Game, Role, Seat, SeatKind, Status
from game.readmodel import human_seats

FOUNDATION_NICK = "The Foundation"
FOUNDATION_IDS = ("foundation", "otf")  # preset player ids taken as the Foundation's seat


class JoinError(Exception):
    """Shown on the join page: {code: unknown_game | locked | ended | full | busy | nickname |
    removed | not_on_class_list}."""

    def __init__(self, code: str, message: str, suggestion: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.suggestion = suggestion


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
    counts = {r: 0 for r in ROLES}
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
        broadcast.on_commit([roster_frame(game)])
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
        game = lock(game.id)
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
        nick = _choose_nickname(game, nick)
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
        frames = lobby_frames(game) + predictions.recount(game)
        game.save(update_fields=["seq"])
        broadcast.on_commit(frames)
    return seat, token


def _choose_nickname(game: Game, nick: str | None) -> str:
    """The seat's nickname: the typed one if free (a class list spells listed names its way and
    may admit only them), else a generated one; a taken typed name is refused with a
    suggestion."""
    taken = _taken_keys(game)
    try:
        nick, reserved = classlist.admit(game, nick, taken)
    except classlist.Refused as exc:
        raise JoinError(exc.code, exc.message) from None
    taken |= reserved
    if nick is None:
        for _ in range(50):
            nick = names.generated_nickname()
            if names.nickname_key(nick) not in taken:
                return nick
        return f"{names.generated_nickname()} {len(taken)}"
    if names.nickname_key(nick) in taken:
        raise JoinError("nickname", "That nickname is taken (or looks like one that is).",
                        _suggest(taken, nick))
    return nick


def role_start(game: Game, scn: dict[str, Any], role: str) -> dict[str, float]:
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
              **role_start(game, scn, seat.role)}
    Command.objects.create(game=game, seat=seat, actor=Actor.SYSTEM, do="join",
                           action=dumps(action), due_tick=game.tick)


def resume_seat(code: str, token: str) -> Seat | None:
    """The seat this token belongs to in this game, or None (unknown, other game, kicked)."""
    if not token or len(token) > 200:
        return None
    seat = Seat.objects.select_related("game").filter(
        token_hash=names.token_hash(token), game__code=names.normalize_code(code),
        kicked=False).first()
    return seat


def set_locked(game_id: int, locked: bool) -> None:
    """Lock the game (no new seat can join; a student's own device still gets its seat back)
    or unlock it."""
    with transaction.atomic():
        game = lock(game_id)
        need(game, Status.LOBBY, Status.RUNNING, Status.PAUSED)
        game.locked = locked
        save_and_send(game, status_frames(game, "lock" if locked else "unlock"), "locked")


def kick(game_id: int, seat_id: int) -> None:
    with transaction.atomic():
        game = lock(game_id)
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
        frames = lobby_frames(game) + predictions.recount(game)
        frames.append(broadcast.kick(seat.id))
        save_and_send(game, frames)


def set_role(game_id: int, seat_id: int, role: str) -> None:
    with transaction.atomic():
        game = lock(game_id)
        need(game, Status.LOBBY)
        seat = human_seats(game).filter(pk=seat_id, kind=SeatKind.HUMAN).first()
        if seat is None:
            raise ClientError("unknown_seat", f"no student seat {seat_id} in this game")
        if role == Role.SUBNET_OWNER and seat.role != role:
            owners = human_seats(game).filter(role=Role.SUBNET_OWNER).count()
            if owners >= _subnet_count(game):
                raise ClientError("bad_state", "every subnet already has an owner")
        seat.role, seat.role_by_hand = role, True
        seat.save(update_fields=["role", "role_by_hand"])
        save_and_send(game, lobby_frames(game))


def auto_roles(game_id: int) -> None:
    with transaction.atomic():
        game = lock(game_id)
        need(game, Status.LOBBY)
        seats = list(human_seats(game).order_by("id"))
        counts = {r: 0 for r in ROLES}
        for seat in seats:
            if seat.role_by_hand or seat.kind == SeatKind.FOUNDATION:
                counts[seat.role] += 1
        for seat in seats:
            if not (seat.role_by_hand or seat.kind == SeatKind.FOUNDATION):
                seat.role = _auto_role(game, counts, late=False)
                counts[seat.role] += 1
                seat.save(update_fields=["role"])
        save_and_send(game, lobby_frames(game))


def set_foundation(game_id: int, on: bool) -> None:
    """The instructor takes (or leaves) the Foundation's root validator seat before start."""
    with transaction.atomic():
        game = lock(game_id)
        need(game, Status.LOBBY)
        seat = game.seats.filter(kind=SeatKind.FOUNDATION).first()
        if on and seat is None:
            Seat.objects.create(game=game, kind=SeatKind.FOUNDATION, nickname=FOUNDATION_NICK,
                                role=Role.ROOT_VALIDATOR, role_by_hand=True,
                                player=foundation_player(json.loads(game.scenario)),
                                user_id=game.owner_id)
        elif not on and seat is not None:
            seat.delete()
        save_and_send(game, lobby_frames(game))


def foundation_player(scn: dict[str, Any]) -> str:
    ids = {p["id"] for p in scn["players"]}
    wanted = scn.get("foundation")
    if isinstance(wanted, str) and wanted in ids:
        return wanted
    for pid in FOUNDATION_IDS:
        if pid in ids:
            return pid
    return "foundation"
