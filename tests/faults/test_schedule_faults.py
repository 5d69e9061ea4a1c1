"""Time and the schedule: beat stopped for six hours, schedule changes while reminders sit in
a claimed batch, and the daylight-saving changes of Berlin and Oceanside.

Fake time where the scenario says so: rows are made and the clock moved in this process with
time-machine, and the worker and beat that start after the six hours run with their clock
moved (tests/faults/clock.py). Schedule changes go through the project's services, as staff
make them.
"""

import datetime
import re
from zoneinfo import ZoneInfo

import pytest
from django_celery_beat.models import PeriodicTask

from participants.lifecycle import record_transition, set_reminders
from scheduling.mail.dispatch import dispatch_due
from scheduling.models import Audience, OutboxStatus, Reminder, ReminderRule, SiteDigest
from scheduling.timeline.appointments import book_appointment
from scheduling.timeline.visits import record_visit
from tests.faults import by_form, population, stack
from tests.faults.ledger import Ledger, digests

pytestmark = pytest.mark.slow

UTC = datetime.UTC
DAY = datetime.timedelta(days=1)
SENT_BY_RUN = re.compile(r"dispatch_due_reminders\[[\w-]+\] succeeded in [\d.]+s: \{'sent': (\d+)")


def leuk_reminder(participant, lead_days: int) -> Reminder:
    return Reminder.objects.get(
        visit__participant=participant, visit__code="LEUK", rule__lead_days=lead_days
    )


def statuses(rows) -> dict[str, int]:
    found = {}
    for status in Reminder.objects.filter(pk__in=[r.pk for r in rows]).values_list(
        "status", flat=True
    ):
        found[status] = found.get(status, 0) + 1
    return found


@pytest.mark.faults(number=9, title="beat stopped six hours")
def test_beat_stopped_for_six_hours_then_started_expires_supersedes_and_sends_no_burst(
    scenario, time_machine
):
    count = by_form(short=10, long=30)  # participants in each of the three groups
    day = datetime.date(2026, 2, 10)
    stopped = datetime.datetime(2026, 2, 10, 5, tzinfo=UTC)  # 06:00 Berlin, 21:00 Oceanside
    started = stopped + datetime.timedelta(hours=6)  # 12:00 Berlin, 03:00 Oceanside
    berlin = population.site("BER", "Europe/Berlin")
    oceanside = population.site("OCN", "America/Los_Angeles")

    # Three weeks before: participants whose LEUK is a week after ``day``; their 7-day
    # reminder falls due at 09:00 in Berlin while beat is stopped, and is still useful then.
    time_machine.move_to(datetime.datetime.combine(day - 20 * DAY, datetime.time(12), UTC))
    week_ahead = [
        population.participant(
            berlin, f"W-{n:03d}", consent=day + 7 * DAY - 35 * DAY, email=f"w{n}@example.org"
        )
        for n in range(count)
    ]
    time_machine.move_to(stopped, tick=False)
    scenario.in_process_mail()
    before = dispatch_due()  # beat's last run; then beat stops
    # While it is stopped, staff enrol participants whose LEUK is tomorrow in Berlin (both
    # reminders due by the restart) and today in Oceanside (its day arrives meanwhile).
    time_machine.move_to(stopped + datetime.timedelta(hours=2), tick=False)
    tomorrow = [
        population.participant(
            berlin, f"T-{n:03d}", consent=day + DAY - 35 * DAY, email=f"t{n}@example.org"
        )
        for n in range(count)
    ]
    arriving = [
        population.participant(
            oceanside, f"A-{n:03d}", consent=day - 35 * DAY, email=f"a{n}@example.org"
        )
        for n in range(count)
    ]
    useful = [leuk_reminder(p, 7) for p in week_ahead] + [leuk_reminder(p, 1) for p in tomorrow]
    older_leads = [leuk_reminder(p, 7) for p in tomorrow]
    stale = [leuk_reminder(p, lead) for p in arriving for lead in (7, 1)]
    delivered_before = len(scenario.smtp.messages)

    # Six hours on, beat and a worker start (their clock at that instant) with beat's record
    # of its last run six hours old; beat ticks every 5 s here, to watch the runs after.
    population.beat_every(5)
    PeriodicTask.objects.filter(name=population.TASK_NAME).update(last_run_at=stopped)
    scenario.own_redis()
    worker = scenario.stack.worker(clock=started.isoformat())
    beat = scenario.stack.beat(clock=started.isoformat())
    runs = by_form(short=3, long=6)
    worker.wait_for(SENT_BY_RUN.pattern, timeout=60 + 10 * runs, count=runs)
    beat.stop()
    sent_per_run = [int(n) for n in SENT_BY_RUN.findall(worker.log())]

    ledger = Ledger.of(scenario.smtp, [r.pk for r in useful])
    digest_mail = digests(scenario.smtp, since=delivered_before)
    expired = statuses(stale).get(OutboxStatus.EXPIRED, 0)
    superseded = statuses(older_leads).get(OutboxStatus.SUPERSEDED, 0)
    scenario.report(
        f"beat stopped 6 h (fake time), then started: first run sent {sent_per_run[0]} "
        f"({len(useful)} still useful + today's digest), {superseded} older leads superseded, "
        f"{expired} stale expired; next {len(sent_per_run) - 1} runs sent "
        f"{sum(sent_per_run[1:])}; {ledger.line()}",
        sent_per_run=sent_per_run,
        useful=len(useful),
        superseded=superseded,
        expired=expired,
        digests=len(digest_mail),
        delivered=ledger.delivered,
        duplicates=ledger.duplicates,
        lost=len(ledger.lost),
    )
    assert before.sent == 0
    assert ledger.duplicated == {} and ledger.lost == [], scenario.fail_with_logs()
    assert ledger.strays(allowed=[]) == []  # no older lead, nothing for a day already come
    assert superseded == count and expired == 2 * count
    assert len(digest_mail) == 1  # today's digest in Berlin; none for days gone by
    assert sent_per_run[0] == len(useful) + 1 and sum(sent_per_run[1:]) == 0  # no burst after


