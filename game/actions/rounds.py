"""Rounds of one class session: a practice round before the real game, and "play again".

- `practice` (the real game's lobby): a short Sandbox game for the same lobby, with a copy of
  every seat (same nicknames, roles and devices). The students' pages move to it by themselves.
- `to_real` (the practice round): ends it and sends the students back to the real game's lobby,
  where their seats never left.
- `play_again` (an ended game): the next round with the same roster, a fresh seed and at most
  one setting changed (SETTINGS); a second call answers with the round the first one made.

The class follows through `Game.moved_to`: each of these actions sets it and sends the game's
sockets a public `next_round` message (docs/protocol.md); the snapshot carries the same object,
so a page that was closed meanwhile follows when it comes back. A page moves by posting to
`/join/<code>/carry` (game/web/views.py `carry`): the seat cookie of the round it is on proves the
student, and `carry_seat` hands it the copied seat's new token. No new join, no new nickname.

Each action is one transaction that locks the game row first (game/actions/base.py `lock`) and
broadcasts on commit. The read side (`next_round_info`, the console's session list) is
game/sessionlist.py.
"""
from __future__ import annotations

import json
import secrets
from typing import Any

from django.db import transaction
from django.db.models import Q

from game import broadcast, names, simapi
from game.actions.base import Frames, lock, need, public_frames, roster_frame, status_frames
from game.actions.clock import finish
from game.actions.lobby import foundation_player, resume_seat
from game.actions.setup import MAX_SEED, Overrides, apply_overrides, prune
from game.customscenarios import for_game
from game.errors import ClientError
from game.jsontext import dumps
from game.models import CustomScenario, Game, Seat, SeatKind, Status
from game.sessionlist import ROUND_SUFFIX, next_round_info
from sim.scenario import ScenarioError, load_scenario

PRACTICE_PRESET = "sandbox"
PRACTICE_EPOCHS = 3  # a few minutes: enough to place each kind of order once
MAX_FOUNDATION_STAKE = 1e9
# The one setting play-again may change, and what each accepts (docs/protocol.md).
SETTINGS = {
    "rules": "the emission rule: \"launch\" (price shares) or \"tao_flow\" (net TAO flow)",
    "registration": "true (students may register subnets) or false (they may not)",
    "foundation_stake": "the Foundation's root stake in TAO (0 to 1e9)",
}


# --- the next_round message ---------------------------------------------------------------------

def _moved_frames(game: Game) -> Frames:
    """The public `next_round` message for a (locked) game whose `moved_to` just changed."""
    return public_frames(game, {"type": "next_round", "next_round": next_round_info(game)})


def _move_class(game: Game, nxt: Game) -> dict[str, Any]:
    """Every seat of the (locked) game copied into its next round, and its pages told to
    follow (on commit)."""
    _copy_seats(game, nxt)
    game.moved_to = nxt
    frames = _moved_frames(game)
    game.save(update_fields=["seq", "moved_to"])
    broadcast.on_commit(frames)
    return _answer(nxt)


def _answer(game: Game) -> dict[str, Any]:
    """The control's result: where the console goes next."""
    return {"code": game.code, "console_url": f"/console/{game.code}/", "practice": game.practice}


# --- building a round ---------------------------------------------------------------------------

def _session_root(game: Game) -> Game:
    return game.session if game.session is not None else game


def _round_name(game: Game) -> str:
    base = ROUND_SUFFIX.sub("", game.name)
    root = _session_root(game)
    n = Game.objects.filter(Q(pk=root.pk) | Q(session=root), practice=False).count() + 1
    return f"{base} · round {n}"[:200]


