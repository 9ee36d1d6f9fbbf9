"""The engine: claimed ticks, bots for empty and abandoned seats, late joiners, the end, replay."""
from __future__ import annotations

import io
import json
import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from serverkit import write_preset

from game import engine, simapi
from game.actions.clock import advance, pause_game, scripted_event
from game.actions.lobby import join_game, kick, set_role
from game.actions.orders import submit_command
from game.actions.presence import seat_connected
from game.actions.setup import Overrides, create_game
from game.actions.start import start_game
from game.models import Command, Game, Seat, TickRow

pytestmark = pytest.mark.django_db(transaction=True)


def _settle_all(game_id: int) -> int:
    n = 0
    while True:
        advance(game_id, "tick")
        if not engine.settle_tick(game_id):
            return n
        n += 1
        if Game.objects.get(pk=game_id).status == "ended":
            return n


def _present(seat: Seat) -> None:
    Seat.objects.filter(pk=seat.pk).update(sockets=1, last_seen=timezone.now())


def test_it_settles_a_due_tick_once_even_when_two_engines_race(game):
    start_game(game.id)
    advance(game.id, "tick")
    results: list[int] = []
    failures: list[BaseException] = []

    def run() -> None:
        try:
            results.append(engine.settle_due())
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == [] and sorted(results) == [0, 1]
    assert TickRow.objects.filter(game=game).count() == 1
    assert Game.objects.get(pk=game.id).tick == 1
    assert engine.settle_tick(game.id) is False  # nothing is due any more


def test_an_engine_skips_a_game_another_engine_is_settling_instead_of_waiting(game):
    """Unsharded engines: while one holds a game's tick (its advisory lock, taken for the
    whole settlement), another passes over that game at once rather than queueing on the row
    lock; once the first is done, the game is settled as usual."""
    if connection.vendor != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's (the PostgreSQL pass of `make test`)")
    start_game(game.id)
    advance(game.id, "tick")
    holding, release = threading.Event(), threading.Event()
    outcome: list[object] = []

    def other_engine() -> None:  # mid-settlement: its tick transaction holds the game
        try:
            from django.db import transaction

            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)",
                                   [engine._ENGINE_LOCK_SPACE, game.id])
                    outcome.append(cursor.fetchone()[0])
                Game.objects.select_for_update().get(pk=game.id)  # and its row, as it would
                holding.set()
                release.wait(60)
        finally:
            connection.close()

    worker = threading.Thread(target=other_engine)
    worker.start()
    try:
        assert holding.wait(30) and outcome == [True]
        def this_engine() -> None:
            try:
                outcome.append(engine.settle_due())
            finally:
                connection.close()

        skipped = threading.Thread(target=this_engine)
        skipped.start()
        skipped.join(30)  # a deadlock guard, not a timing: it must not wait for the row
        assert not skipped.is_alive() and outcome[1] == 0
    finally:
        release.set()
        worker.join(30)
    assert engine.settle_tick(game.id) is True and Game.objects.get(pk=game.id).tick == 1


def test_it_does_not_settle_a_paused_game_unless_asked(game):
    start_game(game.id)
    Game.objects.filter(pk=game.id).update(next_tick_at=timezone.now() - timedelta(seconds=1))
    pause_game(game.id)
    assert engine.due_game_ids() == []
    assert engine.settle_tick(game.id) is False
    advance(game.id, "tick")
    assert engine.due_game_ids() == [game.id]
    assert engine.settle_tick(game.id) is True
    g = Game.objects.get(pk=game.id)
    assert (g.status, g.tick, g.advance_ticks, g.next_tick_at) == ("paused", 1, 0, None)