@pytest.mark.faults(number=10, title="schedule changes during a claimed batch")
def test_changes_made_while_reminders_sit_in_a_claimed_batch_send_none_of_the_stale_ones(
    scenario,
):
    filler = by_form(short=40, long=90)  # with the three below, one batch (at most 100)
    population.digests_off()
    berlin = population.site("BER", population.daytime_zone())
    ids = population.due_reminders(filler, site=berlin)
    consent = berlin.today() - population.DUE_NOW_CONSENT_DAYS * DAY
    withdrawn, done, moved = (
        population.participant(berlin, f"X-{name}", consent=consent, email=f"{name}@example.org")
        for name in ("withdrawn", "done", "moved")
    )
    # Made last, so claimed last in the batch (due time, then id): still waiting their turn.
    stale = [leuk_reminder(p, 7) for p in (withdrawn, done, moved)]
    scenario.smtp.handler.delay = 0.1  # a slow server: the batch takes seconds
    population.beat_every(5)
    scenario.own_redis()
    scenario.stack.worker()
    scenario.stack.beat()
    stack.wait_until(
        lambda: len(scenario.smtp.messages) >= 3, timeout=60, what="the batch being sent"
    )
    claimed = Reminder.objects.filter(
        pk__in=[r.pk for r in stale], status=OutboxStatus.PENDING, claimed_until__isnull=False
    ).count()
    today = berlin.today()
    record_transition(withdrawn, "withdrawn", on=today, reason="Withdrew consent")
    record_visit(done, "LEUK", on=today)
    moved_visit = moved.visits.get(code="LEUK")
    book_appointment(moved_visit, on=moved_visit.appointment_date + 2 * DAY)
    changed_while_sending = len(scenario.smtp.messages) < filler
    # The moved visit's reminder for its new day (7 days before it: due already) goes next.
    [renewed] = Reminder.objects.filter(
        visit=moved_visit, rule__lead_days=7, status=OutboxStatus.PENDING
    )
    stack.wait_until(
        lambda: (
            not Reminder.objects.filter(
                pk__in=[*ids, renewed.pk], status=OutboxStatus.PENDING
            ).exists()
        ),
        timeout=120,
        what="the batch and the moved visit's new reminder sent",
    )

    ledger = Ledger.of(scenario.smtp, [*ids, renewed.pk])
    stale_sent = [r.pk for r in stale if ledger.received[population.message_id(r.pk)]]
    scenario.report(
        f"withdrawal, visit done, appointment moved while {claimed} of their reminders sat in a "
        f"claimed batch of {filler + 3}: {len(stale_sent)}/3 stale sent; the others and the "
        f"moved visit's new reminder {ledger.line()}",
        claimed=claimed,
        stale_sent=len(stale_sent),
        stale_statuses=statuses(stale),
        delivered=ledger.delivered,
        duplicates=ledger.duplicates,
        lost=len(ledger.lost),
    )
    assert claimed == 3 and changed_while_sending, "the changes came too late to test anything"
    assert stale_sent == []
    assert statuses(stale) == {OutboxStatus.CANCELLED: 3}
    assert ledger.duplicated == {} and ledger.lost == [], scenario.fail_with_logs()


# The changes of 2026: spring forward and fall back, in each site's zone.
CHANGES = {
    "Europe/Berlin": (datetime.date(2026, 3, 29), datetime.date(2026, 10, 25)),
    "America/Los_Angeles": (datetime.date(2026, 3, 8), datetime.date(2026, 11, 1)),
}
# Participants of a season are made on one day: each consent is at most 35 days before it
# (LEUK at 35 days) and each of its reminders still ahead.
SEASONS = {"spring": datetime.date(2026, 2, 26), "autumn": datetime.date(2026, 10, 15)}
# Besides SLE-001's 1 day before at 09:00, two rules at night: 01:30 and 02:30 are
# skipped by spring forward (02:xx in both zones) or happen twice at fall back (02:xx in
# Berlin, 01:xx in Oceanside).
NIGHT_RULES = ((3, datetime.time(1, 30)), (2, datetime.time(2, 30)))
# What the wall clock says when they go on a change's day (engine.local_instant, PEP 495):
# a skipped time an hour on, a time that happens twice the first time (fold 0).
AT_THE_CHANGE = {
    ("Europe/Berlin", datetime.date(2026, 3, 29), datetime.time(2, 30)): datetime.time(3, 30),
    ("America/Los_Angeles", datetime.date(2026, 3, 8), datetime.time(2, 30)): datetime.time(3, 30),
}


