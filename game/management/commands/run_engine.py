"""Settle ticks in a separate process (set ENGINE_IN_PROCESS=false on the web servers).

Several may run at once: each tick is claimed with a conditional UPDATE, so it settles once.
Broadcasts reach the sockets through the channel layer, so this needs REDIS_URL (the in-memory
layer lives inside one server process).
"""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from game import engine
from game.launch import stop_on_signals


def _shard(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    try:
        index, count = (int(x) for x in text.split("/"))
    except ValueError:
        raise CommandError("--shard wants INDEX/COUNT, e.g. 0/2") from None
    if not 0 <= index < count:
        raise CommandError("--shard: need 0 <= INDEX < COUNT")
    return index, count


class Command(BaseCommand):
    help = "Run the game engine (the ticker) in this process."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--shard", help="INDEX/COUNT: settle only games with id %% COUNT == INDEX")
        parser.add_argument(
            "--once", action="store_true", help="one pass over due games, then exit")

    def handle(self, *args: Any, shard: str | None, once: bool, **options: Any) -> None:
        if not settings.REDIS_URL:
            self.stderr.write(
                "warning: no REDIS_URL: ticks settle but no browser will hear of them")
        sh = _shard(shard)
        if once:
            self.stdout.write(f"settled {engine.settle_due(sh)} tick(s)")
            return
        self.stdout.write(
            f"engine running (poll {settings.ENGINE_POLL_SECONDS}s, shard {shard or 'all'})")
        stop_on_signals()  # an interrupted settlement rolls back; the next engine settles it
        try:
            engine.run_blocking(sh)
        except KeyboardInterrupt:
            pass
