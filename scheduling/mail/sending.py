"""One claimed row, in its own transaction: lock it (a reminder's visit first, as
``rebuild_schedule`` does), read again what decides it, and decide: skipped (ours no more),
cancelled, expired, superseded, deferred to the next allowed time, or sent (the message goes
out while the locks are held, ``outcomes.deliver`` records it). Reminders and digests.
"""

import datetime
import functools
import logging

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q

from participants.models import Participant
from scheduling.mail import emails
from scheduling.mail.digest import digest_content
from scheduling.mail.mailer import Mailer
from scheduling.mail.outcomes import (
    CANCELLED,
    DEFERRED,
    EXPIRED,
    SKIPPED,
    SUPERSEDED,
    close,
    deliver,
    release,
    store,
)
from scheduling.models import (
    OutboxStatus,
    Reminder,
    ReminderRule,
    SiteDigest,
    Visit,
    VisitDefinition,
)
from scheduling.rules import engine, reminder_rules
from scheduling.timeline.reminders import reminder_facts

# The dispatch's logger: operators' log settings and docs/reminders.md name it.
log = logging.getLogger("scheduling.mail.dispatch")

MIDNIGHT = datetime.time(0, 0)


# What the locked read of ``process_reminder`` refreshes: every value its decision and its
# email depend on that a schedule change, a booking or a staff edit can alter. (The site and
# the visit's name come from the batch's read: they change with a protocol or site edit.)
_REMINDER_STATE = (
    "status", "claim_token", "claimed_until", "due_at", "planned_date", "attempts",
    "next_attempt_at", "last_attempt_at", "last_error", "outcome_unknown_at", "sent_at",
    "message_id",
)  # fmt: skip
_VISIT_STATE = ("cancelled", "closed_on", "actual_date", "appointment_date", "appointment_flag",
                "planned_date", "booked_time", "sequence")  # fmt: skip
_PARTICIPANT_STATE = ("status", "reminders_enabled", "email", "language")
_RULE_STATE = ("active", "lead_days", "local_time")


@functools.cache
def _visit_lock_sql() -> str:
    quote = connection.ops.quote_name
    table = quote(Visit._meta.db_table)
    return f"SELECT 1 FROM {table} WHERE id = %s FOR NO KEY UPDATE"  # noqa: S608 (a model's table)


@functools.cache
def _locked_state_sql() -> str:
    """One statement: lock the reminder and read what decides it, with the "newer reminder"
    check (see ``process_reminder``) as a column."""
    quote = connection.ops.quote_name

    def columns(alias, model, names):
        return [f"{alias}.{quote(model._meta.get_field(name).column)}" for name in names]

    selected = ", ".join(
        columns("r", Reminder, _REMINDER_STATE)
        + columns("v", Visit, _VISIT_STATE)
        + columns("p", Participant, _PARTICIPANT_STATE)
        + columns("u", ReminderRule, _RULE_STATE)
    )
    reminders, rules = quote(Reminder._meta.db_table), quote(ReminderRule._meta.db_table)
    # Table and column names from the models' metadata; every value a parameter.
    return f"""
        SELECT {selected}, EXISTS (
            SELECT 1 FROM {reminders} n JOIN {rules} nu ON nu.id = n.rule_id
            WHERE n.visit_id = r.visit_id AND n.planned_date = r.planned_date
              AND n.due_at <= %(now)s AND nu.lead_days < u.lead_days
              AND (n.status = %(sent)s OR (n.status = %(pending)s AND nu.active))
        )
        FROM {reminders} r
        JOIN {quote(Visit._meta.db_table)} v ON v.id = r.visit_id
        JOIN {quote(Participant._meta.db_table)} p ON p.id = v.participant_id
        JOIN {rules} u ON u.id = r.rule_id
        WHERE r.id = %(id)s
        FOR UPDATE OF r"""  # noqa: S608


def load_reminders(ids) -> dict[int, Reminder]:
    """Claimed reminders with what their emails need (visit, participant, site, rule) and
    what gates them by phase (the visit's phase, whether it is that phase's first visit), in
    one read without locks: ``process_reminder`` refreshes what can change under its locks
    (the plan of a protocol is not among them)."""
    definition = OuterRef("visit__definition")
    earlier_in_phase = VisitDefinition.objects.filter(
        Q(order__lt=OuterRef("visit__definition__order"))
        | Q(order=OuterRef("visit__definition__order"), id__lt=definition),
        phase_id=OuterRef("visit__definition__phase_id"),
    )
    return (
        Reminder.objects.select_related(
            "visit__participant__site", "rule", "visit__definition__phase"
        )
        .annotate(later_in_phase=Exists(earlier_in_phase))
        .in_bulk(ids)
    )


def _phase_gates(reminder: Reminder) -> dict[int, tuple[str, bool]]:
    definition = reminder.visit.definition
    if definition is None:
        return {}
    return {definition.pk: (definition.phase.started_by, not reminder.later_in_phase)}


