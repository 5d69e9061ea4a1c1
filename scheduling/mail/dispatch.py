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
``scheduling.mail.mailer``'s rule; ``outcomes`` records it on the row, and the set-up's faults
on ``MailRelay`` for the staff dashboard.

**Where a copy can go out.** The server took the message and the dispatcher died, or lost
its database, before the commit that marks the row sent; or the server took it and its reply
never came (``OutcomeUnknown``: the row is retried once, then closed as unknown). Either way
the copy carries the same Message-ID (``<reminder-ID@domain>``, see
``emails.reminder_message_id``) and the same calendar UID, so mail systems that de-duplicate
on Message-ID drop it and calendars update the one entry. Closing these windows would need
the mail server to take part in our transaction; SMTP has no such protocol.

This module runs the dispatch: the batches, the loop that processes each claimed row once, the
run's tally and its health. The steps live beside it: ``claims`` (the lease, claiming, renewing
a claim), ``sending`` (deciding and sending one claimed row under its locks) and ``outcomes``
(what is recorded on a row, the retries' backoff, the mail relay's state).
"""

import datetime
import logging
import uuid
from dataclasses import dataclass, fields

from django.db import DatabaseError
from django.utils import timezone

from scheduling.mail import dispatch_health
from scheduling.mail.claims import (
    BATCH_SIZE,
    claim_due_digests,
    claim_due_reminders,
    claim_lease,
    extend_claim,
    send_budget,
)
from scheduling.mail.digest import create_due_digests
from scheduling.mail.mailer import Mailer
from scheduling.mail.outcomes import SKIPPED, defer_after_error, fail_held, record_mail_relay
from scheduling.mail.sending import load_reminders, process_digest, process_reminder
from scheduling.models import Reminder, SiteDigest

log = logging.getLogger(__name__)


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
    deferred: int = 0

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def line(self) -> str:
        """The one line ``send_due_reminders`` prints (new counts are added at its end)."""
        return (
            f"sent {self.sent}, retrying {self.retrying}, failed {self.failed}, "
            f"expired {self.expired}, superseded {self.superseded}, unknown {self.unknown}"
            + (f", deferred {self.deferred}" if self.deferred else "")
        )


def _guarded(model, row_id: int, *, token: str, now, process, **arguments) -> str:
    try:
        return process(row_id, token=token, now=now, **arguments)
    except DatabaseError:
        raise
    except Exception as error:
        log.exception("%s %s: unexpected error while dispatching", model._meta.model_name, row_id)
        return defer_after_error(model, row_id, token=token, now=now, error=error)


def dispatch_due(
    now: datetime.datetime | None = None,
    *,
    batch_size: int = BATCH_SIZE,
    connection=None,
) -> DispatchSummary:
    """Send every reminder and digest due at ``now`` (default: the clock, read per row),
    batch by batch over one email connection. Safe to run twice, and at the same time. Records
    that the run completed, or the error it raised (scheduling.mail.dispatch_health)."""
    try:
        summary = _dispatch_due(now, batch_size=batch_size, connection=connection)
    except Exception as error:
        dispatch_health.record_failure(error, timezone.now())
        raise
    dispatch_health.record_completed(timezone.now())
    return summary


def _dispatch_due(now, *, batch_size: int, connection) -> DispatchSummary:
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
                    if claimed_until - moment < send_budget() and not extend_claim(
                        model, row_id(row), token=token, until=moment + lease
                    ):
                        summary.add(SKIPPED)
                        continue
                    summary.add(process(row, moment, loaded))
                    for held in mailer.confirmed_refusals():
                        if fail_held(held):
                            summary.retrying -= 1
                            summary.failed += 1
                if len(claimed) < batch_size:
                    break
    finally:
        mailer.close()
    record_mail_relay(mailer)
    if any(summary.as_dict().values()):
        log.info("dispatch %s", summary.line())
    return summary
