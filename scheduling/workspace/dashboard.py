"""Reads of the dashboard (the admin's index) for the user's sites: participants per status,
the visits due, to decide, overdue and needing attention, reminders sent and failed, and the
mail set-up's health. A fixed number of queries whatever the number of rows; "today" is each
site's own date (``participant_list.site_today``).
"""

import datetime
from collections import Counter

from django.db.models import Count, DateField, ExpressionWrapper, F, Q, QuerySet
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
    TakeUp,
    VersionTakeUp,
    Visit,
)
from scheduling.rules import schedule
from scheduling.timeline import versions
from scheduling.workspace.participant_list import site_today, site_today_bounds

FUNNEL = [
    Status.SCREENING,
    Status.ENROLLED,
    Status.TREATMENT,
    Status.FOLLOW_UP,
    Status.COMPLETED,
]
EXITS = [Status.SCREEN_FAILED, Status.WITHDRAWN, Status.LOST_TO_FOLLOW_UP]
COUNT_CAP = 1000


def _label_contacts(visits: list[Visit]) -> None:
    """Each visit given its participant's last contact attempt (``last_contact_at``,
    ``last_contact_label``): one query for all of them, each participant's newest attempt
    read from the top of ``contact_attempt_last``."""
    participant_ids = {visit.participant_id for visit in visits}
    last = {}
    if participant_ids:
        last = {
            attempt.participant_id: attempt
            for attempt in ContactAttempt.objects.filter(participant_id__in=participant_ids)
            .order_by("participant_id", "-at", "-id")
            .distinct("participant_id")
        }
    for visit in visits:
        attempt = last.get(visit.participant_id)
        visit.last_contact_at = attempt.at if attempt else None
        visit.last_contact_label = attempt.get_outcome_display() if attempt else ""


