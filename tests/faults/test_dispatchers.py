"""Several dispatchers at once: four of them over one backlog, and two beats ticking together.

Real processes (``celery -A trialsite worker``, ``celery -A trialsite beat``, ``manage.py
send_due_reminders``) on the scenario's own database and Redis, sending to a loopback SMTP
server. Claims use ``SELECT … FOR UPDATE SKIP LOCKED`` with a lease (docs/reminders.md): no
reminder may arrive twice and none may be missing.
"""

import datetime
import re

import pytest
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from scheduling.models import OutboxStatus, Reminder
from tests.faults import by_form, population, stack
from tests.faults.ledger import Ledger, digests

pytestmark = pytest.mark.slow

SENT_BY_WORKER = re.compile(
    r"dispatch_due_reminders\[[\w-]+\] succeeded in [\d.]+s: \{'sent': (\d+)"
)
SENT_BY_COMMAND = re.compile(r"^sent (\d+), retrying", re.MULTILINE)


def waiting_on_the_reminder_table() -> int:
    """Sessions waiting for a lock on the reminder table (the claim's SELECT … FOR UPDATE)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(DISTINCT pid) FROM pg_locks "
            "WHERE NOT granted AND relation = 'scheduling_reminder'::regclass"
        )
        return cursor.fetchone()[0]


@pytest.mark.faults(number=1, title="four dispatchers at once")
def test_four_dispatchers_at_once_deliver_every_due_reminder_once(scenario):
    # Four batches of 100 at least, so that each dispatcher claims one in the same instant.
    count = by_form(short=400, long=10_000)
    population.digest_at(datetime.time(0, 0))  # the site's digest too: four runs create it
    site = population.site("BER", population.daytime_zone())
    ids = population.due_reminders(count, site=site)
    broker = scenario.own_redis()
    workers = [scenario.stack.worker(), scenario.stack.worker()]
    with transaction.atomic(), connection.cursor() as cursor:
        # A starting gate: every dispatcher queues behind this lock at its first claim, so
        # the four start claiming in the same instant when it is released.
        cursor.execute("LOCK TABLE scheduling_reminder IN EXCLUSIVE MODE")
        stack.send_dispatch_task(broker.url, count=2)
        commands = [scenario.stack.command("send_due_reminders") for _ in range(2)]
        stack.wait_until(
            lambda: waiting_on_the_reminder_table() == 4,
            timeout=60,
            what="four dispatchers waiting at their first claim",
        )
    seconds = by_form(short=120, long=480)
    for command in commands:
        command.popen.wait(timeout=seconds)
    for worker in workers:
        worker.wait_for(r"dispatch_due_reminders\[[\w-]+\] succeeded", timeout=seconds)
    sent = [int(SENT_BY_WORKER.search(w.log())[1]) for w in workers]
    sent += [int(SENT_BY_COMMAND.search(c.log())[1]) for c in commands]

    ledger = Ledger.of(scenario.smtp, ids)
    digest_mail = digests(scenario.smtp)
    scenario.report(
        f"4 dispatchers (2 workers, 2 send_due_reminders), {count} due: {ledger.line()}, "
        f"digest {len(digest_mail)}/1; each sent {'/'.join(map(str, sent))}",
        due=count,
        delivered=ledger.delivered,
        duplicates=ledger.duplicates,
        lost=len(ledger.lost),
        sent_by_dispatcher=sent,
        digests=len(digest_mail),
    )
    assert ledger.duplicated == {}, scenario.fail_with_logs()
    assert ledger.lost == [], scenario.fail_with_logs()
    assert len(digest_mail) == 1
    assert sum(sent) == count + 1
    assert all(part > 0 for part in sent), f"a dispatcher did nothing: {sent}"
    assert set(Reminder.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        OutboxStatus.SENT
    }


@pytest.mark.faults(number=7, title="two beats")
def test_two_beats_for_several_ticks_send_each_reminder_once(scenario):
    ticks = by_form(short=6, long=15)
    tick_seconds = 2
    count = by_form(short=200, long=1_000)
    population.digest_at(datetime.time(0, 0))  # and the site's digest, due at the first tick
    site = population.site("BER", population.daytime_zone())
    ids = population.due_reminders(count, site=site)
    # The reminders fall due one after another over the ticks, so both beats' runs find work.
    now = timezone.now()
    spread = datetime.timedelta(seconds=ticks * tick_seconds) / count
    for position, pk in enumerate(sorted(ids)):
        Reminder.objects.filter(pk=pk).update(due_at=now + spread * position)
    population.beat_every(tick_seconds)
    scenario.own_redis()
    scenario.stack.worker(concurrency=2)  # two runs at once when both beats' tasks come
    beats = [scenario.stack.beat(), scenario.stack.beat()]
    sending = r"Sending due task Send due visit reminders"
    for beat in beats:
        beat.wait_for(sending, timeout=30 + ticks * tick_seconds * 3, count=ticks)
    stack.wait_until(
        lambda: not Reminder.objects.filter(pk__in=ids, status=OutboxStatus.PENDING).exists(),
        timeout=60,
        what="every reminder sent",
    )
    for beat in beats:
        beat.stop()
    runs = [len(re.findall(sending, beat.log())) for beat in beats]

    ledger = Ledger.of(scenario.smtp, ids)
    digest_mail = digests(scenario.smtp)
    scenario.report(
        f"2 beats, {ticks}+ ticks each ({sum(runs)} runs), {count} falling due: {ledger.line()}, "
        f"digest {len(digest_mail)}/1",
        due=count,
        runs=runs,
        delivered=ledger.delivered,
        duplicates=ledger.duplicates,
        lost=len(ledger.lost),
        digests=len(digest_mail),
    )
    assert ledger.duplicated == {}, scenario.fail_with_logs()
    assert ledger.lost == [], scenario.fail_with_logs()
    assert len(digest_mail) == 1
    late = Reminder.objects.filter(
        pk__in=ids, sent_at__gt=F("due_at") + datetime.timedelta(seconds=30)
    )
    assert late.count() == 0, "a reminder waited more than a tick or two after it fell due"
