"""Properties of issue 20's pure rules (hypothesis): a visit ends with its phase
(engine.visit_end), reminders only for the participant's phase (reminder_rules.reminder_hold),
never in the night (reminder_rules.next_send_at)."""

import datetime
import zoneinfo

from hypothesis import given
from hypothesis import strategies as st

from participants.lifecycle import ALLOWED_TRANSITIONS
from scheduling.rules import engine, reminder_rules
from scheduling.rules.engine import PhasePlan, VisitPlan
from tests.test_engine_properties import actual_starts, dates, plans

UTC = datetime.UTC
ZONES = [zoneinfo.ZoneInfo(z) for z in ("Europe/Berlin", "America/Los_Angeles", "Asia/Tokyo")]


@given(plans(), dates, st.data())
def test_no_scheduled_visit_lies_on_or_after_the_start_of_a_later_phase(plan, consent, data):
    phases, visits = plan
    actual = data.draw(actual_starts(phases, consent))
    left_on = data.draw(st.none() | st.just(max([consent, *actual.values()])))
    starts = engine.phase_starts(phases, consent, actual)
    order = [start.code for start in starts]
    for visit in engine.plan_visits(phases, visits, consent, actual):
        ending = engine.visit_end(visit.phase, visit.planned, visit.window_end, starts, left_on)
        if ending is None:
            later = [s.start for s in starts[order.index(visit.phase) + 1 :] if s.actual]
            assert all(visit.window_end < start for start in later)
            assert left_on is None or visit.window_end < left_on
        else:
            assert ending.on <= max(visit.window_end, visit.planned)


# SLE-001's phases and the statuses in which each has started.
STARTED_BY = {"screening": "", "treatment": "treatment", "follow_up": "follow_up"}
STARTED_IN = {
    "screening": {"screening", "enrolled", "treatment", "follow_up"},
    "treatment": {"treatment", "follow_up"},
    "follow_up": {"follow_up"},
}
# The phase whose start the participant may record next, by status.
OPENS_NEXT = {"enrolled": "treatment", "treatment": "follow_up"}


@given(
    st.sampled_from(["screening", "enrolled", "treatment", "follow_up"]),
    st.sampled_from(list(STARTED_BY)),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.booleans(),
)
def test_no_reminder_goes_for_a_visit_outside_the_participants_phase(
    status, phase, first, in_trial, reminders_on, visit_open, awaiting
):
    reached, opens = reminder_rules.phase_gate(
        STARTED_BY[phase], first, status, ALLOWED_TRANSITIONS
    )
    facts = reminder_rules.ReminderFacts(
        in_trial, reminders_on, visit_open, awaiting, reached, opens
    )
    if reminder_rules.reminder_hold(facts) == "":
        assert in_trial and reminders_on and visit_open and not awaiting
        assert status in STARTED_IN[phase] or (first and OPENS_NEXT.get(status) == phase)


def test_enrolled_participants_are_reminded_of_the_first_infusion_only():
    gate = reminder_rules.phase_gate
    assert gate("treatment", True, "enrolled", ALLOWED_TRANSITIONS) == (False, True)
    assert gate("treatment", False, "enrolled", ALLOWED_TRANSITIONS) == (False, False)
    assert gate("treatment", True, "screening", ALLOWED_TRANSITIONS) == (False, False)
    assert gate("follow_up", True, "screening", ALLOWED_TRANSITIONS) == (False, False)
    assert gate("treatment", False, "follow_up", ALLOWED_TRANSITIONS) == (True, False)


instants = st.datetimes(
    min_value=datetime.datetime(2020, 1, 1), max_value=datetime.datetime(2030, 12, 31)
).map(lambda moment: moment.replace(tzinfo=UTC))
times = st.times().map(lambda t: t.replace(second=0, microsecond=0))


@given(instants, times, st.sampled_from(ZONES))
def test_every_reminder_goes_inside_the_allowed_span_or_at_its_rules_time(now, rule, zone):
    send = reminder_rules.next_send_at(now, rule, zone)
    assert send >= now
    assert send - now <= datetime.timedelta(days=1, hours=2)
    local = send.astimezone(zone)
    in_span = reminder_rules.ALLOWED_FROM <= local.time() < reminder_rules.ALLOWED_UNTIL
    rule_start = engine.local_instant(local.date(), rule, zone)
    previous = engine.local_instant(local.date() - datetime.timedelta(days=1), rule, zone)
    at_rule_time = any(
        start <= send < start + reminder_rules.ON_TIME_GRACE for start in (rule_start, previous)
    )
    assert in_span or at_rule_time
    assert reminder_rules.may_send_at(send, rule, zone)


def test_a_reminder_found_late_at_23_41_goes_at_eight_the_next_morning():
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    found = datetime.datetime(2026, 3, 2, 23, 41, tzinfo=berlin)
    assert reminder_rules.next_send_at(found, datetime.time(9), berlin) == datetime.datetime(
        2026, 3, 3, 8, 0, tzinfo=berlin
    )
    on_time = datetime.datetime(2026, 3, 3, 1, 30, tzinfo=berlin)  # a 01:30 rule, on time
    assert reminder_rules.next_send_at(on_time, datetime.time(1, 30), berlin) == on_time


def test_sle001_treatment_and_follow_up_on_one_day_closes_every_treatment_visit():
    phases = [
        PhasePlan("screening", 8, "weeks"),
        PhasePlan("treatment", 8, "weeks"),
        PhasePlan("follow_up", 12, "months"),
    ]
    visits = [
        VisitPlan("INF1", "treatment", 0, "days", 0, 0),
        VisitPlan("INF6", "treatment", 35, "days", 2, 2),
        VisitPlan("EOT", "treatment", 49, "days", 3, 3),
        VisitPlan("FU1", "follow_up", 1, "months", 7, 7),
    ]
    day = datetime.date(2026, 1, 5)
    actual = {"treatment": day, "follow_up": day}
    starts = engine.phase_starts(phases, day, actual)
    ends = {
        v.code: engine.visit_end(v.phase, v.planned, v.window_end, starts)
        for v in engine.plan_visits(phases, visits, day, actual)
    }
    assert ends["FU1"] is None
    for code in ("INF1", "INF6", "EOT"):
        assert ends[code] == engine.VisitEnd(day, engine.PHASE_ENDED)