def wall_clock(reminder) -> tuple[datetime.date, datetime.time, int]:
    """The day, time and fold a reminder should go at, on the site's wall clock."""
    zone = reminder.visit.participant.site.timezone
    day = reminder.planned_date - reminder.rule.lead_days * DAY
    at = reminder.rule.local_time
    return day, AT_THE_CHANGE.get((zone, day, at), at), 0


@pytest.mark.faults(number=11, title="daylight-saving changes")
def test_every_reminder_and_digest_goes_at_its_local_time_across_daylight_saving_changes(
    scenario, time_machine
):
    scenario.in_process_mail()
    protocol = population.protocol()
    # The 7-day reminders never fall on a change's day here: off, to keep the steps few.
    protocol.reminder_rules.filter(audience=Audience.PARTICIPANT, lead_days=7).update(active=False)
    # The plan's setup before any participant exists: written into version 1.0 in bulk (a
    # released version refuses a rule saved one by one; docs/amendments.md).
    version = protocol.versions.get(number="1.0")
    ReminderRule.objects.bulk_create(
        ReminderRule(
            protocol=protocol,
            version=version,
            audience=Audience.PARTICIPANT,
            lead_days=lead_days,
            local_time=local_time,
        )
        for lead_days, local_time in NIGHT_RULES
    )
    leads = (3, 2, 1)
    sites = {
        zone: population.site(code, zone)
        for zone, code in (("Europe/Berlin", "BER"), ("America/Los_Angeles", "OCN"))
    }
    reminders, digest_days = [], []  # what must go at its local time: rows, (site, day)
    for season, made_on in SEASONS.items():
        made_at = datetime.datetime.combine(made_on, datetime.time(12), UTC)
        time_machine.move_to(made_at)
        people = []
        for zone, changes in CHANGES.items():
            change = changes[0 if season == "spring" else 1]
            for offset in (1, 2, 3):  # LEUK 1, 2 and 3 days after: each lead hits the day
                visit_day = change + offset * DAY
                people.append(
                    population.participant(
                        sites[zone],
                        f"{season[0].upper()}-{zone[:3]}-{offset}",
                        consent=visit_day - population.LEUK_DAYS * DAY,
                        email=f"{season}{zone[:3].lower()}{offset}@example.org",
                    )
                )
            digest_days += [(sites[zone], change + d * DAY) for d in (-1, 0, 1)]
        season_rows = [leuk_reminder(p, lead) for p in people for lead in leads]
        reminders += season_rows
        instants = {r.due_at for r in season_rows}
        instants |= {
            datetime.datetime.combine(day, datetime.time(7), ZoneInfo(site.timezone))
            for site, day in digest_days
        }
        for instant in sorted(i for i in instants if i > made_at):
            time_machine.move_to(instant - datetime.timedelta(minutes=1), tick=False)
            early = {r.pk for r in season_rows if r.due_at == instant}
            dispatch_due()
            assert not Reminder.objects.filter(pk__in=early, status=OutboxStatus.SENT).exists()
            time_machine.move_to(instant, tick=False)
            dispatch_due()
        for person in people:  # the season over, its participants' later visits stay quiet
            set_reminders(person, False)

    on_time = []
    for reminder in Reminder.objects.filter(pk__in=[r.pk for r in reminders]).select_related(
        "rule", "visit__participant__site"
    ):
        local = reminder.sent_at.astimezone(reminder.visit.participant.site.zone)
        on_time.append((local.date(), local.time(), local.fold) == wall_clock(reminder))
    digests_on_time = []
    for site, day in digest_days:
        digest = SiteDigest.objects.filter(site=site, local_date=day).first()
        local = digest.sent_at.astimezone(site.zone) if digest and digest.sent_at else None
        digests_on_time.append(local is not None and local.time() == datetime.time(7))
    ledger = Ledger.of(scenario.smtp, [r.pk for r in reminders])
    scenario.report(
        f"Berlin and Oceanside, spring forward and fall back: {sum(on_time)}/{len(on_time)} "
        f"reminders at their local time (09:00; 01:30 and 02:30 rules: skipped → an hour on, "
        f"twice → the first), {sum(digests_on_time)}/{len(digests_on_time)} digests at 07:00, "
        f"none a minute early; {ledger.line()}",
        reminders_on_time=sum(on_time),
        reminders=len(on_time),
        digests_on_time=sum(digests_on_time),
        digests=len(digests_on_time),
        delivered=ledger.delivered,
        duplicates=ledger.duplicates,
        lost=len(ledger.lost),
    )
    assert all(on_time) and all(digests_on_time)
    assert ledger.duplicated == {} and ledger.lost == []
