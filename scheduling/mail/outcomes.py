"""Recording what became of a claimed row: the outcome names, the writes that close or release
a row, sending a message and recording its outcome (``deliver``) with the retries' backoff,
failing a row held after an unclear refusal, a row that raised retried like a passing trouble,
and what a run learnt of the mail set-up (``MailRelay``). What a refusal means is
``scheduling.mail.mailer``'s rule.
"""

import datetime
import functools
import logging

from django.db import connection, transaction
from django.utils import timezone

from scheduling.mail.mailer import MAILBOX, UNCLEAR, UNKNOWN, DeliveryError, Mailer
from scheduling.mail.redaction import redact_addresses
from scheduling.models import MailRelay, OutboxStatus

# The dispatch's logger: operators' log settings and docs/reminders.md name it.
log = logging.getLogger("scheduling.mail.dispatch")

FIRST_RETRY = datetime.timedelta(minutes=1)
LONGEST_RETRY = datetime.timedelta(minutes=30)

SENT = "sent"
RETRYING = "retrying"
FAILED = "failed"
EXPIRED = "expired"
SUPERSEDED = "superseded"
CANCELLED = "cancelled"
SKIPPED = "skipped"  # no longer ours: sent, closed or claimed again by another run
UNKNOWN_OUTCOME = "unknown"  # the server took the whole message and never answered
DEFERRED = "deferred"  # found late at night: goes at the next allowed time (reminder_rules)


def retry_delay(attempts: int) -> datetime.timedelta:
    """Backoff after the ``attempts``-th failure: 1, 2, 4, 8, 16 minutes, then 30 at most."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_RETRY)


@functools.cache
def _update_sql(model, names: tuple[str, ...]) -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(f"{quote(model._meta.get_field(name).column)} = %s" for name in names)
    table, key = quote(model._meta.db_table), quote(model._meta.pk.column)
    return f"UPDATE {table} SET {columns} WHERE {key} = %s"  # noqa: S608 (names from models)


def store(row, names: list[str]) -> None:
    """Write these fields of ``row``, and ``updated_at``, in one UPDATE: what
    ``save(update_fields=…)`` does (outbox rows have no signals or history), without building
    the statement anew for every row of the dispatcher's busiest write."""
    names = (*names, "updated_at")
    fields = [row._meta.get_field(name) for name in names]
    values = [field.get_db_prep_save(field.pre_save(row, False), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(_update_sql(type(row), names), [*values, row.pk])


def close(row, status: str, note: str = "") -> None:
    row.status = status
    row.claimed_until = None
    row.claim_token = ""
    if note:
        row.last_error = note
    store(row, ["status", "claimed_until", "claim_token", "last_error"])


def release(row) -> None:
    row.claimed_until = None
    row.claim_token = ""
    store(row, ["claimed_until", "claim_token"])


def deliver(row, message, mailer: Mailer, now: datetime.datetime, give_up_at) -> str:
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
    store(
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


def fail_held(key) -> bool:
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


def record_mail_relay(mailer: Mailer) -> None:
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


def defer_after_error(model, row_id: int, *, token: str, now, error: Exception) -> str:
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
