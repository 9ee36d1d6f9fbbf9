"""A hypothesis state machine over the services and the engine: joins, rejoins, commands with
fresh and repeated client ids, cancels, disconnect/reconnect (the seat goes to a bot and back),
pause/resume, settling ticks, a crash in the middle of a settlement, an engine restart (every
in-memory cache dropped, everything reloaded from the database), and running the class (issue
#16): questions asked (also without enough choices), answered (also twice, or closed), closed and
revealed, announcements, eyes-up.

After every step:
- the sim's own invariants hold on the stored state (TAO and alpha conserved, nothing negative);
- every client id a seat was answered `accepted` for has exactly one stored command, and a repeat
  got the first answer again;
- a settled tick's row and a settled command never change;
- seq never goes back, and public messages are numbered 1, 2, 3… with no holes;
- a page that applied every message it was sent agrees with a fresh snapshot (the shipped
  reducer, static/js/store.js, run by Node: tests/server/storejs.py), questions, its own answer,
  the announcement and eyes-up included;
- answers never reach the command log (they change no economic state).
"""
from __future__ import annotations

import json
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import event, strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from storejs import StoreJS, Tab

from game import broadcast, engine, simapi
from game.actions import announcements, predictions
from game.actions.clock import advance
from game.actions.control import SIMPLE
from game.actions.lobby import JoinError, join_game, resume_seat
from game.actions.orders import cancel_command, submit_command
from game.actions.presence import presence_beat, seat_connected, seat_disconnected
from game.actions.rounds import play_again
from game.actions.setup import Overrides, create_game
from game.errors import ClientError, Refused
from game.live import identity
from game.models import Command, CommandStatus, Game, Seat, TickRow

pytestmark = [pytest.mark.server, pytest.mark.django_db, pytest.mark.slow]

ACTIONS = st.one_of(
    st.builds(lambda s, t: {"do": "stake", "subnet": s, "tao": t},
              st.sampled_from([1, 2, 9]), st.sampled_from([0.5, 5.0, 100.0, 1e6])),
    st.builds(lambda s, a: {"do": "unstake", "subnet": s, "alpha": a},
              st.sampled_from([1, 2]), st.sampled_from([1.0, 50.0, 1e9])),
    st.builds(lambda a: {"do": "move", "from": 1, "to": 2, "alpha": a},
              st.sampled_from([1.0, 1e6])),
    st.builds(lambda t: {"do": "root_stake", "tao": t}, st.sampled_from([1.0, 1e5])),
    st.builds(lambda t: {"do": "root_unstake", "tao": t}, st.sampled_from([1.0, 1e5])),
    st.just({"do": "set_mechanism", "subnet": 1, "mechanism": "hold_to_earn"}),
    st.just({"do": "buyback", "subnet": 2, "tao": 3.0}),
)


