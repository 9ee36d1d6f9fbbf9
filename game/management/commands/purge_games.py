"""`manage.py purge_games --older-than DAYS [--dry-run]`: data retention.

Deletes games created more than DAYS days ago (seats, command log, tick and epoch rows go with
them by cascade) and their cached debrief files."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from game.debrief import analysis
from game.models import Game, Status


class Command(BaseCommand):
    help = "purge_games --older-than DAYS: delete games created more than DAYS days ago."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--older-than", type=int, required=True, dest="days",
                            help="age in days (>= 1)")
        parser.add_argument("--dry-run", action="store_true", help="only list what would go")
        parser.add_argument("--include-running", action="store_true",
                            help="also delete games still running or paused")

    def handle(self, *args: Any, days: int, dry_run: bool, include_running: bool,
               **options: Any) -> None:
        if days < 1:
            raise CommandError("--older-than must be at least 1 day")
        cutoff = timezone.now() - timedelta(days=days)
        qs = Game.objects.filter(created_at__lt=cutoff)
        if not include_running:
            # A class may be mid-game on an old lobby: only finished or never-started games.
            qs = qs.filter(status__in=[Status.ENDED, Status.LOBBY])
        games = list(qs.values_list("id", "code"))
        for game_id, code in games:
            self.stdout.write(f"{'would delete' if dry_run else 'deleting'} {code}")
            if not dry_run:
                Game.objects.filter(pk=game_id).delete()
                analysis.purge_cache(game_id)
        self.stdout.write(f"{len(games)} game(s) {'to delete' if dry_run else 'deleted'}")
