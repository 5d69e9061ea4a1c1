"""Writes about a site's calendar: its closures, and telling the schedule when its time zone or
clinic calendar changes. (Sites imported from a file: ``imports``; capacity: ``capacities``.)

A closure has a reason, dates from 1990 ending on or after its start, and an end no more than
five years ahead of its site's today. Every change keeps who made it and why in the closure's
history and, in the same transaction, has the schedule place the appointments of the site's
participants still in the trial again (``timeline_changed``): proposals move off closed days,
bookings on them are flagged to rebook.
"""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction

from .dates import too_late_problem
from .history import stamp
from .models import Participant, Site, SiteClosure
from .signals import timeline_changed


def site_time_zone_changed(site: Site, *, by=None, reason: str = "") -> None:
    """Tell the schedule that ``site`` now keeps another time zone: the reminders of its
    participants still in the trial are due at the rules' local time in the new zone, so each
    participant's schedule is rebuilt (in the caller's transaction) and its pending reminders
    re-timed. Call it after saving a site whose ``timezone`` changed."""
    for participant in site.participants.active():
        timeline_changed.send(
            sender=Participant,
            participant=participant,
            by=by,
            reason=reason or f"{site.code}'s time zone changed",
        )


def site_calendar_changed(site: Site, *, by=None, reason: str = "") -> None:
    """Tell the schedule that ``site``'s clinic calendar changed (open days, holidays,
    closures, capacity): its participants still in the trial have their appointments placed
    again and their pending reminders re-timed, in the caller's transaction. Bookings stay
    where staff put them; one now on a closed day is flagged for rebooking."""
    for participant in site.participants.active():
        timeline_changed.send(
            sender=Participant,
            participant=participant,
            by=by,
            reason=reason or f"{site.code}'s clinic calendar changed",
        )


def validate_closure(closure: SiteClosure, *, now=None) -> None:
    """Raise ValidationError (by field) unless ``closure`` may be saved: its model's checks
    (dates from 1990, ending on or after its start), a reason, and an end no more than five
    years ahead of its site's today."""
    errors: dict[str, list[str]] = {}
    try:
        closure.full_clean()
    except ValidationError as error:
        errors = error.message_dict
    if not closure.reason and "reason" not in errors:
        errors["reason"] = ["A closure needs a reason."]
    problem = closure.end and too_late_problem(closure.end, closure.site.today(now))
    if problem and "end" not in errors:
        errors["end"] = [problem]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def add_closure(
    site: Site,
    *,
    start: datetime.date,
    end: datetime.date | None = None,
    reason: str,
    by=None,
    via: str = "admin",
    now=None,
) -> SiteClosure:
    """Close ``site`` from ``start`` to ``end`` (inclusive; one day without it) for
    ``reason``. Proposed appointments on those days move; bookings are flagged to rebook."""
    end = end or start
    closure = SiteClosure(site=site, start=start, end=end, reason=reason.strip())
    validate_closure(closure, now=now)
    stamp(closure, by=by, reason=f"Closure added ({via})")
    closure.save()
    site_calendar_changed(site, by=by, reason=f"{closure} ({via})")
    return closure


@transaction.atomic
def change_closure(
    closure: SiteClosure,
    *,
    start: datetime.date,
    end: datetime.date | None = None,
    reason: str,
    why: str = "",
    by=None,
    via: str = "admin",
    now=None,
) -> SiteClosure:
    """Move or re-word ``closure`` (its site stays; the history keeps the former days and
    ``why``). Proposals move off the days now closed and back onto the days reopened;
    bookings on a day now closed are flagged to rebook."""
    closure.start, closure.end, closure.reason = start, end or start, reason.strip()
    validate_closure(closure, now=now)
    stamp(
        closure,
        by=by,
        reason=f"Closure changed ({via})" + (f": {why.strip()}" if why.strip() else ""),
    )
    closure.save()
    site_calendar_changed(closure.site, by=by, reason=f"Closure changed: {closure} ({via})")
    return closure


@transaction.atomic
def remove_closure(closure: SiteClosure, *, by=None, via: str = "admin") -> None:
    """Reopen the days of ``closure`` (its history keeps it); proposals move back."""
    site = closure.site
    stamp(closure, by=by, reason=f"Closure removed ({via})")
    described = str(closure)
    closure.delete()
    site_calendar_changed(site, by=by, reason=f"Closure removed: {described} ({via})")
