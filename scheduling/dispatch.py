"""Sending the outbox: claim due reminders and digests, send each once, close it.

How "exactly once" holds (docs/reminders.md tells operators the same):

1. **Claim.** A short transaction selects due pending rows ``FOR UPDATE SKIP LOCKED``, stamps
   them with a lease (``claimed_until``) and this run's ``claim_token``, and commits. Two
   dispatchers (two workers, two beats, a worker and ``manage.py send_due_reminders``) never
   claim the same row while its lease runs.
2. **Send.** Each claimed row then gets its own transaction: lock the visit (the order
   ``rebuild_schedule`` uses: visit, then reminder, so the two never deadlock), lock the row,
   re-check that it is still pending and still ours and that its visit is still scheduled on
   the same date; decide sent, expired or superseded; send over the run's one SMTP connection
   while holding the locks; record the outcome; commit. A schedule change that would cancel the
   row waits for that commit and then finds it sent, never overwriting it.
3. **Crash.** A run that dies leaves its rows claimed; once the lease is over (``LEASE``) the
   next run claims and sends them.

**The one duplicate window.** The SMTP server accepted a message (250 after DATA) and the
dispatcher died, or lost its database, before the commit that marks the row sent. The row is
still pending, so after the lease it is sent again. The copy carries the same Message-ID
(``<reminder-ID@domain>``, see ``emails.reminder_message_id``) and the same calendar UID, so
mail systems that de-duplicate on Message-ID drop it and calendars update the one entry.
Closing the window would need the mail server to take part in our transaction; SMTP has no
such protocol.
"""

import contextlib
import datetime
import logging
import smtplib
import uuid
from dataclasses import dataclass, fields

from django.core.exceptions import ValidationError
from django.core.mail import get_connection
from django.core.validators import validate_email
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone

from . import emails, engine
from .digest import create_due_digests, digest_content, redact_addresses
from .models import OutboxStatus, Reminder, SiteDigest, Visit

log = logging.getLogger(__name__)

LEASE = datetime.timedelta(minutes=5)
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


@dataclass
class DispatchSummary:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    expired: int = 0
    superseded: int = 0
    cancelled: int = 0
    skipped: int = 0

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def line(self) -> str:
        """The one line ``send_due_reminders`` prints."""
        return (
            f"sent {self.sent}, retrying {self.retrying}, failed {self.failed}, "
            f"expired {self.expired}, superseded {self.superseded}"
        )


class DeliveryError(Exception):
    """A message was not delivered. Permanent errors are not retried."""

    def __init__(self, text: str, *, permanent: bool):
        super().__init__(text)
        self.text = text
        self.permanent = permanent


