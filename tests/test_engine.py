"""Worked examples of the pure date engine (no database)."""

import datetime

import pytest

from scheduling.rules import engine
from scheduling.rules.engine import PhasePlan, VisitPlan

D = datetime.date

SLE001_PHASES = [
    PhasePlan("screening", 8, engine.WEEKS),
    PhasePlan("treatment", 8, engine.WEEKS),
    PhasePlan("follow_up", 12, engine.MONTHS),
]
FOLLOW_UP_VISITS = [
    VisitPlan("FU1", "follow_up", 1, engine.MONTHS, 7, 7),
    VisitPlan("FU3", "follow_up", 3, engine.MONTHS, 14, 14),
    VisitPlan("FU6", "follow_up", 6, engine.MONTHS, 14, 14),
    VisitPlan("FU9", "follow_up", 9, engine.MONTHS, 14, 14),
    VisitPlan("FU12", "follow_up", 12, engine.MONTHS, 14, 14),
]


def starts(consent, actual=None):
    return {p.code: p.start for p in engine.phase_starts(SLE001_PHASES, consent, actual)}


def test_screening_starts_on_the_consent_date():
    assert starts(D(2026, 1, 5))["screening"] == D(2026, 1, 5)


def test_each_later_phase_starts_after_the_previous_phases_length():
    assert starts(D(2026, 1, 5)) == {
        "screening": D(2026, 1, 5),
        "treatment": D(2026, 3, 2),  # + 8 weeks
        "follow_up": D(2026, 4, 27),  # + 8 weeks
    }


def test_an_actual_start_re_anchors_the_phases_after_it():
    assert starts(D(2026, 1, 5), {"treatment": D(2026, 3, 10)}) == {
        "screening": D(2026, 1, 5),
        "treatment": D(2026, 3, 10),
        "follow_up": D(2026, 5, 5),
    }


def test_an_actual_start_of_the_first_phase_cannot_move_it_off_the_consent_date():
    assert starts(D(2026, 1, 5), {"screening": D(2026, 1, 9)})["screening"] == D(2026, 1, 5)


def test_month_offsets_count_from_the_phase_start_and_are_never_chained():
    # Follow-up starting 31 Aug: Month 1 is 30 Sep, Month 6 is 28 Feb, Month 9 is 31 May.
    consent = D(2026, 8, 31) - datetime.timedelta(weeks=16)
    planned = {
        v.code: v.planned for v in engine.plan_visits(SLE001_PHASES, FOLLOW_UP_VISITS, consent)
    }
    assert planned == {
        "FU1": D(2026, 9, 30),
        "FU3": D(2026, 11, 30),
        "FU6": D(2027, 2, 28),
        "FU9": D(2027, 5, 31),
        "FU12": D(2027, 8, 31),
    }


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (D(2026, 1, 31), 1, D(2026, 2, 28)),
        (D(2028, 1, 31), 1, D(2028, 2, 29)),  # leap year
        (D(2026, 1, 31), 12, D(2027, 1, 31)),
        (D(2028, 2, 29), 12, D(2029, 2, 28)),
        (D(2028, 2, 29), 48, D(2032, 2, 29)),
        (D(2026, 3, 31), -1, D(2026, 2, 28)),
    ],
)
def test_calendar_months_clamp_to_the_last_day_of_the_month(start, months, expected):
    assert engine.add_duration(start, months, engine.MONTHS) == expected


def test_a_twelve_month_phase_ends_on_the_same_day_of_next_year():
    consent = D(2026, 1, 31) - datetime.timedelta(weeks=16)
    [*_, follow_up] = engine.phase_starts(SLE001_PHASES, consent)
    assert (follow_up.start, follow_up.end) == (D(2026, 1, 31), D(2027, 1, 31))


def test_the_window_is_the_planned_date_minus_before_to_plus_after():
    leukapheresis = VisitPlan("LEUK", "screening", 35, engine.DAYS, 7, 7)
    [visit] = engine.plan_visits(SLE001_PHASES, [leukapheresis], D(2026, 1, 5))
    assert (visit.window_start, visit.planned, visit.window_end) == (
        D(2026, 2, 2),
        D(2026, 2, 9),
        D(2026, 2, 16),
    )


def test_visits_are_returned_in_planned_date_order():
    visits = [
        VisitPlan("FU1", "follow_up", 1, engine.MONTHS, 7, 7),
        VisitPlan("SCR", "screening", 0, engine.DAYS, 0, 3),
        VisitPlan("INF1", "treatment", 0, engine.DAYS, 0, 0),
    ]
    planned = engine.plan_visits(SLE001_PHASES, visits, D(2026, 1, 5))
    assert [v.code for v in planned] == ["SCR", "INF1", "FU1"]


def test_study_day_one_is_the_treatment_start_and_the_day_before_is_minus_one():
    day_one = D(2026, 3, 2)
    assert engine.study_day(day_one, day_one) == 1
    assert engine.study_day(D(2026, 3, 1), day_one) == -1
    assert engine.study_day(D(2026, 4, 20), day_one) == 50  # end of treatment, Day 50


def test_there_is_no_day_zero():
    with pytest.raises(ValueError, match="no Day 0"):
        engine.date_of_study_day(0, D(2026, 3, 2))


def test_study_day_one_is_the_actual_treatment_start_when_recorded_else_the_planned():
    assert engine.day_one(SLE001_PHASES, "treatment", D(2026, 1, 5)) == D(2026, 3, 2)
    assert engine.day_one(
        SLE001_PHASES, "treatment", D(2026, 1, 5), {"treatment": D(2026, 3, 12)}
    ) == D(2026, 3, 12)


def test_a_visit_done_outside_its_window_is_a_deviation():
    assert engine.is_deviation(D(2026, 1, 9), D(2026, 1, 5), D(2026, 1, 8))
    assert not engine.is_deviation(D(2026, 1, 8), D(2026, 1, 5), D(2026, 1, 8))
    assert not engine.is_deviation(None, D(2026, 1, 5), D(2026, 1, 8))


def test_a_visit_is_missed_only_once_its_window_ended_before_today_without_an_actual_date():
    assert not engine.is_missed(D(2026, 1, 8), None, D(2026, 1, 8))
    assert engine.is_missed(D(2026, 1, 8), None, D(2026, 1, 9))
    assert not engine.is_missed(D(2026, 1, 8), D(2026, 1, 7), D(2026, 1, 9))
    assert not engine.is_missed(None, None, D(2030, 1, 1))  # unscheduled: no window


def test_an_unknown_unit_is_refused():
    with pytest.raises(ValueError, match="unknown unit"):
        engine.add_duration(D(2026, 1, 1), 1, "fortnights")


def test_a_day_falls_in_the_last_phase_started_by_then():
    planned = engine.phase_starts(SLE001_PHASES, D(2026, 1, 5))
    actual = engine.phase_starts(SLE001_PHASES, D(2026, 1, 5), {"treatment": D(2026, 2, 15)})
    assert [engine.phase_on(planned, day) for day in (D(2026, 1, 4), D(2026, 2, 18))] == [
        "screening",
        "screening",
    ]
    assert engine.phase_on(planned, D(2026, 3, 2)) == "treatment"
    assert engine.phase_on(actual, D(2026, 2, 18)) == "treatment"
    assert engine.phase_on(actual, D(2026, 4, 12)) == "follow_up"  # 15 Feb + 8 weeks
