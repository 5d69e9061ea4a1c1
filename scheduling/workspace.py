"""Reads for the staff workspace (participant list, participant page, calendar, dashboard).

Each is a fixed number of queries whatever the number of rows. "Today" is each site's own
date, passed into SQL as a value per site so the clock (and time-machine in tests) rules.
"""

import datetime
from dataclasses import dataclass

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

from participants.models import (
    ACTIVE_STATUSES,
    ContactAttempt,
    Participant,
    Site,
    SiteCapacity,
    Status,
)

from . import engine
from .models import (
    AppointmentFlag,
    Confirmation,
    LinkAction,
    MailRelay,
    OutboxStatus,
    Reminder,
    ReminderLinkUse,
    Visit,
)
from .services import day_one_phase, phase_actual_starts, protocol_plan
from .timeline_chart import ChartPhase, ChartVisit, render_timeline


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


def _open_visits():
    return Visit.objects.filter(
        participant=OuterRef("pk"), actual_date__isnull=True, cancelled=False
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


@dataclass
class Timeline:
    svg: str
    day_one: datetime.date
    today: datetime.date
    visits: list[Visit]


def participant_timeline(participant: Participant, now=None) -> Timeline:
    """The participant's phases and visits as the chart draws them, and the visits listed."""
    today = participant.site.today(now)
    phases, _ = protocol_plan(participant.protocol_id)
    starts = phase_actual_starts(participant, phases)
    plans = [phase.as_plan() for phase in phases]
    names = {phase.code: phase.name for phase in phases}
    chart_phases = [
        ChartPhase(s.code, names[s.code], s.start, s.end, s.actual)
        for s in engine.phase_starts(plans, participant.consent_date, starts)
    ]
    if participant.left_on:
        # Phases after the day the participant left never happen; the one running is cut there.
        chart_phases = [
            ChartPhase(p.code, p.name, p.start, min(p.end, participant.left_on), p.actual)
            for p in chart_phases
            if p.start <= participant.left_on
        ]
    day_one = (
        engine.day_one(plans, day_one_phase(phases).code, participant.consent_date, starts)
        if phases
        else participant.consent_date
    )
    visits = list(participant.visits.select_related("definition").order_by("planned_date", "id"))
    for visit in visits:
        visit.current_status = visit.status_on(today)
    chart_visits = [
        ChartVisit(
            v.code,
            v.name,
            v.planned_date,
            v.window_start,
            v.window_end,
            v.actual_date,
            v.current_status,
            v.is_deviation,
        )
        for v in visits
    ]
    return Timeline(
        render_timeline(chart_phases, chart_visits, today, day_one), day_one, today, visits
    )


def site_time(instant: datetime.datetime | None, site: Site) -> str:
    """An instant as the site reads it: "2026-11-22 09:00 PST" (empty for none)."""
    if instant is None:
        return ""
    return f"{instant.astimezone(site.zone):%Y-%m-%d %H:%M %Z}"


def participant_reminders(participant: Participant) -> tuple[list[Reminder], int]:
    """The participant's reminders that went out or may still go out, in due order, and how
    many were cancelled (by schedule changes, leaving the trial or opting out)."""
    reminders = list(
        Reminder.objects.filter(visit__participant=participant)
        .select_related("visit", "rule")
        .order_by("due_at", "id")
    )
    shown = [r for r in reminders if r.status != OutboxStatus.CANCELLED]
    return shown, len(reminders) - len(shown)


# The dashboard.

FUNNEL = [
    Status.SCREENING,
    Status.ENROLLED,
    Status.TREATMENT,
    Status.FOLLOW_UP,
    Status.COMPLETED,
]
EXITS = [Status.SCREEN_FAILED, Status.WITHDRAWN, Status.LOST_TO_FOLLOW_UP]


def with_last_contact(visits: QuerySet) -> QuerySet:
    """Visits annotated with their participant's last contact attempt (when, outcome)."""
    last = ContactAttempt.objects.filter(participant=OuterRef("participant")).order_by("-at", "-id")
    return visits.annotate(
        last_contact_at=Subquery(last.values("at")[:1]),
        last_contact_outcome=Subquery(last.values("outcome")[:1]),
    )


def _label_contacts(visits: list[Visit]) -> list[Visit]:
    for visit in visits:
        outcome = getattr(visit, "last_contact_outcome", None)
        visit.last_contact_label = ContactAttempt.Outcome(outcome).label if outcome else ""
    return visits


def dashboard(sites: QuerySet, now=None) -> dict:
    """Numbers for the user's sites: participants per status, visits due this week (planned
    within seven days, window still open) and overdue (window passed, not done) of
    participants still in the trial, reminders sent, failed and closed with an unknown outcome
    in the last seven days; and the mail set-up's fault (``MailRelay``) while reminders are
    held back by one."""
    now = now or timezone.now()
    sites = list(sites)
    site_ids = [site.pk for site in sites]
    counts = dict(
        Participant.objects.filter(site_id__in=site_ids)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    top = max([counts.get(s, 0) for s in FUNNEL + EXITS] + [1])
    funnel = [
        {
            "status": s.value,
            "label": s.label,
            "count": counts.get(s, 0),
            "width": round(100 * counts.get(s, 0) / top),
        }
        for s in FUNNEL
    ]
    exits = [{"status": s.value, "label": s.label, "count": counts.get(s, 0)} for s in EXITS]
    visits = (
        Visit.objects.filter(
            participant__site_id__in=site_ids,
            participant__status__in=ACTIVE_STATUSES,
            actual_date__isnull=True,
            cancelled=False,
        )
        .annotate(site_today=site_today(sites, now, field="participant__site_id"))
        .select_related("participant__site")
    )
    due = list(
        visits.filter(
            Q(window_end__gte=F("site_today"))
            | Q(window_end__isnull=True, appointment_date__gte=F("site_today")),
            appointment_date__lte=ExpressionWrapper(
                F("site_today") + datetime.timedelta(days=6), output_field=DateField()
            ),
        ).order_by("appointment_date", "booked_time", "id")[:50]
    )
    # Appointments a coordinator must decide: a booking to rebook, a window with no open day.
    to_decide = list(
        visits.filter(
            Q(window_end__gte=F("site_today")) | Q(window_end__isnull=True),
            appointment_flag__in=[AppointmentFlag.REBOOK, AppointmentFlag.NO_OPEN_DAY],
        ).order_by("appointment_date", "id")[:50]
    )
    overdue_qs = visits.filter(window_end__lt=F("site_today"))
    overdue = list(with_last_contact(overdue_qs).order_by("-window_end", "id")[:50])
    # Needs attention: no-shows (appointment day passed, window still open), requests for
    # another date still open, and participants who stopped their reminders this week.
    no_shows = list(
        with_last_contact(
            visits.filter(appointment_date__lt=F("site_today"), window_end__gte=F("site_today"))
        ).order_by("appointment_date", "id")[:50]
    )
    reschedule_requests = list(
        visits.filter(
            Q(window_end__gte=F("site_today")) | Q(window_end__isnull=True),
            confirmation=Confirmation.RESCHEDULE_REQUESTED,
        ).order_by("confirmation_at", "id")[:50]
    )
    stop_requests = list(
        ReminderLinkUse.objects.filter(
            action=LinkAction.STOP,
            used_at__gte=now - datetime.timedelta(days=7),
            reminder__visit__participant__site_id__in=site_ids,
        )
        .select_related("reminder__visit__participant__site")
        .order_by("-used_at")[:50]
    )
    week_ago = now - datetime.timedelta(days=7)
    reminder_counts = dict(
        Reminder.objects.filter(
            visit__participant__site_id__in=site_ids,
            status__in=[OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.UNKNOWN],
        )
        .filter(
            Q(sent_at__gte=week_ago)
            | Q(status__in=[OutboxStatus.FAILED, OutboxStatus.UNKNOWN], updated_at__gte=week_ago)
        )
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    return {
        "sites": sites,
        "funnel": funnel,
        "exits": exits,
        "due_this_week": due,
        "appointments_to_decide": to_decide,
        "no_shows": _label_contacts(no_shows),
        "needs_attention_count": len(no_shows) + len(reschedule_requests) + len(stop_requests),
        "reschedule_requests": reschedule_requests,
        "stop_requests": stop_requests,
        "overdue": _label_contacts(overdue),
        "overdue_count": overdue_qs.count(),
        "reminders_sent": reminder_counts.get(OutboxStatus.SENT, 0),
        "reminders_failed": reminder_counts.get(OutboxStatus.FAILED, 0),
        "reminders_unknown": reminder_counts.get(OutboxStatus.UNKNOWN, 0),
        "mail_fault": MailRelay.objects.filter(pk=MailRelay.ONE).exclude(fault="").first(),
    }


# The calendar.


def calendar_visits(site: Site, first: datetime.date, last: datetime.date) -> list[Visit]:
    """Visits of ``site`` whose appointment (or, done, whose actual date) falls between
    ``first`` and ``last``, in order; each carries ``current_status`` and ``day`` (its date on
    the calendar). One query."""
    today = site.today()
    visits = list(
        Visit.objects.filter(participant__site=site)
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


@dataclass
class ResourceLoad:
    """One resource's appointments on one day at a site, against its capacity."""

    resource: object
    capacity: int | None
    booked: int = 0
    proposed: int = 0

    @property
    def full(self) -> bool:
        return self.capacity is not None and self.booked >= self.capacity

    @property
    def overbooked(self) -> bool:
        """Booked and proposed appointments together need more than the site has."""
        return self.capacity is not None and self.booked + self.proposed > self.capacity

    @property
    def label(self) -> str:
        name = self.resource.count_label(self.capacity if self.capacity is not None else 2)
        of = f" of {self.capacity}" if self.capacity is not None else ""
        extra = f" + {self.proposed} proposed" if self.proposed else ""
        return f"{self.booked}{of} {name} booked{extra}"


def day_loads(site: Site, visits: list[Visit]) -> dict[datetime.date, list[ResourceLoad]]:
    """Per day, the load of each resource used by the open ``visits`` (from
    ``calendar_visits``): booked and proposed appointments against the site's capacity, so
    that overbooked days stand out. One query (the site's capacities)."""
    capacities = {c.resource_id: c.per_day for c in SiteCapacity.objects.filter(site=site)}
    loads: dict[datetime.date, dict[int, ResourceLoad]] = {}
    for visit in visits:
        resource = visit.definition.resource if visit.definition_id else None
        if resource is None or visit.actual_date is not None or visit.cancelled:
            continue
        by_resource = loads.setdefault(visit.day, {})
        load = by_resource.get(resource.pk)
        if load is None:
            load = by_resource[resource.pk] = ResourceLoad(resource, capacities.get(resource.pk))
        if visit.booked_date is not None:
            load.booked += 1
        else:
            load.proposed += 1
    return {
        day: sorted(by_resource.values(), key=lambda load: load.resource.name)
        for day, by_resource in loads.items()
    }
