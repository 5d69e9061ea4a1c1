"""Import N participants through ``manage.py import_participants`` (schedules, appointments on
the clinic calendar, reminders and history, one transaction) against the floor: the same rows
written by one raw multi-row INSERT per table, in one transaction.

The baseline's rows are what the product wrote for a ten-row import of the same file, copied
N/10 times (``_data.copies``); the product's rows per participant are counted after each run,
so that the two are seen to write the same. Between runs every table the import writes is
truncated. Two sites: Oceanside (America/Los_Angeles, California's holidays, Mon–Fri) and
Berlin (Europe/Berlin, Berlin's holidays, Mon–Fri); consent dates 1 to 10 days ago, so that
each participant has 14 visits and 26 reminders.
"""

from __future__ import annotations

import datetime
import pickle
import time

import _data
from _measure import SCRATCH, Statements, quiet_django

SAMPLE = 10  # participants in the product's own import that the baseline copies
SAMPLE_FILE = SCRATCH / "import_sample.pickle"
LANGUAGES = ["", "", "de", "", "es", "", "fr", "", "", ""]
BY = "bench"  # the staff user the import is made by (--by): created with the sites


def _sites():
    from django.contrib.auth import get_user_model

    from participants.models import Site

    # A superuser: a command does only what its --by user may do (issue 21), everywhere here.
    get_user_model().objects.update_or_create(
        username=BY, defaults={"is_staff": True, "is_superuser": True}
    )
    Site.objects.get_or_create(
        code="OCN",
        defaults={
            "name": "Oceanside",
            "timezone": "America/Los_Angeles",
            "coordinator_email": "coordinator-ocn@example.org",
            "open_days": "12345",
            "holiday_country": "US",
            "holiday_subdivision": "CA",
        },
    )
    Site.objects.get_or_create(
        code="BER",
        defaults={
            "name": "Berlin",
            "timezone": "Europe/Berlin",
            "coordinator_email": "coordinator-ber@example.org",
            "open_days": "12345",
            "holiday_country": "DE",
            "holiday_subdivision": "BE",
            "language": "de",
        },
    )
    return {site.code: site for site in Site.objects.all()}


def write_csv(size: int) -> str:
    """The import file: rows repeat with a period of ten (site, consent date, language)."""
    sites = _sites()
    path = SCRATCH / f"participants-{size}.csv"
    lines = ["subject_id,site_code,email,consent_date,language"]
    for number in range(size):
        site = sites["OCN" if number % 2 == 0 else "BER"]
        consent = site.today() - datetime.timedelta(days=1 + number % SAMPLE)
        lines.append(
            f"BENCH-{number:05d},{site.code},bench-{number}@example.org,"
            f"{consent.isoformat()},{LANGUAGES[number % SAMPLE]}"
        )
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def _import(path: str) -> None:
    import io

    from django.core.management import call_command

    call_command("import_participants", path, protocol="SLE-001", by=BY, stdout=io.StringIO())


def prepare():
    """Once per database: the sites, then a ten-row import by the product, kept as the
    baseline's sample, then emptied again."""
    _data.setup_django()
    quiet_django()
    from django.db import connection

    SCRATCH.mkdir(parents=True, exist_ok=True)
    path = write_csv(SAMPLE)
    with connection.cursor() as cursor:
        before = _data.snapshot(cursor)
    _import(path)
    with connection.cursor() as cursor:
        sample = _data.capture(cursor, before)
        _data.truncate(cursor, list(sample.rows))
    SAMPLE_FILE.write_bytes(pickle.dumps(sample))

    def describe():
        return {t: len(rows) / SAMPLE for t, rows in sample.rows.items()}

    return describe


def _row_counts(cursor, tables) -> dict[str, int]:
    counts = {}
    for table in tables:
        cursor.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608
        counts[table] = cursor.fetchone()[0]
    return counts


def product(size: int, profile: str = ""):
    """A session that imports ``size`` participants through the command, once."""
    _data.setup_django()
    quiet_django()
    from django.db import connection

    sample = pickle.loads(SAMPLE_FILE.read_bytes())  # noqa: S301 (this run's own file)
    path = write_csv(size)
    with connection.cursor() as cursor:
        _data.truncate(cursor, list(sample.rows))

    def run():
        statements = Statements()
        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        began = time.perf_counter()
        with connection.execute_wrapper(statements):
            _import(path)
        seconds = time.perf_counter() - began
        if profiler:
            profiler.disable()
            profiler.dump_stats(profile)
        with connection.cursor() as cursor:
            rows = _row_counts(cursor, list(sample.rows))
        return {"seconds": seconds, "statements": statements.count, "rows": rows}

    return run


def baseline(size: int, method: str = "insert"):
    """A session that writes the same rows as a ``size``-row import with one multi-row INSERT
    (``method="insert"``) or one COPY (``"copy"``) per table, in one transaction, once."""
    import psycopg

    _data.setup_django()
    from django.conf import settings

    sample = pickle.loads(SAMPLE_FILE.read_bytes())  # noqa: S301 (this run's own file)
    rows = _data.copies(sample, range(size // SAMPLE))
    began = time.perf_counter()
    statements = _data.insert_statements(sample.columns, rows) if method == "insert" else []
    build_seconds = time.perf_counter() - began
    db = settings.DATABASES["default"]
    connection = psycopg.connect(
        dbname=db["NAME"],
        user=db["USER"],
        password=db["PASSWORD"],
        host=db["HOST"],
        port=db["PORT"] or 5432,
    )
    with connection.cursor() as cursor:
        _data.truncate(cursor, list(sample.rows))
    connection.commit()

    def run():
        began = time.perf_counter()
        with connection.cursor() as cursor:
            if method == "insert":
                for statement in statements:
                    cursor.execute(statement)
            else:
                _data.copy_rows(cursor, sample.columns, rows)
        connection.commit()
        seconds = time.perf_counter() - began
        with connection.cursor() as cursor:
            counts = _row_counts(cursor, list(sample.rows))
            _data.truncate(cursor, list(sample.rows))
        connection.commit()
        return {
            "seconds": seconds,
            "statements": len(statements) or len(rows),
            "rows": counts,
            "build_seconds": build_seconds,
        }

    return run