def _new_game(source: Game, scn: dict[str, Any], **fields: Any) -> Game:
    """A lobby game for the same owner and session as `source`, from a loaded scenario."""
    scn["seed"] = secrets.randbelow(MAX_SEED)
    try:
        scn = load_scenario(scn)
    except ScenarioError as exc:
        raise ClientError("bad_value", f"that setting does not make a valid game: {exc}") from None
    clock = scn["clock"]
    for _ in range(20):
        code = names.new_code()
        if not Game.objects.filter(code=code).exists():
            break
    else:  # as create_game (actions.setup): only reachable if the table is absurdly full
        raise ClientError("internal", "could not allocate a join code")
    return Game.objects.create(
        code=code, owner_id=source.owner_id, preset=fields.pop("preset", source.preset),
        scenario=dumps(scn), seed=scn["seed"], role_mix=scn["role_mix"],
        total_ticks=clock["epochs"] * clock["ticks_per_epoch"],
        ticks_per_epoch=clock["ticks_per_epoch"], projector_token=names.new_token(),
        session=_session_root(source), previous_round=source, **fields)


def _copy_seats(source: Game, target: Game) -> int:
    """Every student (and the Foundation) of `source` gets a seat in `target`: same nickname,
    role and device, linked by `from_seat`, no token until the student's page carries it."""
    scn = json.loads(target.scenario)
    n = 0
    for seat in source.seats.filter(kicked=False, kind__in=[SeatKind.HUMAN, SeatKind.FOUNDATION]
                                    ).order_by("id"):
        foundation = seat.kind == SeatKind.FOUNDATION
        copy = Seat.objects.create(
            game=target, kind=seat.kind, nickname=seat.nickname, role=seat.role,
            role_by_hand=seat.role_by_hand, user_id=seat.user_id, device_hash=seat.device_hash,
            from_seat=seat, player=foundation_player(scn) if foundation
            else f"tmp-{seat.id}-{target.id}")
        if not foundation:
            copy.player = f"p{copy.id}"
            copy.save(update_fields=["player"])
            n += 1
    return n


def _replay_players(game: Game, scn: dict[str, Any]) -> None:
    """A started scenario's players are its roster: put the preset's back (the next round deals
    seats afresh at its start), keeping only those whose subnet the game still has."""
    kept = {s["id"] for s in scn["subnets"]}
    players = []
    try:  # the preset, or the teacher's own (`custom:<id>`, game/customscenarios.py)
        base = for_game(game.owner, game.preset) or simapi.load_preset(game.preset)
    except (KeyError, CustomScenario.DoesNotExist):
        raise ClientError("bad_state", "this game's scenario is gone: create a new game "
                          "from another one") from None
    for p in base["players"]:
        if p.get("subnet") is not None and p["subnet"] not in kept:
            continue
        if isinstance(p.get("alpha"), dict):
            p["alpha"] = {k: v for k, v in p["alpha"].items() if int(k) in kept}
        players.append(p)
    scn["players"] = players
    prune(scn)


def _apply_change(scn: dict[str, Any], setting: str, value: Any) -> Any:
    """Change one setting of the next round's scenario; returns the value as stored."""
    if setting == "rules":
        if value not in ("launch", "tao_flow"):
            raise ClientError("bad_value", "rules must be \"launch\" or \"tao_flow\"")
        scn["rules"] = [r for r in scn["rules"] if r != "tao_flow"] + (
            ["tao_flow"] if value == "tao_flow" else [])
        return value
    if setting == "registration":
        if not isinstance(value, bool):
            raise ClientError("bad_value", "registration must be true or false")
        # docs/scenario-format.md `registration_open`: 0 refuses every registration
        # (`registration_closed`), as the create form's "forbid" does (actions/setup.py).
        scn.setdefault("params", {})["registration_open"] = 1 if value else 0
        return value
    # foundation_stake (the caller checked the name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not 0 <= value <= MAX_FOUNDATION_STAKE:
        raise ClientError("bad_value", "foundation_stake must be a number from 0 to 1e9")
    pid = foundation_player(scn)
    entry = next((p for p in scn["players"] if p["id"] == pid), None)
    if entry is None:
        raise ClientError("bad_value", "this scenario has no Foundation to change")
    entry["root_stake"] = float(value)
    return float(value)


# --- the actions --------------------------------------------------------------------------------

