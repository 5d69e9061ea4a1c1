"""Properties of ``scheduling.rules.schedule.decide``, the pure core of a schedule rebuild, for
any plan, consent day, recorded phase starts, exit, clinic calendar, visits done and bookings
(hypothesis), then the worked example of issue 20 that showed the phase rule.

The shell (``scheduling.timeline.schedules``) reads, asks ``decide`` once and writes what
changed; these properties are what makes that safe to repeat: a second rebuild with nothing
new changes nothing.
"""

import dataclasses
import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduling.rules import clinic_calendar as cc
from scheduling.rules import engine, schedule
from scheduling.rules.engine import PhasePlan, VisitPlan
from tests.test_engine_properties import actual_starts, plans

D = datetime.date
DAY = datetime.timedelta(days=1)
dates = st.dates(min_value=D(2000, 1, 1), max_value=D(2060, 12, 31))


def blank(code: str | None, phase: str, planned: datetime.date | None = None, key=None):
    """A visit as a new row holds it (the model's defaults)."""
    return schedule.VisitValues(
        key=key,
        definition=code,
        version_id=None,
        phase=phase,
        planned_date=planned,
        window_start=None,
        window_end=None,
        study_day=None,
        actual_date=None,
        booked_date=None,
        booking_override="",
        cancelled=False,
        closed_on=None,
        closed_reason="",
        sequence=0,
        appointment_date=planned,
        appointment_note="",
        appointment_flag="",
        confirmation=schedule.UNCONFIRMED,
        confirmation_at=None,
        confirmation_via="",
        reschedule_message="",
        deviation="",
    )


@st.composite
def calendars(draw):
    weekdays = draw(st.frozensets(st.integers(1, 7)))
    return cc.ClinicCalendar(open_weekdays=weekdays)


@st.composite
def cases(draw):
    """A plan, a consent day, recorded starts, an exit (or none), a calendar, and the
    participant's visits as the first rebuild made them, keyed."""
    phases, visit_plans = draw(plans())
    codes = [v.code for v in visit_plans]
    assert len(set(codes)) == len(codes)
    plan = schedule.Plan(
        phases,
        visit_plans,
        phases[-1 if len(phases) == 1 else 1].code,
        frozenset(p.code for p in phases[1:]),
    )
    consent = draw(dates)
    starts = draw(actual_starts(phases, consent))
    left_on = draw(st.none() | st.dates(min_value=consent, max_value=consent + 800 * DAY))
    calendar = draw(calendars())
    first = schedule.decide(
        plan, consent, starts, None, [blank(v.code, v.phase) for v in visit_plans], calendar
    )
    visits = [dataclasses.replace(v, key=n + 1) for n, v in enumerate(first)]
    return plan, consent, starts, left_on, calendar, visits


@st.composite
def lived(draw):
    """A case after staff recorded some visits and booked others."""
    plan, consent, starts, left_on, calendar, visits = draw(cases())
    changed = []
    for visit in visits:
        choice = draw(st.sampled_from(["as is", "done", "booked", "booked anyway"]))
        shift = draw(st.integers(-10, 10)) * DAY
        if choice == "done":
            visit = visit.but(actual_date=visit.planned_date + shift)
        elif choice.startswith("booked") and visit.is_open:
            visit = visit.but(
                booked_date=visit.planned_date + shift,
                booking_override="sponsor asked" if choice == "booked anyway" else "",
            )
        changed.append(visit)
    return plan, consent, starts, left_on, calendar, changed


def decide(plan, consent, starts, left_on, calendar, visits, over=None):
    return schedule.decide(plan, consent, starts, left_on, visits, calendar, over)


@settings(max_examples=150)
@given(lived(), st.data())
def test_a_second_rebuild_with_nothing_new_changes_nothing(case, data):
    plan, consent, starts, left_on, calendar, visits = case
    over = {
        v.key: "over capacity: 1 chair a day"
        for v in visits
        if v.booked_date is not None and data.draw(st.booleans())
    }
    once = decide(plan, consent, starts, left_on, calendar, visits, over)
    assert decide(plan, consent, starts, left_on, calendar, once, over) == once


