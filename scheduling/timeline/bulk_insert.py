"""Writing many new rows at once: PostgreSQL's COPY, for the schedules an import creates.

``bulk_create`` prepares every value in Python, a few microseconds each; an import of 10,000
participants writes some 540,000 rows of 15 to 25 columns, and that preparation was most of
its time. :func:`insert_new` hands the same rows to COPY, which psycopg formats in C, and
leaves the objects as ``bulk_create`` does (ids set, ``auto_now`` fields filled, saved). The
statement goes through the connection's execute wrappers and into its query log like any
other, so query counts and the SQL log still see it. For a few rows (one participant's
schedule), and on another database, it is ``bulk_create``: one statement.
"""

from __future__ import annotations

import functools
import time

from django.db import connection
from django.utils import timezone
from simple_history.utils import get_change_reason_from_object

# From how many rows COPY (two statements) beats one INSERT: a few hundred.
COPY_FROM = 200


def insert_new(model, objects: list) -> list:
    """Insert ``objects`` (new instances of ``model``) in two statements: their ids taken
    from the table's sequence, then one COPY of every row."""
    if not objects:
        return objects
    if connection.vendor != "postgresql" or len(objects) < COPY_FROM:
        return model._default_manager.bulk_create(objects)
    opts = model._meta
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [opts.db_table, opts.pk.column, len(objects)],
        )
        for instance, (pk,) in zip(objects, cursor.fetchall(), strict=True):
            setattr(instance, opts.pk.attname, pk)
        fields = opts.concrete_fields
        rows = [[field.pre_save(instance, True) for field in fields] for instance in objects]
        quote = connection.ops.quote_name
        _copy(
            cursor,
            f"COPY {quote(opts.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
            "FROM STDIN",
            rows,
        )
    for instance in objects:
        instance._state.adding = False
        instance._state.db = connection.alias
    return objects


def history_records(model, objects: list, *, default_user=None, default_change_reason=""):
    """The "created" history records of ``objects`` (django-simple-history's, as its
    ``bulk_history_create`` makes them: each object's ``_history_user`` and
    ``_change_reason`` first), not saved: :func:`insert_new` writes them."""
    history = model.history.model
    now = timezone.now()
    return [
        history(
            history_date=getattr(instance, "_history_date", now),
            history_user=getattr(
                instance,
                "_history_user",
                default_user or history.get_default_history_user(instance),
            ),
            history_change_reason=get_change_reason_from_object(instance) or default_change_reason,
            history_type="+",
            **{field.attname: getattr(instance, field.attname) for field in history.tracked_fields},
        )
        for instance in objects
    ]


def _copy(cursor, sql: str, rows: list[list]) -> None:
    def copy(sql, rows, many, context):
        with context["cursor"].cursor.copy(sql) as stream:
            for row in rows:
                stream.write_row(row)

    executor = copy
    for wrapper in reversed(connection.execute_wrappers):
        executor = functools.partial(wrapper, executor)
    connection.validate_no_broken_transaction()
    started = time.monotonic()
    with connection.wrap_database_errors:
        executor(sql, rows, False, {"connection": connection, "cursor": cursor})
    if connection.queries_logged:
        connection.queries_log.append(
            {"sql": f"{sql} ({len(rows)} rows)", "time": f"{time.monotonic() - started:.3f}"}
        )
