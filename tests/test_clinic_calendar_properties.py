"""The clinic calendar's choice of a day (scheduling.rules.clinic_calendar), on plain values.

Properties of ``propose_day`` for any planned date, window, set of open weekdays (none
included), holidays and closures, each checked against a brute-force reading of the rule
(README, "Rules of the timeline"): the planned date if open, else the open day of the window
nearest to it, the earlier of two equally near, else the planned date flagged "no open day in
window". Then the weekday notation of ``participants.clinic`` and worked examples on real
public holidays from the ``holidays`` package.
"""

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from participants.clinic import open_days_label, parse_open_days, public_holidays
from scheduling.rules.clinic_calendar import (
    NO_OPEN_DAY,
    ClinicCalendar,
    Closure,
    days_by_nearness,
    propose_day,
)
from scheduling.rules.engine import Window

D = datetime.date
DAY = datetime.timedelta(days=1)
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

# The app's dates: consent from 1990, bookings at most five years ahead of a site's today.
dates = st.dates(min_value=D(1990, 1, 1), max_value=D(2100, 12, 31))
weekday_sets = st.frozensets(st.integers(1, 7))  # the empty set too: a clinic never open
spans = st.integers(0, 30)


@st.composite
def visits(draw):
    """A planned date with its window (0–30 days before and after)."""
    planned = draw(dates)
    return planned, planned - draw(spans) * DAY, planned + draw(spans) * DAY


@st.composite
def calendars(draw, near: datetime.date):
    """A clinic calendar whose holidays and closures fall around ``near`` (where they matter)."""
    around = st.integers(-45, 45).map(lambda n: near + n * DAY)
    holidays = draw(st.dictionaries(around, st.text(min_size=1, max_size=20), max_size=20))
    closures = []
    for _ in range(draw(st.integers(0, 4))):
        start = draw(around)
        closures.append(
            Closure(start, start + draw(st.integers(0, 10)) * DAY, draw(st.text(min_size=1)))
        )
    return ClinicCalendar(
        open_weekdays=draw(weekday_sets), holidays=holidays, closures=tuple(closures)
    )


def expected_day(planned, start, end, calendar):
    """The rule, read the slow way: the open days of the window, nearest first, then earliest."""
    open_days = [day for day in Window(start, end).days() if calendar.is_open(day)]
    if calendar.is_open(planned) or not open_days:
        return planned
    return min(open_days, key=lambda day: (abs((day - planned).days), day))


@given(visits(), st.data())
def test_a_proposal_follows_the_rule_for_any_calendar(visit, data):
    planned, start, end = visit
    calendar = data.draw(calendars(planned))
    proposal = propose_day(planned, start, end, calendar)
    assert proposal.day == expected_day(planned, start, end, calendar)


@given(visits(), st.data())
def test_a_proposal_is_inside_the_window(visit, data):
    planned, start, end = visit
    calendar = data.draw(calendars(planned))
    assert start <= propose_day(planned, start, end, calendar).day <= end


@given(visits(), st.data())
def test_a_proposal_is_open_whenever_the_window_has_an_open_day(visit, data):
    planned, start, end = visit
    calendar = data.draw(calendars(planned))
    proposal = propose_day(planned, start, end, calendar)
    if any(calendar.is_open(day) for day in Window(start, end).days()):
        assert calendar.is_open(proposal.day)
        assert not proposal.no_open_day


@given(visits(), st.data())
def test_no_open_day_of_the_window_is_nearer_and_of_two_as_near_the_earlier_is_chosen(visit, data):
    planned, start, end = visit
    calendar = data.draw(calendars(planned))
    proposal = propose_day(planned, start, end, calendar)
    if proposal.no_open_day:
        return
    distance = abs((proposal.day - planned).days)
    for day in Window(start, end).days():
        if calendar.is_open(day):
            assert abs((day - planned).days) >= distance
            if abs((day - planned).days) == distance:
                assert day >= proposal.day


@given(visits(), st.data())
def test_with_no_open_day_in_the_window_the_proposal_is_the_planned_date_flagged(visit, data):
    planned, start, end = visit
    calendar = data.draw(calendars(planned))
    if any(calendar.is_open(day) for day in Window(start, end).days()):
        return
    proposal = propose_day(planned, start, end, calendar)
    assert (proposal.day, proposal.no_open_day, proposal.note) == (planned, True, NO_OPEN_DAY)


