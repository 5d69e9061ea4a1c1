"""Dispatch N due reminders to a real SMTP server on loopback (``smtp_sink``), by 1, 2 and 4
dispatcher processes running ``dispatch_due`` (what beat's task and ``send_due_reminders``
run) at once, against the floor: the same messages (the bytes the product sent, kept by the
server) sent by plain ``smtplib`` over one connection.

The rows: ten participants created through the product at a site open every day, in a time
zone where it is now daytime (a reminder goes out between 08:00 and 21:00 at its site, so a
Berlin site sent nothing to a run in Berlin's night), consented 32 days ago (their
leukapheresis is in three days, so the 7-day reminder is due now and nothing else is), then
copied N/10 times with their whole schedules (``_data.copies``).
Between runs the due reminders are put back to pending. Every run checks that the server got
each Message-ID once and N in all: exactly once holds under the load.

``memory`` (peak memory) uses the same set-up with only what a dispatch reads: participants,
the due visits and their reminders.
"""

from __future__ import annotations

import datetime
import os
import pickle
import resource
import time

import _data
from _measure import SCRATCH, Statements, quiet_django

SAMPLE = 10
# The dispatch site's time zone: the first of these where it is now between 09:00 and 18:00, so
# that the whole run (at most 17 minutes) falls inside the allowed span of its day.
DAYTIME_ZONES = (
    "Europe/Berlin",
    "Europe/London",
    "America/Sao_Paulo",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "Pacific/Honolulu",
    "Pacific/Auckland",
    "Australia/Sydney",
    "Asia/Tokyo",
    "Asia/Bangkok",
    "Asia/Kolkata",
    "Asia/Dubai",
    "Europe/Athens",
)
IDS_FILE = SCRATCH / "due_reminders.pickle"
MESSAGES_FILE = SCRATCH / "messages.pickle"


def daytime_zone(now: datetime.datetime) -> str:
    """The first of :data:`DAYTIME_ZONES` where ``now`` is between 09:00 and 18:00."""
    import zoneinfo

    for name in DAYTIME_ZONES:
        if 9 <= now.astimezone(zoneinfo.ZoneInfo(name)).hour < 18:
            return name
    raise AssertionError(f"no daytime zone at {now.isoformat()}")


