"""Rows for the fault scenarios: sites, participants and reminders due now, made fast.

A scenario's participants are made through the real service (``create_participant``, which
builds the schedule and its reminders) when their schedule matters to the scenario. When only
the number of due reminders matters (thousands of them), one participant is made through the
service and the others are copies of its participant, LEUK visit and due reminder rows, in
bulk inserts: the same rows the service writes, at a thousandth of the cost.
"""

import datetime
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from participants.lifecycle import create_participant
from participants.models import Participant, Protocol, Site
from scheduling.models import Audience, Reminder, ReminderRule, Visit
from tests.conftest import load_sle001
from tests.factories import SiteFactory

# LEUK is 35 days after consent: consent 32 days ago puts it three days ahead, so its 7-day
# reminder is due now (four days ago at 09:00) and its 1-day one not yet.
LEUK_DAYS = 35
DUE_NOW_CONSENT_DAYS = 32
TASK_NAME = "Send due visit reminders"


def protocol() -> Protocol:
    """SLE-001, as the migration loads it (kept in the template database)."""
    return load_sle001()


def daytime_zone() -> str:
    """A site time zone where it is now between 08:00 and 20:00, so that a scenario with the
    site's daily digest never runs across its local midnight (when the day's digest expires),
    and its reminders, due days ago, are sent at once rather than held for the morning
    (reminders found late never go out at night: scheduling.rules.reminder_rules)."""
    for zone in ("Europe/Berlin", "America/New_York", "Asia/Tokyo", "America/Los_Angeles"):
        if 8 <= timezone.localtime(timezone=ZoneInfo(zone)).hour < 20:
            return zone
    return "Asia/Kolkata"  # not reached: one of the four always is


def site(code: str, zone: str, **fields) -> Site:
    return SiteFactory(code=code, name=fields.pop("name", f"Site {code}"), timezone=zone, **fields)


def digests_off() -> None:
    ReminderRule.objects.filter(audience=Audience.COORDINATOR_DIGEST).update(active=False)


def digest_at(local_time: datetime.time) -> None:
    """Each site's digest at ``local_time`` (local midnight: due whenever the scenario runs)."""
    ReminderRule.objects.filter(audience=Audience.COORDINATOR_DIGEST).update(
        local_time=local_time, active=True
    )


def participant(site: Site, subject_id: str, *, consent: datetime.date, email: str):
    return create_participant(
        protocol=protocol(), site=site, subject_id=subject_id, email=email, consent_date=consent
    )


def _copy_fields(row, **changes) -> dict:
    values = {
        field.attname: getattr(row, field.attname)
        for field in type(row)._meta.concrete_fields
        if not field.primary_key
    }
    values.update(changes)
    return values


@transaction.atomic
def due_reminders(count: int, *, site: Site, prefix: str = "F") -> list[int]:
    """``count`` participants at ``site`` (emails ``<prefix>N@example.org``), each with one
    participant reminder due now: its LEUK visit's, 7 days ahead. The ids of those rows."""
    consent = site.today() - datetime.timedelta(days=DUE_NOW_CONSENT_DAYS)
    first = participant(site, f"{prefix}-00000", consent=consent, email=f"{prefix}0@example.org")
    visit = first.visits.get(code="LEUK")
    [reminder] = Reminder.objects.filter(visit=visit, due_at__lte=timezone.now())
    people = Participant.objects.bulk_create(
        [
            Participant(
                **_copy_fields(
                    first, subject_id=f"{prefix}-{n:05d}", email=f"{prefix}{n}@example.org"
                )
            )
            for n in range(1, count)
        ],
        batch_size=2000,
    )
    visits = Visit.objects.bulk_create(
        [Visit(**_copy_fields(visit, participant_id=person.pk)) for person in people],
        batch_size=2000,
    )
    copies = Reminder.objects.bulk_create(
        [Reminder(**_copy_fields(reminder, visit_id=copy.pk)) for copy in visits],
        batch_size=2000,
    )
    return [reminder.pk, *(row.pk for row in copies)]


def message_id(reminder_id: int) -> str:
    """The Message-ID every copy of that reminder carries (emails.reminder_message_id)."""
    return f"<reminder-{reminder_id}@localhost>"


def beat_every(seconds: int) -> None:
    """The dispatch's periodic task (migration 0004) ticking every ``seconds`` instead of
    every minute, and due at once: an operator's edit in the admin, made so that a scenario
    sees several ticks in seconds."""
    task = PeriodicTask.objects.get(name=TASK_NAME)
    task.interval, _ = IntervalSchedule.objects.get_or_create(
        every=seconds, period=IntervalSchedule.SECONDS
    )
    task.last_run_at = timezone.now() - datetime.timedelta(minutes=5)
    task.save()


def beat_due_now() -> None:
    """The periodic task last ran long ago: a beat that starts sends the dispatch at once."""
    PeriodicTask.objects.filter(name=TASK_NAME).update(
        last_run_at=timezone.now() - datetime.timedelta(minutes=5)
    )


def superuser():
    users = get_user_model()
    return users.objects.filter(username="faults").first() or users.objects.create_superuser(
        "faults", "faults@example.org", "faults-password"
    )
