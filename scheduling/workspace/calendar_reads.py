"""Reads of the site calendar (drawn by ``month_calendar``): the visits of a site between two
days, and each day's load of each resource against the site's capacity
(``clinic_calendar.DayLoad``). One query each.
"""

import datetime

from django.db.models import Q

from participants.models import Site
from scheduling.models import Visit
from scheduling.rules import clinic_calendar as cc
from scheduling.timeline.site_calendars import capacities


def calendar_visits(site: Site, first: datetime.date, last: datetime.date) -> list[Visit]:
    """Visits of ``site``, not cancelled, whose appointment (or, done, whose actual date)
    falls between ``first`` and ``last``, in order; each carries ``current_status`` and
    ``day`` (its date on the calendar). One query."""
    today = site.today()
    visits = list(
        # A cancelled visit (planned after its participant left) never comes due: off the
        # calendar. Missed and closed ones stay, as what happened on their day.
        Visit.objects.filter(participant__site=site, cancelled=False)
        .filter(
            Q(actual_date__range=(first, last))
            | Q(actual_date__isnull=True, appointment_date__range=(first, last))
        )
        .select_related("participant", "definition__resource")
        .order_by("appointment_date", "booked_time", "participant__subject_id")
    )
    for visit in visits:
        visit.current_status = visit.status_on(today)
        visit.day = visit.actual_date or visit.appointment_day
    visits.sort(key=lambda v: (v.day, v.booked_time or datetime.time.max, v.participant.subject_id))
    return visits


def day_loads(site: Site, visits: list[Visit]) -> dict[datetime.date, list[cc.DayLoad]]:
    """Per day, the load of each resource used by the open ``visits`` (from
    ``calendar_visits``): booked and proposed appointments against the site's capacity
    (``site_calendars.capacities``), so that overbooked days stand out. One query (none when
    no visit uses a resource)."""
    counted: dict[tuple[datetime.date, int], list[int]] = {}
    resources = {}
    for visit in visits:
        resource = visit.definition.resource if visit.definition_id else None
        if resource is None or visit.actual_date is not None or visit.cancelled:
            continue
        resources[resource.pk] = resource
        booked_and_proposed = counted.setdefault((visit.day, resource.pk), [0, 0])
        booked_and_proposed[0 if visit.booked_date is not None else 1] += 1
    per_day = capacities(site, resources)
    loads: dict[datetime.date, list[cc.DayLoad]] = {}
    for (day, resource_id), (booked, proposed) in counted.items():
        resource = resources[resource_id]
        loads.setdefault(day, []).append(
            cc.DayLoad(
                day, resource.name, resource.plural, per_day.get(resource_id), booked, proposed
            )
        )
    return {
        day: sorted(day_loads, key=lambda load: load.resource) for day, day_loads in loads.items()
    }
