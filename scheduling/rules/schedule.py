"""A participant's whole schedule decided at once: pure rules on plain values. No ORM, no clock.

The shell (``scheduling.timeline.schedules``) reads everything first: the protocol's plan, the
recorded phase starts, the day the participant left, their visits, the site's clinic calendar
and which bookings are over their day's capacity. It asks :func:`decide` once, and writes the
visits whose values changed. The rules (docs/timeline.md):

- A visit planned from the protocol takes its planned date, window and study day from its
  phase's start as it now stands (``engine.plan_visits``). A done visit keeps its actual date;
  its plan follows too, unless the protocol's plan itself changed (``keep_done_plans``), and
  its deviation is judged again (``engine.deviation``).
- A visit not done is closed when a later phase starts, or cancelled or closed when the
  participant leaves (``engine.visit_end``); a correction that undoes the cause reopens it.
- A visit still to be done gets its appointment (:func:`place_appointment`): its booking
  where staff put it (flagged to rebook when the day no longer fits), else the clinic
  calendar's proposal. When its planned date or appointment moves, its sequence is raised
  (calendars update the entry); when its appointment moves, a confirmation is undone.
- An unscheduled visit keeps its own date: its phase (the last reached by that day), study
  day and deviation follow.
- A participant who moved to another version of the plan (``TakeUp``: the day, and the plan
  they followed before) keeps every visit done with its dates and the version that planned
  it. A visit the new version no longer has becomes *not applicable* (closed on the take-up
  day, the version as its reason, never deleted); so does a visit whose window under the new
  version ended before the take-up day while it was still open then under the old one (a
  visit the version adds, or moves into the past): never scheduled backwards. Every other
  visit not done is planned under the new version (docs/amendments.md).
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from scheduling.rules import clinic_calendar as cc
from scheduling.rules import engine

# An appointment's flag (``scheduling.models.AppointmentFlag``).
NO_FLAG = ""
NO_OPEN_DAY = "no_open_day"
REBOOK = "rebook"
PLANNED_DEVIATION = "planned_deviation"
# A visit's confirmation (``scheduling.models.Confirmation``) when its day moves.
UNCONFIRMED = "unconfirmed"
# How a visit's ``closed_reason`` starts when a protocol version made it not applicable.
NOT_APPLICABLE = "not applicable"


def not_applicable_reason(version_number: str) -> str:
    return f"{NOT_APPLICABLE}: version {version_number}"


def is_not_applicable(closed_reason: str) -> bool:
    return closed_reason.startswith(NOT_APPLICABLE)


@dataclass(frozen=True)
class Plan:
    """A protocol's plan as the rule takes it: its phases in order, its visit definitions in
    plan order, the phase whose start is study day 1, and the phases whose start only a
    recorded transition gives."""

    phases: Sequence[engine.PhasePlan]
    visits: Sequence[engine.VisitPlan]
    day_one_phase: str
    recorded_starts: frozenset[str]
    # The version this plan is (its id and number): the version of every visit it plans.
    version: int | None = None
    number: str = ""


@dataclass(frozen=True)
class TakeUp:
    """The participant moved to the plan ``decide`` is given on ``on``, from ``previous``."""

    on: datetime.date
    previous: Plan


@dataclass(frozen=True)
class VisitValues:
    """One visit as the rule reads and decides it; the names are the visit's fields.
    ``definition`` is the code of its visit definition in the plan (None: unscheduled);
    ``key`` its id (None: a visit the shell is about to create)."""

    key: int | None
    definition: str | None
    version_id: int | None
    phase: str
    planned_date: datetime.date
    window_start: datetime.date | None
    window_end: datetime.date | None
    study_day: int | None
    actual_date: datetime.date | None
    booked_date: datetime.date | None
    booking_override: str
    cancelled: bool
    closed_on: datetime.date | None
    closed_reason: str
    sequence: int
    appointment_date: datetime.date | None
    appointment_note: str
    appointment_flag: str
    confirmation: str
    confirmation_at: datetime.datetime | None
    confirmation_via: str
    reschedule_message: str
    deviation: str

    @property
    def is_open(self) -> bool:
        """Still to be done: not done, not cancelled, not closed."""
        return self.actual_date is None and not self.cancelled and self.closed_on is None

    @property
    def window(self) -> engine.Window | None:
        if self.window_start is None:
            return None
        return engine.Window(self.window_start, self.window_end or self.window_start)

    def but(self, **changes) -> VisitValues:
        return dataclasses.replace(self, **changes)


FIELDS = tuple(field.name for field in dataclasses.fields(VisitValues) if field.name != "key")
# What the rule decides (the rest it only reads).
DECIDED = tuple(
    name
    for name in FIELDS
    if name not in ("definition", "actual_date", "booked_date", "booking_override")
)


def place_appointment(
    visit: VisitValues, calendar: cc.ClinicCalendar, over_capacity: str = ""
) -> VisitValues:
    """``visit``'s appointment (date, note, flag) from its booking or, without one, the
    calendar's proposal. A visit done, cancelled or closed keeps its own.

    A booking stays where staff put it; if it lies outside the window, on a day the clinic
    has since closed, or over its day's capacity (``over_capacity`` says why), it is flagged
    to rebook, unless the booking gave an override reason: then outside the window is a
    planned deviation, and the rest is noted.
    """
    row = dict(vars(visit))
    _place(row, calendar, over_capacity)
    return VisitValues(**row)


# The rules below work on a private copy of one visit's values (a dict, changed in place, made
# a VisitValues once at the end): a participant's schedule is decided for every participant of
# an import, so the per-visit cost counts.
Row = dict


def _is_open(row: Row) -> bool:
    return row["actual_date"] is None and not row["cancelled"] and row["closed_on"] is None


def _place(row: Row, calendar: cc.ClinicCalendar, over_capacity: str) -> None:
    if not _is_open(row):
        row["appointment_date"] = (
            row["appointment_date"] or row["actual_date"] or row["planned_date"]
        )
        if row["actual_date"] is None:
            row["appointment_flag"] = NO_FLAG  # nothing left to decide: cancelled or closed
        return
    booked = row["booked_date"]
    if booked is None:
        proposal = cc.propose_day(
            row["planned_date"], row["window_start"], row["window_end"], calendar
        )
        row["appointment_date"] = proposal.day
        row["appointment_note"] = proposal.note
        row["appointment_flag"] = NO_OPEN_DAY if proposal.no_open_day else NO_FLAG
        return
    start = row["window_start"]
    outside = start is not None and not (start <= booked <= (row["window_end"] or start))
    closed_day = calendar.closed_on(booked)
    closed = closed_day.label if closed_day else ""
    if row["booking_override"]:
        problems = [
            problem
            for problem in ("outside window" if outside else "", closed, over_capacity)
            if problem
        ]
        note = (
            ("planned deviation: " if outside else "override: ") + "; ".join(problems)
            if problems
            else "booked with an override"
        )
        flag = PLANNED_DEVIATION if outside else NO_FLAG
    elif outside or closed or over_capacity:
        flag = REBOOK
        note = "rebook: " + ("outside window" if outside else closed or over_capacity)
    else:
        flag, note = NO_FLAG, ""
    row["appointment_date"], row["appointment_flag"], row["appointment_note"] = booked, flag, note


def decide(
    plan: Plan,
    consent_date: datetime.date,
    starts: Mapping[str, datetime.date],
    left_on: datetime.date | None,
    visits: Sequence[VisitValues],
    calendar: cc.ClinicCalendar,
    over_capacity: Mapping[int, str] | None = None,
    *,
    keep_done_plans: bool = False,
    take_up: TakeUp | None = None,
) -> list[VisitValues]:
    """Every visit of ``visits`` as the schedule now has it, in the same order.

    ``visits`` holds one visit per definition of the plan (those not yet created with key
    None, as blank as a new row), the participant's visits of definitions the plan no longer
    has (planned by an earlier version) and their unscheduled visits; ``starts`` the
    recorded phase starts; ``over_capacity`` which bookings are over their day's capacity
    (visit key → why); ``take_up`` the move to this plan's version, when the participant
    did not start on it."""
    over_capacity = over_capacity or {}
    day_one = engine.day_one(plan.phases, plan.day_one_phase, consent_date, starts)
    planned = {
        visit.code: visit
        for visit in engine.plan_visits(plan.phases, plan.visits, consent_date, starts)
    }
    phase_of = {visit.code: visit.phase for visit in plan.visits}
    phase_starts = engine.phase_starts(plan.phases, consent_date, starts)
    reached = engine.phases_reached(phase_starts, plan.recorded_starts)
    # An unscheduled visit belongs to the last phase reached by its day.
    reached_starts = [start for start in phase_starts if reached[start.code] is not None]

    before = _previous_windows(take_up, consent_date, starts)
    na_reason = not_applicable_reason(plan.number)

    def decided(visit: VisitValues) -> VisitValues:
        row = dict(vars(visit))
        over = over_capacity.get(visit.key, "") if visit.key is not None else ""
        if visit.definition is None:
            _unscheduled(row, day_one, reached_starts, phase_starts, left_on, calendar, over)
            return VisitValues(**row)
        target = planned.get(visit.definition)
        if target is None:
            _retired(row, take_up, na_reason)
            return VisitValues(**row)
        if visit.actual_date is not None:
            reached_on = reached[phase_of[visit.definition]]
            # Done under another version: its window is the one it was done in.
            other_version = visit.version_id is not None and visit.version_id != plan.version
            _done(row, target, day_one, reached_on, left_on, keep_done_plans or other_version)
            return VisitValues(**row)
        row["version_id"] = plan.version
        # Its phase is the one this version plans it in (a version may move it to another).
        row["phase"] = target.phase
        row["planned_date"] = target.planned
        row["window_start"], row["window_end"] = target.window_start, target.window_end
        row["study_day"] = engine.study_day(target.planned, day_one)
        if take_up is not None and _not_applicable_at(visit, target, take_up.on, before):
            if not (visit.closed_on and is_not_applicable(visit.closed_reason)):
                row["closed_on"], row["closed_reason"] = take_up.on, na_reason
            row["cancelled"] = False
        else:
            _ended(row, phase_starts, left_on)
        _place(row, calendar, over)
        if visit.key is not None:
            if (row["planned_date"], row["appointment_date"]) != (
                visit.planned_date,
                visit.appointment_date,
            ):
                # Calendars update the entry (iCalendar SEQUENCE) when the day it shows moves.
                row["sequence"] += 1
            if row["appointment_date"] != visit.appointment_date:
                _unconfirm(row)
        return VisitValues(**row)

    return [decided(visit) for visit in visits]


def _previous_windows(
    take_up: TakeUp | None, consent_date: datetime.date, starts: Mapping[str, datetime.date]
) -> dict[str, datetime.date]:
    """The last day of each visit's window under the plan followed before ``take_up``."""
    if take_up is None:
        return {}
    previous = take_up.previous
    try:
        planned = engine.plan_visits(previous.phases, previous.visits, consent_date, starts)
    except (KeyError, ValueError):
        return {}
    return {visit.code: visit.window_end or visit.planned for visit in planned}


