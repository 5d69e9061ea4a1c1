"""Properties of the pure date engine, for any protocol plan (hypothesis)."""

import calendar
import datetime

from hypothesis import given
from hypothesis import strategies as st

from scheduling.rules import engine
from scheduling.rules.engine import PhasePlan, VisitPlan

dates = st.dates(min_value=datetime.date(1990, 1, 1), max_value=datetime.date(2090, 12, 31))
units = st.sampled_from(engine.UNITS)


@st.composite
def plans(draw):
    """A protocol plan: 1–5 phases of any length and unit, 0–12 visits spread over them."""
    phases = [
        PhasePlan(f"p{index}", draw(st.integers(1, 24)), draw(units))
        for index in range(draw(st.integers(1, 5)))
    ]
    visits = [
        VisitPlan(
            f"V{index}",
            draw(st.sampled_from(phases)).code,
            draw(st.integers(0, 60)),
            draw(units),
            draw(st.integers(0, 30)),
            draw(st.integers(0, 30)),
        )
        for index in range(draw(st.integers(0, 12)))
    ]
    return phases, visits


@st.composite
def actual_starts(draw, phases, consent):
    """Actual starts recorded for some later phases, each on or after the one before."""
    actual, day = {}, consent
    for phase in phases[1:]:
        if draw(st.booleans()):
            day = day + datetime.timedelta(days=draw(st.integers(0, 200)))
            actual[phase.code] = day
    return actual


@given(plans(), dates, st.data())
def test_phase_starts_never_go_backwards(plan, consent, data):
    phases, _ = plan
    actual = data.draw(actual_starts(phases, consent))
    starts = engine.phase_starts(phases, consent, actual)
    assert starts[0].start == consent
    for previous, current in zip(starts, starts[1:], strict=False):
        if current.code not in actual:
            assert current.start == previous.end > previous.start


@given(plans(), dates, st.data())
def test_a_planned_phase_start_is_the_previous_start_plus_its_length(plan, consent, data):
    phases, _ = plan
    actual = data.draw(actual_starts(phases, consent))
    starts = engine.phase_starts(phases, consent, actual)
    for phase, previous, current in zip(phases, starts, starts[1:], strict=False):
        expected = engine.add_duration(previous.start, phase.length, phase.unit)
        assert current.start == actual.get(current.code, expected)


@given(plans(), dates)
def test_windows_contain_their_planned_dates(plan, consent):
    phases, visits = plan
    for visit in engine.plan_visits(phases, visits, consent):
        assert visit.window_start <= visit.planned <= visit.window_end
        assert visit.in_window(visit.planned)


@given(plans(), dates)
def test_visits_come_back_ordered_by_planned_date(plan, consent):
    phases, visits = plan
    planned = [v.planned for v in engine.plan_visits(phases, visits, consent)]
    assert planned == sorted(planned)


@given(dates, st.integers(1, 24), units, st.lists(st.integers(0, 60), min_size=2), units)
def test_within_a_phase_a_larger_offset_is_never_planned_earlier(
    consent, length, unit, offsets, offset_unit
):
    phases = [PhasePlan("only", length, unit)]
    visits = [
        VisitPlan(f"V{i}", "only", offset, offset_unit, 0, 0) for i, offset in enumerate(offsets)
    ]
    by_code = {v.code: v.planned for v in engine.plan_visits(phases, visits, consent)}
    pairs = sorted((visit.offset, by_code[visit.code]) for visit in visits)
    assert [planned for _, planned in pairs] == sorted(planned for _, planned in pairs)


@given(dates, st.integers(-120, 120))
def test_a_month_offset_lands_in_the_right_month_clamped_to_its_last_day(start, months):
    result = engine.add_duration(start, months, engine.MONTHS)
    month_index = start.year * 12 + start.month - 1 + months
    assert result.year * 12 + result.month - 1 == month_index
    last_day = calendar.monthrange(result.year, result.month)[1]
    assert result.day == min(start.day, last_day)


@given(st.integers(1996, 2088).filter(calendar.isleap), st.integers(1, 40))
def test_29_february_keeps_its_day_only_in_leap_years(year, years):
    result = engine.add_duration(datetime.date(year, 2, 29), 12 * years, engine.MONTHS)
    assert result == datetime.date(year + years, 2, 29 if calendar.isleap(year + years) else 28)


@given(dates, st.lists(st.integers(0, 24), min_size=1, max_size=6))
def test_month_offsets_are_counted_from_the_phase_start_never_chained(start, offsets):
    # The plan of "Month n" is start + n months, whatever visits came before it.
    for months in offsets:
        planned = engine.plan_visit(VisitPlan("V", "p", months, engine.MONTHS, 0, 0), start)
        assert planned.planned == engine.add_duration(start, months, engine.MONTHS)
        # Chained months would lose the day at the first short month (31 Jan → 28 Feb → 28
        # Mar); counted from the start, each keeps it wherever its own month allows.
        last_day = calendar.monthrange(planned.planned.year, planned.planned.month)[1]
        assert planned.planned.day == min(start.day, last_day)


@given(dates, dates)
def test_there_is_never_a_study_day_zero(day, day_one):
    assert engine.study_day(day, day_one) != 0


@given(dates, dates)
def test_study_day_and_date_of_study_day_round_trip(day, day_one):
    assert engine.date_of_study_day(engine.study_day(day, day_one), day_one) == day


@given(st.integers(-5000, 5000).filter(bool), dates)
def test_date_of_study_day_and_study_day_round_trip(number, day_one):
    assert engine.study_day(engine.date_of_study_day(number, day_one), day_one) == number


@given(dates, dates, dates)
def test_study_days_keep_the_order_of_their_dates(first, second, day_one):
    if first < second:
        assert engine.study_day(first, day_one) < engine.study_day(second, day_one)
