"""The coordinator digest: which sites get one today, and what it says.

One digest per site, rule and local day (a database constraint). A run of the dispatcher at
or after the rule's local time creates that day's row; the dispatcher then sends it like any
outbox message, or drops it (expired) once the site's day is over.
"""

import datetime
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Q, Subquery

from participants.models import ACTIVE_STATUSES, Participant, Site
from scheduling.mail.redaction import redact_addresses
from scheduling.models import (
    AppointmentFlag,
    Audience,
    Confirmation,
    LinkAction,
    OutboxStatus,
    Reminder,
    ReminderLinkUse,
    ReminderRule,
    SiteDigest,
    VersionTakeUp,
    Visit,
)
from scheduling.rules import engine, schedule

CLOSING_DAYS = 3


@dataclass
class DigestContent:
    today: list[Visit] = field(default_factory=list)
    closing: list[Visit] = field(default_factory=list)
    missed: list[Visit] = field(default_factory=list)
    # Closed because a protocol version no longer applies to them (a take-up recorded in the
    # last day): closed, never missed, so listed apart.
    not_applicable: list[Visit] = field(default_factory=list)
    failed: list[Reminder] = field(default_factory=list)
    to_decide: list[Visit] = field(default_factory=list)
    tomorrow: list[Visit] = field(default_factory=list)
    requests: list[Visit] = field(default_factory=list)
    stops: list = field(default_factory=list)
    closing_days: int = CLOSING_DAYS

    @property
    def new_request_count(self) -> int:
        return len(self.requests) + len(self.stops)


def create_due_digests(now: datetime.datetime) -> int:
    """Create today's digest row for every site (with participants in the trial) whose local
    digest time has come. Idempotent: the unique constraint turns repeats into no-ops.
    At most three queries whatever the number of sites or participants: whether a site has a
    participant in the trial is one probe per site of the index of participants in the trial
    (``participant_in_trial_idx``), never a read of every participant."""
    rules = list(ReminderRule.objects.filter(audience=Audience.COORDINATOR_DIGEST, active=True))
    if not rules:
        return 0
    protocol_ids = sorted({rule.protocol_id for rule in rules})
    # The first participant in the trial by created_at, rather than EXISTS. PostgreSQL costs
    # an EXISTS (or a LIMIT 1 in any order an index of every participant gives, such as the
    # primary key's) as the start of a walk through all participants that stops at the first
    # match: for a site with none in the trial (new, or all its participants gone), a read
    # of the whole table at every tick. Only participant_in_trial_idx gives this order
    # without a sort, so the plan is one probe of it (any other plan reads and sorts all of
    # a site's participants, which the planner takes only for a site it thinks nearly empty).
    in_trial = {
        f"in_trial_{protocol_id}": Subquery(
            Participant.objects.filter(
                site_id=OuterRef("pk"),
                protocol_id=protocol_id,
                status__in=sorted(ACTIVE_STATUSES),
            )
            .order_by("created_at")
            .values("created_at")[:1]
        )
        for protocol_id in protocol_ids
    }
    sites = list(Site.objects.annotate(**in_trial).order_by("id"))
    due = []
    for rule in rules:
        for site in sites:
            if getattr(site, f"in_trial_{rule.protocol_id}") is None:
                continue
            local_date = site.today(now)
            due_at = engine.local_instant(local_date, rule.local_time, site.zone)
            if due_at <= now:
                due.append(SiteDigest(site=site, rule=rule, local_date=local_date, due_at=due_at))
    if due:
        SiteDigest.objects.bulk_create(due, ignore_conflicts=True)
    return len(due)


def digest_content(digest: SiteDigest) -> DigestContent:
    """What the coordinators of ``digest.site`` need on ``digest.local_date``, for participants
    still in the trial: today's appointments (and visits done today), windows closing within
    three days with no actual date, visits newly missed (window ended yesterday), reminders
    that failed for visits still ahead, appointments to decide (a booking to rebook, a window
    with no open day), tomorrow's appointments with their confirmation state, and the
    participants' requests of the last day (another date asked for, reminders stopped), and
    the visits a version change of the last day made not applicable (apart from the missed
    ones). Nine queries."""
    day = digest.local_date
    # "New" requests: those of the day before the digest's time, so each is in one digest.
    since = digest.due_at - datetime.timedelta(days=1)
    visits = (
        Visit.objects.filter(
            participant__site_id=digest.site_id,
            participant__protocol_id=digest.rule.protocol_id,
            participant__status__in=ACTIVE_STATUSES,
            cancelled=False,
            closed_on=None,
        )
        .select_related("participant")
        .order_by("participant__subject_id", "appointment_date", "id")
    )
    open_visits = visits.filter(actual_date__isnull=True)
    failed = list(
        Reminder.objects.filter(
            status=OutboxStatus.FAILED,
            visit__participant__site_id=digest.site_id,
            visit__participant__protocol_id=digest.rule.protocol_id,
            visit__participant__status__in=ACTIVE_STATUSES,
            visit__cancelled=False,
            visit__closed_on=None,
            visit__actual_date__isnull=True,
            planned_date__gte=day,  # the appointment day the reminder was for
        )
        .select_related("visit__participant")
        .order_by("planned_date", "id")
    )
    for reminder in failed:
        reminder.last_error = redact_addresses(reminder.last_error)
    return DigestContent(
        today=list(
            visits.filter(Q(actual_date=day) | Q(actual_date__isnull=True, appointment_date=day))
        ),
        closing=list(
            open_visits.filter(
                window_end__gte=day, window_end__lte=day + datetime.timedelta(days=CLOSING_DAYS)
            )
        ),
        missed=list(open_visits.filter(window_end=day - datetime.timedelta(days=1))),
        not_applicable=list(
            Visit.objects.filter(
                participant__site_id=digest.site_id,
                participant__protocol_id=digest.rule.protocol_id,
                participant__status__in=ACTIVE_STATUSES,
                closed_reason__startswith=schedule.NOT_APPLICABLE,
            )
            .filter(
                Exists(
                    VersionTakeUp.objects.filter(
                        participant_id=OuterRef("participant_id"),
                        since=OuterRef("closed_on"),
                        recorded_at__gte=since,
                    )
                )
            )
            .select_related("participant")
            .order_by("participant__subject_id", "planned_date", "id")
        ),
        failed=failed,
        to_decide=list(
            open_visits.filter(
                Q(window_end__gte=day) | Q(window_end__isnull=True),
                appointment_flag__in=[AppointmentFlag.REBOOK, AppointmentFlag.NO_OPEN_DAY],
            )
        ),
        tomorrow=list(
            open_visits.filter(appointment_date=day + datetime.timedelta(days=1)).order_by(
                "booked_time", "participant__subject_id", "id"
            )
        ),
        requests=list(
            open_visits.filter(
                confirmation=Confirmation.RESCHEDULE_REQUESTED, confirmation_at__gte=since
            ).order_by("confirmation_at", "id")
        ),
        stops=list(
            ReminderLinkUse.objects.filter(
                action=LinkAction.STOP,
                used_at__gte=since,
                reminder__visit__participant__site_id=digest.site_id,
                reminder__visit__participant__protocol_id=digest.rule.protocol_id,
            )
            .select_related("reminder__visit__participant")
            .order_by("used_at")
        ),
    )
