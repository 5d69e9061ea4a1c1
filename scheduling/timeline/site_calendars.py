"""A site's clinic calendar and capacity read from the database: the calendar itself, the
site's capacity of each resource (read here only), the load of each day, the days of a visit's
window as the day picker offers them, and which bookings are over their day's capacity. The
choice of a day and the capacity rule themselves are ``scheduling.rules.clinic_calendar``
(pure); where an appointment falls, ``scheduling.rules.schedule.place_appointment``.

Reads only: the writes (booking, clearing, rebuilding) are ``scheduling.timeline.schedules``
and ``scheduling.timeline.appointments``.
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, OuterRef, Subquery

from participants.models import Resource, Site, SiteCapacity
from scheduling.models import Visit
from scheduling.rules import clinic_calendar as cc


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


@dataclass(frozen=True)
class DayChoice:
    """One day of a visit's window, as the day picker shows it."""

    day: datetime.date
    closed: cc.ClosedDay | None  # why the clinic is closed; None when open
    load: cc.DayLoad | None  # of the visit's resource (this visit excluded); None: it uses none
    is_planned: bool
    is_appointment: bool

    @property
    def is_open(self) -> bool:
        return self.closed is None

    @property
    def full(self) -> bool:
        return self.load is not None and self.load.full

    @property
    def bookable(self) -> bool:
        return self.is_open and not self.full


def capacity_rows(site: Site):
    """``site``'s capacities: read here only, by :func:`capacities` and as a subquery by
    :func:`day_bookings`."""
    return SiteCapacity.objects.filter(site=site)


def capacities(site: Site, resource_ids: Iterable[int], *, lock: bool = False) -> dict[int, int]:
    """How many of each of ``resource_ids`` ``site`` has a day, by resource id (a resource
    it does not limit is absent): the one read of a site's capacity (one query). ``lock``:
    bookings of those resources at the site take turns until the transaction ends, so that
    the counts read after it are final."""
    rows = capacity_rows(site).filter(resource_id__in=set(resource_ids))
    if lock:
        rows = rows.select_for_update()
    return dict(rows.values_list("resource_id", "per_day"))


def day_loads(
    site: Site,
    resource: Resource,
    days: Iterable[datetime.date],
    *,
    exclude_visit: int | None = None,
    lock: bool = False,
) -> dict[datetime.date, cc.DayLoad]:
    """The load of ``resource`` at ``site`` on each of ``days``: its bookings (those of
    visits still to be done; ``exclude_visit`` not counted) against the site's capacity. Two
    queries; one when the site does not limit the resource (its bookings then do not
    matter). ``lock``: see :func:`capacities`."""
    days = sorted(days)
    capacity = capacities(site, [resource.pk], lock=lock).get(resource.pk)
    booked = (
        booked_counts(site, resource.pk, days[0], days[-1], exclude_visit=exclude_visit)
        if capacity is not None and days
        else Counter()
    )
    return {
        day: cc.DayLoad(day, resource.name, resource.plural, capacity, booked.get(day, 0))
        for day in days
    }


# A day and a resource: the bookings the capacity rule compares (resource id, booked day).
DayOfResource = tuple[int, datetime.date]


def day_bookings(site: Site, days: set[DayOfResource]) -> list[Visit]:
    """The visits still to be done booked at ``site`` on ``days`` (resource, day) whose
    resource the site limits, each with ``per_day``, the site's capacity of it (one query;
    none without ``days``)."""
    if not days:
        return []
    capacity = (capacity_rows(site).filter(resource_id=OuterRef("definition__resource_id"))).values(
        "per_day"
    )[:1]
    visits = (
        Visit.objects.open()
        .filter(
            participant__site=site,
            definition__resource_id__in={resource for resource, _ in days},
            booked_date__in={day for _, day in days},
        )
        .annotate(per_day=Subquery(capacity))
        .filter(per_day__isnull=False)
        .select_related("definition__resource")
        .order_by("participant_id", "id")
    )
    return [v for v in visits if (v.definition.resource_id, v.booked_date) in days]


def bookings_over_capacity(bookings: list[Visit]) -> dict[int, str]:
    """Which of ``bookings`` (:func:`day_bookings`) are over their day's capacity, by visit
    id, each with why (``over capacity: 1 infusion chair a day``): the rule is
    ``clinic_calendar.bookings_over_capacity``, for each day and resource."""
    by_day: dict[DayOfResource, list[Visit]] = {}
    for visit in bookings:
        by_day.setdefault((visit.definition.resource_id, visit.booked_date), []).append(visit)
    over = {}
    for visits in by_day.values():
        first = visits[0]
        capacity = SiteCapacity(resource=first.definition.resource, per_day=first.per_day)
        why = f"over capacity: {capacity.per_day_label}"
        booked = [cc.Booking(visit.pk, visit.booked_at) for visit in visits]
        for visit_id in cc.bookings_over_capacity(booked, capacity.per_day):
            over[visit_id] = why
    return over


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


def day_choices(visit: Visit, calendar: cc.ClinicCalendar) -> list[DayChoice]:
    """Every day of ``visit``'s window (its own day when it has none) with the clinic's
    state and the load of the visit's resource (:func:`day_loads`)."""
    days = visit.days_to_choose.days()
    resource = visit.definition.resource if visit.definition_id else None
    loads = (
        day_loads(visit.participant.site, resource, days, exclude_visit=visit.pk)
        if resource
        else {}
    )
    return [
        DayChoice(
            day=day,
            closed=calendar.closed_on(day),
            load=loads.get(day),
            is_planned=day == visit.planned_date,
            is_appointment=day == visit.appointment_date,
        )
        for day in days
    ]


def suggested_days(visit: Visit, choices: list[DayChoice], limit: int = 3) -> list[datetime.date]:
    """The nearest bookable days of the window to the planned date."""
    bookable = {choice.day: choice.bookable for choice in choices}
    days = visit.days_to_choose
    return [
        day
        for day in cc.days_by_nearness(visit.planned_date, days.start, days.end)
        if bookable.get(day, False)
    ][:limit]
