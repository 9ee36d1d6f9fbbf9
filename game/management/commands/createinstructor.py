"""Create an instructor account (no default credentials exist)."""
from __future__ import annotations

import getpass
import os
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Create an instructor: manage.py createinstructor USERNAME [--password-from-env VAR]"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")
        parser.add_argument("--password-from-env", metavar="VAR",
                            help="read the password from this environment variable")
        parser.add_argument("--update", action="store_true",
                            help="set a new password if the instructor already exists")

    def handle(self, *args: Any, username: str, password_from_env: str | None, update: bool,
               **options: Any) -> None:
        User = get_user_model()
        existing = User.objects.filter(username=username).first()
        if existing is not None and not update:
            raise CommandError(
                f"instructor {username!r} exists (use --update to reset the password)")
        if password_from_env:
            password = os.environ.get(password_from_env, "")
            if not password:
                raise CommandError(f"environment variable {password_from_env} is empty or unset")
        else:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("the passwords differ")
        user = existing or User(username=username)
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        user.set_password(password)
        user.is_staff = False  # an instructor, not a site administrator
        user.save()
        self.stdout.write(self.style.SUCCESS(
            f"instructor {username!r} {'updated' if existing else 'created'}; log in at /login/"))
