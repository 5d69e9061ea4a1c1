"""Writes about schedules: building and re-anchoring visits, recording them, and keeping each
participant's reminders in step, all inside the caller's transaction.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from participants.dates import too_late_problem
from participants.models import Participant, Site
from participants.services import (
    effective_dates_by_status,
    effective_dates_by_status_of,
    refuse_date_out_of_range,
)
from participants.validators import validate_single_line

from . import engine
from .bulk_insert import history_records, insert_new
from .models import UNSCHEDULED_CODE, Confirmation, Phase, Visit, VisitDefinition
from .reminders import create_reminders, sync_reminders
from .site_calendars import clinic_calendar, place_appointment

_REANCHORED_FIELDS = [
    "phase",
    "planned_date",
    "window_start",
    "window_end",
    "study_day",
    "cancelled",
    "sequence",
    "appointment_date",
    "appointment_note",
    "appointment_flag",
    "confirmation",
    "confirmation_at",
    "confirmation_via",
    "reschedule_message",
]


def protocol_plan(protocol_id: int) -> tuple[list[Phase], list[VisitDefinition]]:
    phases = list(Phase.objects.filter(protocol_id=protocol_id).order_by("order"))
    definitions = list(
        VisitDefinition.objects.filter(protocol_id=protocol_id)
        .select_related("phase")
        .order_by("order", "id")
    )
    return phases, definitions


@dataclass(frozen=True)
class SchedulePlan:
    """A protocol's plan read once, as the engine takes it: used for every participant of a
    rebuild or an import."""

    phases: list[Phase]
    definitions: list[VisitDefinition]
    phase_plans: list[engine.PhasePlan]
    visit_plans: list[engine.VisitPlan]
    day_one_code: str

    @classmethod
    def read(cls, protocol_id: int) -> SchedulePlan | None:
        """The plan of ``protocol_id`` (two queries); None when it has no phase."""
        phases, definitions = protocol_plan(protocol_id)
        if not phases:
            return None
        return cls(
            phases=phases,
            definitions=definitions,
            phase_plans=[phase.as_plan() for phase in phases],
            visit_plans=[definition.as_plan() for definition in definitions],
            day_one_code=day_one_phase(phases).code,
        )

    def starts(self, by_status: dict[str, datetime.date]) -> dict[str, datetime.date]:
        """Recorded phase starts from the effective date of each status (see
        :func:`phase_actual_starts`)."""
        return {
            phase.code: by_status[phase.started_by]
            for phase in self.phases
            if phase.started_by and phase.started_by in by_status
        }


def phase_actual_starts(participant: Participant, phases: list[Phase]) -> dict[str, datetime.date]:
    """Recorded starts by phase code: a phase whose plan names a start transition
    (``Phase.started_by``) starts on that transition's effective date, as corrected."""
    by_status = effective_dates_by_status(participant)
    return {
        phase.code: by_status[phase.started_by]
        for phase in phases
        if phase.started_by and phase.started_by in by_status
    }


def day_one_phase(phases: list[Phase]) -> Phase:
    for phase in phases:
        if phase.is_day_one:
            return phase
    # A protocol without an explicit anchor counts study days from its second phase (the first
    # after screening), or its only one.
    return phases[1] if len(phases) > 1 else phases[0]


@transaction.atomic
def rebuild_schedule(participant: Participant, *, by=None, reason: str = "") -> list[Visit]:
    """Create or re-anchor every planned visit of ``participant`` from the protocol plan.

    Completed visits never move; visits planned after the day the participant left the trial
    are cancelled; every visit still to be done gets its appointment on the site's clinic
    calendar (``site_calendars.place_appointment``: the booking, else the proposal); a visit
    whose planned date or appointment moves has its sequence raised (calendars update the
    entry). Reminders follow the appointments in the same transaction. The number of queries
    does not depend on the number of visits.
    """
    participant = (
        Participant.objects.select_related("site", "protocol")
        .prefetch_related("site__closures")
        .get(pk=participant.pk)
    )
    plan = SchedulePlan.read(participant.protocol_id)
    if plan is None:
        return []
    calendar = clinic_calendar(participant.site)
    starts = phase_actual_starts(participant, plan.phases)
    current = list(participant.visits.all())
    to_create, to_update = _reanchor(participant, plan, calendar, starts, current)
    change_reason = reason or "Schedule rebuilt"
    if to_create:
        bulk_create_with_history(
            to_create, Visit, default_user=by, default_change_reason=change_reason
        )
    if to_update:
        bulk_update_with_history(
            to_update,
            Visit,
            _REANCHORED_FIELDS,
            default_user=by,
            default_change_reason=change_reason,
        )
    visits = sorted(current + to_create, key=lambda v: (v.planned_date, v.id))
    sync_reminders(participant, visits)
    return visits


