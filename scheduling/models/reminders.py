"""Reminder rules, the outbox of reminders and digests, and the use of reminders' links
(docs/reminders.md)."""

from django.core.validators import MaxValueValidator
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from participants.models import Protocol, Site
from scheduling.models.versions import ProtocolVersion, refuse_released, version_being_drafted
from scheduling.models.visits import Visit


class Audience(models.TextChoices):
    PARTICIPANT = "participant", _("Participant email before each visit")
    COORDINATOR_DIGEST = "coordinator_digest", _("Daily coordinator digest per site")


class ReminderRule(models.Model):
    protocol = models.ForeignKey(
        Protocol,
        on_delete=models.CASCADE,
        related_name="reminder_rules",
        verbose_name=_("protocol"),
    )
    # A participant reminder belongs to the plan, so to a version; the coordinators' digest
    # is the site's, one per protocol whatever the versions in force (no version).
    version = models.ForeignKey(
        ProtocolVersion,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="reminder_rules",
        verbose_name=_("version"),
    )
    audience = models.CharField(max_length=20, choices=Audience.choices, verbose_name=_("audience"))
    lead_days = models.PositiveSmallIntegerField(
        default=0,
        validators=[MaxValueValidator(365)],
        help_text=_("Days before the visit (participant reminders)."),
        verbose_name=_("lead days"),
    )
    local_time = models.TimeField(
        help_text=_("Send time in the site's own time zone."), verbose_name=_("local time")
    )
    active = models.BooleanField(default=True, verbose_name=_("active"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("reminder rule")
        verbose_name_plural = _("reminder rules")
        ordering = ["protocol", "audience", "-lead_days"]

    def __str__(self):
        if self.audience == Audience.PARTICIPANT:
            return gettext("Participant, %(days)s d before at %(time)s") % {
                "days": self.lead_days,
                "time": f"{self.local_time:%H:%M}",
            }
        return gettext("Coordinator digest at %(time)s") % {"time": f"{self.local_time:%H:%M}"}

    def save(self, *args, **kwargs):
        if self.version_id is None and self.audience == Audience.PARTICIPANT:
            self.version = version_being_drafted(self.protocol_id)
        refuse_released(self.version_id)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        refuse_released(self.version_id)
        return super().delete(*args, **kwargs)


class OutboxStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired")
    SUPERSEDED = "superseded", _("Superseded")
    UNKNOWN = "unknown", _("Outcome unknown")


class OutboxQuerySet(models.QuerySet):
    def due(self, now):
        """Pending rows whose due time (and next attempt time) has come, claimed by no one."""
        return self.filter(
            models.Q(next_attempt_at__isnull=True) | models.Q(next_attempt_at__lte=now),
            models.Q(claimed_until__isnull=True) | models.Q(claimed_until__lt=now),
            status=OutboxStatus.PENDING,
            due_at__lte=now,
        )


class OutboxMessage(models.Model):
    """A durable email to send once: claimed, sent, retried and closed by the dispatcher."""

    due_at = models.DateTimeField(help_text=_("Aware UTC instant."), verbose_name=_("due at"))
    status = models.CharField(
        max_length=12,
        choices=OutboxStatus.choices,
        default=OutboxStatus.PENDING,
        verbose_name=_("status"),
    )
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("attempts"))
    next_attempt_at = models.DateTimeField(null=True, blank=True, verbose_name=_("next attempt at"))
    claimed_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("A claim by a dispatcher, valid until this instant."),
        verbose_name=_("claimed until"),
    )
    claim_token = models.CharField(
        max_length=32,
        blank=True,
        editable=False,
        help_text=_("Which dispatcher run holds the claim; a run only sends rows it still holds."),
        verbose_name=_("claim token"),
    )
    last_error = models.TextField(blank=True, verbose_name=_("last error"))
    last_attempt_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last attempt at"))
    outcome_unknown_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_(
            "When the mail server last took the whole message and never answered: it "
            "may have gone out. Retried once with the same Message-ID, then closed as unknown."
        ),
        verbose_name=_("outcome unknown at"),
    )
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("sent at"))
    message_id = models.CharField(max_length=200, blank=True, verbose_name=_("message id"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    objects = OutboxQuerySet.as_manager()

    class Meta:
        abstract = True


class Reminder(OutboxMessage):
    """One participant reminder per (visit, rule, appointment day)."""

    visit = models.ForeignKey(
        Visit, on_delete=models.PROTECT, related_name="reminders", verbose_name=_("visit")
    )
    rule = models.ForeignKey(
        ReminderRule, on_delete=models.PROTECT, related_name="reminders", verbose_name=_("rule")
    )
    planned_date = models.DateField(
        _("appointment day"),
        help_text=_("The visit's appointment day this reminder was computed for."),
    )

    class Meta:
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        ordering = ["due_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["visit", "rule", "planned_date"], name="one_reminder_per_visit_rule_date"
            )
        ]
        indexes = [
            models.Index(fields=["status", "due_at"]),
            # The dispatcher's claim query: pending rows by due time.
            models.Index(
                fields=["due_at"],
                condition=models.Q(status="pending"),
                name="reminder_pending_due",
            ),
            # The reminder list's order, and the dashboard's week of sent and failed ones.
            models.Index(fields=["due_at", "id"], name="reminder_list_order"),
            models.Index(fields=["sent_at"], name="reminder_sent_at"),
            models.Index(fields=["status", "updated_at"], name="reminder_status_updated"),
        ]

    def __str__(self):
        return f"Reminder {self.pk} for {self.visit} ({self.rule})"


class SiteDigest(OutboxMessage):
    """The coordinator digest of one site for one local day."""

    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, related_name="digests", verbose_name=_("site")
    )
    rule = models.ForeignKey(
        ReminderRule, on_delete=models.PROTECT, related_name="digests", verbose_name=_("rule")
    )
    local_date = models.DateField(verbose_name=_("local date"))

    class Meta:
        verbose_name = _("site digest")
        verbose_name_plural = _("site digests")
        ordering = ["due_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["site", "rule", "local_date"], name="one_digest_per_site_rule_day"
            )
        ]
        indexes = [models.Index(fields=["status", "due_at"])]

    def __str__(self):
        return f"Digest {self.site.code} {self.local_date}"


class LinkAction(models.TextChoices):
    CONFIRM = "confirm", _("I'll be there")
    RESCHEDULE = "reschedule", _("I need another date")
    STOP = "stop", _("Stop reminders")


class ReminderLinkUse(models.Model):
    """A participant's answer through one of a reminder's links: each link acts once."""

    reminder = models.ForeignKey(
        Reminder, on_delete=models.PROTECT, related_name="link_uses", verbose_name=_("reminder")
    )
    action = models.CharField(max_length=12, choices=LinkAction.choices, verbose_name=_("action"))
    used_at = models.DateTimeField(verbose_name=_("used at"))
    one_click = models.BooleanField(
        default=False,
        help_text=_("Sent by a mail client's one-click unsubscribe (RFC 8058)."),
        verbose_name=_("one click"),
    )

    class Meta:
        verbose_name = _("reminder link use")
        verbose_name_plural = _("reminder link uses")
        ordering = ["-used_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["reminder", "action"], name="one_use_per_link")
        ]
        indexes = [
            # The dashboard's "stopped their reminders, last 7 days".
            models.Index(
                fields=["-used_at"], condition=models.Q(action="stop"), name="link_use_stop_by_time"
            )
        ]

    def __str__(self):
        return f"{self.get_action_display()} via reminder {self.reminder_id}"