def _not_applicable_at(
    visit: VisitValues,
    target: engine.PlannedVisit,
    on: datetime.date,
    before: Mapping[str, datetime.date],
) -> bool:
    """Whether a visit not done is not applicable under the version taken up ``on``: its
    window there ended before that day, while it was still open then under the version
    followed before (or it was not in it). A visit already not applicable stays so while its
    window still ended before that day."""
    if (target.window_end or target.planned) >= on:
        return False
    if visit.closed_on is not None and is_not_applicable(visit.closed_reason):
        return True
    ended_before = before.get(visit.definition)
    return ended_before is None or ended_before >= on


def _retired(row: Row, take_up: TakeUp | None, reason: str) -> None:
    """A visit of a definition the plan no longer has (an earlier version's). Done, closed,
    cancelled or missed before the change, it is history and stays as it is; still open, it
    becomes not applicable on the take-up day."""
    if row["actual_date"] is not None or row["cancelled"] or row["closed_on"] is not None:
        return
    on = take_up.on if take_up is not None else row["planned_date"]
    if take_up is not None and (row["window_end"] or row["planned_date"]) < on:
        return  # missed under the version it belonged to, before the change
    row["closed_on"], row["closed_reason"] = on, reason
    row["appointment_flag"] = NO_FLAG


