"""Sending the outbox: claim due reminders and digests, send each once, close it.

How "exactly once" holds (docs/reminders.md tells operators the same):

1. **Claim.** A short transaction selects due pending rows ``FOR UPDATE SKIP LOCKED``, stamps
   them with a lease (``claimed_until``, ``claim_lease()``) and this run's ``claim_token``, and
   commits. Two dispatchers (two workers, two beats, a worker and ``manage.py
   send_due_reminders``) never claim the same row while its lease runs. The lease outlasts the
   longest a send may take (``send_budget()``: every SMTP reply, and RFC 5321's ten minutes
   for the reply to the data); a row whose turn comes after a slow start has its lease renewed
   first, so no other dispatcher claims a row whose outcome is still coming.
2. **Send.** Each claimed row then gets its own transaction: lock the visit (the order
   ``rebuild_schedule`` uses: visit, then reminder, so the two never deadlock), lock the row,
   re-check that it is still pending and still ours and that its visit is still scheduled on
   the same date; decide sent, expired or superseded; send over the run's one SMTP connection
   while holding the locks; record the outcome; commit. A schedule change that would cancel the
   row waits for that commit and then finds it sent, never overwriting it.
3. **Crash.** A run that dies leaves its rows claimed; once the lease is over the next run
   claims and sends them.

What a server's refusal means (the mail set-up's fault, one mailbox's, or not yet clear) is
``scheduling.mailer``'s rule; this module records it on the row, and the set-up's faults on
``MailRelay`` for the staff dashboard.

**Where a copy can go out.** The server took the message and the dispatcher died, or lost
its database, before the commit that marks the row sent; or the server took it and its reply
never came (``OutcomeUnknown``: the row is retried once, then closed as unknown). Either way
the copy carries the same Message-ID (``<reminder-ID@domain>``, see
``emails.reminder_message_id``) and the same calendar UID, so mail systems that de-duplicate
on Message-ID drop it and calendars update the one entry. Closing these windows would need
the mail server to take part in our transaction; SMTP has no such protocol.
"""

import datetime
import functools
import logging
import uuid
from dataclasses import dataclass, fields

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from participants.models import Participant

from . import emails, engine
from .digest import create_due_digests, digest_content, redact_addresses
from .mailer import MAILBOX, UNCLEAR, UNKNOWN, DeliveryError, Mailer
from .models import MailRelay, OutboxStatus, Reminder, ReminderRule, SiteDigest, Visit

log = logging.getLogger(__name__)

# Replies one send may wait for, each up to EMAIL_TIMEOUT: connect, greeting, EHLO, STARTTLS,
# EHLO again, AUTH (two), MAIL, RCPT, DATA, RSET and QUIT.
COMMAND_REPLIES = 12
# How long the rows later in a batch may wait for their turn before their claims are renewed.
LEASE_MARGIN = datetime.timedelta(minutes=5)
BATCH_SIZE = 100
FIRST_RETRY = datetime.timedelta(minutes=1)
LONGEST_RETRY = datetime.timedelta(minutes=30)
MIDNIGHT = datetime.time(0, 0)

SENT = "sent"
RETRYING = "retrying"
FAILED = "failed"
EXPIRED = "expired"
SUPERSEDED = "superseded"
CANCELLED = "cancelled"
SKIPPED = "skipped"  # no longer ours: sent, closed or claimed again by another run
UNKNOWN_OUTCOME = "unknown"  # the server took the whole message and never answered


@dataclass
class DispatchSummary:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    expired: int = 0
    superseded: int = 0
    cancelled: int = 0
    skipped: int = 0
    unknown: int = 0

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def line(self) -> str:
        """The one line ``send_due_reminders`` prints (new counts are added at its end)."""
        return (
            f"sent {self.sent}, retrying {self.retrying}, failed {self.failed}, "
            f"expired {self.expired}, superseded {self.superseded}, unknown {self.unknown}"
        )


def send_budget() -> datetime.timedelta:
    """The longest one send may take: every command reply at ``EMAIL_TIMEOUT``, and the reply
    to the data at ``EMAIL_DATA_REPLY_TIMEOUT`` (scheduling.smtp)."""
    return datetime.timedelta(
        seconds=COMMAND_REPLIES * (settings.EMAIL_TIMEOUT or 0) + settings.EMAIL_DATA_REPLY_TIMEOUT
    )


def claim_lease() -> datetime.timedelta:
    """How long a claim holds: one send's budget, and the margin for the rows before it."""
    return send_budget() + LEASE_MARGIN


