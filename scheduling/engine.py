"""The date engine: pure rules of the timeline, on plain values. No ORM, no clock.

Rules (PRODUCT.md, "Rules of the timeline"):
- The first phase starts on the consent date. A later phase's planned start is the previous
  phase's start (actual if recorded, else planned) plus the previous phase's length.
- A visit's planned date is its phase's start plus its offset; month offsets are calendar
  months counted from the phase start (never chained), clamped to the month's last day.
  Its window is planned − before … planned + after.
- Study day: Day 1 is the anchor phase's start (treatment); the day before is Day −1; no Day 0.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta

DAYS = "days"
WEEKS = "weeks"
MONTHS = "months"
UNITS = (DAYS, WEEKS, MONTHS)


def add_duration(start: datetime.date, amount: int, unit: str) -> datetime.date:
    """``start`` plus ``amount`` days, weeks or calendar months (month ends clamp: 31 Jan + 1
    month is the last day of February; 31 Jan + 12 months is 31 Jan of the next year)."""
    if unit == DAYS:
        return start + datetime.timedelta(days=amount)
    if unit == WEEKS:
        return start + datetime.timedelta(weeks=amount)
    if unit == MONTHS:
        return start + relativedelta(months=amount)
    raise ValueError(f"unknown unit {unit!r}; expected one of {', '.join(UNITS)}")


def study_day(day: datetime.date, day_one: datetime.date) -> int:
    """CDISC study day of ``day``: Day 1 is ``day_one``, the day before is −1; there is no 0."""
    delta = (day - day_one).days
    return delta + 1 if delta >= 0 else delta


def date_of_study_day(number: int, day_one: datetime.date) -> datetime.date:
    """The inverse of :func:`study_day`."""
    if number == 0:
        raise ValueError("there is no Day 0")
    return day_one + datetime.timedelta(days=number - 1 if number > 0 else number)


@dataclass(frozen=True)
class PhasePlan:
    code: str
    length: int
    unit: str


@dataclass(frozen=True)
class VisitPlan:
    code: str
    phase: str
    offset: int
    unit: str
    before: int
    after: int


@dataclass(frozen=True)
class PhaseStart:
    code: str
    start: datetime.date
    actual: bool
    end: datetime.date  # planned end: the next phase's planned start from this start


@dataclass(frozen=True)
class PlannedVisit:
    code: str
    phase: str
    planned: datetime.date
    window_start: datetime.date
    window_end: datetime.date

    def in_window(self, day: datetime.date) -> bool:
        return self.window_start <= day <= self.window_end


def phase_starts(
    phases: Sequence[PhasePlan],
    consent_date: datetime.date,
    actual_starts: Mapping[str, datetime.date] | None = None,
) -> list[PhaseStart]:
    """Each phase's start: actual where recorded, else planned from the previous phase."""
    actual_starts = actual_starts or {}
    result: list[PhaseStart] = []
    previous_end = consent_date
    for index, phase in enumerate(phases):
        if index == 0:
            start, actual = consent_date, True
        elif phase.code in actual_starts:
            start, actual = actual_starts[phase.code], True
        else:
            start, actual = previous_end, False
        end = add_duration(start, phase.length, phase.unit)
        result.append(PhaseStart(phase.code, start, actual, end))
        previous_end = end
    return result


def phase_on(starts: Sequence[PhaseStart], day: datetime.date) -> str:
    """The code of the phase ``day`` falls in: the last one started by then (the first phase
    for a day before consent)."""
    current = starts[0].code
    for start in starts:
        if start.start <= day:
            current = start.code
    return current


def plan_visit(visit: VisitPlan, phase_start: datetime.date) -> PlannedVisit:
    planned = add_duration(phase_start, visit.offset, visit.unit)
    return PlannedVisit(
        code=visit.code,
        phase=visit.phase,
        planned=planned,
        window_start=planned - datetime.timedelta(days=visit.before),
        window_end=planned + datetime.timedelta(days=visit.after),
    )


def plan_visits(
    phases: Sequence[PhasePlan],
    visits: Iterable[VisitPlan],
    consent_date: datetime.date,
    actual_starts: Mapping[str, datetime.date] | None = None,
) -> list[PlannedVisit]:
    """Every visit's planned date and window, ordered by planned date (then plan order)."""
    starts = {p.code: p.start for p in phase_starts(phases, consent_date, actual_starts)}
    planned = [plan_visit(visit, starts[visit.phase]) for visit in visits]
    return sorted(planned, key=lambda v: v.planned)


def day_one(
    phases: Sequence[PhasePlan],
    anchor_phase: str,
    consent_date: datetime.date,
    actual_starts: Mapping[str, datetime.date] | None = None,
) -> datetime.date:
    """Study Day 1: the anchor phase's start, actual if recorded, else planned."""
    for start in phase_starts(phases, consent_date, actual_starts):
        if start.code == anchor_phase:
            return start.start
    raise ValueError(f"the protocol has no phase {anchor_phase!r}")


def is_missed(
    window_end: datetime.date | None, actual: datetime.date | None, today: datetime.date
) -> bool:
    """A visit is missed when its window ended before today with no actual date."""
    return actual is None and window_end is not None and window_end < today


def is_deviation(
    actual: datetime.date | None,
    window_start: datetime.date | None,
    window_end: datetime.date | None,
) -> bool:
    """A protocol deviation: done, but outside its window."""
    if actual is None or window_start is None or window_end is None:
        return False
    return not (window_start <= actual <= window_end)


def local_instant(
    day: datetime.date, at: datetime.time, zone: datetime.tzinfo
) -> datetime.datetime:
    """The aware UTC instant of wall-clock ``at`` on ``day`` in ``zone`` (zoneinfo), correct
    across daylight-saving changes. A wall time skipped by a spring-forward gap takes the offset in
    force before the change (PEP 495, fold=0): 02:30 on such a day goes at 03:30 new local time."""
    return datetime.datetime.combine(day, at, tzinfo=zone).astimezone(datetime.UTC)


def reminder_due_at(
    visit_date: datetime.date, lead_days: int, at: datetime.time, zone: datetime.tzinfo
) -> datetime.datetime:
    """When a reminder ``lead_days`` before ``visit_date`` at local ``at`` falls due (UTC)."""
    return local_instant(visit_date - datetime.timedelta(days=lead_days), at, zone)
