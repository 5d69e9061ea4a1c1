"""A site's clinic calendar read from the database, where each visit's appointment falls on
it, and the load of each day. The choice of a day itself is ``clinic_calendar`` (pure).

Reads only: the writes (booking, clearing, rebuilding) are ``scheduling.services`` and
``scheduling.appointments``.
"""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass

from django.db.models import Count

from participants.models import Resource, Site, SiteCapacity

from . import clinic_calendar as cc
from .models import AppointmentFlag, Visit


def clinic_calendar(site: Site) -> cc.ClinicCalendar:
    """``site``'s calendar: its open weekdays, its public holidays and closures (one query,
    none when ``closures`` was prefetched)."""
    return cc.ClinicCalendar(
        open_weekdays=frozenset(int(c) for c in site.open_days),
        holidays=site.public_holidays,
        closures=tuple(
            cc.Closure(closure.start, closure.end, closure.reason)
            for closure in site.closures.all()
        ),
    )


def _closed_label(calendar: cc.ClinicCalendar, day: datetime.date) -> str:
    why = calendar.closed_because(day)
    if why is None:
        return ""
    kind, detail = why
    return detail if kind == cc.WEEKDAY else f"{kind}: {detail}"


def place_appointment(visit: Visit, calendar: cc.ClinicCalendar) -> None:
    """Set ``visit``'s appointment (date, note, flag) in memory from its booking or, without
    one, the calendar's proposal. Done and cancelled visits keep theirs.

    A booking stays where staff put it; if it lies outside the (new) window or on a day the
    clinic has since closed, it is flagged ``rebook``, unless the booking gave an override
    reason: then outside the window is a planned deviation, and a closed day is noted.
    """
    if visit.actual_date is not None or visit.cancelled:
        if visit.appointment_date is None:
            visit.appointment_date = visit.actual_date or visit.planned_date
        if visit.cancelled:
            visit.appointment_flag = ""  # nothing left to decide about a cancelled visit
        return
    if visit.booked_date is None:
        proposal = cc.propose_day(
            visit.planned_date, visit.window_start, visit.window_end, calendar
        )
        visit.appointment_date = proposal.day
        visit.appointment_note = proposal.note
        visit.appointment_flag = AppointmentFlag.NO_OPEN_DAY if proposal.no_open_day else ""
        return
    day = visit.booked_date
    visit.appointment_date = day
    outside = visit.window_start is not None and not (
        visit.window_start <= day <= (visit.window_end or day)
    )
    closed = _closed_label(calendar, day)
    if visit.booking_override:
        visit.appointment_flag = AppointmentFlag.PLANNED_DEVIATION if outside else ""
        problems = (["outside window"] if outside else []) + ([closed] if closed else [])
        visit.appointment_note = (
            ("planned deviation: " if outside else "override: ") + "; ".join(problems)
            if problems
            else "booked with an override"
        )
        return
    if outside or closed:
        visit.appointment_flag = AppointmentFlag.REBOOK
        visit.appointment_note = "rebook: " + ("outside window" if outside else closed)
    else:
        visit.appointment_flag = ""
        visit.appointment_note = ""


@dataclass(frozen=True)
class DayChoice:
    """One day of a visit's window, as the day picker shows it."""

    day: datetime.date
    closed: str  # why the clinic is closed, "" when open
    booked: int  # booked appointments of the visit's resource that day (this visit excluded)
    capacity: int | None  # of the visit's resource at the site; None: not limited
    resource: Resource | None
    is_planned: bool
    is_appointment: bool

    @property
    def is_open(self) -> bool:
        return not self.closed

    @property
    def full(self) -> bool:
        return self.capacity is not None and self.booked >= self.capacity

    @property
    def load(self) -> str:
        """``1 of 2 infusion chairs`` booked; "" when the visit uses no limited resource."""
        if self.resource is None or self.capacity is None:
            return ""
        return f"{self.booked} of {self.capacity} {self.resource.count_label(self.capacity)}"

    @property
    def bookable(self) -> bool:
        return self.is_open and not self.full


def capacity_of(site: Site, resource_id: int | None) -> int | None:
    if resource_id is None:
        return None
    return (
        SiteCapacity.objects.filter(site=site, resource_id=resource_id)
        .values_list("per_day", flat=True)
        .first()
    )


def booked_counts(
    site: Site,
    resource_id: int,
    first: datetime.date,
    last: datetime.date,
    exclude_visit: int | None = None,
) -> Counter:
    """Booked appointments using ``resource_id`` at ``site`` per day from ``first`` to
    ``last``: visits still to be done whose booked day it is (proposals do not count)."""
    rows = (
        Visit.objects.open()
        .filter(
            participant__site=site,
            definition__resource_id=resource_id,
            booked_date__range=(first, last),
        )
        .exclude(pk=exclude_visit)
        .values("booked_date")
        .annotate(n=Count("id"))
        .order_by()
    )
    return Counter({row["booked_date"]: row["n"] for row in rows})


def day_choices(visit: Visit, calendar: cc.ClinicCalendar | None = None) -> list[DayChoice]:
    """Every day of ``visit``'s window (its own day when it has none) with the clinic's
    state and the load of the visit's resource. A fixed number of queries."""
    site = visit.participant.site
    calendar = calendar or clinic_calendar(site)
    first = visit.window_start or visit.planned_date
    last = visit.window_end or visit.planned_date
    resource = visit.definition.resource if visit.definition_id else None
    capacity = capacity_of(site, resource.pk) if resource else None
    booked = (
        booked_counts(site, resource.pk, first, last, exclude_visit=visit.pk)
        if resource
        else Counter()
    )
    return [
        DayChoice(
            day=day,
            closed=_closed_label(calendar, day),
            booked=booked.get(day, 0),
            capacity=capacity,
            resource=resource,
            is_planned=day == visit.planned_date,
            is_appointment=day == visit.appointment_date,
        )
        for day in cc.window_days(first, last)
    ]


def suggested_days(visit: Visit, choices: list[DayChoice], limit: int = 3) -> list[datetime.date]:
    """The nearest bookable days of the window to the planned date."""
    bookable = {choice.day: choice.bookable for choice in choices}
    first = visit.window_start or visit.planned_date
    last = visit.window_end or visit.planned_date
    return [
        day
        for day in cc.days_by_nearness(visit.planned_date, first, last)
        if bookable.get(day, False)
    ][:limit]