@given(visits(), st.data())
def test_an_open_planned_date_is_the_proposal_with_no_note(visit, data):
    planned, start, end = visit
    calendar = data.draw(calendars(planned))
    if not calendar.is_open(planned):
        return
    proposal = propose_day(planned, start, end, calendar)
    assert (proposal.day, proposal.note, proposal.no_open_day) == (planned, "", False)


@given(visits(), st.data())
def test_a_moved_proposal_notes_why_the_planned_date_is_closed(visit, data):
    planned, start, end = visit
    calendar = data.draw(calendars(planned))
    proposal = propose_day(planned, start, end, calendar)
    if proposal.day != planned:
        assert proposal.note == calendar.closed_on(planned).note != ""


@given(visits())
def test_a_clinic_never_open_flags_every_visit(visit):
    planned, start, end = visit
    proposal = propose_day(planned, start, end, ClinicCalendar(open_weekdays=frozenset()))
    assert (proposal.day, proposal.no_open_day) == (planned, True)


@given(dates, st.data())
def test_a_visit_without_a_window_keeps_its_day(planned, data):
    calendar = data.draw(calendars(planned))
    proposal = propose_day(planned, None, None, calendar)
    assert (proposal.day, proposal.no_open_day) == (planned, False)
    closed = calendar.closed_on(planned)
    assert proposal.note == (closed.state if closed else "")


# days_by_nearness: the order in which a proposal looks at the window.


@given(visits())
def test_days_by_nearness_gives_each_day_of_the_window_once(visit):
    planned, start, end = visit
    days = list(days_by_nearness(planned, start, end))
    assert sorted(days) == Window(start, end).days()
    assert len(set(days)) == len(days)


@given(visits())
def test_days_by_nearness_never_goes_further_then_nearer_and_takes_the_earlier_first(visit):
    planned, start, end = visit
    days = list(days_by_nearness(planned, start, end))
    keys = [(abs((day - planned).days), day) for day in days]
    assert keys == sorted(keys)
    assert days[0] == planned


# Open weekdays as staff write them.

weekday_numbers = st.frozensets(st.integers(1, 7), min_size=1)


def stored(numbers) -> str:
    return "".join(str(n) for n in sorted(numbers))


@given(weekday_numbers)
def test_open_days_label_reads_back_as_the_same_days(numbers):
    assert parse_open_days(open_days_label(stored(numbers))) == stored(numbers)


@given(weekday_numbers)
def test_open_days_label_lists_days_in_week_order_and_runs_of_three_as_ranges(numbers):
    label = open_days_label(stored(numbers))
    for part in label.split(","):
        first, dash, last = part.partition("-")
        assert first in WEEKDAYS and (not dash or last in WEEKDAYS)
        if dash:
            assert WEEKDAYS.index(last) - WEEKDAYS.index(first) >= 2


@given(st.lists(st.tuples(st.integers(1, 7), st.integers(1, 7)), min_size=1), st.booleans())
def test_parse_open_days_takes_days_and_ranges_in_any_order_and_case(parts, long_names):
    names = (
        ("monday", "TUESDAY", "Wednesday", "thursday", "Friday", "saturday", "SUNDAY")
        if long_names
        else ("mon", "Tue", "WED", "Thu", "fri", "Sat", "sun")
    )
    text = ", ".join(
        names[first - 1] if first == last else f"{names[first - 1]} - {names[last - 1]}"
        for first, last in parts
    )
    expected = set()
    for first, last in parts:
        day = first
        expected.add(day)
        while day != last:  # a range may wrap over the week's end (Sat-Mon)
            day = day % 7 + 1
            expected.add(day)
    assert parse_open_days(text) == stored(expected)


@pytest.mark.parametrize(
    ("text", "stored_days", "label"),
    [
        ("Mon-Fri", "12345", "Mon-Fri"),
        ("Mon,Tue,Thu", "124", "Mon,Tue,Thu"),
        ("Tue-Sat", "23456", "Tue-Sat"),
        ("Sat-Mon", "167", "Mon,Sat,Sun"),
        ("Mon-Sun", "1234567", "Mon-Sun"),
        ("Fri,Mon-Wed", "1235", "Mon-Wed,Fri"),
    ],
)
def test_open_days_worked_examples(text, stored_days, label):
    assert parse_open_days(text) == stored_days
    assert open_days_label(stored_days) == label


