"""Run by scripts/run: say how to create the first instructor when there is none."""
from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Print how to create the first instructor if no account exists."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000",
                            help="where the server listens (scripts/run passes HOST and PORT)")

    def handle(self, *args: Any, **options: Any) -> None:
        login = options["url"].rstrip("/") + "/login/"
        count = get_user_model().objects.filter(is_active=True).count()
        if count:
            self.stdout.write(f"{count} instructor account(s); log in at {login}")
            return
        self.stdout.write(self.style.WARNING(
            "No instructor account yet. Create one (it prompts for a password):\n"
            "    .venv/bin/python manage.py createinstructor YOUR_NAME\n"
            f"then log in at {login} (students need no account)."))
