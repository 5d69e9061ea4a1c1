"""Processes and servers that die: a worker killed mid-batch, Redis and PostgreSQL restarted.

Real worker and beat processes (``celery -A trialsite …``); the restarts are of a Redis and a
PostgreSQL of the scenario's own, on other ports, never the machine's shared ones.
"""

import datetime
import re
import time

import pytest
from django.db import connections
from django.utils import timezone

from scheduling.mail import claims
from scheduling.models import OutboxStatus, Reminder
from tests.faults import by_form, population, stack
from tests.faults.ledger import Ledger

pytestmark = pytest.mark.slow

SENT_BY_COMMAND = re.compile(r"^sent (\d+), retrying", re.MULTILINE)


def pending(ids) -> int:
    return Reminder.objects.filter(pk__in=ids, status=OutboxStatus.PENDING).count()


@pytest.mark.faults(number=2, title="worker killed mid-batch")
def test_a_worker_killed_mid_batch_loses_nothing_and_a_new_worker_takes_over_after_the_lease(
    scenario,
):
    count = by_form(short=150, long=250)  # the first batch of 100 is the killed worker's
    kill_after = 30
    population.digests_off()
    berlin = population.site("BER", population.daytime_zone())
    ids = population.due_reminders(count, site=berlin)
    scenario.smtp.handler.delay = 0.05  # a slow server: 50 ms per message, one at a time
    # Short timeouts, so that the lease is mostly its five-minute margin (claims.claim_lease).
    scenario.stack.settings = {"EMAIL_TIMEOUT": "5", "EMAIL_DATA_REPLY_TIMEOUT": "10"}
    scenario.settings.EMAIL_TIMEOUT, scenario.settings.EMAIL_DATA_REPLY_TIMEOUT = 5, 10
    lease = claims.claim_lease()
    population.beat_due_now()
    scenario.own_redis()
    worker = scenario.stack.worker()
    beat = scenario.stack.beat()
    stack.wait_until(
        lambda: len(scenario.smtp.messages) >= kill_after,
        timeout=60,
        what=f"{kill_after} messages from the first worker",
    )
    worker.kill()  # SIGKILL, worker and pool child: a host or container dying
    killed_at = timezone.now()
    beat.stop()
    delivered_before = len(scenario.smtp.messages)
    sent_before = Reminder.objects.filter(pk__in=ids, status=OutboxStatus.SENT).count()
    held = set(
        Reminder.objects.filter(
            pk__in=ids, status=OutboxStatus.PENDING, claimed_until__gt=killed_at
        ).values_list("pk", flat=True)
    )
    # At once, on the real clock, the operator's catch-up sends what the dead worker had not
    # claimed, and none of what it had: its claims hold until the lease ends.
    output = scenario.stack.run("send_due_reminders")
    sent_meanwhile = int(SENT_BY_COMMAND.search(output)[1])
    still_held = set(
        Reminder.objects.filter(pk__in=held, status=OutboxStatus.PENDING).values_list(
            "pk", flat=True
        )
    )
    # A new worker and beat, their clock past the lease (fake time: the lease is 6 minutes).
    after_lease = f"+{(lease + datetime.timedelta(seconds=10)).total_seconds():.0f}"
    scenario.stack.worker(clock=after_lease)
    scenario.stack.beat(clock=after_lease)
    stack.wait_until(lambda: pending(ids) == 0, timeout=120, what="every reminder sent")

    ledger = Ledger.of(scenario.smtp, ids)
    window_one = set(ledger.duplicated) <= {population.message_id(pk) for pk in held}
    window = " (window 1: in flight when it died)" if ledger.duplicates else ""
    scenario.report(
        f"worker SIGKILLed after {delivered_before} of {count} sent (server 50 ms/message), "
        f"{len(held)} held by its lease ({sent_meanwhile} unclaimed sent at once by "
        f"send_due_reminders), taken over after {lease.total_seconds() / 60:.1f} min "
        f"(fake time): {ledger.line()}{window}",
        due=count,
        delivered_before_kill=delivered_before,
        held_by_lease=len(held),
        sent_by_catch_up_before_lease=sent_meanwhile,
        delivered=ledger.delivered,
        duplicates=ledger.duplicates,
        lost=len(ledger.lost),
    )
    assert ledger.lost == [], scenario.fail_with_logs()
    # The one copy docs/reminders.md allows: the message in flight when the worker died was
    # taken by the server (window 1), so it goes again, with the same Message-ID.
    assert ledger.duplicates <= 1 and window_one, ledger.duplicated
    assert sent_meanwhile == count - sent_before - len(held)
    assert still_held == held, "a claim held by the dead worker's lease was taken early"
    assert len(held) > 0


@pytest.mark.faults(number=8, title="Redis, then PostgreSQL restarted")
def test_dispatch_resumes_by_itself_after_redis_and_then_postgresql_restart(scenario):
    count = by_form(short=50, long=200)  # reminders falling due in each of the three stages
    down = by_form(short=3, long=30)  # seconds each server stays down
    tick = by_form(short=5, long=60)  # the beat interval; 60 s is the shipped one
    postgres = scenario.own_postgres()
    redis = scenario.own_redis()
    population.digests_off()
    berlin = population.site("BER", population.daytime_zone())
    first = population.due_reminders(count, site=berlin, prefix="A")
    population.beat_every(tick)
    worker = scenario.stack.worker()
    beat = scenario.stack.beat()
    stack.wait_until(lambda: pending(first) == 0, timeout=120, what="the first reminders sent")

    redis.stop()
    after_redis = population.due_reminders(count, site=berlin, prefix="B")  # due while it is down
    time.sleep(down)
    redis.start()
    resumed_after_redis = stack.wait_until(
        lambda: pending(after_redis) == 0, timeout=150, what="sending again after Redis came back"
    )

    postgres.stop()
    time.sleep(down)
    postgres.start()
    connections.close_all()  # this process's session died with the server too
    after_postgres = population.due_reminders(count, site=berlin, prefix="C")
    resumed_after_postgres = stack.wait_until(
        lambda: pending(after_postgres) == 0,
        timeout=150,
        what="sending again after PostgreSQL came back",
    )
    alive = worker.alive() and beat.alive()

    ids = [*first, *after_redis, *after_postgres]
    ledger = Ledger.of(scenario.smtp, ids)
    scenario.report(
        f"beat every {tick} s; Redis down {down} s: sending again {resumed_after_redis:.0f} s "
        f"after it came back; PostgreSQL down {down} s: {resumed_after_postgres:.0f} s; "
        f"{ledger.line()}",
        due=len(ids),
        tick_seconds=tick,
        down_seconds=down,
        resumed_after_redis_seconds=round(resumed_after_redis, 1),
        resumed_after_postgres_seconds=round(resumed_after_postgres, 1),
        delivered=ledger.delivered,
        duplicates=ledger.duplicates,
        lost=len(ledger.lost),
    )
    assert alive, scenario.fail_with_logs()
    assert ledger.duplicated == {} and ledger.lost == [], scenario.fail_with_logs()
    assert resumed_after_redis < 120 and resumed_after_postgres < 120
