"""Plain SQL for the few reads every socket makes again and again (a student's command, a
snapshot's seq): building the same query with the ORM took longer than the database took to
answer it (docs/performance.md, rounds 3 and 4). Everything else goes through the ORM; the
engine's reads of a class's seats and commands take their instances from `instances`."""
from __future__ import annotations

from typing import Any, TypeVar

from django.db import connection
from django.db.models import Model, QuerySet
from django.db.models.base import ModelState

M = TypeVar("M", bound=Model)


def instances(queryset: QuerySet[M], **related: Model) -> list[M]:
    """`list(queryset)` (every concrete field loaded), without the model's constructor per row.

    The rows come from `values_list` (the database's converters applied, as for the ORM's own
    instances); each instance gets them in its `__dict__` and the state `Model.from_db` gives
    it. `related`: an object every row points to (the tick's game), cached on each instance as
    a related manager does, so reading it costs no query. Django's `pre_init`/`post_init`
    signals are not sent (no model here has a receiver). Building a class's 1,000 seats this way
    takes a tenth of the constructor's time, on the engine's path every tick (docs/performance.md,
    round 5)."""
    model = queryset.model
    names = [f.attname for f in model._meta.concrete_fields]
    fields = [(model._meta.get_field(name), obj) for name, obj in related.items()]
    db = queryset.db
    out = []
    for row in queryset.values_list(*names):
        obj = model.__new__(model)
        state = ModelState()
        state.adding, state.db = False, db
        obj._state = state
        obj.__dict__.update(zip(names, row, strict=True))
        for field, value in fields:
            field.set_cached_value(obj, value)  # type: ignore[union-attr]
        out.append(obj)
    return out


def in_field_order(model: type[M], names: set[str]) -> tuple[str, ...]:
    """`names` in the model's field order, as `Model.from_db` takes a subset of the fields
    (it matches the values to the fields in that order)."""
    return tuple(f.attname for f in model._meta.concrete_fields if f.attname in names)


def rows(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    """Every row `sql` finds."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def one_row(sql: str, params: list[Any]) -> tuple[Any, ...] | None:
    """The first row `sql` finds, or None."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def columns(model: type[Model], pk: Any, names: tuple[str, ...], *, lock: bool = False
            ) -> tuple[Any, ...] | None:
    """These columns of the model's row `pk`, or None. `lock`: the row locked FOR UPDATE where
    the database has it (SQLite has not: a write transaction there locks the whole database,
    as Django's select_for_update is a no-op there too)."""
    qn = connection.ops.quote_name
    sql = (f"SELECT {', '.join(qn(n) for n in names)} FROM {qn(model._meta.db_table)} "
           f"WHERE {qn(model._meta.pk.attname)} = %s")  # a plain field: named as its column
    if lock and connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    return one_row(sql, [pk])
