"""The demo's rows, written once by ``load_demo_data`` and copied back for every later test.

``load_demo_data`` is real service work (27 participants played through their stories: about
4,800 queries and 4 to 8 s on the test machine), and some 70 tests of the REST API, the
calendar feeds and the SDTM and FHIR exports start from the demo: some 8 minutes of the
suite for the same rows again and again. Here the first of those tests loads the demo as
`make demo` loads it; what that changed, table by table (rows added, rows changed), is kept in
memory; every later test puts exactly those rows back with PostgreSQL's COPY, inside its own
transaction, and moves the tables' id sequences past them. The rows are the loader's rows,
byte for byte (tests/test_demo.py::test_the_demo_snapshot_puts_back_what_the_demo_wrote holds
the copy to that).

A copy is only reused where it would be what a real load writes: for the same state of the
database before the load (the tables' row counts and highest keys: a transactional test that
flushed the database and loaded SLE-001 again gives new ids, and a new copy) and within the
same quarter of an hour (the demo's dates are relative to each site's today, and every time
zone's day starts on a quarter hour).
"""

import dataclasses

from django.db import connection
from django.utils import timezone
from psycopg.sql import SQL, Identifier, Literal

from tests.passwords import reused_password_hashes

PASSWORD = "demo-password"


@dataclasses.dataclass(frozen=True)
class Table:
    name: str
    key: str  # the primary key's column
    key_index: int  # its place in a row of COPY's text format
    sequence: str | None  # the key's sequence, for serial and identity keys


@dataclasses.dataclass
class Snapshot:
    result: dict  # what load_demo_data returned
    removed: dict[str, list[str]]  # table → keys of rows the load changed or deleted
    added: dict[str, bytes]  # table → rows the load added or changed (COPY text format)
    tables: dict[str, Table]  # the catalogue as it was (the same for the same fingerprint)

    def replay(self) -> dict:
        """Put the load's rows back in the current transaction, as the load left them."""
        tables = self.tables
        cursor = connection.connection.cursor()  # psycopg's own: COPY, and sql.Identifier
        for name, keys in self.removed.items():
            statement = SQL("DELETE FROM {} WHERE {}::text = ANY(%s)")
            cursor.execute(statement.format(Identifier(name), Identifier(tables[name].key)), [keys])
        for name, rows in self.added.items():
            with cursor.copy(SQL("COPY {} FROM STDIN").format(Identifier(name))) as copy:
                copy.write(rows)
        for name in self.added:
            table = tables[name]
            if table.sequence:
                statement = SQL(
                    "SELECT setval(%s, GREATEST((SELECT max({}) FROM {}),"
                    " pg_sequence_last_value(%s::regclass)))"
                )
                cursor.execute(
                    statement.format(Identifier(table.key), Identifier(name)),
                    [table.sequence, table.sequence],
                )
        # The foreign keys are deferred to the commit, which a test never reaches: checked here,
        # so that a copy that breaks one fails where it is made.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        return dict(self.result)


_SNAPSHOTS: dict[tuple, Snapshot] = {}


def demo_data() -> dict:
    """The demo's rows in the current test's transaction: loaded by ``load_demo_data`` the
    first time for this state of the database and quarter hour, copied back after that."""
    key = (_quarter_hour(), _fingerprint())
    snapshot = _SNAPSHOTS.get(key)
    if snapshot is not None:
        return snapshot.replay()
    snapshot = capture()
    _SNAPSHOTS.clear()
    _SNAPSHOTS[key] = snapshot
    return dict(snapshot.result)


def capture() -> Snapshot:
    """Load the demo (as `make demo` does, its users' password hashed once a session) and
    keep what the load changed."""
    from scheduling.demo import load_demo_data

    tables = _tables()
    before = {table.name: dump(table.name) for table in tables}
    with reused_password_hashes():
        result = load_demo_data(PASSWORD)
    removed, added = {}, {}
    for table in tables:
        old, new = before[table.name], dump(table.name)
        if old == new:
            continue
        old_rows, new_rows = set(old), set(new)
        gone = old_rows - new_rows
        if gone:
            removed[table.name] = [line.split("\t")[table.key_index] for line in gone]
        fresh = [line for line in new if line not in old_rows]
        if fresh:
            added[table.name] = "".join(line + "\n" for line in fresh).encode()
    return Snapshot(
        result=result,
        removed=removed,
        added=added,
        tables={table.name: table for table in tables},
    )


def dump(table: str) -> list[str]:
    """The table's rows in COPY's text format, one string a row, sorted (a history table's
    first column is the recorded row's id, shared by its records: no order of its own)."""
    raw = connection.connection.cursor()
    buffer = bytearray()
    statement = SQL("COPY {} TO STDOUT").format(Identifier(table))
    with raw.copy(statement) as copy:
        for chunk in copy:
            buffer += chunk
    return sorted(buffer.decode().splitlines())


def _quarter_hour():
    now = timezone.now()
    return now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)


def _tables() -> list[Table]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, a.attname,
                   (SELECT count(*) FROM pg_attribute b
                     WHERE b.attrelid = c.oid AND b.attnum > 0 AND NOT b.attisdropped
                       AND b.attnum < a.attnum),
                   pg_get_serial_sequence(quote_ident(c.relname), a.attname)
              FROM pg_class c
              JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
              JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
             WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'
               AND i.indnatts = 1
             ORDER BY c.relname
            """
        )
        tables = [Table(*row) for row in cursor.fetchall()]
        cursor.execute(
            "SELECT count(*) FROM pg_class WHERE relnamespace = current_schema()::regnamespace"
            " AND relkind = 'r'"
        )
        (count,) = cursor.fetchone()
    assert count == len(tables), "every table has a one-column primary key, which the copy needs"
    return tables


def _fingerprint() -> tuple:
    """Every table's row count and highest key: the state the load would start from."""
    tables = _tables()
    query = SQL(" UNION ALL ").join(
        SQL("SELECT {}, count(*), max({}::text) FROM {}").format(
            Literal(index), Identifier(table.key), Identifier(table.name)
        )
        for index, table in enumerate(tables)
    )
    cursor = connection.connection.cursor()
    cursor.execute(query)
    return tuple(sorted(cursor.fetchall()))
