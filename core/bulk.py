"""One-statement bulk writes for hot paths, on PostgreSQL and SQLite (3.35 or later: RETURNING,
UPDATE ... FROM).

- ``insert_returning(objs, returning=("id",), conflict=("key",))``: ``INSERT INTO t (...)
  VALUES (...), (...) [ON CONFLICT (key) DO NOTHING] RETURNING ...``; returns the inserted rows'
  ``returning`` columns as tuples (rows skipped on a conflict are absent). Django's
  ``bulk_create(ignore_conflicts=True)`` returns no ids, so the callers used to read the rows
  back with a second query.
- ``update_rows(model, names, objs)``: ``UPDATE t SET a = v.column2, ... FROM (VALUES (pk, a,
  ...), ...) AS v WHERE t.pk = v.column1``: one statement where ``bulk_update`` builds a CASE per
  row and field and ``executemany`` sends one UPDATE per row.

Values are prepared by each field (``pre_save`` for ``auto_now_add``, ``get_db_prep_save``), so
they are stored as the ORM stores them. Rows are sent in chunks when a statement would pass the
database's parameter limit (SQLite's, PostgreSQL's 65,535), one statement per chunk.
Model instances are not refreshed; the returned values come straight from the driver.
"""

from collections.abc import Sequence
from typing import Any

from django.db import connection, models

PG_MAX_PARAMS = 65_535


def _field(meta: Any, name: str) -> Any:
    """The concrete field ``name`` (a relation's reverse side has no column: an error)."""
    field = meta.get_field(name)
    if not isinstance(field, models.Field) or field.column is None:
        raise ValueError(f"{meta.label}.{name} is not a column")
    return field


def _chunks(fields: list[Any], objs: Sequence[Any]) -> list[Sequence[Any]]:
    size = connection.ops.bulk_batch_size(fields, objs) or len(objs)
    size = max(1, min(size, PG_MAX_PARAMS // max(1, len(fields))))
    return [objs[i : i + size] for i in range(0, len(objs), size)]


def insert_returning(
    objs: Sequence[models.Model], *, returning: Sequence[str] = ("id",), conflict: Sequence[str] = ()
) -> list[tuple]:
    """Insert ``objs`` (instances of one model, with an automatic primary key) in one statement
    per chunk; returns ``returning`` (field names) of each inserted row. With ``conflict`` (the
    field names of a unique constraint), rows that would break it are skipped."""
    if not objs:
        return []
    meta: Any = type(objs[0])._meta
    qn = connection.ops.quote_name
    fields = [f for f in meta.local_concrete_fields if f is not meta.pk]
    columns = ", ".join(qn(f.column) for f in fields)
    back = ", ".join(qn(_field(meta, name).column) for name in returning)
    on_conflict = ""
    if conflict:
        on_conflict = f" ON CONFLICT ({', '.join(qn(_field(meta, n).column) for n in conflict)}) DO NOTHING"
    row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
    out: list[tuple] = []
    with connection.cursor() as cursor:
        for chunk in _chunks(fields, objs):
            params = [f.get_db_prep_save(f.pre_save(o, add=True), connection) for o in chunk for f in fields]
            cursor.execute(
                f"INSERT INTO {qn(meta.db_table)} ({columns}) VALUES {', '.join([row_sql] * len(chunk))}"
                f"{on_conflict} RETURNING {back}",
                params,
            )
            out.extend(tuple(row) for row in cursor.fetchall())
    return out


def update_rows(
    model: type[models.Model], names: Sequence[str], objs: Sequence[models.Model], *, same: dict[str, Any] | None = None
) -> None:
    """Write the fields ``names`` of ``objs`` (by primary key) in one statement per chunk;
    ``same`` sets fields to one value on every row (``{"updated_at": now}``)."""
    if not objs:
        return
    meta: Any = model._meta
    qn = connection.ops.quote_name
    table = qn(meta.db_table)
    fields = [meta.pk, *(_field(meta, name) for name in names)]
    sets = [f"{qn(f.column)} = v.column{k + 1}" for k, f in enumerate(fields) if k]
    fixed = [(_field(meta, name), value) for name, value in (same or {}).items()]
    sets += [f"{qn(f.column)} = %s" for f, _ in fixed]
    fixed_params = [f.get_db_prep_save(value, connection) for f, value in fixed]
    # PostgreSQL types a VALUES column from its values; the first row's casts fix it (a column of
    # NULLs would be text otherwise). SQLite stores by the target column's affinity.
    if connection.vendor == "postgresql":
        first = "(" + ", ".join(f"%s::{f.db_type(connection)}" for f in fields) + ")"
    else:
        first = "(" + ", ".join(["%s"] * len(fields)) + ")"
    rest = "(" + ", ".join(["%s"] * len(fields)) + ")"
    with connection.cursor() as cursor:
        for chunk in _chunks(fields, objs):
            values = ", ".join([first] + [rest] * (len(chunk) - 1))
            params = [f.get_db_prep_save(getattr(o, f.attname), connection) for o in chunk for f in fields]
            cursor.execute(
                f"UPDATE {table} SET {', '.join(sets)} FROM (VALUES {values}) AS v "
                f"WHERE {table}.{qn(meta.pk.column)} = v.column1",
                fixed_params + params,
            )
