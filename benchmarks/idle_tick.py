"""One dispatch tick with nothing due (what beat runs every minute, most minutes): the task's
body, ``dispatch_due``, on a database storing many pending reminders against one storing few.
A tick that reads only what is due costs the same on both.

The rows: the import benchmark's ten participants (Oceanside and Berlin, consented 1 to 10
days ago: 26 pending reminders each, the first due weeks ahead), copied until the reminders
number the size asked for. Today's and tomorrow's coordinator digests exist and were sent, so
the digest rule is active and has nothing to do; a year of sent digests is history.
``explain=True`` gives the plan of every query a tick runs (EXPLAIN ANALYZE, rolled back), the
pages each reads, and the growing tables a query reads without an index.
"""

from __future__ import annotations

import datetime
import re
import time

import _data
from _measure import Statements, quiet_django

SAMPLE = 10
REMINDERS_EACH = 26
# Tables whose size grows with the trial; a sequential scan of one is a tick that grows too.
GROWING = (
    "participants_participant",
    "participants_transition",
    "scheduling_visit",
    "scheduling_reminder",
    "scheduling_sitedigest",
)


def prepare(pending: int):
    """Store ``pending`` pending reminders (rounded to whole participants) and their rows."""
    import imports

    _data.setup_django()
    quiet_django()
    from django.db import connection
    from django.utils import timezone

    from participants.models import Site
    from scheduling.models import Audience, OutboxStatus, Reminder, ReminderRule, SiteDigest

    imports.SCRATCH.mkdir(parents=True, exist_ok=True)
    path = imports.write_csv(SAMPLE)
    with connection.cursor() as cursor:
        before = _data.snapshot(cursor)
    imports._import(path)
    with connection.cursor() as cursor:
        sample = _data.capture(cursor, before)
    began = time.perf_counter()
    copies = max(1, round(pending / (SAMPLE * REMINDERS_EACH)))
    with connection.cursor() as cursor:
        _data.copy_rows(cursor, sample.columns, _data.copies(sample, range(1, copies)))
        _data.reset_sequences(cursor, list(sample.rows))
    now = timezone.now()
    rules = ReminderRule.objects.filter(audience=Audience.COORDINATOR_DIGEST, active=True)
    for site in Site.objects.all():
        for rule in rules:
            for days in (0, 1):  # sent already, whether the rule's local time has come or not
                SiteDigest.objects.get_or_create(
                    site=site,
                    rule=rule,
                    local_date=site.today(now) + datetime.timedelta(days=days),
                    defaults={"due_at": now, "status": OutboxStatus.SENT, "sent_at": now},
                )
    # A site opened today, no participant yet: the tick must learn that without reading the
    # participants of the others.
    Site.objects.create(
        code="NEW",
        name="New site",
        timezone="Europe/Berlin",
        coordinator_email="coordinator-new@example.org",
        open_days="12345",
    )
    with connection.cursor() as cursor:
        # A year of digests sent: the history a tick must not read.
        cursor.execute(
            "INSERT INTO scheduling_sitedigest (site_id, rule_id, local_date, due_at, status, "
            "attempts, claim_token, last_error, message_id, sent_at, created_at, updated_at) "
            "SELECT d.site_id, d.rule_id, d.local_date - n, d.due_at - n * interval '1 day', "
            "'sent', 1, '', '', '', d.sent_at - n * interval '1 day', now(), now() "
            "FROM scheduling_sitedigest d, generate_series(1, 365) n "
            "WHERE d.local_date = (SELECT min(local_date) FROM scheduling_sitedigest)"
        )
        cursor.execute("VACUUM ANALYZE")
    # What has fallen due by now was sent, as a running beat would have: the participants'
    # consent days (1 to 10 days ago) put a visit on a closed day, moved to the next open one,
    # whose earlier reminder leads are already past on some days of the week (a Sunday run
    # found 10 such). The tick measured is the one with nothing due.
    Reminder.objects.due(now).update(status=OutboxStatus.SENT, sent_at=now, attempts=1)
    stored = Reminder.objects.filter(status=OutboxStatus.PENDING).count()
    assert not Reminder.objects.due(now).exists()

    def describe():
        return {
            "pending": stored,
            "participants": stored // REMINDERS_EACH,
            "load_seconds": time.perf_counter() - began,
        }

    return describe


def _tick(keep: bool = False) -> tuple[float, Statements]:
    from django.db import connection

    from scheduling.tasks import dispatch_due_reminders

    statements = Statements(keep=keep)
    began = time.perf_counter()
    with connection.execute_wrapper(statements):
        summary = dispatch_due_reminders()
    seconds = time.perf_counter() - began
    assert not any(summary.values()), summary  # idle: nothing sent, nothing closed
    return seconds, statements


def _plan(sql: str, params) -> str:
    from django.db import connection, transaction

    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) " + sql, params)
                plan = "\n".join(row[0] for row in cursor.fetchall())
            transaction.set_rollback(True)
    except Exception as error:  # a statement EXPLAIN cannot run is named, not fatal
        return f"(no plan: {error})"
    return plan


def ticker():
    """A session whose requests run one idle tick (``explain=True``: with the plans)."""
    _data.setup_django()
    quiet_django()
    from django.db import connection

    connection.ensure_connection()

    def run(explain: bool = False):
        seconds, statements = _tick(keep=explain)
        result = {"seconds": seconds, "statements": statements.count}
        if explain:
            plans = []
            for sql, params in statements.executed:
                if sql.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
                    continue
                plan = _plan(sql, params)
                scans = sorted(set(re.findall(r"Seq Scan on (\w+)", plan)) & set(GROWING))
                # The whole plan's pages (its first Buffers line is the root node's total).
                found = re.search(r"Buffers: shared((?: \w+=\d+)+)", plan)
                pages = sum(int(n) for n in re.findall(r"=(\d+)", found.group(1))) if found else 0
                plans.append({"sql": sql, "plan": plan, "seq_scans": scans, "pages": pages})
            result["plans"] = plans
        return result

    return run