def retry_delay(attempts: int) -> datetime.timedelta:
    """Backoff after the ``attempts``-th failure: 1, 2, 4, 8, 16 minutes, then 30 at most."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_RETRY)


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {text}".strip()


class Mailer:
    """One email connection shared by a dispatch run, opened on first use.

    Turns what the backend raises into a ``DeliveryError``: SMTP 5xx on a message (recipient,
    sender or data refused) and invalid addresses are permanent; 4xx, refused connections,
    timeouts and dropped connections are transient. Once the server cannot be reached, the
    rest of the run does not try again (each row is retried later with its own backoff).
    """

    def __init__(self, connection=None):
        self.connection = connection or get_connection(fail_silently=False)
        self.unreachable = ""

    def send(self, message) -> None:
        for address in message.recipients():
            try:
                validate_email(address)
            except ValidationError as error:
                raise DeliveryError("invalid address", permanent=True) from error
        if self.unreachable:
            raise DeliveryError(self.unreachable, permanent=False)
        try:
            self.connection.open()
        except smtplib.SMTPResponseException as error:
            self._drop()
            self.unreachable = (
                f"mail server refused the connection: {_reply(error.smtp_code, error.smtp_error)}"
            )
            raise DeliveryError(self.unreachable, permanent=False) from error
        except OSError as error:  # refused, timed out, name not found, TLS failure
            self._drop()
            self.unreachable = f"mail server unreachable: {error.__class__.__name__}: {error}"
            raise DeliveryError(self.unreachable, permanent=False) from error
        message.connection = self.connection
        try:
            self.connection.send_messages([message])
        except smtplib.SMTPRecipientsRefused as error:
            replies = list(error.recipients.values())
            text = "recipient refused: " + "; ".join(_reply(c, m) for c, m in replies)
            raise DeliveryError(text, permanent=all(c >= 500 for c, _ in replies)) from error
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
            text = f"message refused: {_reply(error.smtp_code, error.smtp_error)}"
            raise DeliveryError(text, permanent=error.smtp_code >= 500) from error
        except smtplib.SMTPResponseException as error:
            # Connection-level replies (HELO, AUTH, 421 closing): the server, not this message.
            self._drop()
            raise DeliveryError(
                f"mail server error: {_reply(error.smtp_code, error.smtp_error)}", permanent=False
            ) from error
        except OSError as error:  # disconnected, timed out mid-message
            self._drop()
            raise DeliveryError(
                f"connection lost: {error.__class__.__name__}: {error}", permanent=False
            ) from error
        except ValueError as error:  # an address Django cannot encode
            raise DeliveryError(f"invalid address: {error}", permanent=True) from error

    def _drop(self) -> None:
        """Forget a broken connection; the next message opens a new one."""
        with contextlib.suppress(Exception):  # already broken: closing is best effort
            self.connection.close()
        if hasattr(self.connection, "connection"):
            self.connection.connection = None

    def close(self) -> None:
        self._drop()


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
    return rows


def claim_due_reminders(
    now: datetime.datetime, *, limit: int = BATCH_SIZE, lease=LEASE, token: str
) -> list[tuple[int, int]]:
    """Claim up to ``limit`` due pending reminders for ``lease``: (reminder id, visit id) pairs.

    Rows another run holds (locked now, or claimed with a lease still running) are skipped.
    """
    return _claim(Reminder, now, limit=limit, lease=lease, token=token, also=("visit_id",))


def claim_due_digests(
    now: datetime.datetime, *, limit: int = BATCH_SIZE, lease=LEASE, token: str
) -> list[int]:
    """Claim up to ``limit`` due pending digests; their ids."""
    return [row[0] for row in _claim(SiteDigest, now, limit=limit, lease=lease, token=token)]


def _close(row, status: str, note: str = "") -> None:
    row.status = status
    row.claimed_until = None
    row.claim_token = ""
    if note:
        row.last_error = note
    row.save(update_fields=["status", "claimed_until", "claim_token", "last_error", "updated_at"])


def _release(row) -> None:
    row.claimed_until = None
    row.claim_token = ""
    row.save(update_fields=["claimed_until", "claim_token", "updated_at"])


def _deliver(row, message, mailer: Mailer, now: datetime.datetime, give_up_at) -> str:
    """Send ``message`` for the locked ``row`` and record the outcome on it."""
    row.attempts += 1
    row.claimed_until = None
    row.claim_token = ""
    try:
        mailer.send(message)
    except DeliveryError as error:
        row.last_error = error.text
        if error.permanent:
            row.status = OutboxStatus.FAILED
            outcome = FAILED
        else:
            row.next_attempt_at = now + retry_delay(row.attempts)
            outcome = RETRYING
            if row.next_attempt_at >= give_up_at:
                # The next try would come too late; it will be closed as expired then.
                row.next_attempt_at = give_up_at
        log.warning(
            "%s %s attempt %d %s: %s",
            row._meta.model_name,
            row.pk,
            row.attempts,
            outcome,
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
    row.save(
        update_fields=[
            "status",
            "attempts",
            "next_attempt_at",
            "claimed_until",
            "claim_token",
            "last_error",
            "sent_at",
            "message_id",
            "updated_at",
        ]
    )
    return outcome


def process_reminder(
    reminder_id: int, *, visit_id: int, token: str, now: datetime.datetime, mailer: Mailer
) -> str:
    """Decide and, where due, send one claimed reminder, in its own transaction.

    Sent if its visit is still scheduled on the reminder's date and that date is after the
    site's today; expired if that date is the site's today or earlier; superseded if a reminder
    of the same visit and date with a shorter lead is also due (only the most recent goes out).
    "Also due" counts one already sent too: processed in either order, or with the longer-lead
    one retrying after a failure, the older reminder never follows the newer one. It does not
    count a pending one whose rule is switched off: that one will never go out.
    """
    with transaction.atomic():
        # Lock order visit → reminder, as rebuild_schedule (update visits, then sync_reminders).
        list(Visit.objects.select_for_update(no_key=True).filter(pk=visit_id).values_list("pk"))
        reminder = (
            Reminder.objects.select_for_update(of=("self",))
            .select_related("visit__participant__site", "rule")
            .get(pk=reminder_id)
        )
        if reminder.status != OutboxStatus.PENDING or reminder.claim_token != token:
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
            or visit.planned_date != reminder.planned_date
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
        newer = Reminder.objects.filter(
            # A pending one counts only if it can still go out: one whose rule was switched
            # off is cancelled when its turn comes, and must not take this one down with it.
            Q(status=OutboxStatus.SENT) | Q(status=OutboxStatus.PENDING, rule__active=True),
            visit_id=visit.pk,
            planned_date=reminder.planned_date,
            due_at__lte=now,
            rule__lead_days__lt=reminder.rule.lead_days,
        ).exists()
        if newer:
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
    lease: datetime.timedelta = LEASE,
    connection=None,
) -> DispatchSummary:
    """Send every reminder and digest due at ``now`` (default: the clock, read per batch),
    batch by batch over one email connection. Safe to run twice, and at the same time."""
    summary = DispatchSummary()
    token = uuid.uuid4().hex
    mailer = Mailer(connection)

    def reminder(row, moment):
        reminder_id, visit_id = row
        return _guarded(
            Reminder,
            reminder_id,
            token=token,
            now=moment,
            process=process_reminder,
            visit_id=visit_id,
            mailer=mailer,
        )

    def digest(digest_id, moment):
        return _guarded(
            SiteDigest, digest_id, token=token, now=moment, process=process_digest, mailer=mailer
        )

    try:
        create_due_digests(now or timezone.now())
        for claim, process in ((claim_due_reminders, reminder), (claim_due_digests, digest)):
            while True:
                moment = now or timezone.now()
                claimed = claim(moment, limit=batch_size, lease=lease, token=token)
                for row in claimed:
                    summary.add(process(row, moment))
                if len(claimed) < batch_size:
                    break
    finally:
        mailer.close()
    if any(summary.as_dict().values()):
        log.info("dispatch %s", summary.line())
    return summary
