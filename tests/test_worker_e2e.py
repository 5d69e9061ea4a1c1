"""End to end: a real Celery worker and beat, started as the README says, on Redis and
PostgreSQL, deliver one due reminder to a real SMTP server with nothing run by hand."""

import datetime
import importlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
from django.apps import apps as django_apps
from django.conf import settings
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from scheduling.mail import dispatch_health
from scheduling.models import Audience, OutboxStatus, Reminder, ReminderRule
from tests.databases import process_database_url
from tests.faults import population
from tests.smtp_server import LoopbackSMTP

CELERY = str(Path(sys.executable).parent / "celery")
ROOT = Path(__file__).resolve().parent.parent
beat_migration = importlib.import_module("scheduling.migrations.0004_dispatch_periodic_task")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.mark.slow
def test_a_real_worker_and_beat_deliver_one_due_reminder(
    transactional_db, make_participant, site_ber, tmp_path
):
    broker = settings.CELERY_BROKER_URL  # the machine's Redis, or the embedded one's socket
    if broker.startswith("redis+socket://"):
        redis.Redis(unix_socket_path=urlsplit(broker).path).flushdb()
    else:
        redis.Redis.from_url(broker).flushdb()  # no runs queued by an earlier session
    ReminderRule.objects.filter(audience=Audience.COORDINATOR_DIGEST).update(active=False)
    # A site where it is day now: a reminder found late at night waits for the morning there.
    site_ber.timezone = population.daytime_zone()
    site_ber.save()
    # LEUK (consent + 35 days) three days ahead: its 7-day reminder is due, its 1-day one not.
    today = site_ber.today()
    participant = make_participant(consent_date=today - datetime.timedelta(days=32), site=site_ber)
    due = Reminder.objects.filter(visit__participant=participant, due_at__lte=timezone.now())
    [reminder] = due
    # The migration's row (a transactional test flushed it); last run long ago, so beat sends
    # the task as soon as it starts instead of a minute later.
    beat_migration.install(django_apps)
    PeriodicTask.objects.filter(name=beat_migration.TASK_NAME).update(
        last_run_at=timezone.now() - datetime.timedelta(minutes=5)
    )

    with LoopbackSMTP() as server:
        env = {
            **os.environ,
            "DATABASE_URL": process_database_url(),
            "CELERY_BROKER_URL": broker,
            "EMAIL_URL": f"smtp://127.0.0.1:{server.port}",
            "VAR_DIR": str(tmp_path),
        }
        env.pop("DJANGO_SETTINGS_MODULE", None)
        logs = {name: open(tmp_path / f"{name}.log", "w") for name in ("worker", "beat")}  # noqa: SIM115
        worker = subprocess.Popen(
            [CELERY, "-A", "trialsite", "worker", "--loglevel=INFO", "--pool=solo"],
            cwd=ROOT,
            env=env,
            stdout=logs["worker"],
            stderr=subprocess.STDOUT,
        )
        beat = subprocess.Popen(
            [CELERY, "-A", "trialsite", "beat", "--loglevel=INFO"],
            cwd=ROOT,
            env=env,
            stdout=logs["beat"],
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 90
            while not server.messages and time.monotonic() < deadline:
                if worker.poll() is not None or beat.poll() is not None:
                    break  # one of them died: its log says why
                time.sleep(0.2)
            delivered = bool(server.messages)
            deadline = time.monotonic() + 10
            reminder.refresh_from_db()
            while reminder.status != OutboxStatus.SENT and time.monotonic() < deadline:
                time.sleep(0.2)
                reminder.refresh_from_db()
        finally:
            stop(beat)
            stop(worker)
            for log in logs.values():
                log.close()
        output = {name: (tmp_path / f"{name}.log").read_text() for name in logs}
        assert delivered, (
            f"nothing delivered in 90 s.\nworker:\n{output['worker']}\nbeat:\n{output['beat']}"
        )
        assert [m["Message-ID"] for m in server.messages] == [reminder.message_id]
        assert reminder.status == OutboxStatus.SENT
        assert server.handler.envelopes == [("visits@localhost", ["participant@example.org"])]
    # The worker's run said it completed; with the worker and beat now stopped, staff and the
    # health endpoint see dispatch as stopped once no run has completed for the stale limit.
    state = dispatch_health.health()
    assert state.status == "ok" and state.last_completed_at is not None
    later = timezone.now() + dispatch_health.stale_after() + datetime.timedelta(minutes=1)
    stopped = dispatch_health.health(later)
    assert (stopped.status, stopped.alert) == ("stale", True)
    assert stopped.sentence.startswith("Reminder dispatch has stopped: no run has completed since")
