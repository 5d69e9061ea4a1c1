"""Reads of the dashboard (the admin's index) for the user's sites: participants per status,
the visits due, to decide, overdue and needing attention, reminders sent and failed, and the
mail set-up's health. A fixed number of queries whatever the number of rows; "today" is each
site's own date (``participant_list.site_today``).
"""

import datetime

from django.db.models import Count, DateField, ExpressionWrapper, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from participants.models import ACTIVE_STATUSES, ContactAttempt, Participant, Status
from scheduling.mail import dispatch_health
from scheduling.models import (
    AppointmentFlag,
    Confirmation,
    LinkAction,
    MailRelay,
    OutboxStatus,
    Reminder,
    ReminderLinkUse,
    Visit,
)
from scheduling.workspace.participant_list import site_today

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
            closed_on=None,
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
        "dispatch": dispatch_health.health(now),
    }