def test_it_plays_bot_seats_and_removed_students_and_only_holds_away_ones(
        preset_dir, instructor, settings):
    """The stand-in holds an away student's seat and never trades for them (issue #13); a
    kicked student's seat is played by the role's bot."""
    settings.BOT_TAKEOVER_SECONDS = 0
    # early_exiter always buys at the first tick: a bot that is sure to act if it plays.
    write_preset(preset_dir, "exiters", bot_fill={"speculator": "early_exiter"})
    simapi.presets.cache_clear()
    game = create_game(instructor, "exiters", Overrides(seed=3))
    away, _ = join_game(game.code, "Away")
    here, _ = join_game(game.code, "Here")
    gone, _ = join_game(game.code, "Gone")
    for seat in (away, here, gone):
        set_role(game.id, seat.id, "speculator")
    start_game(game.id)
    kick(game.id, gone.id)
    for _ in range(4):
        _present(here)
        advance(game.id, "tick")
        assert engine.settle_tick(game.id)
    bots = Command.objects.filter(game=game, actor="bot")
    assert bots.filter(seat__kind="bot").exists()
    assert bots.filter(seat=gone).exists()
    assert not bots.filter(seat=away).exists()
    assert Seat.objects.get(pk=away.pk).stand_in_tick == 0   # held from the first tick
    assert not bots.filter(seat=here).exists()
    assert all(c.settled_tick is not None for c in bots)


def test_it_hands_a_seat_back_when_the_student_returns(game, settings):
    settings.BOT_TAKEOVER_SECONDS = 0
    seat, _ = join_game(game.code, "Sleepy")
    start_game(game.id)
    seat_connected(seat.id)
    advance(game.id, "epoch")
    engine.settle_tick(game.id)
    engine.settle_tick(game.id)
    assert not Command.objects.filter(seat=seat, actor="bot").exists()


def test_it_lets_a_late_joiner_in_at_the_next_tick(game):
    start_game(game.id)
    seat, _ = join_game(game.code, "Late")
    assert not seat.active
    join = Command.objects.get(seat=seat)
    assert (join.do, join.actor, join.due_tick) == ("join", "system", 0)
    with pytest.raises(Exception) as refused:
        submit_command(seat.id, "c-1", {"do": "stake", "subnet": 1, "tao": 1.0})
    assert getattr(refused.value, "code", None) == "seat_not_active"
    advance(game.id, "tick")
    assert engine.settle_tick(game.id)
    seat.refresh_from_db()
    assert seat.active
    g = Game.objects.get(pk=game.id)
    view = simapi.fresh(g.state).private_view(seat.player)
    assert view["role"] == seat.role and view["tao"] > 0
    reply = submit_command(seat.id, "c-1", {"do": "stake", "subnet": 1, "tao": 1.0})
    assert reply["type"] == "accepted" and reply["due_tick"] == 1


def test_it_ends_the_game_after_the_last_tick(game):
    seat, _ = join_game(game.code, "Ada")
    start_game(game.id)
    assert _settle_all(game.id) == game.total_ticks
    g = Game.objects.get(pk=game.id)
    assert (g.status, g.tick, g.next_tick_at) == ("ended", g.total_ticks, None)
    assert engine.due_game_ids() == []
    assert TickRow.objects.filter(game=game).count() == g.total_ticks
    assert g.epoch_rows.count() == g.total_ticks // g.ticks_per_epoch
    assert json.loads(g.public)["leaderboard"][0]["rank"] == 1


def test_it_replays_the_command_log_to_the_stored_state(game):
    a, _ = join_game(game.code, "Ada")
    b, _ = join_game(game.code, "Bo")
    start_game(game.id)
    submit_command(a.id, "c-1", {"do": "stake", "subnet": 1, "tao": 50.0})
    submit_command(b.id, "c-1", {"do": "stake", "subnet": 2, "tao": 20.0})
    scripted_event(game.id, 0, "fire")
    advance(game.id, "tick")
    engine.settle_tick(game.id)
    submit_command(a.id, "c-2", {"do": "unstake", "subnet": 1, "alpha": 100.0})
    _settle_all(game.id)
    out = io.StringIO()
    call_command("verify_replay", game.code.lower(), stdout=out)
    assert "MATCH" in out.getvalue()
    # A tampered log no longer reproduces the state.
    cmd = Command.objects.get(seat=a, client_id="c-1")
    cmd.action = json.dumps({**json.loads(cmd.action), "tao": 51.0})
    cmd.save()
    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_replay", game.code, stdout=io.StringIO(), stderr=io.StringIO())
    assert exit_info.value.code == 1


def test_run_engine_settles_due_games_once_per_pass(game):
    start_game(game.id)
    advance(game.id, "epoch")
    out = io.StringIO()
    call_command("run_engine", "--once", stdout=out)
    assert "settled 1 tick(s)" in out.getvalue()
    out = io.StringIO()
    call_command("run_engine", "--once", "--shard", f"{(game.id + 1) % 2}/2", stdout=out)
    assert "settled 0 tick(s)" in out.getvalue()  # another shard's game
    call_command("run_engine", "--once", "--shard", f"{game.id % 2}/2", stdout=out)
    assert Game.objects.get(pk=game.id).tick == 2


