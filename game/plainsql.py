"""Plain SQL for the few reads every socket makes again and again (a student's command, a
snapshot's seq): building the same query with the ORM took longer than the database took to
answer it (docs/performance.md, rounds 3 and 4). Everything else goes through the ORM."""
from __future__ import annotations

from typing import Any

from django.db import connection


def one_row(sql: str, params: list[Any]) -> tuple[Any, ...] | None:
    """The first row `sql` finds, or None."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def for_update() -> str:
    """The clause that locks the rows a SELECT reads, where the database has it (SQLite has
    not: a write transaction there locks the whole database, as Django's select_for_update
    is a no-op there too)."""
    return " FOR UPDATE" if connection.features.has_select_for_update else ""
