"""Writes about one visit: recording the day it took place (a correction needs a reason; a
visit the lifecycle has no place for is a deviation recorded only with one), adding an
unscheduled visit, and its booked time. Each is followed by the schedule's rebuild, in the
same transaction.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from participants.dates import too_late_problem
from participants.history import stamp
from participants.lifecycle import refuse_date_out_of_range
from participants.models import Participant
from participants.validators import validate_single_line
from scheduling.models import LIFECYCLE_DEVIATIONS, UNSCHEDULED_CODE, Deviation, Visit
from scheduling.rules import engine
from scheduling.timeline.plans import SchedulePlan, phase_actual_starts
from scheduling.timeline.schedules import rebuild_schedule


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
    Outside its window it is a deviation (flagged, still recorded). Before its phase is
    reached or after the participant left, it is a deviation recorded only with a reason,
    kept as ``deviation_reason``. Changing an already recorded date is a correction and needs
    a reason."""
    visit = Visit.objects.select_for_update().select_related("participant__site").get(pk=visit.pk)
    participant = visit.participant
    _site_today_check(participant, on, "on", now)
    reason = reason.strip()
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
        if not reason:
            raise ValidationError(
                {
                    "reason": f"{visit.code} was already recorded on "
                    f"{visit.actual_date.isoformat()}; a correction needs a reason."
                }
            )
    visit.actual_date = on
    visit.deviation, reached_on = _deviation_on(visit, participant)
    if visit.deviation in LIFECYCLE_DEVIATIONS:
        if not reason:
            raise ValidationError(
                {"reason": _deviation_needs_reason(visit, participant, reached_on)}
            )
        visit.deviation_reason = reason
    stamp(visit, by=by, reason=f"{reason or 'Visit recorded'} ({via})")
    visit.save(update_fields=["actual_date", "deviation", "deviation_reason"])
    return _as_rebuilt(visit, rebuild_schedule(participant, by=by))


def _deviation_on(visit: Visit, participant: Participant) -> tuple[str, datetime.date | None]:
    """``visit``'s deviation with its actual date as set (see :func:`engine.deviation`), and
    the day its phase was reached (None: not yet)."""
    plan = SchedulePlan.followed_by(participant)
    if visit.definition_id is None or plan is None:
        # Unscheduled: it belongs to the phase of its day, and has no window.
        reached_on = visit.actual_date
    else:
        starts = phase_actual_starts(participant, plan.phases)
        reached_on = plan.reached(participant.consent_date, starts).get(visit.phase)
    deviation = engine.deviation(
        visit.actual_date, visit.window_start, visit.window_end, reached_on, participant.left_on
    )
    return deviation, reached_on


def _deviation_needs_reason(
    visit: Visit, participant: Participant, reached_on: datetime.date | None
) -> str:
    on = visit.actual_date.isoformat()
    if visit.deviation == Deviation.AFTER_LEFT:
        where = (
            f"after {participant} left the trial ({participant.get_status_display().lower()} "
            f"on {participant.left_on.isoformat()})"
        )
    elif reached_on is None:
        where = (
            f"a {visit.phase} visit, and {participant} has not reached that phase (they are "
            f"in {participant.get_status_display().lower()})"
        )
    else:
        where = f"before its phase ({visit.phase}) started on {reached_on.isoformat()}"
    return (
        f"{visit.code} on {on} is {where}. Recording it is a protocol deviation and needs a reason."
    )


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
        site_id=participant.site_id,
        code=UNSCHEDULED_CODE,
        name=name,
        phase=_phase_on(participant, on),
        planned_date=on,
        actual_date=on if happened else None,
        appointment_date=on,
        booked_date=None if happened else on,
        booked_at=None if happened else timezone.now(),
        reason=reason.strip(),
    )
    stamp(visit, by=by, reason=reason.strip())
    visit.save()
    return _as_rebuilt(visit, rebuild_schedule(participant, by=by))


def _phase_on(participant: Participant, day: datetime.date) -> str:
    """The phase ``day`` falls in: the last one the participant reached by then."""
    plan = SchedulePlan.followed_by(participant)
    if plan is None:
        return ""
    starts = engine.phase_starts(
        plan.phase_plans,
        participant.consent_date,
        phase_actual_starts(participant, plan.phases),
    )
    reached = engine.phases_reached(starts, plan.recorded_starts)
    return engine.phase_on([s for s in starts if reached[s.code] is not None], day)


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
    stamp(visit, by=by, reason=f"Booked at {at:%H:%M}" if at else "Booking cleared")
    visit.save(update_fields=["booked_time", "sequence"])
    return visit


def _as_rebuilt(visit: Visit, visits: list[Visit]) -> Visit:
    """``visit`` as the rebuild that followed its write left it (it holds every visit of the
    participant, read after that write): no need to read it again. A protocol with no plan
    rebuilds nothing: the visit is then read again."""
    for rebuilt in visits:
        if rebuilt.pk == visit.pk:
            return rebuilt
    visit.refresh_from_db()
    return visit