@transaction.atomic
def create_schedules(
    participants: list[Participant], *, by=None, reasons: list[str] | None = None
) -> dict[int, list[Visit]]:
    """Build the whole schedule of participants saved in this transaction and not yet
    scheduled (creation, one or an import's every row): what :func:`rebuild_schedule` builds
    for each, in a fixed number of queries whatever their number. The plan of their protocol
    and the clinic calendar of each site are read once; visits, their history and reminders
    are written in bulk. ``reasons`` go with ``participants``, one each, into the visits'
    history. The participants are taken as given (just saved by the caller, not read again).
    Rows are written with COPY (``bulk_insert``). Returns each participant's visits by
    participant id."""
    participants = list(participants)
    reasons = list(reasons or ["Schedule created"] * len(participants))
    sites = Site.objects.prefetch_related("closures").in_bulk({p.site_id for p in participants})
    calendars = {site_id: clinic_calendar(site) for site_id, site in sites.items()}
    plans = {
        protocol_id: SchedulePlan.read(protocol_id)
        for protocol_id in {p.protocol_id for p in participants}
    }
    by_status = effective_dates_by_status_of(p.pk for p in participants)
    schedules: dict[int, list[Visit]] = {}
    to_create: list[Visit] = []
    for participant, reason in zip(participants, reasons, strict=True):
        participant.site = sites[participant.site_id]
        plan = plans[participant.protocol_id]
        if plan is None:
            schedules[participant.pk] = []
            continue
        visits, _ = _reanchor(
            participant,
            plan,
            calendars[participant.site_id],
            plan.starts(by_status[participant.pk]),
            [],
        )
        for visit in visits:
            visit._change_reason = reason
        schedules[participant.pk] = visits
        to_create += visits
    insert_new(Visit, to_create)
    insert_new(Visit.history.model, history_records(Visit, to_create, default_user=by))
    for visits in schedules.values():
        visits.sort(key=lambda v: (v.planned_date, v.id))
    create_reminders([(p, schedules[p.pk]) for p in participants])
    return schedules


