"""Who holds a seat at a tick: the bots of bot seats, the stand-in for a student who is away
(docs/architecture.md, "Presence"), the role's bot for a kicked student; and what the stand-in
leaves on the seat (since when it held it, the net worth then, "while you were away")."""
from __future__ import annotations

from typing import Any

import sim
from game.actions.base import Frames
from game.models import Actor, Command, Game, Seat, SeatKind
from game.readmodel import presence_event, stand_in_due

# What holds an absent student's seat: sim.bots' `holder`, which does nothing.
STAND_IN_POLICY = "holder"


def bot_policies(game: Game, seats: list[Seat], scn: dict[str, Any], now: Any) -> dict[str, str]:
    """Who a bot plays this tick: bot seats, and (if the game has bots) students who are away
    or were kicked. The Foundation seat is never auto-played: it is the instructor's."""
    fill = scn.get("bot_fill", {})
    policies: dict[str, str] = {}
    for seat in seats:
        if not seat.active:
            continue
        if seat.kind == SeatKind.BOT:
            policies[seat.player] = seat.bot_policy
        elif seat.kind == SeatKind.HUMAN and game.bots and seat.role in fill:
            if seat.kicked:  # the student is gone for good: the role's bot plays the seat
                policies[seat.player] = fill[seat.role]
            elif stand_in_due(seat, now):  # readmodel.seat_status: "stand_in"
                # The stand-in holds, it does not play: it never changes the student's
                # mechanism, weights or validator, nor spends their money (their standing
                # choices live in the sim state and keep acting by themselves).
                policies[seat.player] = STAND_IN_POLICY
    return policies


def stand_ins(game: Game, seats: list[Seat], policies: dict[str, str], t: int, now: Any,
               sim_game: sim.Game) -> tuple[Frames, dict[int, Seat]]:
    """Record which students' seats a bot holds from this tick (Seat.stand_in_tick, and the
    seat's net worth then) and tell the console when that changes: a `presence` message per
    seat that changed. Returns those frames and the seats handed back at this tick, with the
    stand-in's start still on them (for the student's "while you were away")."""
    frames = []
    returned: dict[int, Seat] = {}
    for seat in seats:
        if seat.kind != SeatKind.HUMAN:
            continue
        standing = seat.player in policies
        if standing == (seat.stand_in_tick is not None):
            continue
        if standing:
            seat.stand_in_tick, seat.stand_in_worth = t, sim_game.net_worth(seat.player)
        else:
            returned[seat.id] = Seat(pk=seat.pk, stand_in_tick=seat.stand_in_tick,
                                     stand_in_worth=seat.stand_in_worth)
            seat.stand_in_tick, seat.stand_in_worth = None, None
        Seat.objects.filter(pk=seat.pk).update(stand_in_tick=seat.stand_in_tick,
                                               stand_in_worth=seat.stand_in_worth)
        frames.append(presence_event(game, seat, now))
    return frames, returned


def while_away(back: Seat, t: int, net_worth: float) -> dict[str, Any]:
    """What a student is told when the stand-in hands their seat back (docs/protocol.md,
    `private.while_away`): from when to when it held the seat, the net worth then and now, and
    how many orders were placed for the seat meanwhile (none by a holding stand-in)."""
    orders = Command.objects.filter(seat_id=back.pk, actor=Actor.BOT,
                                    due_tick__gte=back.stand_in_tick, due_tick__lt=t).count()
    return {"from_tick": back.stand_in_tick, "to_tick": t,
            "net_worth_before": back.stand_in_worth, "net_worth_now": net_worth,
            "orders": orders}