@pytest.mark.parametrize("text", ["", " ", "Mon,,Fri", "Mon-Funday", "Lun-Ven", "1-5"])
def test_open_days_that_cannot_be_read_are_refused_with_a_sentence(text):
    with pytest.raises(ValueError, match=r"\w"):
        parse_open_days(text)


def test_open_days_label_of_no_day_is_empty():
    assert open_days_label("") == ""


# Worked examples on the public holidays of the holidays package.

MON_FRI = frozenset({1, 2, 3, 4, 5})
OCN = ClinicCalendar(MON_FRI, public_holidays("US", "CA"))
BER = ClinicCalendar(MON_FRI, public_holidays("DE", "BE"))


def window(planned: datetime.date, before: int, after: int):
    return planned, planned - before * DAY, planned + after * DAY


def test_the_holidays_of_the_examples_are_those_of_the_holidays_package():
    assert public_holidays("US", "CA")[D(2026, 7, 3)] == "Independence Day (observed)"
    assert public_holidays("DE", "BE")[D(2026, 4, 3)] == "Good Friday"
    assert public_holidays("DE", "BE")[D(2026, 4, 6)] == "Easter Monday"
    assert public_holidays("US", "CA")[D(2026, 12, 25)] == "Christmas Day"
    assert D(2026, 12, 25).isoweekday() == 5  # a Friday


@pytest.mark.parametrize(
    ("before", "after", "day"),
    [
        (2, 2, D(2026, 7, 2)),  # Thursday 2 July: 1 day away; Saturday 4 July is closed
        (1, 0, D(2026, 7, 2)),
        (0, 3, D(2026, 7, 6)),  # nothing earlier: Monday 6 July, past the weekend
        (3, 3, D(2026, 7, 2)),  # the 2nd and the 6th are not as near: the 2nd
    ],
)
def test_independence_day_observed_moves_to_the_nearest_open_day(before, after, day):
    proposal = propose_day(*window(D(2026, 7, 3), before, after), OCN)
    assert (proposal.day, proposal.note) == (
        day,
        "moved off a holiday: Independence Day (observed)",
    )
    assert not proposal.no_open_day


def test_independence_day_itself_goes_to_the_earlier_of_two_open_days_as_near():
    # Saturday 4 July, the holiday itself: Friday 3 (observed) and Sunday 5 are closed;
    # Thursday 2 and Monday 6 are both two days away. The holiday is named before the weekday.
    proposal = propose_day(*window(D(2026, 7, 4), 2, 2), OCN)
    assert (proposal.day, proposal.note) == (
        D(2026, 7, 2),
        "moved off a holiday: Independence Day",
    )


def test_independence_day_observed_with_a_window_of_the_weekend_only_has_no_open_day():
    proposal = propose_day(*window(D(2026, 7, 3), 0, 2), OCN)
    assert (proposal.day, proposal.note, proposal.no_open_day) == (
        D(2026, 7, 3),
        NO_OPEN_DAY,
        True,
    )


@pytest.mark.parametrize(
    ("planned", "day", "note"),
    [
        # Easter Monday: Saturday 4 and Sunday 5 April closed, Tuesday 7 April 1 day away.
        (D(2026, 4, 6), D(2026, 4, 7), "moved off a holiday: Easter Monday"),
        # Good Friday: Thursday 2 April, 1 day away, before Saturday 4 April.
        (D(2026, 4, 3), D(2026, 4, 2), "moved off a holiday: Good Friday"),
        # Easter Sunday (not a holiday in Berlin): Good Friday, Saturday and Easter Monday
        # are closed; Tuesday 7 April is 2 days away, Thursday 2 April 3.
        (D(2026, 4, 5), D(2026, 4, 7), "moved off a Sunday"),
        # Holy Saturday: Thursday 2 April and Easter Monday are both 2 days away, and the
        # Monday is a holiday: Thursday.
        (D(2026, 4, 4), D(2026, 4, 2), "moved off a Saturday"),
    ],
)
def test_easter_in_berlin_with_a_window_of_two_days_each_side(planned, day, note):
    proposal = propose_day(*window(planned, 2, 2), BER)
    assert (proposal.day, proposal.note) == (day, note)