def _reanchor(
    participant: Participant,
    plan: SchedulePlan,
    calendar,
    starts: dict[str, datetime.date],
    current: list[Visit],
) -> tuple[list[Visit], list[Visit]]:
    """The rule of :func:`rebuild_schedule` in memory: the visits to create and the visits
    changed, from the plan, the site's calendar, the recorded phase starts and the visits the
    participant has (``current``, changed in place)."""
    day_one = engine.day_one(plan.phase_plans, plan.day_one_code, participant.consent_date, starts)
    planned = {
        visit.code: visit
        for visit in engine.plan_visits(
            plan.phase_plans, plan.visit_plans, participant.consent_date, starts
        )
    }
    existing = {v.definition_id: v for v in current if v.definition_id}
    left_on = participant.left_on
    to_create, to_update = [], []
    for definition in plan.definitions:
        planned_visit = planned[definition.code]
        visit = existing.get(definition.id)
        if visit is None:
            visit = Visit(
                participant=participant,
                definition=definition,
                code=definition.code,
                name=definition.name,
                phase=definition.phase.code,
            )
            to_create.append(visit)
        elif visit.actual_date is not None:
            # Done: its dates and window stay as they were when it happened; only its study
            # day follows a new Day 1.
            if visit.appointment_date is None:
                visit.appointment_date = visit.actual_date
                to_update.append(visit)
            _set_study_day(visit, day_one, to_update)
            continue
        before = _reanchored_values(visit)
        planned_before, appointment_before = visit.planned_date, visit.appointment_date
        visit.planned_date = planned_visit.planned
        visit.window_start = planned_visit.window_start
        visit.window_end = planned_visit.window_end
        visit.study_day = engine.study_day(planned_visit.planned, day_one)
        visit.cancelled = left_on is not None and planned_visit.planned > left_on
        place_appointment(visit, calendar)
        if visit.pk is not None and (
            visit.planned_date != planned_before or visit.appointment_date != appointment_before
        ):
            # Calendars update the entry (iCalendar SEQUENCE) when the day it shows moves.
            visit.sequence += 1
        if visit.pk is not None and visit.appointment_date != appointment_before:
            _unconfirm(visit)
        if visit.pk is not None and _reanchored_values(visit) != before:
            to_update.append(visit)
    phase_starts = engine.phase_starts(plan.phase_plans, participant.consent_date, starts)
    for visit in current:
        if visit.definition_id is None:
            # Unscheduled: its date is its own; its phase, study day and cancellation follow.
            before = _reanchored_values(visit)
            visit.phase = engine.phase_on(phase_starts, visit.planned_date)
            visit.study_day = engine.study_day(visit.planned_date, day_one)
            if visit.actual_date is None:
                appointment_before = visit.appointment_date
                visit.cancelled = left_on is not None and visit.planned_date > left_on
                place_appointment(visit, calendar)
                if visit.appointment_date != appointment_before:
                    visit.sequence += 1
                    _unconfirm(visit)
            if _reanchored_values(visit) != before:
                to_update.append(visit)
    return to_create, to_update


def _unconfirm(visit: Visit) -> None:
    """A confirmation (or a request for another date) was for the day that just moved."""
    visit.confirmation = Confirmation.UNCONFIRMED
    visit.confirmation_at = None
    visit.confirmation_via = ""
    visit.reschedule_message = ""


def _reanchored_values(visit: Visit) -> tuple:
    return tuple(getattr(visit, field) for field in _REANCHORED_FIELDS)


def _set_study_day(visit: Visit, day_one: datetime.date, to_update: list[Visit]) -> None:
    day = engine.study_day(visit.planned_date, day_one)
    if visit.study_day != day:
        visit.study_day = day
        if visit not in to_update:
            to_update.append(visit)


def _site_today_check(participant: Participant, on: datetime.date, field: str, now=None) -> None:
    refuse_date_out_of_range(participant.site, on, field, now)
    if on < participant.consent_date:
        raise ValidationError(
            {field: f"{on.isoformat()} is before consent ({participant.consent_date.isoformat()})."}
        )


@transaction.atomic
def record_visit(
    participant: Participant,
    visit_code: str,
    *,
    on: datetime.date,
    by=None,
    reason: str = "",
    via: str = "admin",
    now=None,
) -> Visit:
    """Record the actual date of the planned visit ``visit_code`` (see record_actual_date).
    Unscheduled visits share the code UNS, so they are recorded by the visit itself."""
    participant = Participant.objects.select_related("site").get(pk=participant.pk)
    if visit_code == UNSCHEDULED_CODE:
        raise ValidationError(
            {"visit_code": "Unscheduled visits are added with their own date and reason."}
        )
    try:
        visit = participant.visits.get(code=visit_code)
    except Visit.DoesNotExist:
        codes = ", ".join(
            participant.visits.exclude(code=UNSCHEDULED_CODE).values_list("code", flat=True)
        )
        raise ValidationError(
            {"visit_code": f"{participant} has no visit {visit_code} (visits: {codes})."}
        ) from None
    return record_actual_date(visit, on=on, by=by, reason=reason, via=via, now=now)


