"""Reminder rows follow the schedule, in the transaction of each change
(scheduling.timeline.reminders).

SLE-001 at Oceanside (America/Los_Angeles): consent 5 January 2026, treatment planned from
2 March (after 8 weeks of screening); reminders 7 and 1 days before each visit at 09:00.
"""

import datetime
import zoneinfo

import pytest

from participants.imports import import_sites
from participants.lifecycle import correct_transition, record_transition, set_reminders
from participants.models import Transition
from scheduling.mail.dispatch import dispatch_due
from scheduling.models import OutboxStatus, Reminder, Visit
from scheduling.timeline.schedules import rebuild_schedule
from scheduling.timeline.visits import record_visit as record_visit_service
from tests.factories import enrol

UTC = datetime.UTC
LA = zoneinfo.ZoneInfo("America/Los_Angeles")
CONSENT = datetime.date(2026, 1, 5)


@pytest.fixture
def clock(time_machine):
    def move(day: datetime.date, hour_utc: int = 20):  # 20:00 UTC is noon or 13:00 in LA
        time_machine.move_to(datetime.datetime.combine(day, datetime.time(hour_utc), UTC), False)

    move(CONSENT)
    return move


def statuses(participant, code: str) -> dict[tuple[datetime.date, int], str]:
    return {
        (r.planned_date, r.rule.lead_days): r.status
        for r in Reminder.objects.filter(
            visit__participant=participant, visit__code=code
        ).select_related("rule")
    }


def test_a_new_participant_gets_two_reminders_per_future_screening_visit_at_nine_site_time(
    make_participant, clock
):
    # Issue 20 item 5: in screening, only screening visits are reminded of (LEUK; SCR is
    # today); the infusions and follow-up visits are planned without reminders (it was 26).
    participant = make_participant(consent_date=CONSENT)
    reminders = list(
        Reminder.objects.filter(visit__participant=participant).select_related("visit", "rule")
    )
    future_visits = Visit.objects.filter(
        participant=participant, planned_date__gt=CONSENT, phase="screening"
    )
    assert len(reminders) == 2 * future_visits.count() == 2
    for reminder in reminders:
        local = reminder.due_at.astimezone(LA)
        assert local.time() == datetime.time(9, 0)
        assert local.date() == reminder.visit.planned_date - datetime.timedelta(
            days=reminder.rule.lead_days
        )
        assert reminder.status == OutboxStatus.PENDING
    assert {reminder.visit.code for reminder in reminders} == {"LEUK"}


def test_rebuilding_an_unchanged_schedule_changes_no_reminder(make_participant, clock):
    participant = make_participant(consent_date=CONSENT)
    before = set(Reminder.objects.values_list("id", "status", "due_at", "updated_at"))
    rebuild_schedule(participant)
    assert set(Reminder.objects.values_list("id", "status", "due_at", "updated_at")) == before


def test_recording_the_treatment_start_moves_reminders_with_the_visits(make_participant, clock):
    participant = make_participant(consent_date=CONSENT)
    clock(datetime.date(2026, 2, 20))
    enrol(participant, on=datetime.date(2026, 2, 1))
    record_transition(participant, "treatment", on=datetime.date(2026, 2, 20))
    # INF2 was planned on 9 March (treatment start + 7), without reminders before treatment
    # began (issue 20 item 5); it is now on 27 February, reminded of.
    assert statuses(participant, "INF2") == {
        (datetime.date(2026, 2, 27), 7): OutboxStatus.PENDING,
        (datetime.date(2026, 2, 27), 1): OutboxStatus.PENDING,
    }
    # INF1 moved to today: too late to remind of, so nothing replaces its reminders.
    assert set(statuses(participant, "INF1").values()) == {OutboxStatus.CANCELLED}


def test_a_visit_moved_back_revives_its_cancelled_reminders(make_participant, clock):
    participant = make_participant(consent_date=CONSENT)
    clock(datetime.date(2026, 2, 23))
    enrol(participant, on=datetime.date(2026, 2, 1))
    treatment = record_transition(participant, "treatment", on=datetime.date(2026, 2, 20))
    first_rows = {
        r.rule_id: r.pk
        for r in Reminder.objects.filter(
            visit__participant=participant, visit__code="INF2", planned_date="2026-02-27"
        )
    }
    correction = correct_transition(treatment, on=datetime.date(2026, 2, 23), reason="Typo")
    assert statuses(participant, "INF2")[(datetime.date(2026, 2, 27), 1)] == "cancelled"
    correct_transition(correction, on=datetime.date(2026, 2, 20), reason="The first was right")
    revived = Reminder.objects.filter(
        visit__participant=participant, visit__code="INF2", planned_date="2026-02-27"
    )
    assert {r.rule_id: r.pk for r in revived} == first_rows
    assert {r.status for r in revived} == {OutboxStatus.PENDING}
    assert statuses(participant, "INF2")[(datetime.date(2026, 3, 2), 1)] == "cancelled"


