"""Re-run a game from its scenario, seed and command log; compare with the stored state."""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from game import names
from game.debrief.replay import replay
from game.models import Game


class Command(BaseCommand):
    help = "verify_replay CODE: exit 0 if replaying the command log reproduces the stored state."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("code")

    def handle(self, *args: Any, code: str, **options: Any) -> None:
        game = Game.objects.filter(code=names.normalize_code(code)).first()
        if game is None:
            raise CommandError(f"no game {code!r}")
        if game.state is None:
            raise CommandError(f"game {game.code} has not started: nothing to replay")
        result = replay(game)
        self.stdout.write(f"game {game.code}: {result.ticks} tick(s), {result.commands} command(s)")
        self.stdout.write(f"stored   {result.stored}\nreplayed {result.replayed}")
        if result.ok:
            self.stdout.write(self.style.SUCCESS("MATCH"))
            return
        self.stderr.write(self.style.ERROR("MISMATCH"))
        raise SystemExit(1)
