"""The clinic calendar's choice of a day: pure rules on plain values. No ORM, no clock.

Rules (README, "Rules of the timeline"):
- The clinic is open on a day that is one of its open weekdays, not a public holiday of its
  calendar and inside none of its closures.
- A visit's proposed appointment is its planned date when the clinic is open then; otherwise
  the open day nearest to the planned date inside the window, the earlier one when two are
  equally near. When no day of the window is open, it stays on the planned date, flagged.
- Capacity is not part of a proposal: it counts booked appointments only (``day_load``).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WEEKDAY_SHORT = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
NO_OPEN_DAY = "no open day in window"

# Why a day is closed, by kind (the first that applies is given).
CLOSURE = "closed"
HOLIDAY = "holiday"
WEEKDAY = "weekday"


@dataclass(frozen=True)
class Closure:
    start: datetime.date
    end: datetime.date
    reason: str

    def covers(self, day: datetime.date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True)
class ClinicCalendar:
    """A site's calendar: open ISO weekdays (1 = Monday), public holidays (date → name) and
    closures. The default is open Monday to Friday, no holiday, no closure."""

    open_weekdays: frozenset[int] = frozenset({1, 2, 3, 4, 5})
    holidays: Mapping[datetime.date, str] = field(default_factory=dict)
    closures: Sequence[Closure] = ()

    def closed_because(self, day: datetime.date) -> tuple[str, str] | None:
        """``(kind, detail)`` when the clinic is closed on ``day`` (a closure's reason, a
        holiday's name, or the weekday's name), else None."""
        for closure in self.closures:
            if closure.covers(day):
                return CLOSURE, closure.reason
        name = self.holidays.get(day)
        if name:
            return HOLIDAY, name
        if day.isoweekday() not in self.open_weekdays:
            return WEEKDAY, WEEKDAY_NAMES[day.weekday()]
        return None

    def is_open(self, day: datetime.date) -> bool:
        return self.closed_because(day) is None

    def closed_note(self, day: datetime.date) -> str:
        """Why a proposal is not on ``day``, as the schedule export writes it: ``moved off a
        Sunday``, ``holiday: Easter Monday``, ``closed: inspection``; "" when open."""
        why = self.closed_because(day)
        if why is None:
            return ""
        kind, detail = why
        if kind == WEEKDAY:
            return f"moved off a {detail}"
        return f"{kind}: {detail}"

    def closed_sentence(self, day: datetime.date, site: str) -> str:
        """A sentence for staff: ``2026-07-03 is a holiday at OCN: Independence Day
        (observed)``; "" when open."""
        why = self.closed_because(day)
        if why is None:
            return ""
        kind, detail = why
        if kind == CLOSURE:
            return f"{day.isoformat()}: {site} is closed ({detail})"
        if kind == HOLIDAY:
            return f"{day.isoformat()} is a holiday at {site}: {detail}"
        open_days = ", ".join(WEEKDAY_SHORT[n - 1] for n in sorted(self.open_weekdays))
        return f"{day.isoformat()} is a {detail}; {site} is open {open_days or 'no day'}"


@dataclass(frozen=True)
class Proposal:
    """A proposed appointment day; ``note`` says why it differs from the planned date."""

    day: datetime.date
    note: str
    no_open_day: bool = False


def days_by_nearness(
    planned: datetime.date, window_start: datetime.date, window_end: datetime.date
):
    """The days of the window ordered by distance from ``planned``, the earlier first."""
    yield planned
    distance = 1
    while True:
        earlier = planned - datetime.timedelta(days=distance)
        later = planned + datetime.timedelta(days=distance)
        in_window = False
        if earlier >= window_start:
            in_window = True
            yield earlier
        if later <= window_end:
            in_window = True
            yield later
        if not in_window:
            return
        distance += 1


def propose_day(
    planned: datetime.date,
    window_start: datetime.date | None,
    window_end: datetime.date | None,
    calendar: ClinicCalendar,
) -> Proposal:
    """The appointment to propose for a visit planned on ``planned`` with that window.

    The planned date if open; else the nearest open day of the window (the earlier of two
    equally near); else the planned date, flagged ``no_open_day``. A visit without a window
    (an unscheduled one) keeps its date, with a note if the clinic is closed then.
    """
    if calendar.is_open(planned):
        return Proposal(planned, "")
    start = window_start if window_start is not None else planned
    end = window_end if window_end is not None else planned
    start, end = min(start, planned), max(end, planned)
    for day in days_by_nearness(planned, start, end):
        if calendar.is_open(day):
            return Proposal(day, calendar.closed_note(planned))
    if window_start is None and window_end is None:
        return Proposal(planned, calendar.closed_note(planned))
    return Proposal(planned, NO_OPEN_DAY, no_open_day=True)


def window_days(window_start: datetime.date, window_end: datetime.date) -> list[datetime.date]:
    days, day = [], window_start
    while day <= window_end:
        days.append(day)
        day += datetime.timedelta(days=1)
    return days
