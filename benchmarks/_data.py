"""Databases and rows for the benchmarks: each workload gets its own database, copied from a
migrated template, and its bulk data is *what the product wrote for a few participants*,
copied many times.

``capture`` reads the rows a product action added (every table, by primary key above a
snapshot); ``copies`` scales them: copy ``c`` of a row has every id (its primary key, its
foreign keys into the captured tables, a history row's ``id``) moved by ``c`` times the span
of that table's captured ids, and the text columns that must stay unique suffixed. ``load``
writes them with one COPY or one multi-row INSERT per table. The same rows are both the import
benchmark's baseline and the bulk data of the other workloads.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
# The SQL built here names tables and columns read from the models, never anything typed in:
# ruff's S608 is answered line by line.

# Text columns that are unique (alone or with a copied id that does not change): suffixed.
UNIQUE_TEXT = {
    "participants_participant": ("subject_id",),
    "participants_historicalparticipant": ("subject_id",),
    "participants_site": ("code",),
    "participants_historicalsite": ("code",),
}


def database_url(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def server_connection(url: str):
    """An autocommit connection to the server's ``postgres`` database (to create and drop)."""
    import psycopg

    return psycopg.connect(database_url(url, "postgres"), autocommit=True)


def drop_database(url: str, name: str) -> None:
    with server_connection(url) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def create_database(url: str, name: str, template: str | None = None) -> str:
    """A fresh database ``name`` (dropped first if left over), from ``template`` if given."""
    with server_connection(url) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        suffix = f' TEMPLATE "{template}"' if template else ""
        connection.execute(f'CREATE DATABASE "{name}"{suffix}')
    return database_url(url, name)