class ServerMachine(RuleBasedStateMachine):
    owner: Any = None  # set by make_machine
    js: StoreJS | None = None  # the shipped static/js/store.js, in Node
    captured: list = []  # the frames broadcast.on_commit was given, in order

    @initialize(started=st.sampled_from([True, True, True, False]))
    def create(self, started: bool) -> None:
        simapi.clear_cache()
        self.captured.clear()
        self.game = create_game(self.owner, "test_market", Overrides(seed=3))
        self.seats: list[tuple[int, str]] = []       # (seat id, token)
        self.connected: set[int] = set()
        self.answers: dict[tuple[int, str], dict] = {}  # (seat, client id) → first reply
        self.settled_ticks: dict[int, tuple[str, str]] = {}
        self.settled_cmds: dict[int, tuple] = {}
        self.last_seq = 0
        self.observer: tuple[int, Tab] | None = None
        self.n = 0
        # Most runs start with two students in a running game, so that ticks, fills and bot
        # takeovers are reached within a short run.
        self.join(named=True)
        self.join(named=False)
        if started:
            self.control("start")

    # --- helpers ---------------------------------------------------------------------
    def _g(self) -> Game:
        return Game.objects.get(pk=self.game.id)

    def _pump(self) -> None:
        """Deliver the captured frames to the observer's client."""
        frames, self.captured[:] = list(self.captured), []
        if self.observer is None:
            return
        seat_id, tab = self.observer
        for group, frame in frames:
            if group in (broadcast.game_group(self.game.id), broadcast.seat_group(seat_id)) \
                    and frame.get("type") == "frame.send":
                tab.apply(json.loads(frame["text"]))

    def _settle(self) -> bool:
        """The tick's time has come (the clock moved on; presence stays fresh: the
        connected seats' sockets are this process's, and its heartbeat renews them)."""
        presence_beat(sorted(self.connected))
        Game.objects.filter(pk=self.game.id, status="running").update(
            next_tick_at=timezone.now())
        return engine.settle_tick(self.game.id, timezone.now())

    def _ident(self, seat_id: int) -> identity.Identity:
        seat = Seat.objects.get(pk=seat_id)
        return identity.Identity(identity.STUDENT, self.game.id, self.game.code,
                                 seat_id=seat.id, player=seat.player)

    # --- rules -----------------------------------------------------------------------
    @precondition(lambda self: len(self.seats) < 5)
    @rule(named=st.booleans())
    def join(self, named: bool) -> None:
        self.n += 1
        try:
            seat, token = join_game(self.game.code, f"Kid {self.n}" if named else None)
        except JoinError as exc:
            assert self._g().status == "ended" and exc.code == "ended"
            return
        self.seats.append((seat.id, token))
        seat_connected(seat.id)
        self.connected.add(seat.id)
        if self.observer is None:
            self._pump()  # everything up to now is in the snapshot
            snap = json.loads(broadcast.encode(identity.snapshot(self._ident(seat.id))))
            assert self.js is not None
            tab = self.js.tab(self.game.code)
            tab.apply(snap)
            self.observer = (seat.id, tab)
        self._pump()

    @precondition(lambda self: self.seats)
    @rule(data=st.data())
    def rejoin(self, data: Any) -> None:
        seat_id, token = data.draw(st.sampled_from(self.seats))
        seat = resume_seat(self.game.code, token)
        assert seat is not None and seat.id == seat_id
        assert resume_seat(self.game.code, token[:-1] + "A") is None or \
            token.endswith("A")

    @precondition(lambda self: self.seats)
    @rule(data=st.data(), client_id=st.sampled_from(["c-1", "c-2", "c-3", "c-4"]),
          action=ACTIONS)
    def submit(self, data: Any, client_id: str, action: dict) -> None:
        seat_id, _token = data.draw(st.sampled_from(self.seats))
        key = (seat_id, client_id)
        try:
            reply = submit_command(seat_id, client_id, action)
        except Refused as exc:
            assert key not in self.answers, "a stored id is answered, never rejected"
            assert not Command.objects.filter(seat_id=seat_id, client_id=client_id).exists()
            assert exc.code in ("game_not_started", "game_over", "seat_not_active")
            return
        assert reply["type"] == "accepted"
        if key in self.answers:
            event("a repeated client id")
            assert reply == self.answers[key], "a repeated id gets the first answer"
        else:
            self.answers[key] = reply
        self._pump()

    @precondition(lambda self: self.answers)
    @rule(data=st.data())
    def cancel(self, data: Any) -> None:
        seat_id, client_id = data.draw(st.sampled_from(sorted(self.answers)))
        before = Command.objects.get(seat_id=seat_id, client_id=client_id).status
        try:
            cancel_command(seat_id, client_id)
        except ClientError as exc:
            assert exc.code == "not_cancellable" and before != CommandStatus.QUEUED
        else:
            assert before == CommandStatus.QUEUED

    @precondition(lambda self: self.connected)
    @rule(data=st.data())
    def disconnect(self, data: Any) -> None:
        seat_id = data.draw(st.sampled_from(sorted(self.connected)))
        seat_disconnected(seat_id)
        self.connected.discard(seat_id)

    @precondition(lambda self: len(self.connected) < len(self.seats))
    @rule(data=st.data())
    def reconnect(self, data: Any) -> None:
        away = sorted({s for s, _ in self.seats} - self.connected)
        seat_id = data.draw(st.sampled_from(away))
        seat_connected(seat_id)
        self.connected.add(seat_id)

    @precondition(lambda self: self.seats)
    @rule(op=st.sampled_from(["start", "pause", "resume", "end", "play_again"]))
    def control(self, op: str) -> None:
        if op == "end" and self._g().tick < 2:
            op = "pause"  # keep most runs playing
        try:
            (play_again if op == "play_again" else SIMPLE[op])(self.game.id)
        except ClientError as exc:
            assert exc.code == "bad_state"
        self._pump()

    @rule()
    def settle(self) -> None:
        g = self._g()
        if g.status == "paused":
            try:
                advance(g.id, unit="tick")
            except ClientError:
                return
        away = {s for s, _ in self.seats} - self.connected
        first_new = (Command.objects.order_by("-id").values_list("id", flat=True).first()
                     or 0)
        settled = self._settle()
        if not settled:
            return
        event("a tick settled")
        if Command.objects.filter(id__gt=first_new, status="filled").exists():
            event("a tick filled a command")
        assert self._g().tick == g.tick + 1
        # Bots play exactly the student seats that are away, and nobody else's.
        bot_seats = set(Command.objects.filter(id__gt=first_new, actor="bot",
                                               seat__kind="human")
                        .values_list("seat_id", flat=True))
        assert bot_seats <= away, (bot_seats, away)
        self._pump()

    @precondition(lambda self: self._g().status in ("running", "paused"))
    @rule()
    def crash_in_the_middle_of_a_settlement(self) -> None:
        """The process dies after sim.step, before the commit: nothing may be left."""
        before = (self._g().tick, self._g().state, self._g().seq, TickRow.objects.filter(
            game_id=self.game.id).count(), list(Command.objects.filter(
                game_id=self.game.id).values_list("id", "status")))

        def die(*args: Any, **kwargs: Any) -> None:
            raise KeyboardInterrupt("engine killed")

        clock = self._g().next_tick_at  # _settle moves the test clock: put it back after
        real, engine.broadcast.on_commit = engine.broadcast.on_commit, die
        try:
            self._settle()
        except KeyboardInterrupt:
            pass
        finally:
            engine.broadcast.on_commit = real
            Game.objects.filter(pk=self.game.id).update(next_tick_at=clock)
        after = (self._g().tick, self._g().state, self._g().seq, TickRow.objects.filter(
            game_id=self.game.id).count(), list(Command.objects.filter(
                game_id=self.game.id).values_list("id", "status")))
        assert after == before
        # advance_ticks may have been set by a paused game's "advance": keep it consistent
        Game.objects.filter(pk=self.game.id, status="paused").update(advance_ticks=0)

    # --- running the class (issue #16) ---------------------------------------------------
    @rule(n=st.integers(0, 6))
    def ask(self, n: int) -> None:
        try:
            predictions.ask(self.game.id, text="Up or down?", choices=[f"c{i}" for i in range(n)])
        except ClientError as exc:
            assert (exc.code == "bad_question" and not 2 <= n <= 5) or \
                (exc.code == "bad_state" and self._g().status == "ended")
        self._pump()

    @precondition(lambda self: self.seats)
    @rule(data=st.data(), choice=st.integers(0, 3))
    def answer(self, data: Any, choice: int) -> None:
        q = predictions.latest(self.game.id)
        if q is None:
            return
        seat_id, _token = data.draw(st.sampled_from(self.seats))
        log = Command.objects.filter(game_id=self.game.id).count()
        before = predictions.my_answer(Seat.objects.get(pk=seat_id), q)
        try:
            reply = predictions.answer(seat_id, q.id, choice)
        except ClientError as exc:
            assert exc.code in ("question_closed", "bad_choice", "already_answered"), exc.code
            assert predictions.my_answer(Seat.objects.get(pk=seat_id), q) == before
        else:
            event("an answer")
            assert before is None
            if self.observer is not None and self.observer[0] == seat_id:
                tab = self.observer[1]  # the reply, on the observer's own socket
                tab.apply({**reply, "id": "a", "seq": tab.seq})
        assert Command.objects.filter(game_id=self.game.id).count() == log
        self._pump()

    @rule(op=st.sampled_from(["close", "reveal"]))
    def close_or_reveal(self, op: str) -> None:
        q = predictions.latest(self.game.id)
        if q is None:
            return
        try:
            getattr(predictions, op)(self.game.id, q.id)
        except ClientError as exc:
            assert exc.code in ("question_closed", "already_revealed")
        self._pump()

    @rule(text=st.sampled_from(["", "Hello", "x" * 281]))
    def announce(self, text: str) -> None:
        try:
            if text == "":
                announcements.clear(self.game.id)
            else:
                announcements.announce(self.game.id, text)
        except ClientError as exc:
            assert exc.code == "text_too_long" and len(text) > 280
        self._pump()

    @rule(on=st.booleans())
    def eyes_up(self, on: bool) -> None:
        try:
            announcements.eyes_up(self.game.id, on)
        except ClientError as exc:
            assert exc.code == "bad_state" and self._g().status == "ended"
        self._pump()

    @rule()
    def restart_the_engine(self) -> None:
        simapi.clear_cache()

    # --- invariants ------------------------------------------------------------------
    @invariant()
    def the_economy_is_conserved(self) -> None:
        if not hasattr(self, "game"):
            return
        g = self._g()
        if g.state is not None:
            from sim import invariants
            invariants.check_all(simapi.fresh(g.state).st)

    @invariant()
    def every_accepted_id_has_exactly_one_command(self) -> None:
        if not hasattr(self, "game"):
            return
        for (seat_id, client_id), reply in self.answers.items():
            rows = list(Command.objects.filter(seat_id=seat_id, client_id=client_id))
            assert len(rows) == 1 and rows[0].id == reply["command"]
            assert rows[0].status in CommandStatus.values

    @invariant()
    def settled_things_never_change(self) -> None:
        if not hasattr(self, "game"):
            return
        for t in TickRow.objects.filter(game_id=self.game.id):
            now = (t.row, t.events)
            assert self.settled_ticks.setdefault(t.tick, now) == now
        assert set(self.settled_ticks) == set(range(len(self.settled_ticks)))
        for c in Command.objects.filter(game_id=self.game.id,
                                        settled_tick__isnull=False):
            now = (c.status, c.settled_tick, c.fill, c.reason)
            assert self.settled_cmds.setdefault(c.id, now) == now

    @invariant()
    def seq_never_goes_back(self) -> None:
        if not hasattr(self, "game"):
            return
        seq = self._g().seq
        assert seq >= self.last_seq
        self.last_seq = seq

    @invariant()
    def a_client_applying_deltas_matches_a_fresh_snapshot(self) -> None:
        if not hasattr(self, "game") or self.observer is None:
            return
        self._pump()
        seat_id, tab = self.observer
        snap = json.loads(broadcast.encode(identity.snapshot(self._ident(seat_id))))
        assert tab.seq == snap["seq"]
        have, fresh = tab.state(), tab.reloaded(snap)
        assert have["game"] == fresh["game"]
        assert have["lobby"][-100:] == fresh["lobby"][-100:]
        assert have["nextRound"] == fresh["nextRound"]  # play again: where the class went
        for key in ("question", "myAnswer", "announcement", "eyesUp"):
            assert have[key] == fresh[key], key
        if tab.ticked:  # the market reaches a page with the first tick after the start
            assert have["market"] == fresh["market"]
            assert have["leaderboard"] == fresh["leaderboard"]
            if have["private"] is not None and fresh["private"] is not None:
                assert have["private"] == fresh["private"]


def make_machine(owner: Any, captured: list, js: StoreJS) -> type:
    return type("ServerMachine", (ServerMachine,),
                {"owner": owner, "captured": captured, "js": js})


def test_it_keeps_every_invariant_through_any_sequence_of_actions(
        preset_dir: Any, instructor: Any, settings: Any, monkeypatch: Any,
        store_js: StoreJS) -> None:
    settings.BOT_TAKEOVER_SECONDS = 0  # an away seat is played by a bot at the next tick
    captured: list = []
    monkeypatch.setattr(broadcast, "on_commit", lambda frames, stages=None, last=True:
                        captured.extend(broadcast.unbatched(frames)))
    run_state_machine_as_test(make_machine(instructor, captured, store_js))