def play_again(game_id: int, setting: str | None = None, value: Any = None) -> dict[str, Any]:
    """The next round of an ended game: same roster, fresh seed, at most one setting changed.
    Idempotent: a second call answers with the round the first one made, and changes nothing."""
    with transaction.atomic():
        game = lock(game_id)
        need(game, Status.ENDED)
        made = game.next_rounds.filter(practice=False).order_by("id").first()
        if made is not None:
            return _answer(made)
        if setting is not None and setting not in SETTINGS:
            raise ClientError("unknown_setting", f"no setting {setting!r}; one of: "
                              + ", ".join(SETTINGS))
        if setting is None and value is not None:
            raise ClientError("bad_value", "a value needs the setting it is for")
        scn = json.loads(game.scenario)
        _replay_players(game, scn)
        change: dict[str, Any] = {}
        if setting is not None:
            change = {"setting": setting, "value": _apply_change(scn, setting, value)}
        nxt = _new_game(game, scn, name=_round_name(game), bots=game.bots,
                        starting_tao=game.starting_tao, tick_seconds=game.tick_seconds,
                        round_change=change)
        return _move_class(game, nxt)


def practice(game_id: int) -> dict[str, Any]:
    """A short Sandbox round for the real game's lobby; the students move to it. A second call
    answers with the same round while it is on; once it is over, the game has had its practice."""
    with transaction.atomic():
        game = lock(game_id)
        if game.practice:
            raise ClientError("bad_state", "this is already a practice round")
        made = game.next_rounds.filter(practice=True).order_by("id").first()
        if made is not None and made.status != Status.ENDED:
            return _answer(made)  # a second click: the same round
        if made is not None:
            raise ClientError("bad_state", "this game's practice round is over")
        need(game, Status.LOBBY)
        try:
            scn = apply_overrides(simapi.load_preset(PRACTICE_PRESET), Overrides(
                epochs=PRACTICE_EPOCHS, drop_events=True))
        except KeyError:
            raise ClientError("bad_state", "the Sandbox preset is missing") from None
        clock = scn["clock"]
        nxt = _new_game(game, scn, preset=PRACTICE_PRESET, name=f"Practice: {game.name}"[:200],
                        bots=True, tick_seconds=float(clock["tick_seconds"]), practice=True)
        return _move_class(game, nxt)


def to_real(game_id: int) -> dict[str, Any]:
    """From a practice round back to the real game's lobby: the practice round ends (if it has
    not) and its students' pages go back to the seats they joined with."""
    with transaction.atomic():
        game = lock(game_id)
        if not game.practice or game.previous_round_id is None:
            raise ClientError("bad_state", "this game is not a practice round")
        real = lock(game.previous_round_id)
        if real.status == Status.ENDED:
            raise ClientError("bad_state", "the real game is over")
        frames: Frames = []
        if game.status != Status.ENDED:
            finish(game)
            frames += status_frames(game, "end")
            frames.append(roster_frame(game))
        if game.moved_to_id != real.id:
            game.moved_to = real
            frames += _moved_frames(game)
        if real.moved_to_id is not None:  # the class is back: the real game's pages stay
            real.moved_to = None
            real_frames = _moved_frames(real)
            real.save(update_fields=["seq", "moved_to"])
            frames += real_frames
        game.save(update_fields=["seq", "moved_to", "status", "next_tick_at", "ended_at"])
        broadcast.on_commit(frames)
        return _answer(real)


# --- carrying a seat into the next round --------------------------------------------------------

def carry_seat(code: str, from_code: str, token: str) -> tuple[Seat, str] | None:
    """The seat in game `code` carried over from the seat this token opens in game `from_code`,
    under a new token (returned once, never stored), or None: unknown token, a game the class
    was not sent to, a seat that was not carried (joined after the move) or was removed."""
    old = resume_seat(from_code, token)
    if old is None:
        return None
    with transaction.atomic():
        source = lock(old.game_id)
        target = source.moved_to
        if target is None or target.code != names.normalize_code(code):
            return None
        seat = target.seats.filter(from_seat=old, kicked=False).first()
        if seat is None and old.from_seat_id is not None:  # back from a practice round
            seat = target.seats.filter(pk=old.from_seat_id, kicked=False).first()
        if seat is None:
            return None
        new_token = names.new_token()
        seat.token_hash = names.token_hash(new_token)
        seat.save(update_fields=["token_hash"])
    return seat, new_token