def dashboard(sites: QuerySet, now=None) -> dict:
    """Numbers for the user's sites: participants per status, visits due this week (planned
    within seven days, window still open) and overdue (window passed, not done) of
    participants still in the trial, reminders sent, failed and closed with an unknown outcome
    in the last seven days; and the mail set-up's fault (``MailRelay``) while reminders are
    held back by one."""
    now = now or timezone.now()
    sites = list(sites)
    site_ids = [site.pk for site in sites]
    # Per site and status, the order of the (site, status) index: an index-only scan (by
    # status alone PostgreSQL reads every participant row to hash them).
    counts = Counter()
    for status, n in (
        Participant.objects.filter(site_id__in=site_ids)
        .values_list("site_id", "status")
        .annotate(n=Count("*"))
        .values_list("status", "n")
        .order_by()
    ):
        counts[status] += n
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
    # Each site's today is exact in the CASE of ``site_today``; the range of all the sites'
    # todays (``earliest``..``latest``) is what lets each list walk its own index of open
    # visits in the order shown and stop at the 50th row (a CASE alone filters every row).
    earliest, latest = site_today_bounds(sites, now)
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
    # Due this week: a visit whose window is still open (its appointment may have passed: a
    # no-show is due too), or one without a window whose appointment is ahead. Two queries,
    # each on an index: the first walks the appointment days up to the week's end and skips,
    # inside the index, the visits whose window closed before the earliest today.
    week_end = ExpressionWrapper(
        F("site_today") + datetime.timedelta(days=6), output_field=DateField()
    )
    order = ("appointment_date", "booked_time", "id")
    within_window = visits.filter(
        window_end__gte=F("site_today"), appointment_date__lte=week_end
    ).filter(window_end__gte=earliest, appointment_date__lte=latest + datetime.timedelta(days=6))
    without_window = visits.filter(
        window_end__isnull=True,
        appointment_date__gte=F("site_today"),
        appointment_date__lte=week_end,
    ).filter(appointment_date__range=(earliest, latest + datetime.timedelta(days=6)))
    due = sorted(
        [*within_window.order_by(*order)[:50], *without_window.order_by(*order)[:50]],
        key=lambda v: (v.appointment_date, v.booked_time is None, v.booked_time, v.id),
    )[:50]
    # Appointments a coordinator must decide: a booking to rebook, a window with no open day.
    to_decide = list(
        visits.filter(
            Q(window_end__gte=F("site_today")) | Q(window_end__isnull=True),
            appointment_flag__in=[AppointmentFlag.REBOOK, AppointmentFlag.NO_OPEN_DAY],
        ).order_by("appointment_date", "id")[:50]
    )
    overdue_qs = visits.filter(window_end__lt=F("site_today")).filter(window_end__lt=latest)
    overdue = list(overdue_qs.order_by("-window_end", "id")[:50])
    # Needs attention: no-shows (appointment day passed, window still open), requests for
    # another date still open, and participants who stopped their reminders this week.
    no_shows = list(
        visits.filter(
            appointment_date__lt=F("site_today"),
            window_end__gte=F("site_today"),
        )
        .filter(appointment_date__lt=latest, window_end__gte=earliest)
        .order_by("appointment_date", "window_end", "id")[:50]
    )
    _label_contacts(overdue + no_shows)
    # Counted up to a cap: the exact number of a network's overdue visits would read every one
    # of them on every visit to the dashboard (26,000 at 100,000 participants); past the cap
    # the page says "1000+" and the participant list's filter has them all.
    overdue_count = overdue_qs.order_by("-window_end", "id")[: COUNT_CAP + 1].count()
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
    version_changes = _version_changes(site_ids, week_ago)
    to_reconsent, to_reconsent_count = versions.waiting_for_reconsent(site_ids, limit=50)
    return {
        "sites": sites,
        "to_reconsent": to_reconsent,
        "to_reconsent_count": to_reconsent_count,
        "version_changes": version_changes,
        "funnel": funnel,
        "exits": exits,
        "due_this_week": due,
        "appointments_to_decide": to_decide,
        "no_shows": no_shows,
        "needs_attention_count": len(no_shows) + len(reschedule_requests) + len(stop_requests),
        "reschedule_requests": reschedule_requests,
        "stop_requests": stop_requests,
        "overdue": overdue,
        "overdue_count": min(overdue_count, COUNT_CAP),
        "overdue_count_capped": overdue_count > COUNT_CAP,
        "reminders_sent": reminder_counts.get(OutboxStatus.SENT, 0),
        "reminders_failed": reminder_counts.get(OutboxStatus.FAILED, 0),
        "reminders_unknown": reminder_counts.get(OutboxStatus.UNKNOWN, 0),
        "mail_fault": MailRelay.objects.filter(pk=MailRelay.ONE).exclude(fault="").first(),
        "dispatch": dispatch_health.health(now),
    }


def _version_changes(site_ids, since) -> list[VersionTakeUp]:
    """Participants moved to another version since ``since`` (a site's activation, a
    re-consent), newest first, each with how many of their visits it made not applicable
    (``not_applicable_count``): closed, never missed. Two queries."""
    take_ups = list(
        VersionTakeUp.objects.filter(
            participant__site_id__in=site_ids, recorded_at__gte=since, previous__isnull=False
        )
        .exclude(kind=TakeUp.START)
        .select_related("participant__site", "version", "previous")
        .order_by("-recorded_at", "-id")[:50]
    )
    counts = {}
    if take_ups:
        counts = dict(
            Visit.objects.filter(
                participant_id__in={t.participant_id for t in take_ups},
                closed_on__isnull=False,
                closed_reason__startswith=schedule.NOT_APPLICABLE,
            )
            .values_list("participant_id")
            .annotate(n=Count("id"))
            .values_list("participant_id", "n")
            .order_by()
        )
    for take_up in take_ups:
        take_up.not_applicable_count = counts.get(take_up.participant_id, 0)
    return take_ups