def retry_delay(attempts: int) -> datetime.timedelta:
    """Backoff after the ``attempts``-th failure: 1, 2, 4, 8, 16 minutes, then 30 at most."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_RETRY)


def _claim(model, now, *, limit, lease, token, also=()):
    with transaction.atomic():
        rows = list(
            model.objects.due(now)
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("due_at", "id")
            .values_list("id", *also)[:limit]
        )
        if rows:
            model.objects.filter(id__in=[row[0] for row in rows]).update(
                claimed_until=now + lease, claim_token=token
            )
    log.debug("claimed %d %s row(s) until %s", len(rows), model._meta.model_name, now + lease)
    return rows


def claim_due_reminders(
    now: datetime.datetime, *, limit: int = BATCH_SIZE, lease=None, token: str
) -> list[tuple[int, int]]:
    """Claim up to ``limit`` due pending reminders for ``lease``: (reminder id, visit id) pairs.

    Rows another run holds (locked now, or claimed with a lease still running) are skipped.
    """
    lease = lease or claim_lease()
    return _claim(Reminder, now, limit=limit, lease=lease, token=token, also=("visit_id",))


def claim_due_digests(
    now: datetime.datetime, *, limit: int = BATCH_SIZE, lease=None, token: str
) -> list[int]:
    """Claim up to ``limit`` due pending digests; their ids."""
    lease = lease or claim_lease()
    return [row[0] for row in _claim(SiteDigest, now, limit=limit, lease=lease, token=token)]


def _extend_claim(model, row_id: int, *, token: str, until: datetime.datetime) -> bool:
    """Renew this run's claim on a row before its send (committed at once), so that it holds
    for the whole send even when the rows before it took long. False if it is ours no more."""
    rows = model.objects.filter(pk=row_id, status=OutboxStatus.PENDING, claim_token=token)
    return rows.update(claimed_until=until) == 1


@functools.cache
def _update_sql(model, names: tuple[str, ...]) -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(f"{quote(model._meta.get_field(name).column)} = %s" for name in names)
    table, key = quote(model._meta.db_table), quote(model._meta.pk.column)
    return f"UPDATE {table} SET {columns} WHERE {key} = %s"  # noqa: S608 (names from models)


def _store(row, names: list[str]) -> None:
    """Write these fields of ``row``, and ``updated_at``, in one UPDATE: what
    ``save(update_fields=…)`` does (outbox rows have no signals or history), without building
    the statement anew for every row of the dispatcher's busiest write."""
    names = (*names, "updated_at")
    fields = [row._meta.get_field(name) for name in names]
    values = [field.get_db_prep_save(field.pre_save(row, False), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(_update_sql(type(row), names), [*values, row.pk])


def _close(row, status: str, note: str = "") -> None:
    row.status = status
    row.claimed_until = None
    row.claim_token = ""
    if note:
        row.last_error = note
    _store(row, ["status", "claimed_until", "claim_token", "last_error"])


def _release(row) -> None:
    row.claimed_until = None
    row.claim_token = ""
    _store(row, ["claimed_until", "claim_token"])


def _deliver(row, message, mailer: Mailer, now: datetime.datetime, give_up_at) -> str:
    """Send ``message`` for the locked ``row`` and record the outcome on it: sent; failed when
    its mailbox refused it; unknown when the server took it and never answered (retried once
    with the same Message-ID, then closed as ``unknown``); otherwise retried with backoff."""
    previous_attempt_at, previous_error = row.last_attempt_at, row.last_error
    row.attempts += 1
    row.last_attempt_at = now
    row.claimed_until = None
    row.claim_token = ""
    try:
        mailer.send(message)
    except DeliveryError as error:
        row.last_error = error.text
        kind = error.kind
        if (
            kind == UNCLEAR
            and error.text == previous_error
            and _accepted_since(mailer, previous_attempt_at)
        ):
            kind = MAILBOX  # the same refusal twice, with other recipients accepted between
        if kind == UNKNOWN:
            row.message_id = message.extra_headers["Message-ID"]  # the copy, if any, carries it
        if kind == MAILBOX:
            row.status = OutboxStatus.FAILED
            outcome = action = FAILED
        elif kind == UNKNOWN and row.outcome_unknown_at is not None:
            row.status = OutboxStatus.UNKNOWN  # twice: no third copy; a person looks at it
            row.outcome_unknown_at = now
            row.next_attempt_at = None
            outcome, action = UNKNOWN_OUTCOME, "closed"
        else:
            # Retried; never after the visit day begins (it is closed as expired then).
            row.next_attempt_at = min(now + retry_delay(row.attempts), give_up_at)
            outcome = action = RETRYING
            if kind == UNKNOWN:
                row.outcome_unknown_at = now
                outcome, action = UNKNOWN_OUTCOME, "retrying once"
            elif kind == UNCLEAR:
                mailer.hold((type(row), row.pk, row.attempts), error)
        log.warning(
            "%s %s attempt %d %s: %s",
            row._meta.model_name,
            row.pk,
            row.attempts,
            action,
            redact_addresses(error.text),  # server replies may quote the address
        )
    else:
        row.status = OutboxStatus.SENT
        row.sent_at = timezone.now()
        row.message_id = message.extra_headers["Message-ID"]
        row.last_error = ""
        row.next_attempt_at = None
        outcome = SENT
        log.info("%s %s sent attempt %d", row._meta.model_name, row.pk, row.attempts)
    _store(
        row,
        [
            "status",
            "attempts",
            "last_attempt_at",
            "next_attempt_at",
            "outcome_unknown_at",
            "claimed_until",
            "claim_token",
            "last_error",
            "sent_at",
            "message_id",
        ],
    )
    return outcome


def _accepted_since(mailer: Mailer, instant: datetime.datetime | None) -> bool:
    """Whether the mail server accepted a message after ``instant``, in this run or another."""
    if instant is None:
        return False
    if mailer.last_accepted_at is not None and mailer.last_accepted_at > instant:
        return True
    last = MailRelay.objects.filter(pk=MailRelay.ONE).values_list("last_accepted_at", flat=True)
    return any(accepted is not None and accepted > instant for accepted in last)


def _fail_held(key) -> bool:
    """Fail a row held after an unclear refusal, now that the server accepted another recipient
    after it: the refusal was its mailbox's. Left alone if anything touched it since."""
    model, row_id, attempts = key
    with transaction.atomic():
        row = model.objects.select_for_update().filter(pk=row_id).first()
        if (
            row is None
            or row.status != OutboxStatus.PENDING
            or row.attempts != attempts
            or row.claim_token
        ):
            return False
        row.status = OutboxStatus.FAILED
        row.next_attempt_at = None
        row.save(update_fields=["status", "next_attempt_at", "updated_at"])
    log.warning(
        "%s %s failed: %s (the server accepted other recipients)",
        model._meta.model_name,
        row_id,
        redact_addresses(row.last_error),
    )
    return True


def _record_mail_relay(mailer: Mailer) -> None:
    """Keep what the run learnt of the mail set-up for the staff dashboard: the fault that
    stopped it (with when it began, kept until a message is accepted), else that a message was
    accepted, which clears any fault. One query when all is well."""
    if mailer.halted:
        with transaction.atomic():
            relay, _ = MailRelay.objects.select_for_update().get_or_create(pk=MailRelay.ONE)
            if not relay.fault:
                relay.fault_since = timezone.now()
            relay.fault = mailer.halted
            if mailer.last_accepted_at is not None:
                relay.last_accepted_at = mailer.last_accepted_at
            relay.save()
    elif mailer.last_accepted_at is not None:
        MailRelay.objects.bulk_create(
            [MailRelay(pk=MailRelay.ONE, last_accepted_at=mailer.last_accepted_at)],
            update_conflicts=True,
            unique_fields=["id"],
            update_fields=["fault", "fault_since", "last_accepted_at"],
        )


# What the locked read of ``process_reminder`` refreshes: every value its decision and its
# email depend on that a schedule change, a booking or a staff edit can alter. (The site and
# the visit's name come from the batch's read: they change with a protocol or site edit.)
_REMINDER_STATE = (
    "status", "claim_token", "claimed_until", "due_at", "planned_date", "attempts",
    "next_attempt_at", "last_attempt_at", "last_error", "outcome_unknown_at", "sent_at",
    "message_id",
)  # fmt: skip
_VISIT_STATE = ("cancelled", "actual_date", "appointment_date", "planned_date", "booked_time",
                "sequence")  # fmt: skip
_PARTICIPANT_STATE = ("status", "reminders_enabled", "email", "language")
_RULE_STATE = ("active", "lead_days")


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
    """Claimed reminders with what their emails need (visit, participant, site, rule), in one
    read without locks: ``process_reminder`` refreshes what can change under its locks."""
    return Reminder.objects.select_related("visit__participant__site", "rule").in_bulk(ids)


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
            _release(reminder)
            return SKIPPED
        visit = reminder.visit
        participant = visit.participant
        today = participant.site.today(now)
        if (
            visit.cancelled
            or visit.actual_date is not None
            or visit.appointment_day != reminder.planned_date
            or not participant.is_active
            or not participant.reminders_enabled
            or not reminder.rule.active
        ):
            # sync_reminders cancels these in the schedule's own transaction; this is the guard
            # for a rule switched off, or a change made around the services.
            _close(reminder, OutboxStatus.CANCELLED, "no longer wanted by the schedule")
            log.info("reminder %s cancelled at dispatch", reminder.pk)
            return CANCELLED
        if reminder.planned_date <= today:
            _close(reminder, OutboxStatus.EXPIRED)
            log.info("reminder %s expired", reminder.pk)
            return EXPIRED
        if newer:
            # A pending one counts only if it can still go out: one whose rule was switched
            # off is cancelled when its turn comes, and must not take this one down with it.
            _close(reminder, OutboxStatus.SUPERSEDED)
            log.info("reminder %s superseded", reminder.pk)
            return SUPERSEDED
        message = emails.reminder_email(reminder, now=now)
        # Retries stop when the visit day begins at the site: a late reminder is no reminder.
        day_starts = engine.local_instant(reminder.planned_date, MIDNIGHT, participant.site.zone)
        return _deliver(reminder, message, mailer, now, day_starts)


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
            _close(digest, OutboxStatus.CANCELLED, "digest rule switched off")
            return CANCELLED
        if digest.site.today(now) > digest.local_date:
            _close(digest, OutboxStatus.EXPIRED)
            log.info("digest %s expired", digest.pk)
            return EXPIRED
        message = emails.digest_email(digest, digest_content(digest))
        day_ends = engine.local_instant(
            digest.local_date + datetime.timedelta(days=1), MIDNIGHT, digest.site.zone
        )
        return _deliver(digest, message, mailer, now, day_ends)


def _defer_after_error(model, row_id: int, *, token: str, now, error: Exception) -> str:
    """A row whose processing raised something unforeseen (a template error, say) is retried
    with backoff like a transient failure, so it neither blocks the rows claimed after it nor
    is lost. Database errors are not handled here: without a database nothing can be recorded,
    and the lease brings the rows back."""
    with transaction.atomic():
        row = model.objects.select_for_update(of=("self",)).get(pk=row_id)
        if row.status != OutboxStatus.PENDING or row.claim_token != token:
            return SKIPPED
        row.attempts += 1
        row.next_attempt_at = now + retry_delay(row.attempts)
        row.claimed_until = None
        row.claim_token = ""
        row.last_error = f"internal error: {error.__class__.__name__}"
        row.save(
            update_fields=[
                "attempts", "next_attempt_at", "claimed_until", "claim_token", "last_error",
                "updated_at",
            ]
        )  # fmt: skip
    return RETRYING


def _guarded(model, row_id: int, *, token: str, now, process, **arguments) -> str:
    try:
        return process(row_id, token=token, now=now, **arguments)
    except DatabaseError:
        raise
    except Exception as error:
        log.exception("%s %s: unexpected error while dispatching", model._meta.model_name, row_id)
        return _defer_after_error(model, row_id, token=token, now=now, error=error)


def dispatch_due(
    now: datetime.datetime | None = None,
    *,
    batch_size: int = BATCH_SIZE,
    connection=None,
) -> DispatchSummary:
    """Send every reminder and digest due at ``now`` (default: the clock, read per row),
    batch by batch over one email connection. Safe to run twice, and at the same time."""
    summary = DispatchSummary()
    token = uuid.uuid4().hex
    mailer = Mailer(connection)

    def reminder(row, moment, loaded):
        reminder_id, visit_id = row
        return _guarded(
            Reminder,
            reminder_id,
            token=token,
            now=moment,
            process=process_reminder,
            visit_id=visit_id,
            mailer=mailer,
            loaded=loaded.get(reminder_id),
        )

    def digest(digest_id, moment, loaded):
        return _guarded(
            SiteDigest, digest_id, token=token, now=moment, process=process_digest, mailer=mailer
        )

    steps = (
        (Reminder, claim_due_reminders, lambda row: row[0], load_reminders, reminder),
        (SiteDigest, claim_due_digests, lambda row: row, lambda ids: {}, digest),
    )
    try:
        create_due_digests(now or timezone.now())
        for model, claim, row_id, load, process in steps:
            while True:
                moment = now or timezone.now()
                lease = claim_lease()
                claimed = claim(moment, limit=batch_size, lease=lease, token=token)
                claimed_until = moment + lease
                loaded = load([row_id(row) for row in claimed]) if claimed else {}
                for row in claimed:
                    moment = now or timezone.now()
                    if claimed_until - moment < send_budget() and not _extend_claim(
                        model, row_id(row), token=token, until=moment + lease
                    ):
                        summary.add(SKIPPED)
                        continue
                    summary.add(process(row, moment, loaded))
                    for held in mailer.confirmed_refusals():
                        if _fail_held(held):
                            summary.retrying -= 1
                            summary.failed += 1
                if len(claimed) < batch_size:
                    break
    finally:
        mailer.close()
    _record_mail_relay(mailer)
    if any(summary.as_dict().values()):
        log.info("dispatch %s", summary.line())
    return summary
