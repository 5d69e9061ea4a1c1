"""Reads of the site calendar (drawn by ``month_calendar``): the visits of a site between two
days, at most ``PER_DAY`` a day with each day's number, and each day's load of each resource
against the site's capacity (``clinic_calendar.DayLoad``). One query each.

A day shows its first ``PER_DAY`` visits and says how many more there are: what is drawn, and
its time, stays the same however many participants a site has (a network's site of 10,000
drew 40,000 entries a month, 6 s); the loads are counted by the database, not from the rows.
"""

import datetime

from django.db.models import Count, F, Q, QuerySet, Window
from django.db.models.functions import Coalesce, RowNumber

from participants.models import Site
from scheduling.models import Visit
from scheduling.rules import clinic_calendar as cc
from scheduling.timeline.site_calendars import capacities

PER_DAY = 12


def _in_range(site: Site, first: datetime.date, last: datetime.date) -> QuerySet:
    # A cancelled visit (planned after its participant left) never comes due: off the
    # calendar. Missed and closed ones stay, as what happened on their day.
    return Visit.objects.filter(participant__site=site, cancelled=False).filter(
        Q(actual_date__range=(first, last))
        | Q(actual_date__isnull=True, appointment_date__range=(first, last))
    )


def calendar_visits(
    site: Site, first: datetime.date, last: datetime.date
) -> tuple[list[Visit], dict[datetime.date, int]]:
    """Visits of ``site``, not cancelled, whose appointment (or, done, whose actual date)
    falls between ``first`` and ``last``: the first ``PER_DAY`` of each day in order, each
    carrying ``current_status`` and ``day`` (its date on the calendar); and each day's number
    of visits. One query."""
    today = site.today()
    day = Coalesce("actual_date", "appointment_date")
    order = [F("booked_time").asc(nulls_last=True), F("participant__subject_id").asc()]
    visits = list(
        _in_range(site, first, last)
        .annotate(
            place=Window(RowNumber(), partition_by=[day], order_by=order),
            day_total=Window(Count("id"), partition_by=[day]),
        )
        .filter(place__lte=PER_DAY)
        .select_related("participant", "definition__resource")
        .order_by()  # sorted below
    )
    totals = {}
    for visit in visits:
        visit.current_status = visit.status_on(today)
        visit.day = visit.actual_date or visit.appointment_day
        totals[visit.day] = visit.day_total
    visits.sort(key=lambda v: (v.day, v.booked_time or datetime.time.max, v.participant.subject_id))
    return visits, totals


def day_loads(
    site: Site, first: datetime.date, last: datetime.date
) -> dict[datetime.date, list[cc.DayLoad]]:
    """Per day between ``first`` and ``last``, the load of each resource used by the site's
    open visits: booked and proposed appointments against the site's capacity
    (``site_calendars.capacities``), so that overbooked days stand out. Two queries (one
    when no visit uses a resource)."""
    rows = list(
        _in_range(site, first, last)
        .filter(actual_date__isnull=True, definition__resource__isnull=False)
        .values(
            "appointment_date",
            "definition__resource",
            "definition__resource__name",
            "definition__resource__plural",
        )
        .annotate(
            booked=Count("id", filter=Q(booked_date__isnull=False)),
            proposed=Count("id", filter=Q(booked_date__isnull=True)),
        )
        .order_by()
    )
    if not rows:
        return {}
    per_day = capacities(site, {row["definition__resource"] for row in rows})
    loads: dict[datetime.date, list[cc.DayLoad]] = {}
    for row in rows:
        loads.setdefault(row["appointment_date"], []).append(
            cc.DayLoad(
                row["appointment_date"],
                row["definition__resource__name"],
                row["definition__resource__plural"],
                per_day.get(row["definition__resource"]),
                row["booked"],
                row["proposed"],
            )
        )
    return {
        day: sorted(day_loads, key=lambda load: load.resource) for day, day_loads in loads.items()
    }
