"""`manage.py export_game CODE --out FILE.zip [--nicknames]`: the research export of a game."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from game import names
from game.debrief import exports
from game.models import Game


class Command(BaseCommand):
    help = ("export_game CODE --out FILE.zip [--nicknames]: tidy CSVs, scenario.json, "
            "game.json and a README; pseudonymous unless --nicknames.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("code")
        parser.add_argument("--out", required=True, help="the zip file to write")
        parser.add_argument("--nicknames", action="store_true",
                            help="include nicknames (off by default: seats are pseudonymous)")

    def handle(self, *args: Any, code: str, out: str, nicknames: bool, **options: Any) -> None:
        game = Game.objects.filter(code=names.normalize_code(code)).first()
        if game is None:
            raise CommandError(f"no game {code!r}")
        if game.state is None:
            raise CommandError(f"game {game.code} has not started: nothing to export")
        path = Path(out)
        if not path.resolve().parent.is_dir():
            raise CommandError(f"--out: no such directory: {path.resolve().parent}")
        # Write then rename: a half-written zip never sits under the final name.
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as fh:
            exports.write_zip(game, fh, nicknames=nicknames)
        os.replace(tmp, path)
        self.stdout.write(f"wrote {path} (game {game.code}, "
                          f"{'with' if nicknames else 'without'} nicknames)")
