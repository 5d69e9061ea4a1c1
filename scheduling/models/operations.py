"""What the dispatcher last learnt of the mail set-up and when it last ran: one row each,
for the staff dashboard (docs/reminders.md)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class MailRelay(models.Model):
    """What the dispatcher last learnt of the mail set-up, in one row (``ONE``): the fault that
    stopped its last run, if any (the staff dashboard shows it until a message is accepted),
    and when a message was last accepted."""

    ONE = 1

    fault = models.TextField(
        blank=True,
        help_text=_("The server's answer, addresses removed; empty when none."),
        verbose_name=_("fault"),
    )
    fault_since = models.DateTimeField(null=True, blank=True, verbose_name=_("fault since"))
    last_accepted_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("last accepted at")
    )

    class Meta:
        verbose_name = _("mail relay")
        verbose_name_plural = _("mail relays")
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="one_mail_relay")]

    def __str__(self):
        return f"Mail relay: {self.fault or 'no fault'}"


class DispatchHeartbeat(models.Model):
    """What the reminder dispatch runs last did, in one row (``ONE``): when a run last
    completed, and, while runs raise, since when and the last error in one line. The staff
    dashboard, the Reminders list and ``/healthz/dispatch`` read it
    (scheduling.mail.dispatch_health), so a dispatch that fails, or stops because the worker
    or beat is down, cannot hide."""

    ONE = 1

    last_completed_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("last completed at")
    )
    failing_since = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("The first run that raised since the last completed."),
        verbose_name=_("failing since"),
    )
    last_error = models.CharField(
        max_length=300,
        blank=True,
        help_text=_("One line, addresses removed."),
        verbose_name=_("last error"),
    )
    last_error_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last error at"))

    class Meta:
        verbose_name = _("dispatch heartbeat")
        verbose_name_plural = _("dispatch heartbeats")
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="one_dispatch_heartbeat")
        ]

    def __str__(self):
        return f"Dispatch last completed at {self.last_completed_at or 'never'}"