def test_christmas_on_a_friday_with_no_window_has_no_open_day():
    proposal = propose_day(*window(D(2026, 12, 25), 0, 0), OCN)
    assert proposal.day == D(2026, 12, 25)
    assert proposal.no_open_day
    assert proposal.note == "no open day in window"


def test_christmas_with_a_window_moves_to_christmas_eve_and_names_the_day_it_left():
    # Issue 23: a proposal on 24 December noted only "holiday: Christmas Day", as if the
    # 24th were the holiday.
    proposal = propose_day(*window(D(2026, 12, 25), 3, 3), BER)
    assert (proposal.day, proposal.note) == (
        D(2026, 12, 24),
        "moved off a holiday: Christmas Day",
    )


def test_a_sunday_moves_to_the_monday_and_says_so():
    proposal = propose_day(*window(D(2026, 3, 8), 3, 3), OCN)
    assert (proposal.day, proposal.note) == (D(2026, 3, 9), "moved off a Sunday")


def test_a_saturday_moves_to_the_friday_the_earlier_of_two_as_near():
    proposal = propose_day(*window(D(2026, 3, 7), 3, 3), BER)
    assert (proposal.day, proposal.note) == (D(2026, 3, 6), "moved off a Saturday")


def test_a_closure_moves_the_proposal_and_names_its_reason():
    calendar = ClinicCalendar(
        MON_FRI,
        public_holidays("US", "CA"),
        (Closure(D(2026, 3, 10), D(2026, 3, 11), "inspection"),),
    )
    proposal = propose_day(*window(D(2026, 3, 11), 3, 3), calendar)
    assert (proposal.day, proposal.note) == (
        D(2026, 3, 12),
        "moved off a closure: inspection",
    )
    proposal = propose_day(*window(D(2026, 3, 10), 3, 3), calendar)
    assert (proposal.day, proposal.note) == (
        D(2026, 3, 9),
        "moved off a closure: inspection",
    )


def test_a_closure_over_a_holiday_gives_the_closure_as_the_reason():
    calendar = ClinicCalendar(
        MON_FRI,
        public_holidays("US", "CA"),
        (Closure(D(2026, 11, 26), D(2026, 11, 27), "Thanksgiving shutdown"),),
    )
    assert calendar.closed_on(D(2026, 11, 26)).label == "closed: Thanksgiving shutdown"
    assert OCN.closed_on(D(2026, 11, 26)).label == "holiday: Thanksgiving Day"


@pytest.mark.parametrize(
    ("calendar", "day", "sentence"),
    [
        (OCN, D(2026, 7, 3), "2026-07-03 is a holiday at OCN: Independence Day (observed)"),
        (OCN, D(2026, 7, 5), "2026-07-05 is a Sunday; OCN is open Mon, Tue, Wed, Thu, Fri"),
        (
            ClinicCalendar(closures=(Closure(D(2026, 3, 10), D(2026, 3, 10), "inspection"),)),
            D(2026, 3, 10),
            "2026-03-10: OCN is closed (inspection)",
        ),
        (
            ClinicCalendar(open_weekdays=frozenset()),
            D(2026, 3, 10),
            "2026-03-10 is a Tuesday; OCN is open no day",
        ),
        (OCN, D(2026, 7, 2), ""),
    ],
)
def test_closed_sentence_says_why_for_staff(calendar, day, sentence):
    closed = calendar.closed_on(day)
    assert (closed.sentence("OCN") if closed else "") == sentence


@given(dates, st.data())
def test_every_reader_of_a_closed_day_says_the_same_why(day, data):
    """One value, four forms (issue 22): the calendar's label, the picker's state, the
    export's note and the refusal's sentence all name the one reason that applies."""
    calendar = data.draw(calendars(day))
    closed = calendar.closed_on(day)
    assert (closed is None) == calendar.is_open(day)
    if closed is None:
        return
    assert closed.detail and closed.day == day
    for form in (closed.label, closed.state, closed.note, closed.reason, closed.sentence("OCN")):
        assert closed.detail in form
    assert closed.kind != "closed" or closed.reason == closed.detail  # "Closed: <reason>"
    assert closed.note.startswith("moved off a ")
    assert closed.state.endswith(closed.detail)
