"""Writes about a site's capacity per resource (how many infusion chairs a day).

Every change keeps who made it and why in the capacity's history, and tells the schedule
(``site_calendar_changed``, in the same transaction): bookings over a day's new capacity are
flagged to rebook (the latest booked first), and those that fit again lose the flag.
"""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction

from .history import stamp
from .models import Resource, Site, SiteCapacity
from .sites import site_calendar_changed


@transaction.atomic
def save_capacities(
    site: Site,
    rows: Iterable[SiteCapacity],
    deleted: Iterable[SiteCapacity] = (),
    *,
    by=None,
    reason: str = "",
    via: str = "admin",
) -> bool:
    """Save ``site``'s capacity ``rows`` (new or changed) and delete ``deleted`` (that
    resource is then not limited). Returns whether anything changed; the schedule follows."""
    reason = reason.strip() or "Capacity changed"
    changed = False
    for row in rows:
        if row.site_id != site.pk:
            raise ValidationError({"site": f"{row} is not a capacity of {site.code}."})
        row.full_clean()
        stamp(row, by=by, reason=reason)
        row.save()
        changed = True
    for row in deleted:
        if row.site_id != site.pk:
            raise ValidationError({"site": f"{row} is not a capacity of {site.code}."})
        stamp(row, by=by, reason=reason)
        row.delete()
        changed = True
    if changed:
        site_calendar_changed(
            site, by=by, reason=f"{site.code}'s capacity changed ({via}): {reason}"
        )
    return changed


def set_capacity(
    site: Site,
    resource: Resource,
    per_day: int | None,
    *,
    by=None,
    reason: str = "",
    via: str = "admin",
) -> SiteCapacity | None:
    """``site`` has ``per_day`` of ``resource`` a day (None: not limited)."""
    row = SiteCapacity.objects.filter(site=site, resource=resource).first()
    if per_day is None:
        if row is not None:
            save_capacities(site, [], [row], by=by, reason=reason, via=via)
        return None
    if row is not None and row.per_day == per_day:
        return row
    row = row or SiteCapacity(site=site, resource=resource)
    row.per_day = per_day
    save_capacities(site, [row], by=by, reason=reason, via=via)
    return row