def test_recording_a_visit_cancels_its_pending_reminders(make_participant, clock):
    participant = make_participant(consent_date=CONSENT)
    clock(datetime.date(2026, 2, 3))
    record_visit_service(participant, "LEUK", on=datetime.date(2026, 2, 3))  # early, in window
    assert set(statuses(participant, "LEUK").values()) == {OutboxStatus.CANCELLED}
    assert statuses(participant, "INF1") == {}  # in screening: no infusion reminders


def test_withdrawal_cancels_every_pending_reminder_and_keeps_the_sent_ones(make_participant, clock):
    participant = make_participant(consent_date=CONSENT)
    sent = Reminder.objects.filter(visit__participant=participant, visit__code="LEUK").first()
    Reminder.objects.filter(pk=sent.pk).update(status=OutboxStatus.SENT)
    clock(datetime.date(2026, 2, 3))
    record_transition(participant, "withdrawn", on=datetime.date(2026, 2, 3), reason="Moved")
    rows = Reminder.objects.filter(visit__participant=participant)
    assert set(rows.exclude(pk=sent.pk).values_list("status", flat=True)) == {"cancelled"}
    assert rows.get(pk=sent.pk).status == OutboxStatus.SENT


def test_opting_out_cancels_pending_reminders_and_opting_back_in_revives_them(
    make_participant, clock
):
    participant = make_participant(consent_date=CONSENT)
    ids = set(Reminder.objects.filter(visit__participant=participant).values_list("id", flat=True))
    set_reminders(participant, False)
    assert set(Reminder.objects.values_list("status", flat=True)) == {OutboxStatus.CANCELLED}
    clock(datetime.date(2026, 2, 3))
    set_reminders(participant, True)
    pending = Reminder.objects.filter(visit__participant=participant, status="pending")
    # Back on: the same rows, for the visits of screening still ahead of the site's today.
    assert set(pending.values_list("id", flat=True)) <= ids
    assert (
        pending.count()
        == 2
        * Visit.objects.filter(
            participant=participant, planned_date__gt=datetime.date(2026, 2, 3), phase="screening"
        ).count()
        == 2
    )


def test_a_screen_failure_stops_every_pending_reminder(make_participant, clock):
    participant = make_participant(consent_date=CONSENT)
    clock(datetime.date(2026, 1, 20))
    record_transition(participant, "screen_failed", on=datetime.date(2026, 1, 20), reason="Labs")
    assert Transition.objects.filter(participant=participant).count() == 2
    assert not Reminder.objects.filter(visit__participant=participant, status="pending").exists()


def test_rebuilding_on_a_visit_day_leaves_its_unsent_reminders_to_expire(make_participant, clock):
    participant = make_participant(consent_date=CONSENT)
    clock(datetime.date(2026, 2, 9))  # LEUK's day: its reminders were due and, say, never sent
    rebuild_schedule(participant)
    # Nothing about LEUK changed, so nothing cancels them; the dispatcher closes them as expired.
    assert set(statuses(participant, "LEUK").values()) == {OutboxStatus.PENDING}
    assert dispatch_due().expired == 2
    assert set(statuses(participant, "LEUK").values()) == {OutboxStatus.EXPIRED}


def test_a_site_moved_to_another_time_zone_re_times_its_pending_reminders(make_participant, clock):
    participant = make_participant(consent_date=CONSENT)
    site = participant.site
    import_sites(
        [
            (
                2,
                {
                    "code": site.code,
                    "name": site.name,
                    "timezone": "Europe/Berlin",
                    "coordinator_email": site.coordinator_email,
                },
            )
        ]
    )
    pending = Reminder.objects.filter(visit__participant=participant, status="pending")
    assert pending.count() == 2  # LEUK's: in screening, only screening visits (issue 20 item 5)
    for reminder in pending.select_related("visit", "rule"):
        local = reminder.due_at.astimezone(zoneinfo.ZoneInfo("Europe/Berlin"))
        assert (local.date(), local.time()) == (
            reminder.visit.planned_date - datetime.timedelta(days=reminder.rule.lead_days),
            datetime.time(9, 0),
        )