def prepare(due: int, lean: bool = False):
    """Store ``due`` due reminders (rounded down to tens) and what goes with them."""
    _data.setup_django()
    quiet_django()
    from django.db import connection
    from django.utils import timezone

    from participants.lifecycle import create_participant
    from participants.models import Protocol, Site
    from scheduling.models import Audience, Reminder, ReminderRule

    SCRATCH.mkdir(parents=True, exist_ok=True)
    protocol = Protocol.objects.get(code="SLE-001")
    ReminderRule.objects.filter(audience=Audience.COORDINATOR_DIGEST).update(active=False)
    site = Site.objects.create(
        code="DSP",
        name="Dispatch site",
        timezone=daytime_zone(timezone.now()),
        coordinator_email="coordinator-dsp@example.org",
        open_days="1234567",
    )
    with connection.cursor() as cursor:
        before = _data.snapshot(cursor)
    for number in range(SAMPLE):
        create_participant(
            protocol=protocol,
            site=site,
            subject_id=f"DSP-{number:05d}",
            email=f"dsp-{number}@example.org",
            consent_date=site.today() - datetime.timedelta(days=32),
            via="benchmark",
        )
    now = timezone.now()
    due_now = Reminder.objects.filter(due_at__lte=now)
    due_reminders = {str(pk) for pk in due_now.values_list("id", flat=True)}
    due_visits = {str(pk) for pk in due_now.values_list("visit_id", flat=True)}
    assert len(due_reminders) == SAMPLE, len(due_reminders)
    with connection.cursor() as cursor:
        sample = _data.capture(cursor, before)
    if lean:
        for table in list(sample.rows):
            if table.startswith(("participants_historical", "scheduling_historical")):
                del sample.rows[table]
        sample.drop("scheduling_visit", lambda row: row["id"] in due_visits)
        sample.drop("scheduling_reminder", lambda row: row["id"] in due_reminders)
        # The sample's own rows are replaced by their lean copies.
        with connection.cursor() as cursor:
            _data.truncate(cursor, ["participants_participant"])
        numbers = range(due // SAMPLE)
    else:
        numbers = range(1, due // SAMPLE)
    began = time.perf_counter()
    with connection.cursor() as cursor:
        _data.copy_rows(cursor, sample.columns, _data.copies(sample, numbers))
        _data.reset_sequences(cursor, list(sample.rows))
        cursor.execute("VACUUM ANALYZE")
    ids = list(Reminder.objects.filter(due_at__lte=now).values_list("id", flat=True))
    IDS_FILE.write_bytes(pickle.dumps(ids))

    def describe():
        return {
            "due": len(ids),
            "reminders": Reminder.objects.count(),
            "load_seconds": time.perf_counter() - began,
        }

    return describe


def resetter():
    """A session that puts the due reminders back to pending, as they were before a run."""
    _data.setup_django()
    quiet_django()
    from django.db import connection

    from scheduling.models import MailRelay, OutboxStatus, Reminder

    ids = pickle.loads(IDS_FILE.read_bytes())  # noqa: S301 (this run's own file)

    def reset():
        Reminder.objects.filter(id__in=ids).update(
            status=OutboxStatus.PENDING,
            attempts=0,
            next_attempt_at=None,
            last_attempt_at=None,
            outcome_unknown_at=None,
            claimed_until=None,
            claim_token="",
            sent_at=None,
            message_id="",
            last_error="",
        )
        MailRelay.objects.all().delete()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE scheduling_reminder")
        return len(ids)

    return reset


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user and system) of this process, or of process ``pid`` (from /proc)."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def dispatcher(profile: str = ""):
    """A session whose request runs one ``dispatch_due`` to the end (what one worker does)."""
    _data.setup_django()
    quiet_django()
    from django.db import connection

    from scheduling.mail.dispatch import dispatch_due

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]

    def run():
        statements = Statements()
        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        cpu, db_cpu = cpu_seconds(), cpu_seconds(backend)
        start = time.time()
        with connection.execute_wrapper(statements):
            summary = dispatch_due()
        end = time.time()
        cpu, db_cpu = cpu_seconds() - cpu, cpu_seconds(backend) - db_cpu
        if profiler:
            profiler.disable()
            profiler.dump_stats(profile)
        return {
            "start": start,
            "end": end,
            "summary": summary.as_dict(),
            "statements": statements.count,
            "cpu_seconds": cpu,
            "db_cpu_seconds": db_cpu,
            "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }

    return run


def plain_smtplib(port: int):
    """A session whose request sends the kept messages over one ``smtplib`` connection."""
    import smtplib

    messages = pickle.loads(MESSAGES_FILE.read_bytes())  # noqa: S301 (this run's own file)

    def run():
        start = time.time()
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            for sender, recipients, content in messages:
                smtp.sendmail(sender, recipients, content)
        return {"start": start, "end": time.time(), "sent": len(messages)}

    return run


def commit_floor(count: int = 500):
    """What exactly-once costs before any email is built: the dispatcher records each sent
    reminder in a transaction of its own, committed durably before the next send (a crash then
    re-sends at most the message in flight). ``count`` one-row UPDATE-and-COMMIT transactions
    on this database, with the server's own durability settings: milliseconds per commit."""
    import psycopg

    url = os.environ["DATABASE_URL"]

    def run():
        with psycopg.connect(url.replace("postgres://", "postgresql://", 1)) as db:
            # A real table (a temporary one writes no WAL), as the reminders table is.
            db.execute("CREATE TABLE IF NOT EXISTS bench_commit_floor (id int PRIMARY KEY, n int)")
            db.execute("INSERT INTO bench_commit_floor VALUES (1, 0) ON CONFLICT DO NOTHING")
            db.commit()
            settings = {
                name: db.execute(f"SHOW {name}").fetchone()[0]
                for name in ("synchronous_commit", "fsync", "wal_sync_method")
            }
            began = time.perf_counter()
            for _ in range(count):
                db.execute("UPDATE bench_commit_floor SET n = n + 1 WHERE id = 1")
                db.commit()
            seconds = time.perf_counter() - began
            db.execute("DROP TABLE bench_commit_floor")
            db.commit()
        return {"ms_per_commit": 1000 * seconds / count, "settings": settings}

    return run
