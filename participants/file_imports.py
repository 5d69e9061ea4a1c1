"""A CSV file imported from the command line all or nothing, a chunk of rows at a time so that
memory stays flat whatever the file's size (:func:`import_all_or_nothing`).

Every row of the file is checked first, writing nothing, by the import service's own first pass
(``imports``): nothing is saved if any row is wrong, and the refusal lists the first
:data:`ERRORS_LISTED` errors by line, then a count. A value the file must not repeat (a subject
id, a site code) is found repeated across chunks: what earlier chunks named is kept in a
temporary table, not in memory. Then every chunk is saved in one transaction. Also here: the
rows' helpers the import commands share (the sites a file names, rows whose time zone cannot
be judged).
"""

import zoneinfo
from collections.abc import Callable, Iterable
from typing import TypeVar

from django.db import reset_queries, transaction

from .cli import InputError
from .csv_input import CsvFile
from .imports import ImportRejected, RowError
from .models import Site

T = TypeVar("T")


# A file is refused with its first errors listed, then a count of the others.
ERRORS_LISTED = 100


def rows_sites(rows: list, column: str) -> list[Site]:
    """The stored sites the rows name in ``column`` (a code holding a NUL byte names none)."""
    codes = {values.get(column, "") for _, values in rows} - {""}
    return list(Site.objects.filter(code__in=[c for c in codes if "\x00" not in c]))


class _Errors:
    """A file's errors: the first ``ERRORS_LISTED`` by line, and how many there are in all."""

    def __init__(self):
        self.listed: list[RowError] = []
        self.count = 0

    def add(self, errors: Iterable[RowError]) -> None:
        for error in sorted(errors, key=lambda error: error.line):
            self.count += 1
            if len(self.listed) < ERRORS_LISTED:
                self.listed.append(error)

    def refusal(self, path: str) -> "InputError":
        lines = [f"{path}:{e.line}: {e.field}: {e.message}" for e in self.listed]
        if self.count > len(self.listed):
            lines.append(
                f"{path}: {self.count - len(self.listed):,} more error(s) not listed "
                f"({self.count:,} in all); nothing was saved."
            )
        return InputError(lines)


def _forget_queries() -> None:
    """With DEBUG on, Django keeps the last 9,000 queries' SQL, and a chunk's hold its ids: a
    long import would grow to hold them. Forgotten after each chunk, unless a test is counting
    them (``force_debug_cursor``)."""
    from django.db import connection

    if not connection.force_debug_cursor:
        reset_queries()


class _SeenInDatabase:
    """What earlier chunks of a file named (a subject id, a site code → the line it was first
    on), for the import's check of repeats: kept in a temporary table of this connection, so
    that only the chunk at hand's keys are in memory whatever the file's size. The import
    service reads and writes it as a dict (``key in seen``, ``seen[key]``, ``seen[key] =
    line``); :meth:`load` fetches the chunk's keys first, :meth:`flush` stores what it added."""

    def __init__(self):
        from django.db import connection

        self.connection = connection
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMPORARY TABLE IF NOT EXISTS import_seen_keys "
                "(key text PRIMARY KEY, line integer NOT NULL)"
            )
            cursor.execute("TRUNCATE import_seen_keys")
        self.window: dict[str, int] = {}
        self.pending: dict[str, int] = {}

    def load(self, keys: Iterable[str]) -> None:
        keys = [key for key in set(keys) if key and "\x00" not in key]
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT key, line FROM import_seen_keys WHERE key = ANY(%s)", [keys])
            self.window = dict(cursor.fetchall())
        self.pending = {}

    def flush(self) -> None:
        if self.pending:
            with self.connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO import_seen_keys (key, line) "
                    "SELECT * FROM unnest(%s::text[], %s::integer[]) ON CONFLICT DO NOTHING",
                    [list(self.pending), list(self.pending.values())],
                )
        self.window, self.pending = {}, {}

    def close(self) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS pg_temp.import_seen_keys")

    def __contains__(self, key) -> bool:
        return key in self.window or key in self.pending

    def __getitem__(self, key) -> int:
        return self.window[key] if key in self.window else self.pending[key]

    def __setitem__(self, key, line: int) -> None:
        self.pending[key] = line


def import_all_or_nothing(
    table: CsvFile,
    save: Callable[[list, dict], T],
    check: Callable[[list, dict], list[RowError]],
    add: Callable[[T, T], T],
    key: str,
    rows_filter: Callable[[list], tuple[list, list[RowError]]] | None = None,
) -> T:
    """A file imported all or nothing, a chunk of rows at a time so that memory stays flat.

    First every row is read and checked, writing nothing: ``check(rows, seen)`` (the import
    service's own first pass, not a copy of its rules) for each chunk, ``seen`` carrying what
    earlier chunks named (a subject id on line 12 and again on line 50,012). Errors are kept
    bounded: the first ``ERRORS_LISTED`` are listed, then a count. If there is any, nothing is
    saved. Then, in one transaction, ``save(rows, seen)`` for each chunk (the service checks
    again, the data as it now stands); the results of the chunks are combined with ``add``.
    ``key`` is the column whose repeats the service refuses (``seen`` keeps it in the
    database). ``rows_filter`` moves rows its command cannot hand to the service to errors."""
    errors = _Errors()
    seen = _SeenInDatabase()
    try:
        for rows, read_errors in table.chunks():
            chunk_errors = list(read_errors)
            if rows_filter is not None:
                rows, filtered = rows_filter(rows)
                chunk_errors.extend(filtered)
            seen.load(values.get(key, "") for _, values in rows)
            chunk_errors.extend(check(rows, seen))
            seen.flush()
            errors.add(chunk_errors)  # in line order: the chunks follow each other
            _forget_queries()
    finally:
        seen.close()
    if errors.count:
        raise errors.refusal(table.path)
    result = None
    try:
        with transaction.atomic():
            seen = _SeenInDatabase()
            for rows, _ in table.chunks():
                if rows_filter is not None:
                    rows, _ = rows_filter(rows)
                seen.load(values.get(key, "") for _, values in rows)
                part = save(rows, seen)
                seen.flush()
                result = part if result is None else add(result, part)
                _forget_queries()
            seen.close()
    except ImportRejected as rejected:  # the data changed between the check and the save
        errors.add(rejected.errors)
        raise errors.refusal(table.path) from None
    return result


def without_unreadable_time_zones(rows: list) -> tuple[list, list[RowError]]:
    """``rows`` without those whose time zone the site's own validator cannot judge, and an
    error for each: a name too long for a file name, or one naming a folder of the time-zone
    database (``Europe``), makes ``zoneinfo`` raise OSError, which ``validate_time_zone`` lets
    through as a traceback. The other rows still go to the import, so that every problem of
    the file is reported together. (Until the validator catches OSError too.)"""
    kept, errors = [], []
    for line, values in rows:
        value = (values.get("timezone") or "").strip()
        try:
            zoneinfo.ZoneInfo(value)
        except OSError:
            message = f"“{value}” is not an IANA time zone such as Europe/Berlin."
            errors.append(RowError(line, "timezone", message))
            continue
        except (ValueError, zoneinfo.ZoneInfoNotFoundError):
            pass  # the validator's to name
        kept.append((line, values))
    return kept, errors