def _done(
    row: Row,
    target: engine.PlannedVisit,
    day_one: datetime.date,
    reached_on: datetime.date | None,
    left_on: datetime.date | None,
    keep_done_plans: bool,
) -> None:
    """Done: its actual date never moves, and its appointment is history. Its plan (planned
    date, window, study day) follows the phase start as it now stands (a correction of that
    start), and so does its deviation; a change of the protocol's plan (an amendment) leaves
    the window it was done in."""
    row["appointment_date"] = row["appointment_date"] or row["actual_date"]
    row["closed_on"], row["closed_reason"] = None, ""  # done: never closed
    if not keep_done_plans:
        row["planned_date"] = target.planned
        row["window_start"], row["window_end"] = target.window_start, target.window_end
    row["study_day"] = engine.study_day(row["planned_date"], day_one)
    row["deviation"] = engine.deviation(
        row["actual_date"], row["window_start"], row["window_end"], reached_on, left_on
    )


def _unscheduled(
    row: Row,
    day_one: datetime.date,
    reached_starts: Sequence[engine.PhaseStart],
    phase_starts: Sequence[engine.PhaseStart],
    left_on: datetime.date | None,
    calendar: cc.ClinicCalendar,
    over: str,
) -> None:
    """Unscheduled: its date is its own; its phase, study day, cancellation and deviation
    (only ever after the participant left: it has no window) follow."""
    actual = row["actual_date"]
    row["phase"] = engine.phase_on(reached_starts, row["planned_date"])
    row["study_day"] = engine.study_day(row["planned_date"], day_one)
    row["deviation"] = engine.deviation(actual, None, None, actual, left_on)
    if actual is not None:
        return
    appointment_before = row["appointment_date"]
    _ended(row, phase_starts, left_on)
    _place(row, calendar, over)
    if row["appointment_date"] != appointment_before:
        row["sequence"] += 1
        _unconfirm(row)


def _ended(
    row: Row, phase_starts: Sequence[engine.PhaseStart], left_on: datetime.date | None
) -> None:
    """The visit (not done) cancelled or closed as the phase-boundary and leaving rule says
    (``engine.visit_end``), or reopened when a correction undid what closed it."""
    ending = engine.visit_end(
        row["phase"], row["planned_date"], row["window_end"], phase_starts, left_on
    )
    closed = ending is not None and not ending.cancelled
    row["cancelled"] = ending is not None and ending.cancelled
    row["closed_on"] = ending.on if closed else None
    row["closed_reason"] = ending.reason if closed else ""


def _unconfirm(row: Row) -> None:
    """A confirmation (or a request for another date) was for the day that just moved."""
    row["confirmation"] = UNCONFIRMED
    row["confirmation_at"] = None
    row["confirmation_via"] = ""
    row["reschedule_message"] = ""
