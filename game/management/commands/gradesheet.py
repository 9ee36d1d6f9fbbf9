"""`manage.py gradesheet CODE [--out FILE.csv] [--w-epochs A --w-orders B --w-filled C
--w-earnings D --target T]`: the grade sheet of a game as CSV (game/debrief/gradesheet.py)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from game import names
from game.debrief import gradesheet
from game.models import Game


class Command(BaseCommand):
    help = ("gradesheet CODE [--out FILE.csv] [--w-epochs A] [--w-orders B] [--w-filled C] "
            "[--w-earnings D] [--target T]: one row per student, with a participation score "
            "whose formula is in the header. Writes to standard output without --out.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("code")
        parser.add_argument("--out", help="the CSV file to write (default: standard output)")
        defaults = gradesheet.Weights()
        for name, attr in gradesheet.FIELDS.items():
            parser.add_argument(f"--{name.replace('_', '-')}", dest=name, default=None,
                                help=f"default {getattr(defaults, attr)}")

    def handle(self, *args: Any, code: str, out: str | None, **options: Any) -> None:
        game = Game.objects.filter(code=names.normalize_code(code)).first()
        if game is None:
            raise CommandError(f"no game {code!r}")
        if game.state is None:
            raise CommandError(f"game {game.code} has not started: nothing to grade")
        try:
            weights = gradesheet.parse_weights(
                {k: options[k] for k in gradesheet.FIELDS if options.get(k) is not None})
        except gradesheet.WeightError as exc:
            raise CommandError(exc.message) from None
        text = gradesheet.csv_text(gradesheet.build(game, weights))
        if out is None:
            self.stdout.write(text, ending="")
            return
        path = Path(out)
        if not path.resolve().parent.is_dir():
            raise CommandError(f"--out: no such directory: {path.resolve().parent}")
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(text.encode("utf-8"))
        os.replace(tmp, path)
        self.stderr.write(f"wrote {path} (game {game.code})")
