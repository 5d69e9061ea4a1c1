"""Batch over one SMTP connection, or fan out one task per reminder? Measured, not guessed.

200 participant reminders are due at once (a morning after an outage). Each mode sends all of
them to a real SMTP server on loopback (aiosmtpd), through the real dispatch code, on the
real database; the rows are reset between runs. Modes:

- batch/100, batch/20: ``dispatch_due`` as beat runs it: claim a batch, send each row under
  its lock over the run's one SMTP connection.
- fan-out: what a Celery task per reminder does once a worker has it: claim that one row,
  open a connection, send, close. A real fan-out adds a broker round trip and a task
  dispatch per message on top, so this is its lower bound.

Each mode runs against the loopback server as is, and again with 5 ms before each of its
replies to EHLO, MAIL, RCPT and DATA: a mail relay a few milliseconds away, still without
the TLS handshake and login a real relay adds to every new connection.

Run: ``python benchmarks/reminder_dispatch.py`` (a study kept beside ``make bench``, whose
table it is not part of). Uses its own database (bench_<name>).
"""

import datetime
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REMINDERS = 200
ROUNDS = 3


def _setup():
    sys.path.insert(0, str(ROOT))
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trialsite.settings")
    import django

    django.setup()


def _make_due_reminders(count: int):
    """``count`` participants in Berlin, each with one reminder due now (LEUK, 7 days)."""
    import importlib

    from django.apps import apps

    from participants.lifecycle import create_participant
    from scheduling.models import Audience, Reminder, ReminderRule
    from tests.factories import SiteFactory

    seed = importlib.import_module("scheduling.migrations.0002_sle001_protocol")
    seed.load(apps, None)
    from participants.models import Protocol

    protocol = Protocol.objects.get(code="SLE-001")
    ReminderRule.objects.filter(audience=Audience.COORDINATOR_DIGEST).update(active=False)
    site = SiteFactory(code="BENCH", name="Benchmark site", timezone="Europe/Berlin")
    today = site.today()
    for number in range(count):
        create_participant(
            protocol=protocol,
            site=site,
            subject_id=f"BENCH-{number:04d}",
            email=f"bench-{number}@example.org",
            consent_date=today - datetime.timedelta(days=32),  # LEUK in 3 days
        )
    due = Reminder.objects.filter(due_at__lte=datetime.datetime.now(datetime.UTC))
    assert due.count() == count, due.count()
    return list(due.values_list("id", flat=True))


def _reset(ids):
    from scheduling.models import OutboxStatus, Reminder

    Reminder.objects.filter(id__in=ids).update(
        status=OutboxStatus.PENDING,
        attempts=0,
        next_attempt_at=None,
        claimed_until=None,
        claim_token="",
        sent_at=None,
        message_id="",
        last_error="",
    )


def _batch(batch_size: int):
    from scheduling.mail.dispatch import dispatch_due

    def run(ids):
        return dispatch_due(batch_size=batch_size).sent

    return run


def _fan_out(ids):
    """One task per reminder: claim that row, own connection, send, close."""
    from django.db import transaction
    from django.db.models import Q
    from django.utils import timezone

    from scheduling.mail import claims, outcomes, sending
    from scheduling.mail.mailer import Mailer
    from scheduling.models import OutboxStatus, Reminder

    sent = 0
    for reminder_id in ids:
        now = timezone.now()
        token = uuid.uuid4().hex
        with transaction.atomic():
            claimed = (
                Reminder.objects.filter(id=reminder_id, status=OutboxStatus.PENDING)
                .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
                .update(claimed_until=now + claims.claim_lease(), claim_token=token)
            )
        if not claimed:
            continue
        visit_id = Reminder.objects.values_list("visit_id", flat=True).get(id=reminder_id)
        mailer = Mailer()
        try:
            outcome = sending.process_reminder(
                reminder_id, visit_id=visit_id, token=token, now=now, mailer=mailer
            )
        finally:
            mailer.close()
        sent += outcome == outcomes.SENT
    return sent


def _measure(modes, ids, server, title: str) -> None:
    timings = {name: [] for name in modes}
    connections = {}
    for _ in range(ROUNDS):
        for name, run in modes.items():  # interleaved: drift hits every mode alike
            _reset(ids)
            server.handler.messages.clear()
            server.handler.peers.clear()
            began = time.perf_counter()
            sent = run(ids)
            timings[name].append(time.perf_counter() - began)
            assert sent == REMINDERS == len(server.handler.messages), (name, sent)
            connections[name] = len(set(server.handler.peers))
    best = {name: min(values) for name, values in timings.items()}
    base = best[next(iter(modes))]
    print()
    print(f"{title}; {REMINDERS} reminders, best and median of {ROUNDS} rounds")
    print(f"{'mode':<22} {'SMTP conns':>10} {'best s':>8} {'median s':>9} "
          f"{'msgs/s':>8} {'x batch':>8}")  # fmt: skip
    for name in modes:
        print(
            f"{name:<22} {connections[name]:>10} {best[name]:>8.3f} "
            f"{statistics.median(timings[name]):>9.3f} "
            f"{REMINDERS / best[name]:>8.0f} {best[name] / base:>8.2f}"
        )


def main() -> None:
    _setup()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    from tests.smtp_server import LoopbackSMTP, point_django_at

    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = (
        "bench_" + settings.DATABASES["default"]["NAME"].rsplit("/", 1)[-1]
    )
    import logging

    logging.getLogger("scheduling.mail.dispatch").setLevel(logging.WARNING)
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        with LoopbackSMTP() as server:
            point_django_at(settings, server.port)
            started = time.perf_counter()
            ids = _make_due_reminders(REMINDERS)
            print(
                f"{REMINDERS} due reminders created in {time.perf_counter() - started:.1f} s "
                f"on {connection.vendor}; SMTP server aiosmtpd on 127.0.0.1:{server.port}"
            )
            modes = {
                "batch/100 (chosen)": _batch(100),
                "batch/20": _batch(20),
                "fan-out, 1 conn/msg": _fan_out,
            }
            for latency in (0.0, 0.005):
                server.handler.latency = latency
                _measure(modes, ids, server, f"server reply latency {latency * 1000:.0f} ms")
    finally:
        teardown_databases(old_config, verbosity=0)


if __name__ == "__main__":
    main()
