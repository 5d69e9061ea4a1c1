"""Reads of the site calendar (drawn by ``month_calendar``): the visits of a site between two
days, at most ``PER_DAY`` a day, and each day's number of visits and load of each resource
against the site's capacity (``clinic_calendar.DayLoad``). One query each, by the visits' own
site (``Visit.site``, index ``visit_calendar_day``).

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
    # calendar. Missed and closed ones stay, as what happened on their day. By the visit's
    # own site and its day on the calendar: the index ``visit_calendar_day``.
    return (
        Visit.objects.filter(site=site, cancelled=False)
        .annotate(calendar_day=Coalesce("actual_date", "appointment_date"))
        .filter(calendar_day__range=(first, last))
    )


def calendar_visits(site: Site, first: datetime.date, last: datetime.date) -> list[Visit]:
    """Visits of ``site``, not cancelled, whose appointment (or, done, whose actual date)
    falls between ``first`` and ``last``: the first ``PER_DAY`` of each day in order, each
    carrying ``current_status`` and ``day`` (its date on the calendar). One query: the day's
    places are numbered over the index alone, and only the visits drawn are read whole."""
    today = site.today()
    # A day's first visits: the booked times in order, then the others in the order their
    # participants were entered. That is the index's order, so the places are numbered as it
    # is read, with no participant read and nothing sorted (by subject id, the site's whole
    # month was joined and sorted: 14,000 rows, 20 ms, at 10,000 participants a site).
    # Those drawn are shown by time, then subject id.
    order = [F("booked_time").asc(nulls_last=True), F("participant").asc()]
    drawn = (
        _in_range(site, first, last)
        .annotate(place=Window(RowNumber(), partition_by=[F("calendar_day")], order_by=order))
        .filter(place__lte=PER_DAY)
        .values("pk")
    )
    visits = list(
        Visit.objects.filter(pk__in=drawn)
        .select_related("participant", "definition__resource")
        .order_by()  # sorted below
    )
    for visit in visits:
        visit.current_status = visit.status_on(today)
        visit.day = visit.actual_date or visit.appointment_day
    visits.sort(key=lambda v: (v.day, v.booked_time or datetime.time.max, v.participant.subject_id))
    return visits


def day_counts(
    site: Site, first: datetime.date, last: datetime.date
) -> tuple[dict[datetime.date, int], dict[datetime.date, list[cc.DayLoad]]]:
    """Per day between ``first`` and ``last``: the number of the site's visits on the calendar
    (as :func:`calendar_visits` has them), and the load of each resource used by its open
    visits: booked and proposed appointments against the site's capacity
    (``site_calendars.capacities``), so that overbooked days stand out. Counted by the
    database over the index alone; two queries (one when no visit uses a resource)."""
    open_visit = Q(actual_date__isnull=True)
    rows = list(
        _in_range(site, first, last)
        .values(
            "calendar_day",
            "definition__resource",
            "definition__resource__name",
            "definition__resource__plural",
        )
        .annotate(
            total=Count("participant"),  # never empty, and in the index
            booked=Count("participant", filter=open_visit & Q(booked_date__isnull=False)),
            proposed=Count("participant", filter=open_visit & Q(booked_date__isnull=True)),
        )
        .order_by()
    )
    totals: dict[datetime.date, int] = {}
    for row in rows:
        totals[row["calendar_day"]] = totals.get(row["calendar_day"], 0) + row["total"]
    used = [
        row
        for row in rows
        if row["definition__resource"] is not None and row["booked"] + row["proposed"]
    ]
    if not used:
        return totals, {}
    per_day = capacities(site, {row["definition__resource"] for row in used})
    loads: dict[datetime.date, list[cc.DayLoad]] = {}
    for row in used:
        loads.setdefault(row["calendar_day"], []).append(
            cc.DayLoad(
                row["calendar_day"],
                row["definition__resource__name"],
                row["definition__resource__plural"],
                per_day.get(row["definition__resource"]),
                row["booked"],
                row["proposed"],
            )
        )
    return totals, {
        day: sorted(day_loads, key=lambda load: load.resource) for day, day_loads in loads.items()
    }
