"""Database-side helpers, run in a child process with the stack's environment:

    python -m bench.admin create --tick-seconds 2 [--count N]  -> [{"id", "code"}]
    python -m bench.admin start CODE [CODE…]
    python -m bench.admin pause CODE [CODE…]
    python -m bench.admin join CODE N [CODE N…]   -> [{"seat_id", "token"}] (one list per CODE
                                                    when several; no HTTP)
    python -m bench.admin verify < acked.json           -> the audit per game (`verify`)

The benchmark and the scale-out tests never import Django themselves: their own process may be
configured for another database (pytest-django), and the stack under test is a set of processes.
Each call prints one JSON document on stdout.
"""
from __future__ import annotations

import json
import os
import sys
from typing import Any


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "game.settings")
    import django

    django.setup()


def create(tick_seconds: float) -> dict[str, Any]:
    from django.contrib.auth.models import User

    from bench.scenario import PRESET
    from game.actions.setup import Overrides, create_game

    user = User.objects.filter(username="bench").first() or User.objects.create_user(
        "bench", password="bench-instructor-password")
    game = create_game(user, PRESET, Overrides(tick_seconds=tick_seconds))
    return {"id": game.id, "code": game.code}


def start(code: str) -> dict[str, Any]:
    from game.actions.start import start_game
    from game.models import Game

    game = Game.objects.get(code=code)
    start_game(game.id)
    game.refresh_from_db()
    return {"id": game.id, "status": game.status, "seq": game.seq}


def pause(code: str) -> dict[str, Any]:
    from game.actions.clock import pause_game
    from game.models import Game

    game = Game.objects.get(code=code)
    pause_game(game.id)
    game.refresh_from_db()
    return {"id": game.id, "status": game.status, "seq": game.seq}


def join(code: str, n: int) -> list[dict[str, Any]]:
    from game.actions.lobby import join_game

    out = []
    for _ in range(n):
        seat, token = join_game(code, None)
        out.append({"seat_id": seat.id, "token": token})
    return out


def verify_all(acked: dict[str, list[list[Any]]]) -> list[dict[str, Any]]:
    return [verify(code, pairs) for code, pairs in acked.items()]


def verify(code: str, acked: list[list[Any]]) -> dict[str, Any]:
    """Audit one game: every acknowledged (seat id, client id) must be stored exactly once and
    settled (or still queued at the next tick); tick rows must be 0..tick-1 with no repeat; no
    command may be settled twice (one settled_tick per row by construction: count rows)."""
    from django.db.models import Count

    from game.models import Command, Game, TickRow

    game = Game.objects.get(code=code)
    rows = {(c.seat_id, c.client_id): c for c in Command.objects.filter(
        game=game, client_id__isnull=False)}
    dup_ids = (Command.objects.filter(game=game, client_id__isnull=False)
               .values("seat_id", "client_id").annotate(n=Count("id")).filter(n__gt=1).count())
    lost, queued, settled, cancelled = [], 0, 0, 0
    for seat_id, client_id in acked:
        c = rows.get((seat_id, client_id))
        if c is None:
            lost.append([seat_id, client_id])
        elif c.status == "queued":
            queued += 1
        elif c.status == "cancelled":
            cancelled += 1
        else:
            settled += 1
    ticks = list(TickRow.objects.filter(game=game).order_by("tick").values_list("tick", flat=True))
    dup_ticks = (TickRow.objects.filter(game=game).values("tick").annotate(n=Count("id"))
                 .filter(n__gt=1).count())
    return {"code": code, "tick": game.tick, "seq": game.seq, "status": game.status,
            "acked": len(acked), "lost": lost, "queued": queued, "settled": settled,
            "cancelled": cancelled, "duplicate_client_ids": dup_ids,
            "tick_rows": len(ticks), "duplicate_tick_rows": dup_ticks,
            "tick_rows_contiguous": ticks == list(range(len(ticks))),
            "commands_total": Command.objects.filter(game=game).count()}


def main(argv: list[str]) -> int:
    _setup()
    op, *args = argv
    if op == "create":
        tick = float(args[args.index("--tick-seconds") + 1]) if "--tick-seconds" in args else 2.0
        count = int(args[args.index("--count") + 1]) if "--count" in args else 1
        out: Any = [create(tick) for _ in range(count)]
    elif op == "start":
        out = [start(code) for code in args]
    elif op == "settings":  # what the stack under test runs with (recorded in the results)
        from django.conf import settings

        out = {"module": settings.SETTINGS_MODULE,
               "conn_max_age": settings.DATABASES["default"].get("CONN_MAX_AGE"),
               "db_pool": settings.DATABASES["default"].get("OPTIONS", {}).get("pool"),
               "channel_layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
               "channel_hosts": settings.CHANNEL_LAYERS["default"].get("CONFIG", {}).get("hosts")}
    elif op == "pause":
        out = [pause(code) for code in args]
    elif op == "join":  # CODE N [CODE N …]
        out = [join(args[i], int(args[i + 1])) for i in range(0, len(args), 2)]
        out = out[0] if len(out) == 1 else out
    elif op == "verify":  # stdin: {code: [[seat_id, client_id], ...]}
        out = verify_all(json.load(sys.stdin))
    else:
        print(f"unknown op {op!r}", file=sys.stderr)
        return 2
    sys.stdout.write(json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
