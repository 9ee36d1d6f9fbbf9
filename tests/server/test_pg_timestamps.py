"""PostgreSQL's timestamps are read by game/pgtime.py's loader (psycopg's parser, in C when
installed) and come out exactly as Django's own loader gives them: the same instant and the
same tzinfo, whatever the session's time zone."""
from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import register_tzloader
from django.utils import timezone

from game import pgtime
from game.actions.lobby import join_game
from game.models import Seat

pytestmark = pytest.mark.django_db

TEXTS = ["2026-12-04 22:22:29.123456+00", "1970-01-01 00:00:00+05", "2038-01-19 03:14:08-08",
         "0001-01-01 00:00:00+00", "2024-02-29 23:59:59.999999+13:45", "2026-03-29 01:30:00+01"]


def _postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's loader (the PostgreSQL pass of `make test`)")


def _read(zone: str, *, django_loader: bool) -> list[dt.datetime]:
    with connection.cursor() as cursor:
        cursor.execute(f"SET TIME ZONE '{zone}'")
        try:
            if django_loader:  # Django's own, on this cursor only
                register_tzloader(connection.timezone, cursor.cursor)
            cursor.execute("SELECT " + ", ".join(["%s::timestamptz"] * len(TEXTS)), TEXTS)
            return list(cursor.fetchone())
        finally:
            cursor.execute(f"SET TIME ZONE '{connection.timezone_name}'")


def test_a_connection_reads_timestamps_with_the_fast_loader():
    _postgresql()
    connection.ensure_connection()
    loader = connection.connection.adapters.get_loader(pgtime.TIMESTAMPTZ_OID, 0)
    assert loader.__name__ == "FastTzLoader" and loader.timezone == connection.timezone


@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris", "Pacific/Chatham"])
def test_the_values_are_django_loaders_to_the_tzinfo(zone):
    _postgresql()
    fast, django = _read(zone, django_loader=False), _read(zone, django_loader=True)
    assert fast == django
    assert [v.tzinfo for v in fast] == [v.tzinfo for v in django]
    assert [v.isoformat() for v in fast] == [v.isoformat() for v in django]


def test_a_seat_row_keeps_its_times_to_the_microsecond(game):
    _postgresql()
    seat, _ = join_game(game.code, "Ann")
    seen = timezone.now().replace(microsecond=123456)
    Seat.objects.filter(pk=seat.pk).update(last_seen=seen)
    again = Seat.objects.get(pk=seat.pk)
    assert again.last_seen == seen and again.last_seen.utcoffset() == dt.timedelta(0)
    assert again.joined_at == seat.joined_at
