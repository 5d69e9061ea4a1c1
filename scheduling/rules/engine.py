"""The date engine: pure rules of the timeline, on plain values. No ORM, no clock.

Rules (docs/timeline.md):
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
class Window:
    """A visit's window: the days from ``start`` to ``end`` (inclusive) on which it is done
    without a deviation."""

    start: datetime.date
    end: datetime.date

    def __contains__(self, day: datetime.date) -> bool:
        return self.start <= day <= self.end

    def days(self) -> list[datetime.date]:
        return [
            self.start + datetime.timedelta(days=n) for n in range((self.end - self.start).days + 1)
        ]

    def __str__(self) -> str:
        return f"{self.start.isoformat()} to {self.end.isoformat()}"


@dataclass(frozen=True)
class PlannedVisit:
    code: str
    phase: str
    planned: datetime.date
    window_start: datetime.date
    window_end: datetime.date

    @property
    def window(self) -> Window:
        return Window(self.window_start, self.window_end)

    def in_window(self, day: datetime.date) -> bool:
        return day in self.window


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


# Why a done visit is a protocol deviation (docs/timeline.md, "Visits the lifecycle forbids"):
# a visit of a phase the participant has not reached, or dated after they left, is refused or
# flagged; most serious first.
AFTER_LEFT = "after_left"
BEFORE_PHASE = "before_phase"
OUTSIDE_WINDOW = "outside_window"


def phases_reached(
    starts: Sequence[PhaseStart], started_by_transition: Iterable[str]
) -> dict[str, datetime.date | None]:
    """The day the participant reached each phase (None: not reached). The first phase is
    reached on consent; a phase whose start is recorded by a transition
    (``started_by_transition``) only once that start is recorded; any other phase on its
    planned start."""
    recorded_only = set(started_by_transition)
    return {
        start.code: start.start if start.actual or start.code not in recorded_only else None
        for start in starts
    }


def deviation(
    actual: datetime.date | None,
    window_start: datetime.date | None,
    window_end: datetime.date | None,
    phase_reached_on: datetime.date | None,
    left_on: datetime.date | None,
) -> str:
    """Why a visit done on ``actual`` is a protocol deviation, the most serious reason first:
    done after the participant left (``left_on``), before its phase was reached
    (``phase_reached_on``; None: not reached), or outside its window. "" when it is none, or
    not done."""
    if actual is None:
        return ""
    if left_on is not None and actual > left_on:
        return AFTER_LEFT
    if phase_reached_on is None or actual < phase_reached_on:
        return BEFORE_PHASE
    if is_deviation(actual, window_start, window_end):
        return OUTSIDE_WINDOW
    return ""


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


# A visit belongs to its phase (docs/timeline.md): when a later phase starts, the visits of earlier
# phases that are not done are closed; when the participant leaves, nothing stays scheduled.
PHASE_ENDED = "phase ended"
LEFT_TRIAL = "left the trial"


@dataclass(frozen=True)
class VisitEnd:
    """How a visit not done ended before its window did: ``cancelled`` (planned after the
    participant left: it never came due), else closed as missed on ``on`` for ``reason``."""

    on: datetime.date
    reason: str
    cancelled: bool = False

    def sentence(self) -> str:
        if self.cancelled:
            return f"cancelled: left the trial on {self.on.isoformat()}"
        return f"missed: {self.reason} on {self.on.isoformat()}"


def visit_end(
    phase: str,
    planned: datetime.date,
    window_end: datetime.date | None,
    starts: Sequence[PhaseStart],
    left_on: datetime.date | None = None,
) -> VisitEnd | None:
    """How a visit of ``phase`` not done, planned on ``planned`` with its window ending on
    ``window_end``, ends before its window does; None while it stays scheduled.

    - A later phase whose start is recorded (actual) closes it on that start, as missed
      ("phase ended"), unless its window had ended before (then it is simply missed).
    - Leaving the trial on ``left_on`` cancels it if planned after that day, and closes it as
      missed ("left the trial") if its window was still open on that day.
    The earlier of the two applies. Pure: plain values in, a plain value out.
    """
    last_day = window_end or planned
    ending = None
    codes = [start.code for start in starts]
    if phase in codes:
        later = [s.start for s in starts[codes.index(phase) + 1 :] if s.actual]
        if later and last_day >= min(later):
            ending = VisitEnd(min(later), PHASE_ENDED)
    if left_on is not None and (ending is None or left_on < ending.on):
        if planned > left_on:
            return VisitEnd(left_on, LEFT_TRIAL, cancelled=True)
        if last_day >= left_on:
            return VisitEnd(left_on, LEFT_TRIAL)
    return ending
