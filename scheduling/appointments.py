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

from participants.dates import too_late_problem
from participants.models import SiteCapacity
from participants.validators import validate_printable_text

from .models import Visit
from .services import rebuild_schedule
from .site_calendars import booked_counts, clinic_calendar, day_choices, suggested_days


def _open_visit(visit: Visit) -> Visit:
    visit = (
        Visit.objects.select_for_update(of=("self",))
        .select_related("participant__site", "definition__resource")
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


def booking_problems(visit: Visit, on: datetime.date, *, lock: bool = False) -> list[str]:
    """Why ``visit`` cannot be booked on ``on`` without an override, as sentences: outside
    the window, the clinic closed (and why), the visit's resource full that day."""
    site = visit.participant.site
    problems = []
    if visit.window_start is not None and not (
        visit.window_start <= on <= (visit.window_end or visit.window_start)
    ):
        problems.append(
            f"{on.isoformat()} is outside the window of {visit.code} "
            f"({visit.window_start.isoformat()} to {visit.window_end.isoformat()})"
        )
    closed = clinic_calendar(site).closed_sentence(on, site.code)
    if closed:
        problems.append(closed)
    resource = visit.definition.resource if visit.definition_id else None
    if resource is not None:
        capacities = SiteCapacity.objects.filter(site=site, resource=resource)
        if lock:
            # Bookings of one resource at one site take turns: the count below is then final.
            capacities = capacities.select_for_update()
        capacity = capacities.values_list("per_day", flat=True).first()
        if capacity is not None:
            booked = booked_counts(site, resource.pk, on, on, exclude_visit=visit.pk)[on]
            if booked >= capacity:
                problems.append(
                    f"{on.isoformat()} is full at {site.code}: {booked} of {capacity} "
                    f"{resource.count_label(capacity)} booked"
                )
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
    problems = booking_problems(visit, on, lock=True)
    if problems and not override_reason:
        suggestions = suggested_days(visit, day_choices(visit))
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
    visit.booked_date = on
    visit.booked_time = at
    visit.booking_override = override_reason if problems else ""
    if time_changed and visit.appointment_date == on:
        visit.sequence += 1  # all-day to timed, or another time: the calendar entry changes
    when = f"{on.isoformat()} at {at:%H:%M}" if at else on.isoformat()
    reason = f"Booked on {when} ({via})"
    if problems:
        reason += f"; override of: {'; '.join(problems)}; reason: {override_reason}"
    visit._change_reason = reason
    if by is not None:
        visit._history_user = by
    visit.save(update_fields=["booked_date", "booked_time", "booking_override", "sequence"])
    rebuild_schedule(visit.participant, by=by, reason=reason)
    visit.refresh_from_db()
    return visit


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
    visit.booked_date = None
    visit.booked_time = None
    visit.booking_override = ""
    if had_time:
        visit.sequence += 1
    reason = f"Booking cleared ({via})"
    visit._change_reason = reason
    if by is not None:
        visit._history_user = by
    visit.save(update_fields=["booked_date", "booked_time", "booking_override", "sequence"])
    rebuild_schedule(visit.participant, by=by, reason=reason)
    visit.refresh_from_db()
    return visit