@settings(max_examples=150)
@given(lived())
def test_what_staff_recorded_is_never_rewritten(case):
    plan, consent, starts, left_on, calendar, visits = case
    after = decide(plan, consent, starts, left_on, calendar, visits)
    assert [v.key for v in after] == [v.key for v in visits]
    for before, now in zip(visits, after, strict=True):
        for name in ("definition", "actual_date", "booked_date", "booking_override"):
            assert getattr(now, name) == getattr(before, name)
        assert now.sequence >= before.sequence
        if now.appointment_date != before.appointment_date and before.actual_date is None:
            assert now.sequence > before.sequence
            assert now.confirmation == schedule.UNCONFIRMED


@settings(max_examples=150)
@given(lived())
def test_no_visit_stays_to_be_done_where_its_phase_or_the_trial_has_ended(case):
    plan, consent, starts, left_on, calendar, visits = case
    phase_starts = engine.phase_starts(plan.phases, consent, starts)
    for visit in decide(plan, consent, starts, left_on, calendar, visits):
        if visit.actual_date is not None:
            assert visit.closed_on is None and not visit.cancelled
            continue
        ending = engine.visit_end(
            visit.phase, visit.planned_date, visit.window_end, phase_starts, left_on
        )
        assert visit.is_open == (ending is None)
        if left_on is not None and visit.planned_date > left_on:
            assert not visit.is_open  # cancelled, or closed earlier by its phase's end


@settings(max_examples=150)
@given(lived())
def test_an_appointment_is_its_booking_else_an_open_day_of_the_window(case):
    plan, consent, starts, left_on, calendar, visits = case
    for visit in decide(plan, consent, starts, left_on, calendar, visits):
        if not visit.is_open:
            continue
        if visit.booked_date is not None:
            assert visit.appointment_date == visit.booked_date
            wrong = visit.booked_date not in visit.window or not calendar.is_open(visit.booked_date)
            expected = schedule.REBOOK if wrong and not visit.booking_override else None
            if visit.booking_override:
                outside = visit.booked_date not in visit.window
                expected = schedule.PLANNED_DEVIATION if outside else schedule.NO_FLAG
            assert visit.appointment_flag == (expected or schedule.NO_FLAG)
        elif visit.appointment_flag == schedule.NO_OPEN_DAY:
            assert visit.appointment_date == visit.planned_date
            assert not any(calendar.is_open(day) for day in visit.window.days())
        else:
            assert visit.appointment_date in visit.window
            assert calendar.is_open(visit.appointment_date)


# The worked example of issue 20, item 3: moved to treatment on the consent day, a participant
# kept leukapheresis (a screening visit) planned on Day 36, after the infusions.

SCREENING, TREATMENT, FOLLOW_UP = "screening", "treatment", "follow_up"
SLE001 = schedule.Plan(
    phases=[
        PhasePlan(SCREENING, 8, "weeks"),
        PhasePlan(TREATMENT, 8, "weeks"),
        PhasePlan(FOLLOW_UP, 12, "months"),
    ],
    visits=[
        VisitPlan("SCR", SCREENING, 0, "days", 0, 0),
        VisitPlan("LEUK", SCREENING, 5, "weeks", 7, 7),
        VisitPlan("INF1", TREATMENT, 0, "days", 0, 0),
        VisitPlan("INF2", TREATMENT, 1, "weeks", 2, 2),
    ],
    day_one_phase=TREATMENT,
    recorded_starts=frozenset({TREATMENT, FOLLOW_UP}),
)
CONSENT = D(2026, 1, 5)


def test_a_phase_started_early_closes_the_earlier_phase_s_visits_as_missed():
    calendar = cc.ClinicCalendar()
    fresh = [blank(v.code, v.phase) for v in SLE001.visits]
    planned = decide(SLE001, CONSENT, {}, None, calendar, fresh)
    keyed = [dataclasses.replace(v, key=n) for n, v in enumerate(planned, 1)]
    keyed[0] = keyed[0].but(actual_date=CONSENT)  # screening visit done
    assert keyed[1].planned_date == D(2026, 2, 9) and keyed[1].is_open  # LEUK

    after = decide(SLE001, CONSENT, {TREATMENT: CONSENT}, None, calendar, keyed)
    screening, leukapheresis, infusion_1, infusion_2 = after
    assert screening.actual_date == CONSENT and screening.closed_on is None
    assert (leukapheresis.closed_on, leukapheresis.closed_reason) == (CONSENT, "phase ended")
    assert not leukapheresis.is_open
    assert infusion_1.planned_date == CONSENT and infusion_1.study_day == 1
    assert infusion_2.planned_date == D(2026, 1, 12) and infusion_2.sequence == 1
