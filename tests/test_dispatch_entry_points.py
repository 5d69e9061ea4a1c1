"""The ways in: `manage.py send_due_reminders`, the Celery task, and beat's periodic task row."""

import datetime
import importlib
import io
import subprocess
import sys
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.core.management import CommandError, call_command
from django_celery_beat.models import PeriodicTask

from scheduling.models import Audience, ReminderRule
from scheduling.tasks import dispatch_due_reminders
from tests.smtp_server import smtp_server_fixture  # noqa: F401

UTC = datetime.UTC
beat_migration = importlib.import_module("scheduling.migrations.0004_dispatch_periodic_task")


@pytest.fixture
def late_run(make_participant, site_ber, time_machine):
    """A LEUK visit on 5 April 2026 in Berlin, and the clock on 4 April at 12:00 there."""
    ReminderRule.objects.filter(audience=Audience.COORDINATOR_DIGEST).update(active=False)
    time_machine.move_to(datetime.datetime(2026, 3, 1, 12, tzinfo=UTC), tick=False)
    make_participant(consent_date=datetime.date(2026, 3, 1), site=site_ber)
    time_machine.move_to(datetime.datetime(2026, 4, 4, 10, tzinfo=UTC), tick=False)


def test_send_due_reminders_prints_one_summary_line(late_run, smtp_server):
    out = io.StringIO()
    call_command("send_due_reminders", stdout=out)
    assert out.getvalue() == "sent 1, retrying 0, failed 0, expired 0, superseded 1, unknown 0\n"
    assert len(smtp_server.messages) == 1


def test_send_due_reminders_refuses_a_batch_size_below_one(db):
    with pytest.raises(CommandError, match="--batch-size must be at least 1"):
        call_command("send_due_reminders", "--batch-size", "0")


def test_send_due_reminders_refuses_a_bad_batch_size_in_one_line_with_exit_1():
    # Operators script it after an outage: the staff commands' contract, not argparse's exit 2.
    done = subprocess.run(
        [sys.executable, "manage.py", "send_due_reminders", "--batch-size", "x"],
        cwd=Path(settings.BASE_DIR),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (
        "argument --batch-size: invalid int value: 'x' (see manage.py send_due_reminders --help)\n"
    )


def test_the_celery_task_is_safe_to_run_twice(late_run, smtp_server):
    first = dispatch_due_reminders.apply().get()
    second = dispatch_due_reminders.apply().get()
    assert (first["sent"], second["sent"]) == (1, 0)
    assert len(smtp_server.messages) == 1


def test_a_migration_installs_the_every_minute_periodic_task_once(db):
    beat_migration.install(django_apps)  # again, as after a flush: still one row
    task = PeriodicTask.objects.get(name=beat_migration.TASK_NAME)
    assert task.task == dispatch_due_reminders.name == "scheduling.tasks.dispatch_due_reminders"
    assert (task.interval.every, task.interval.period, task.enabled) == (1, "minutes", True)
    assert PeriodicTask.objects.filter(task=task.task).count() == 1