def _lock_and_refresh(reminder: Reminder, now: datetime.datetime) -> bool | None:
    """Lock ``reminder`` (its visit is locked already) and refresh it from the database;
    whether a newer reminder of the same visit and day is also due. None if it is gone."""
    with connection.cursor() as cursor:
        cursor.execute(
            _locked_state_sql(),
            {
                "id": reminder.pk,
                "now": now,
                "sent": OutboxStatus.SENT,
                "pending": OutboxStatus.PENDING,
            },
        )
        row = cursor.fetchone()
    if row is None:
        return None
    values = iter(row)
    visit = reminder.visit
    for target, names in (
        (reminder, _REMINDER_STATE),
        (visit, _VISIT_STATE),
        (visit.participant, _PARTICIPANT_STATE),
        (reminder.rule, _RULE_STATE),
    ):
        for name in names:
            setattr(target, name, next(values))
    return next(values)


def process_reminder(
    reminder_id: int,
    *,
    visit_id: int,
    token: str,
    now: datetime.datetime,
    mailer: Mailer,
    loaded: Reminder | None = None,
) -> str:
    """Decide and, where due, send one claimed reminder, in its own transaction.

    Sent if its visit is still scheduled on the reminder's date and that date is after the
    site's today; expired if that date is the site's today or earlier; superseded if a reminder
    of the same visit and date with a shorter lead is also due (only the most recent goes out).
    "Also due" counts one already sent too: processed in either order, or with the longer-lead
    one retrying after a failure, the older reminder never follows the newer one. It does not
    count a pending one whose rule is switched off: that one will never go out.

    ``loaded``: the row as ``load_reminders`` read it for the batch; everything that decides
    the outcome is read again under the locks. Four statements: lock the visit, lock and read
    the reminder (with the newer-reminder check), record the outcome, commit.
    """
    with transaction.atomic():
        # Lock order visit → reminder, as rebuild_schedule (update visits, then sync_reminders).
        with connection.cursor() as cursor:
            cursor.execute(_visit_lock_sql(), [visit_id])
        reminder = loaded or load_reminders([reminder_id]).get(reminder_id)
        newer = None if reminder is None else _lock_and_refresh(reminder, now)
        if (
            newer is None
            or reminder.status != OutboxStatus.PENDING
            or reminder.claim_token != token
        ):
            return SKIPPED
        if reminder.due_at > now:
            # Re-timed since the claim (a rule's send time changed): not due yet after all.
            release(reminder)
            return SKIPPED
        visit = reminder.visit
        participant = visit.participant
        today = participant.site.today(now)
        held = reminder_rules.reminder_hold(
            reminder_facts(participant, visit, _phase_gates(reminder))
        )
        if held or visit.appointment_day != reminder.planned_date or not reminder.rule.active:
            # sync_reminders cancels these in the schedule's own transaction; this is the guard
            # for a rule switched off, or a change made around the services.
            close(reminder, OutboxStatus.CANCELLED, held or "no longer wanted by the schedule")
            log.info("reminder %s cancelled at dispatch", reminder.pk)
            return CANCELLED
        if reminder.planned_date <= today:
            close(reminder, OutboxStatus.EXPIRED)
            log.info("reminder %s expired", reminder.pk)
            return EXPIRED
        if newer:
            # A pending one counts only if it can still go out: one whose rule was switched
            # off is cancelled when its turn comes, and must not take this one down with it.
            close(reminder, OutboxStatus.SUPERSEDED)
            log.info("reminder %s superseded", reminder.pk)
            return SUPERSEDED
        # Retries stop when the visit day begins at the site: a late reminder is no reminder.
        zone = participant.site.zone
        day_starts = engine.local_instant(reminder.planned_date, MIDNIGHT, zone)
        send_at = reminder_rules.next_send_at(now, reminder.rule.local_time, zone)
        if send_at >= day_starts:
            # Found late at night with no allowed time left before the visit day.
            close(reminder, OutboxStatus.EXPIRED, "no allowed time to send before the visit day")
            log.info("reminder %s expired (no allowed time left)", reminder.pk)
            return EXPIRED
        if send_at > now:
            # Never in the night: it goes at the next allowed time of day at the site.
            reminder.next_attempt_at = send_at
            reminder.claimed_until = None
            reminder.claim_token = ""
            store(reminder, ["next_attempt_at", "claimed_until", "claim_token"])
            log.info("reminder %s deferred to %s (night at the site)", reminder.pk, send_at)
            return DEFERRED
        message = emails.reminder_email(reminder, now=now)
        return deliver(reminder, message, mailer, now, day_starts)


def process_digest(digest_id: int, *, token: str, now: datetime.datetime, mailer: Mailer) -> str:
    """Send one claimed digest, or drop it (expired) once its local day is over at the site."""
    with transaction.atomic():
        digest = (
            SiteDigest.objects.select_for_update(of=("self",))
            .select_related("site", "rule")
            .get(pk=digest_id)
        )
        if digest.status != OutboxStatus.PENDING or digest.claim_token != token:
            return SKIPPED
        if not digest.rule.active:
            close(digest, OutboxStatus.CANCELLED, "digest rule switched off")
            return CANCELLED
        if digest.site.today(now) > digest.local_date:
            close(digest, OutboxStatus.EXPIRED)
            log.info("digest %s expired", digest.pk)
            return EXPIRED
        message = emails.digest_email(digest, digest_content(digest))
        day_ends = engine.local_instant(
            digest.local_date + datetime.timedelta(days=1), MIDNIGHT, digest.site.zone
        )
        return deliver(digest, message, mailer, now, day_ends)