def setup_django() -> None:
    """Django for a benchmark process, on the settings of ``manage.py`` (DATABASE_URL…)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trialsite.settings")
    import django

    django.setup()


# The rows of a product action.


def _tables(cursor) -> dict[str, list[str]]:
    cursor.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'public' ORDER BY table_name, ordinal_position"
    )
    columns: dict[str, list[str]] = {}
    for table, column in cursor.fetchall():
        columns.setdefault(table, []).append(column)
    return columns


def _models_by_table() -> dict:
    from django.apps import apps

    return {m._meta.db_table: m for m in apps.get_models(include_auto_created=True)}


def snapshot(cursor) -> dict[str, int]:
    """The highest primary key of every table with an integer one."""
    highest = {}
    for table, model in _models_by_table().items():
        pk = model._meta.pk
        if pk.get_internal_type() not in ("AutoField", "BigAutoField", "SmallAutoField"):
            continue
        cursor.execute(f'SELECT coalesce(max("{pk.column}"), 0) FROM "{table}"')  # noqa: S608
        highest[table] = cursor.fetchone()[0]
    return highest


@dataclass
class Sample:
    """Rows added since a snapshot, per table, in COPY text format (fields split on tabs)."""

    columns: dict[str, list[str]]
    rows: dict[str, list[list[str]]]
    first_id: dict[str, int] = field(default_factory=dict)
    span: dict[str, int] = field(default_factory=dict)
    targets: dict[str, dict[int, str]] = field(default_factory=dict)  # column index → table

    def moved(self, table: str) -> dict[int, str]:
        """The id columns of ``table`` that copies move: those into tables of the sample."""
        return {i: t for i, t in self.targets[table].items() if t in self.rows}

    def only(self, tables) -> Sample:
        """The sample restricted to ``tables`` (ids into the others stay as they are)."""
        keep = [t for t in self.rows if t in set(tables)]
        return Sample(
            columns={t: self.columns[t] for t in keep},
            rows={t: self.rows[t] for t in keep},
            first_id={t: self.first_id[t] for t in keep},
            span={t: self.span[t] for t in keep},
            targets={t: self.targets[t] for t in keep},
        )

    def count(self) -> int:
        return sum(len(rows) for rows in self.rows.values())

    def drop(self, table: str, keep) -> None:
        """Keep only the rows of ``table`` for which ``keep(dict of column → text)`` holds."""
        names = self.columns[table]
        self.rows[table] = [r for r in self.rows[table] if keep(dict(zip(names, r, strict=True)))]


def capture(cursor, before: dict[str, int]) -> Sample:
    """Every row added since ``before`` (a ``snapshot``), ready to be copied."""
    models = _models_by_table()
    all_columns = _tables(cursor)
    sample = Sample(columns={}, rows={})
    for table, highest in before.items():
        pk = models[table]._meta.pk.column
        query = f'SELECT count(*) FROM "{table}" WHERE "{pk}" > %s'  # noqa: S608
        cursor.execute(query, [highest])
        if not cursor.fetchone()[0]:
            continue
        columns = all_columns[table]
        query = f'COPY (SELECT * FROM "{table}" WHERE "{pk}" > {int(highest)}) TO STDOUT'  # noqa: S608
        with cursor.copy(query) as copy:
            text = b"".join(bytes(chunk) for chunk in copy).decode()
        rows = [line.split("\t") for line in text.splitlines()]
        sample.columns[table] = columns
        sample.rows[table] = rows
        ids = [int(row[columns.index(pk)]) for row in rows]
        sample.first_id[table] = min(ids)
        sample.span[table] = max(ids) - min(ids) + 1
    for table in sample.rows:
        model = models[table]
        targets = {}
        for model_field in model._meta.concrete_fields:
            target = None
            if model_field.primary_key:
                target = table
            elif model_field.is_relation and model_field.related_model is not None:
                target = model_field.related_model._meta.db_table
            elif model_field.column == "id" and hasattr(model, "instance_type"):
                target = model.instance_type._meta.db_table  # a history row's object id
            if target is not None:
                targets[sample.columns[table].index(model_field.column)] = target
        sample.targets[table] = targets
    return sample


def copies(sample: Sample, numbers, tag: str = "") -> dict[str, list[list[str]]]:
    """The sample's rows once per copy number in ``numbers`` (copy 0 is the sample itself);
    unique text gets ``-{tag}{number}`` (a copy of copies needs another ``tag``)."""
    out: dict[str, list[list[str]]] = {}
    for table, rows in sample.rows.items():
        moved = sample.moved(table)
        unique = [sample.columns[table].index(c) for c in UNIQUE_TEXT.get(table, ())]
        result = []
        for number in numbers:
            offsets = {index: number * sample.span[target] for index, target in moved.items()}
            floors = {index: sample.first_id[target] for index, target in moved.items()}
            suffix = f"-{tag}{number}" if number else ""
            for row in rows:
                row = list(row)
                for index, offset in offsets.items():
                    value = row[index]
                    if value != r"\N" and int(value) >= floors[index]:
                        row[index] = str(int(value) + offset)
                for index in unique:
                    row[index] += suffix
                result.append(row)
        out[table] = result
    return out


def _literal(value: str) -> str:
    if value == r"\N":
        return "NULL"
    # COPY's text escapes (\\, \t, \n, \r) read the same in an E'' literal.
    return "E'" + value.replace("'", "''") + "'"


def insert_statements(columns: dict[str, list[str]], rows: dict[str, list[list[str]]]):
    """One multi-row INSERT per table, as SQL text (values inlined: no parameter limit)."""
    statements = []
    for table, table_rows in rows.items():
        if not table_rows:
            continue
        names = ", ".join(f'"{c}"' for c in columns[table])
        values = ",\n".join("(" + ",".join(map(_literal, row)) + ")" for row in table_rows)
        statements.append(f'INSERT INTO "{table}" ({names}) VALUES\n{values}')
    return statements


def copy_rows(cursor, columns, rows) -> None:
    """One COPY per table."""
    for table, table_rows in rows.items():
        if not table_rows:
            continue
        names = ", ".join(f'"{c}"' for c in columns[table])
        with cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
            copy.write("".join("\t".join(row) + "\n" for row in table_rows))


def reset_sequences(cursor, tables) -> None:
    """After rows were written with their ids: new rows continue after the highest."""
    models = _models_by_table()
    for table in tables:
        pk = models[table]._meta.pk.column
        highest = f'coalesce((SELECT max("{pk}") FROM "{table}"), 0) + 1'  # noqa: S608
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('\"{table}\"', '{pk}'), {highest}, false)"
        )


def truncate(cursor, tables) -> None:
    names = ", ".join(f'"{t}"' for t in tables)
    cursor.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