def test_games_started_together_fall_due_at_different_moments(game, instructor):
    """Each game's first tick is put off by its own fraction (engine.tick_phase, from the id),
    so games started at the same instant do not settle and broadcast at the same instant."""
    other = create_game(instructor, "test_market", Overrides(seed=7))
    for g in (game, other):
        join_game(g.code, f"p{g.id}")
        start_game(g.id)
    offsets = []
    for g in (game, other):
        g = Game.objects.get(pk=g.id)
        offset = (g.next_tick_at - g.started_at).total_seconds() - g.tick_seconds
        # the golden-ratio fraction of the id, over at most 2 s (never more than one tick)
        expected = (g.id * 0.6180339887498949) % 1.0 * min(g.tick_seconds, 2.0)
        assert offset == pytest.approx(expected, abs=1e-6)
        offsets.append(offset)
    assert abs(offsets[0] - offsets[1]) > 0.2  # consecutive ids: well apart
    assert engine.tick_phase(1, 2) == pytest.approx(1.2360679774997898)
    assert engine.tick_phase(2, 2) == pytest.approx(0.4721359549995796)
    assert engine.tick_phase(2, 0.5) == pytest.approx(0.1180339887498949)  # within one tick


def test_the_class_gets_the_tick_before_the_private_views_are_built(game, monkeypatch):
    """The public `tick` is committed and sent first; each student's `private` (and the
    console's frames) are built after, outside the game row's lock, and sent after it."""
    from game import broadcast

    seat, _ = join_game(game.code, "Ann")
    _present(seat)
    start_game(game.id)
    advance(game.id, "tick")
    sent: list[str] = []
    monkeypatch.setattr(broadcast, "_send_now", lambda frames, stages=None, last=True: sent.extend(
        json.loads(event["text"])["type"] for _, event in broadcast.unbatched(frames)))
    seen: dict[str, object] = {}
    built = engine.after_tick

    def after_tick(g, tick, now, stages=None):
        seen["in_transaction"] = connection.in_atomic_block
        seen["sent_before"] = list(sent)
        seen["committed_tick"] = Game.objects.get(pk=game.id).tick  # as anyone reads it
        return built(g, tick, now, stages)

    monkeypatch.setattr(engine, "after_tick", after_tick)
    assert engine.settle_tick(game.id)
    assert seen == {"in_transaction": False, "sent_before": ["tick"], "committed_tick": 1}
    assert sent[:2] == ["tick", "private"] and sent.count("tick") == 1
    assert {"participation"} <= set(sent[2:])


def test_an_idle_engine_sleeps_until_the_next_tick_falls_due(game, instructor, settings):
    """`engine.nap_seconds`: until the next running game's tick falls due, within
    [NAP_MIN_SECONDS, ENGINE_POLL_SECONDS]; a tick already due (another engine's) does not
    count; with shards, only its own games count."""
    settings.ENGINE_POLL_SECONDS = 0.25
    now = timezone.now()
    assert engine.nap_seconds(now=now) == 0.25  # nothing running
    other = create_game(instructor, "test_market", Overrides())
    for g, offset in ((game, 0.1), (other, 0.04)):
        start_game(g.id)
        Game.objects.filter(pk=g.pk).update(next_tick_at=now + timedelta(seconds=offset))
    assert engine.nap_seconds(now=now) == 0.04
    count = max(game.id, other.id) + 1  # a shard that holds `game` and not `other`
    assert engine.nap_seconds((game.id, count), now=now) == 0.1
    assert engine.nap_seconds(now=now + timedelta(seconds=0.09)) == 0.01  # `other` overdue
    assert engine.nap_seconds(now=now + timedelta(seconds=0.0999)) == engine.NAP_MIN_SECONDS
    assert engine.nap_seconds(now=now + timedelta(seconds=1)) == 0.25  # both overdue
    assert engine.nap_seconds(now=now - timedelta(seconds=10)) == 0.25
    pause_game(other.id)  # a paused game's clock does not count
    assert engine.nap_seconds(now=now) == 0.1
