"""Claiming due rows for a dispatch run: the lease a claim holds, the claim and its renewal.

A short transaction selects due pending rows ``FOR UPDATE SKIP LOCKED``, stamps them with a
lease (``claimed_until``) and the run's ``claim_token``, and commits; a row whose turn comes
late has its claim renewed before its send (``extend_claim``). Why: ``scheduling.mail.dispatch``.
"""

import datetime
import logging

from django.conf import settings
from django.db import transaction

from scheduling.models import OutboxStatus, Reminder, SiteDigest

# The dispatch's logger: operators' log settings and docs/reminders.md name it.
log = logging.getLogger("scheduling.mail.dispatch")

# Replies one send may wait for, each up to EMAIL_TIMEOUT: connect, greeting, EHLO, STARTTLS,
# EHLO again, AUTH (two), MAIL, RCPT, DATA, RSET and QUIT.
COMMAND_REPLIES = 12
# How long the rows later in a batch may wait for their turn before their claims are renewed.
LEASE_MARGIN = datetime.timedelta(minutes=5)
BATCH_SIZE = 100


def send_budget() -> datetime.timedelta:
    """The longest one send may take: every command reply at ``EMAIL_TIMEOUT``, and the reply
    to the data at ``EMAIL_DATA_REPLY_TIMEOUT`` (scheduling.mail.smtp)."""
    return datetime.timedelta(
        seconds=COMMAND_REPLIES * (settings.EMAIL_TIMEOUT or 0) + settings.EMAIL_DATA_REPLY_TIMEOUT
    )


def claim_lease() -> datetime.timedelta:
    """How long a claim holds: one send's budget, and the margin for the rows before it."""
    return send_budget() + LEASE_MARGIN


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


def extend_claim(model, row_id: int, *, token: str, until: datetime.datetime) -> bool:
    """Renew this run's claim on a row before its send (committed at once), so that it holds
    for the whole send even when the rows before it took long. False if it is ours no more."""
    rows = model.objects.filter(pk=row_id, status=OutboxStatus.PENDING, claim_token=token)
    return rows.update(claimed_until=until) == 1
