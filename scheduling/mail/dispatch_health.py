"""Whether reminder dispatch is working, for the people who must act when it is not.

Each run of ``dispatch.dispatch_due`` records that it completed, or the error it raised (one
line, no personal data), in the one ``DispatchHeartbeat`` row. ``health(now)`` reads it: a run
that raised since the last completed one is *failing*; no completed run for longer than
``DISPATCH_STALE_AFTER`` (beat runs one a minute) is *stale*, which is what a stopped worker or
beat looks like. Staff see it on the dashboard and the Reminders list; operators' monitoring
reads ``/healthz/dispatch`` (503 unless ``ok``).
"""

import datetime
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from scheduling.mail.redaction import redact_addresses
from scheduling.models import DispatchHeartbeat, OutboxStatus, Reminder

log = logging.getLogger(__name__)


def stale_after() -> datetime.timedelta:
    return datetime.timedelta(seconds=getattr(settings, "DISPATCH_STALE_AFTER", 300))


def error_line(error: BaseException) -> str:
    """The error as one line fit for staff pages and logs: its class and the first line of its
    message, addresses removed, at most 300 characters."""
    message = str(error).strip().splitlines()[0] if str(error).strip() else ""
    line = f"{error.__class__.__name__}: {message}" if message else error.__class__.__name__
    return redact_addresses(line)[:300]


def record_completed(now: datetime.datetime) -> None:
    """A run completed: the dispatch is working again (one upsert)."""
    DispatchHeartbeat.objects.bulk_create(
        [DispatchHeartbeat(pk=DispatchHeartbeat.ONE, last_completed_at=now)],
        update_conflicts=True,
        unique_fields=["id"],
        update_fields=["last_completed_at", "failing_since"],
    )


def record_failure(error: BaseException, now: datetime.datetime) -> None:
    """A run raised: keep its error and since when runs fail. When the database itself is
    what fails, nothing can be written; the age of the last completed run still shows it."""
    line = error_line(error)
    try:
        updated = DispatchHeartbeat.objects.filter(pk=DispatchHeartbeat.ONE).update(
            last_error=line,
            last_error_at=now,
            failing_since=Coalesce("failing_since", Value(now)),
        )
        if not updated:
            DispatchHeartbeat.objects.bulk_create(
                [
                    DispatchHeartbeat(
                        pk=DispatchHeartbeat.ONE,
                        last_error=line,
                        last_error_at=now,
                        failing_since=now,
                    )
                ],
                ignore_conflicts=True,
            )
    except DatabaseError:
        log.warning("dispatch failure not recorded: the database is unreachable")


@dataclass(frozen=True)
class DispatchHealth:
    status: str  # "ok", "failing", "stale" or "never" (no run has completed yet)
    last_completed_at: datetime.datetime | None
    age: datetime.timedelta | None
    failing_since: datetime.datetime | None
    last_error: str
    last_error_at: datetime.datetime | None
    waiting: int  # reminders due for longer than the stale limit and still pending

    @property
    def alert(self) -> bool:
        """Staff are told: runs fail, or none completed for a while (or ever) while
        reminders wait."""
        return self.status in ("failing", "stale") or (self.status == "never" and self.waiting > 0)

    @property
    def age_text(self) -> str:
        if self.age is None:
            return ""
        minutes = int(self.age.total_seconds() // 60)
        if minutes < 1:
            return gettext("less than a minute ago")
        if minutes < 120:
            return ngettext("%(count)d minute ago", "%(count)d minutes ago", minutes) % {
                "count": minutes
            }
        hours = minutes // 60
        if hours < 48:
            return gettext("%(count)d hours ago") % {"count": hours}
        return gettext("%(count)d days ago") % {"count": hours // 24}

    @property
    def sentence(self) -> str:
        """The one sentence staff read, on the dashboard and the Reminders list, in the
        active language."""

        def when(moment):
            return moment.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")

        since = (
            gettext("no run has completed since %(when)s (%(age)s)")
            % {"when": when(self.last_completed_at), "age": self.age_text}
            if self.last_completed_at
            else gettext("no run has completed yet")
        )
        waiting = (
            " "
            + ngettext(
                "%(count)d reminder is waiting.", "%(count)d reminders are waiting.", self.waiting
            )
            % {"count": self.waiting}
            if self.waiting
            else ""
        )
        if self.status == "failing":
            return (
                gettext(
                    "Reminder dispatch is failing: %(since)s. Last error, at %(when)s: %(error)s."
                )
                % {"since": since, "when": when(self.last_error_at), "error": self.last_error}
                + waiting
            )
        if self.status == "stale":
            return (
                gettext(
                    "Reminder dispatch has stopped: %(since)s; the Celery worker or beat may be "
                    "down."
                )
                % {"since": since}
                + waiting
            )
        if self.status == "never":
            return gettext("Reminder dispatch: %(since)s.") % {"since": since} + waiting
        return gettext("Reminder dispatch: the last run completed %(age)s.") % {
            "age": self.age_text
        }

    def as_dict(self) -> dict:
        """What the public health endpoint shows: states and ages, never the error's text
        (staff read it in the admin) nor any count of the site's reminders."""

        def iso(moment):
            return moment.isoformat() if moment else None

        return {
            "status": self.status,
            "last_completed_at": iso(self.last_completed_at),
            "age_seconds": int(self.age.total_seconds()) if self.age is not None else None,
            "failing_since": iso(self.failing_since),
            "stale_after_seconds": int(stale_after().total_seconds()),
        }


def health(now: datetime.datetime | None = None) -> DispatchHealth:
    """The dispatch's state at ``now`` (two short queries)."""
    now = now or timezone.now()
    row = DispatchHeartbeat.objects.filter(pk=DispatchHeartbeat.ONE).first()
    completed = row.last_completed_at if row else None
    failing_since = row.failing_since if row else None
    age = now - completed if completed else None
    if failing_since is not None:
        status = "failing"
    elif completed is None:
        status = "never"
    elif age > stale_after():
        status = "stale"
    else:
        status = "ok"
    waiting = 0
    if status != "ok":
        waiting = Reminder.objects.filter(
            status=OutboxStatus.PENDING, due_at__lte=now - stale_after()
        ).count()
    return DispatchHealth(
        status=status,
        last_completed_at=completed,
        age=age,
        failing_since=failing_since,
        last_error=(row.last_error if row and failing_since else ""),
        last_error_at=(row.last_error_at if row and failing_since else None),
        waiting=waiting,
    )
