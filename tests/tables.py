"""What tables hold, compared without fetching their rows: a digest per table."""

from django.db import connection

# PostgreSQL's text of each whole row, sorted: the same rows in any order give the same MD5,
# and a change to any column of any row gives another.
DIGEST = "md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), ''))"


def table_digests(tables) -> dict[str, tuple[int, str]]:
    """table → (number of rows, MD5 of its rows' text), for every table named, in one
    statement worked out by PostgreSQL (fetching the rows and comparing them here took tens
    of milliseconds a dump; the tests that use this dump hundreds of times)."""
    tables = sorted(tables)
    selects = [f'SELECT %s, count(*), {DIGEST} FROM "{table}" t' for table in tables]  # noqa: S608 (names from the catalogue)
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(selects), tables)
        return {table: (rows, md5) for table, rows, md5 in cursor.fetchall()}
