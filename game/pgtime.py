"""PostgreSQL timestamps parsed by psycopg's C loader instead of Python code.

Django 5.2 reads every `timestamptz` through its own loader (django/db/backends/postgresql/
psycopg_any.py `BaseTzLoader`): a subclass of psycopg's *pure-Python* loader that parses the
text, then sets the value's tzinfo to the connection's time zone. Reading a class's 1,000 seat
rows (two timestamps each), which the engine does every tick, took 19-21 ms with the ORM, half
of the rows' fetch being that parsing; 15-16 ms with this loader (docs/performance.md, round 4).
psycopg's C extension
(psycopg[binary], requirements.txt) has the same parser in C, but its class cannot be
subclassed, and Django's `create_cursor` reads a `timezone` attribute off the connection's
loader.

`FastTzLoader` is Django's loader with the parsing handed to psycopg's own loader (the C one
when installed, else the same Python one): the same text gives the same datetime, tzinfo
included (the connection's time zone, as Django sets it). `install` registers it on a new
connection (game/apps.py, on `connection_created`). Tested by tests/server/test_pg_timestamps.py
against Django's loader.
"""
from __future__ import annotations

from typing import Any

from psycopg import adapters
from psycopg.pq import Format
from psycopg.types.datetime import TimestamptzLoader

TIMESTAMPTZ_OID = 1184
_PSYCOPG_LOADER: Any = adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)  # C if installed


def loader_for(tz: Any) -> type[TimestamptzLoader]:
    class FastTzLoader(TimestamptzLoader):
        timezone = tz  # Django's create_cursor compares it with the connection's

        def __init__(self, oid: int, context: Any = None) -> None:
            super().__init__(oid, context)
            self._parse = _PSYCOPG_LOADER(oid, context).load

        def load(self, data: Any) -> Any:
            return self._parse(data).replace(tzinfo=self.timezone)

    return FastTzLoader


_loaders: dict[Any, type[TimestamptzLoader]] = {}


def install(sender: Any, connection: Any, **kwargs: Any) -> None:
    """On `connection_created`: a PostgreSQL connection reads its timestamps with
    `FastTzLoader` for the connection's time zone (what Django's own loader would use)."""
    if connection.vendor != "postgresql":
        return
    tz = connection.timezone
    loader = _loaders.get(tz)
    if loader is None:
        loader = _loaders[tz] = loader_for(tz)
    connection.connection.adapters.register_loader("timestamptz", loader)
