"""Reads of the participant list (the admin's changelist): each participant's next visit,
overdue visits and today's study day, in one query for the whole list.

"Today" is each site's own date, passed into SQL as a value per site so the clock (and
time-machine in tests) rules. The dashboard counts with the same ``site_today``.
"""

import datetime

from django.db.models import (
    Case,
    Count,
    DateField,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from participants.models import ACTIVE_STATUSES
from scheduling.models import Visit


def site_today(sites, now=None, field: str = "site_id"):
    """An SQL expression: the local date today at the row's site."""
    sites = list(sites)
    if not sites:
        return Value(timezone.now().date(), output_field=DateField())
    return Case(
        *[When(**{field: site.pk}, then=Value(site.today(now))) for site in sites],
        default=Value(sites[0].today(now)),
        output_field=DateField(),
    )


def site_today_bounds(sites, now=None) -> tuple[datetime.date, datetime.date]:
    """The earliest and the latest of the sites' todays (at most a day apart): bounds an index
    can range over, where ``site_today``'s per-site ``CASE`` can only filter row by row."""
    todays = [site.today(now) for site in sites] or [timezone.now().date()]
    return min(todays), max(todays)


def _open_visits():
    return Visit.objects.filter(
        participant=OuterRef("pk"), actual_date__isnull=True, cancelled=False, closed_on=None
    )


def _still_in_trial(value, default):
    """``value`` for participants still in the trial, ``default`` for those who left: their
    missed visits stay missed (and shown as such) but are no longer anyone's to chase."""
    return Case(When(status__in=ACTIVE_STATUSES, then=value), default=default)


def with_schedule_summary(participants: QuerySet, sites, now=None) -> QuerySet:
    """Participants annotated with their site's today, next visit, overdue visit count (of
    those still in the trial) and the anchor to compute today's study day (one query for the
    whole list)."""
    next_visits = (
        _open_visits()
        .filter(
            Q(window_end__gte=OuterRef("site_today"))
            | Q(window_end__isnull=True, appointment_date__gte=OuterRef("site_today"))
        )
        .order_by("appointment_date", "booked_time", "id")
    )
    overdue = (
        _open_visits()
        .filter(window_end__lt=OuterRef("site_today"))
        .values("participant")
        .annotate(n=Count("id"))
        .values("n")
    )
    anchor = Visit.objects.filter(participant=OuterRef("pk"), study_day__isnull=False).order_by(
        "id"
    )
    return participants.annotate(
        site_today=site_today(sites, now),
        next_visit_date=Subquery(next_visits.values("appointment_date")[:1]),
        next_visit_code=Subquery(next_visits.values("code")[:1]),
        overdue_visits=_still_in_trial(
            Coalesce(Subquery(overdue, output_field=IntegerField()), 0), Value(0)
        ),
        anchor_date=Subquery(anchor.values("planned_date")[:1]),
        anchor_study_day=Subquery(anchor.values("study_day")[:1]),
    )


def next_visit_within(participants: QuerySet, days: int) -> QuerySet:
    """Annotated participants whose next visit falls within ``days`` days of their today."""
    return participants.filter(
        next_visit_date__lte=ExpressionWrapper(
            F("site_today") + datetime.timedelta(days=days), output_field=DateField()
        )
    )


def day_one_from_anchor(anchor_date, anchor_study_day) -> datetime.date | None:
    """Study Day 1 from any visit's planned date and its study day."""
    if anchor_date is None or anchor_study_day is None:
        return None
    delta = anchor_study_day - 1 if anchor_study_day > 0 else anchor_study_day
    return anchor_date - datetime.timedelta(days=delta)