@transaction.atomic
def record_actual_date(
    visit: Visit,
    *,
    on: datetime.date,
    by=None,
    reason: str = "",
    via: str = "admin",
    now=None,
) -> Visit:
    """Record the day ``visit`` took place (any visit, an unscheduled one booked ahead too).
    Outside its window it is a deviation (flagged, still recorded). Changing an already
    recorded date is a correction and needs a reason."""
    visit = Visit.objects.select_for_update().select_related("participant__site").get(pk=visit.pk)
    participant = visit.participant
    _site_today_check(participant, on, "on", now)
    if visit.cancelled:
        raise ValidationError(
            {
                "visit_code": f"{visit.code} was cancelled: {participant} left the trial on "
                f"{participant.left_on.isoformat()}."
            }
        )
    if visit.actual_date is not None:
        if visit.actual_date == on:
            return visit
        if not reason.strip():
            raise ValidationError(
                {
                    "reason": f"{visit.code} was already recorded on "
                    f"{visit.actual_date.isoformat()}; a correction needs a reason."
                }
            )
    visit.actual_date = on
    visit._change_reason = f"{reason.strip() or 'Visit recorded'} ({via})"
    if by is not None:
        visit._history_user = by
    visit.save(update_fields=["actual_date"])
    rebuild_schedule(participant, by=by)
    visit.refresh_from_db()
    return visit


@transaction.atomic
def add_unscheduled_visit(
    participant: Participant,
    *,
    on: datetime.date,
    reason: str,
    name: str = "Unscheduled visit",
    happened: bool = True,
    by=None,
    now=None,
) -> Visit:
    """Add an unscheduled visit (code UNS): no window, a reason required. A visit that
    happened records its actual date; one booked ahead (no later than
    ``participants.dates.latest_booking_date``) is planned and gets reminders."""
    participant = Participant.objects.select_related("site").get(pk=participant.pk)
    if not reason.strip():
        raise ValidationError({"reason": "An unscheduled visit needs a reason."})
    try:
        validate_single_line(name)
    except ValidationError as error:
        raise ValidationError({"name": error.messages}) from None
    if not participant.is_active:
        raise ValidationError(
            {"participant": f"{participant} left the trial on {participant.left_on.isoformat()}."}
        )
    if happened:
        _site_today_check(participant, on, "on", now)
    else:
        today = participant.site.today(now)
        if on <= today:
            raise ValidationError({"on": "A booked unscheduled visit must be after today."})
        problem = too_late_problem(on, today)
        if problem:
            raise ValidationError({"on": problem})
    visit = Visit(
        participant=participant,
        code=UNSCHEDULED_CODE,
        name=name,
        phase=_phase_on(participant, on),
        planned_date=on,
        actual_date=on if happened else None,
        appointment_date=on,
        booked_date=None if happened else on,
        reason=reason.strip(),
    )
    visit._change_reason = reason.strip()
    if by is not None:
        visit._history_user = by
    visit.save()
    rebuild_schedule(participant, by=by)
    visit.refresh_from_db()
    return visit


def _phase_on(participant: Participant, day: datetime.date) -> str:
    phases, _ = protocol_plan(participant.protocol_id)
    if not phases:
        return ""
    starts = engine.phase_starts(
        [p.as_plan() for p in phases],
        participant.consent_date,
        phase_actual_starts(participant, phases),
    )
    return engine.phase_on(starts, day)


@transaction.atomic
def book_visit_time(visit: Visit, at: datetime.time | None, *, by=None) -> Visit:
    """Set (or clear) the booked local time of a visit still to be done; kept in its history.

    The calendar entry changes from all-day to timed (or back), so the visit's sequence is
    raised like on a reschedule: calendars update the event instead of adding a second one.
    """
    visit = Visit.objects.select_for_update().get(pk=visit.pk)
    if visit.booked_time == at:
        return visit
    if visit.cancelled:
        raise ValidationError({"booked_time": f"{visit.code} was cancelled; it cannot be booked."})
    if visit.actual_date is not None:
        raise ValidationError(
            {"booked_time": f"{visit.code} was done on {visit.actual_date.isoformat()}."}
        )
    visit.booked_time = at
    visit.sequence += 1
    visit._change_reason = f"Booked at {at:%H:%M}" if at else "Booking cleared"
    if by is not None:
        visit._history_user = by
    visit.save(update_fields=["booked_time", "sequence"])
    return visit
