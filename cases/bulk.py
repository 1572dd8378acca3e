"""Set-based reads and writes for the sweep's batches: one statement per batch, no model
instance and no CASE WHEN built in Python per row.

On PostgreSQL the rows travel as one array per column and are unpacked by `unnest`, and
a batch's keys are matched with `= ANY(array)` (the `in_batch` lookup); on SQLite (the
demo) the ORM's bulk methods and IN do the same work more slowly.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from django.db import connection, models
from django.db.models.lookups import In, Lookup

# The array type of each kind of column, for the casts `unnest` needs.
_ARRAY_TYPES = {
    "AutoField": "integer[]", "BigAutoField": "bigint[]", "IntegerField": "integer[]",
    "BigIntegerField": "bigint[]", "PositiveIntegerField": "integer[]",
    "PositiveSmallIntegerField": "smallint[]", "SmallIntegerField": "smallint[]",
    "ForeignKey": "integer[]", "CharField": "text[]", "TextField": "text[]",
    "DateTimeField": "timestamptz[]", "BooleanField": "boolean[]", "JSONField": "jsonb[]",
}


def _column(model: type[models.Model], name: str) -> tuple[str, str]:
    field = model._meta.get_field(name)
    kind = field.get_internal_type()
    if kind in ("ForeignKey", "OneToOneField"):
        kind = field.target_field.get_internal_type()
    return field.column, _ARRAY_TYPES[kind]


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _array(model: type[models.Model], name: str, values: Sequence) -> str:
    """One column's values as one PostgreSQL array literal (`{1,NULL,3}`), sent as a single
    string: psycopg2 would otherwise write an ARRAY[…] of one quoted, cast constant per
    value, slower to build here than the rows themselves, and to parse there. Texts and
    JSON are quoted and escaped; a NULL is an unquoted NULL (the text "NULL" is quoted)."""
    field, kind = model._meta.get_field(name), _column(model, name)[1]
    if isinstance(field, models.JSONField):
        encode = (field.encoder or json.JSONEncoder)().encode  # json.dumps(value, cls=…)
        items = ["NULL" if value is None else _quoted(encode(value)) for value in values]
    elif kind == "text[]":
        items = ["NULL" if value is None else _quoted(str(value)) for value in values]
    elif kind == "timestamptz[]":
        items = ["NULL" if value is None else value.isoformat() for value in values]
    elif kind == "boolean[]":
        items = ["NULL" if value is None else ("t" if value else "f") for value in values]
    else:  # integers
        items = ["NULL" if value is None else str(int(value)) for value in values]
    return "{" + ",".join(items) + "}"


def _attname(model: type[models.Model], name: str) -> str:
    return model._meta.get_field(name).attname  # "case" -> "case_id": values are keys


def update_rows(model: type[models.Model], key: str, fields: Sequence[str],
                rows: Sequence[Sequence]) -> int:
    """UPDATE the rows whose `key` is each row's first value, setting `fields` to the rest:
    `update_rows(CaseSchedule, "case", ["escalation_step", "next_action_at"],
    [(1, "warning", t)])`."""
    if not rows:
        return 0
    if connection.vendor != "postgresql":
        names = [_attname(model, name) for name in (key, *fields)]
        objects = [model(**dict(zip(names, row))) for row in rows]
        return model.objects.bulk_update(objects, list(fields), batch_size=500)
    names = [key, *fields]
    columns = [_column(model, name) for name in names]
    table = connection.ops.quote_name(model._meta.db_table)
    unpack = ", ".join(f"%s::{kind}" for _column_name, kind in columns)
    aliases = ", ".join(connection.ops.quote_name(f"v_{name}") for name in names)
    assignments = ", ".join(
        f"{connection.ops.quote_name(column)} = v.{connection.ops.quote_name(f'v_{name}')}"
        for (column, _kind), name in zip(columns[1:], fields))
    key_column = connection.ops.quote_name(columns[0][0])
    sql = (f"UPDATE {table} SET {assignments} FROM unnest({unpack}) AS v({aliases}) "
           f"WHERE {table}.{key_column} = v.{connection.ops.quote_name(f'v_{key}')}")
    with connection.cursor() as cursor:
        cursor.execute(sql, [_array(model, name, values)
                             for name, values in zip(names, zip(*rows))])
        return cursor.rowcount


def insert_rows(model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence],
                *, ignore_conflicts: bool = False) -> int:
    """INSERT one row per tuple of `fields` values, in one statement; the rows take their
    keys in the order given (a case's chained events keep their order)."""
    if not rows:
        return 0
    if connection.vendor != "postgresql":
        names = [_attname(model, name) for name in fields]
        model.objects.bulk_create([model(**dict(zip(names, row))) for row in rows],
                                  ignore_conflicts=ignore_conflicts, batch_size=500)
        return len(rows)
    columns = [_column(model, name) for name in fields]
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(column) for column, _kind in columns)
    unpack = ", ".join(f"%s::{kind}" for _column_name, kind in columns)
    aliases = [f"v{index}" for index in range(len(columns))]
    conflict = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({names}) SELECT {', '.join(aliases)} FROM unnest({unpack}) "
            f"WITH ORDINALITY AS v({', '.join(aliases)}, n) ORDER BY n{conflict}",
            [_array(model, name, values) for name, values in zip(fields, zip(*rows))])
        return cursor.rowcount


class InBatch(Lookup):
    """`filter(case_id__in_batch=ids)`: IN for a batch's integer keys. On PostgreSQL the
    keys go as one array literal, `= ANY('{1,2,…}'::bigint[])`: IN (%s, %s, …) of a
    thousand keys costs a parameter each to write here and a constant each to parse
    there, ten times the lookup itself."""

    lookup_name = "in_batch"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        if connection.vendor != "postgresql":
            return In(self.lhs, list(self.rhs)).as_sql(compiler, connection)
        lhs, params = self.process_lhs(compiler, connection)
        kind = self.lhs.output_field.db_type(connection)
        keys = "{" + ",".join(str(int(key)) for key in self.rhs) + "}"
        return f"{lhs} = ANY(%s::{kind}[])", [*params, keys]


# Keys and foreign keys alike (a relation's lookups are its own, not Field's).
models.Field.register_lookup(InBatch)
models.ForeignObject.register_lookup(InBatch)
