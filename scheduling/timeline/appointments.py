"""Writes about appointments: booking a visit on a day of its window (at a time), and
clearing a booking so the visit goes back to its proposed day.

A booking is refused on a closed day, on a day whose resource is full, or outside the
window, with a sentence that says why, unless an override reason is given (an override
outside the window is a planned deviation). Reminders and calendar entries follow in the same
transaction, through ``rebuild_schedule``.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from participants.dates import too_late_problem
from participants.history import stamp
from participants.validators import validate_printable_text
from scheduling.models import Visit
from scheduling.rules import clinic_calendar as cc
from scheduling.timeline.schedules import schedule_again
from scheduling.timeline.site_calendars import (
    DayOfResource,
    clinic_calendar,
    day_choices,
    day_loads,
    suggested_days,
)


def _open_visit(visit: Visit) -> Visit:
    """``visit`` locked, as it now stands, with its participant, site (and the site's
    closures) and resource: what a booking and the rebuild after it read (two queries)."""
    visit = (
        Visit.objects.select_for_update(of=("self",))
        .select_related("participant__site", "participant__protocol", "definition__resource")
        .prefetch_related("participant__site__closures")
        .get(pk=visit.pk)
    )
    participant = visit.participant
    if visit.actual_date is not None:
        raise ValidationError(
            {"visit_code": f"{visit.code} was done on {visit.actual_date.isoformat()}."}
        )
    if visit.cancelled or not participant.is_active:
        left = participant.left_on.isoformat() if participant.left_on else "—"
        raise ValidationError(
            {"visit_code": f"{visit.code} was cancelled: {participant} left the trial on {left}."}
        )
    return visit


def booking_problems(
    visit: Visit, on: datetime.date, calendar: cc.ClinicCalendar, *, lock: bool = False
) -> list[str]:
    """Why ``visit`` cannot be booked on ``on`` without an override, as sentences: outside
    the window, the clinic closed (and why, from ``calendar``, the site's), the visit's
    resource full that day. ``lock``: bookings of that resource at the site take turns, so
    that the count is final (``site_calendars.capacities``)."""
    site = visit.participant.site
    problems = []
    if visit.outside_window(on):
        problems.append(f"{on.isoformat()} is outside the window of {visit.code} ({visit.window})")
    closed = calendar.closed_on(on)
    if closed is not None:
        problems.append(closed.sentence(site.code))
    resource = visit.definition.resource if visit.definition_id else None
    if resource is not None:
        load = day_loads(site, resource, [on], exclude_visit=visit.pk, lock=lock)[on]
        if load.full:
            problems.append(load.full_sentence(site.code))
    return problems


@transaction.atomic
def book_appointment(
    visit: Visit,
    *,
    on: datetime.date,
    at: datetime.time | None = None,
    override_reason: str = "",
    by=None,
    via: str = "admin",
    now=None,
) -> Visit:
    """Book ``visit`` on ``on`` (at local time ``at``, optional). Refused with a sentence on a
    closed day, a full day or outside the window, unless ``override_reason`` says why; the
    override is kept with the booking and in the history. Reminders follow the new day."""
    visit = _open_visit(visit)
    site = visit.participant.site
    today = site.today(now)
    if on < today:
        raise ValidationError(
            {"on": f"{on.isoformat()} is in the past at {site.code} (today is {today})."}
        )
    problem = too_late_problem(on, today)
    if problem:
        raise ValidationError({"on": problem})
    override_reason = override_reason.strip()
    if override_reason:
        try:
            validate_printable_text(override_reason)
        except ValidationError as error:
            raise ValidationError({"override_reason": error.messages}) from None
    calendar = clinic_calendar(site)
    problems = booking_problems(visit, on, calendar, lock=True)
    if problems and not override_reason:
        suggestions = suggested_days(visit, day_choices(visit, calendar))
        hint = (
            " Nearest days with room: " + ", ".join(d.isoformat() for d in suggestions) + "."
            if suggestions
            else ""
        )
        raise ValidationError(
            {"on": "; ".join(problems) + "." + hint + " Give an override reason to book anyway."}
        )
    unchanged = (
        visit.booked_date == on
        and visit.booked_time == at
        and visit.booking_override == (override_reason if problems else "")
    )
    if unchanged:
        return visit
    time_changed = visit.booked_time != at
    freed = _day_left(visit, on)
    if visit.booked_date != on:
        # Its place among the day's bookings (kept first when capacity is lowered).
        visit.booked_at = now or timezone.now()
    visit.booked_date = on
    visit.booked_time = at
    visit.booking_override = override_reason if problems else ""
    if time_changed and visit.appointment_date == on:
        visit.sequence += 1  # all-day to timed, or another time: the calendar entry changes
    when = f"{on.isoformat()} at {at:%H:%M}" if at else on.isoformat()
    reason = f"Booked on {when} ({via})"
    if problems:
        reason += f"; override of: {'; '.join(problems)}; reason: {override_reason}"
    stamp(visit, by=by, reason=reason)
    visit.save(
        update_fields=["booked_date", "booked_at", "booked_time", "booking_override", "sequence"]
    )
    return _scheduled_again(visit, calendar, by=by, reason=reason, freed=freed)


def _scheduled_again(visit: Visit, calendar, *, by, reason: str, freed) -> Visit:
    """The participant's schedule rebuilt on the rows this booking locked and read, and
    ``visit`` as the rebuild left it (its appointment, flag and note)."""
    visits = schedule_again(visit.participant, calendar, by=by, reason=reason, freed=freed)
    return next(v for v in visits if v.pk == visit.pk)


def _day_left(visit: Visit, on: datetime.date | None) -> set[DayOfResource]:
    """The day of ``visit``'s resource its booking leaves when it moves to ``on`` (None:
    cleared): the bookings after it on that day may now fit."""
    resource_id = visit.definition.resource_id if visit.definition_id else None
    if resource_id is None or visit.booked_date is None or visit.booked_date == on:
        return set()
    return {(resource_id, visit.booked_date)}


@transaction.atomic
def clear_booking(visit: Visit, *, by=None, via: str = "admin") -> Visit:
    """Clear ``visit``'s booking (day, time and override): it goes back to its proposal."""
    visit = _open_visit(visit)
    if visit.booked_date is None and visit.booked_time is None:
        return visit
    if visit.definition_id is None:
        raise ValidationError(
            {"visit_code": "An unscheduled visit's day is its own: record or move it instead."}
        )
    had_time = visit.booked_time is not None
    freed = _day_left(visit, None)
    visit.booked_date = None
    visit.booked_at = None
    visit.booked_time = None
    visit.booking_override = ""
    if had_time:
        visit.sequence += 1
    reason = f"Booking cleared ({via})"
    stamp(visit, by=by, reason=reason)
    visit.save(
        update_fields=["booked_date", "booked_at", "booked_time", "booking_override", "sequence"]
    )
    return _scheduled_again(
        visit, clinic_calendar(visit.participant.site), by=by, reason=reason, freed=freed
    )
