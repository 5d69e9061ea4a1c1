"""Participants: their status in the trial, the transitions between statuses, their answers
to the eligibility criteria, and the contact log."""

import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from participants.models.protocols import EligibilityCriterion, Protocol, YesNo
from participants.models.sites import Site
from participants.translations import (
    DEFAULT_LANGUAGE,
    PARTICIPANT_LANGUAGES,
)
from participants.validators import (
    validate_printable_text,
    validate_single_line,
    validate_subject_id,
)


class Status(models.TextChoices):
    SCREENING = "screening", _("Screening")
    ENROLLED = "enrolled", _("Enrolled")
    TREATMENT = "treatment", _("Treatment")
    FOLLOW_UP = "follow_up", _("Follow-up")
    COMPLETED = "completed", _("Completed")
    SCREEN_FAILED = "screen_failed", _("Screen failure")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    LOST_TO_FOLLOW_UP = "lost_to_follow_up", _("Lost to follow-up")


ACTIVE_STATUSES = frozenset({Status.SCREENING, Status.ENROLLED, Status.TREATMENT, Status.FOLLOW_UP})
LEFT_STATUSES = frozenset(
    {Status.COMPLETED, Status.SCREEN_FAILED, Status.WITHDRAWN, Status.LOST_TO_FOLLOW_UP}
)


class ParticipantQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status__in=ACTIVE_STATUSES)

    def left(self):
        return self.filter(status__in=LEFT_STATUSES)


class Participant(models.Model):
    protocol = models.ForeignKey(
        Protocol, on_delete=models.PROTECT, related_name="participants", verbose_name=_("protocol")
    )
    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, related_name="participants", verbose_name=_("site")
    )
    subject_id = models.CharField(
        _("subject id"),
        max_length=40,
        validators=[validate_subject_id],
        help_text=_("Pseudonymous id, e.g. SLE-001-101-004: letters, digits, “-”, “_” and “.”."),
    )
    email = models.EmailField(
        help_text=_("Used only for visit reminders."),
        validators=[validate_single_line],
        verbose_name=_("email"),
    )
    consent_date = models.DateField(
        help_text=_("Informed consent; the screening phase starts here."),
        verbose_name=_("consent date"),
    )
    status = models.CharField(
        max_length=20,
        choices=Status.choices,
        default=Status.SCREENING,
        editable=False,
        verbose_name=_("status"),
    )
    left_on = models.DateField(
        null=True,
        blank=True,
        editable=False,
        help_text=_("Date the participant left the trial."),
        verbose_name=_("left on"),
    )
    reminders_enabled = models.BooleanField(_("reminders on"), default=True)
    language = models.CharField(
        _("preferred language"),
        max_length=5,
        choices=PARTICIPANT_LANGUAGES,
        blank=True,
        help_text=_("Of reminders and reply pages. Blank: the site's default language."),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    history = HistoricalRecords()

    objects = ParticipantQuerySet.as_manager()

    class Meta:
        verbose_name = _("participant")
        verbose_name_plural = _("participants")
        ordering = ["subject_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["protocol", "subject_id"], name="subject_id_unique_in_protocol"
            ),
            models.CheckConstraint(
                condition=models.Q(left_on__isnull=True)
                | models.Q(status__in=sorted(LEFT_STATUSES)),
                name="left_on_only_when_left",
            ),
        ]
        indexes = [
            models.Index(fields=["site", "status"]),
            # The participant list's order (the admin adds "-id" to make it total).
            models.Index(fields=["subject_id", "-id"], name="participant_list_order"),
            # The dispatch tick's "does this site have a participant in the trial?" (the
            # digests): one probe of this index per site and protocol, reading only the
            # participants still in the trial, however many have left it. Ordered by
            # created_at, which no other index gives (scheduling.mail.digest says why).
            models.Index(
                fields=["protocol", "site", "created_at"],
                condition=models.Q(status__in=sorted(ACTIVE_STATUSES)),
                name="participant_in_trial_idx",
            ),
        ]

    def __str__(self):
        return self.subject_id

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def reminder_language(self) -> str:
        """The language of this participant's reminders: their own, else their site's."""
        return self.language or self.site.language or DEFAULT_LANGUAGE

    def today(self, now=None) -> datetime.date:
        return self.site.today(now)


class Transition(models.Model):
    """One change of a participant's status. Kept forever: a correction is a new record."""

    participant = models.ForeignKey(
        Participant,
        on_delete=models.PROTECT,
        related_name="transitions",
        verbose_name=_("participant"),
    )
    from_status = models.CharField(
        max_length=20, choices=Status.choices, blank=True, verbose_name=_("from status")
    )
    to_status = models.CharField(max_length=20, choices=Status.choices, verbose_name=_("to status"))
    effective_date = models.DateField(verbose_name=_("effective date"))
    reason = models.TextField(blank=True, verbose_name=_("reason"))
    corrects = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="corrections",
        help_text=_("The earlier record whose effective date this one corrects."),
        verbose_name=_("corrects"),
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        verbose_name=_("recorded by"),
    )
    recorded_via = models.CharField(max_length=40, default="admin", verbose_name=_("recorded via"))
    recorded_at = models.DateTimeField(default=timezone.now, verbose_name=_("recorded at"))

    class Meta:
        verbose_name = _("transition")
        verbose_name_plural = _("transitions")
        ordering = ["participant", "recorded_at", "id"]
        indexes = [models.Index(fields=["participant", "to_status"])]

    def __str__(self):
        return (
            f"{self.participant}: {self.from_status or '—'} → {self.to_status} "
            f"on {self.effective_date}"
        )


class ContactAttempt(models.Model):
    """One attempt by the study team to reach a participant (to chase a missed visit, say).
    A log: attempts are added, never edited."""

    class Channel(models.TextChoices):
        PHONE = "phone", _("Phone")
        EMAIL = "email", _("Email")
        SMS = "sms", _("SMS")
        LETTER = "letter", _("Letter")
        IN_PERSON = "in_person", _("In person")

    class Outcome(models.TextChoices):
        REACHED = "reached", _("Reached")
        NO_ANSWER = "no_answer", _("No answer")
        LEFT_MESSAGE = "left_message", _("Left message")
        WRONG_NUMBER = "wrong_number", _("Wrong number")

    participant = models.ForeignKey(
        Participant,
        on_delete=models.PROTECT,
        related_name="contact_attempts",
        verbose_name=_("participant"),
    )
    at = models.DateTimeField(_("when"), default=timezone.now)
    channel = models.CharField(max_length=12, choices=Channel.choices, verbose_name=_("channel"))
    outcome = models.CharField(max_length=14, choices=Outcome.choices, verbose_name=_("outcome"))
    note = models.TextField(
        blank=True, validators=[validate_printable_text], verbose_name=_("note")
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        verbose_name=_("recorded by"),
    )
    recorded_at = models.DateTimeField(default=timezone.now, verbose_name=_("recorded at"))

    class Meta:
        verbose_name = _("contact attempt")
        verbose_name_plural = _("contact attempts")
        ordering = ["participant", "-at", "-id"]
        indexes = [
            models.Index(fields=["participant", "at"]),
            # A participant's last attempt (the dashboard), read from the top.
            models.Index(fields=["participant", "-at", "-id"], name="contact_attempt_last"),
        ]

    def __str__(self):
        return f"{self.participant}: {self.get_channel_display()}, {self.get_outcome_display()}"

    @property
    def answered(self) -> bool:
        return self.outcome == self.Outcome.REACHED


class EligibilityAnswer(models.Model):
    """A participant's answer to one eligibility criterion: is its statement true of them?

    Every criterion must be answered with its qualifying answer before an investigator may
    confirm eligibility.
    """

    Answer = YesNo

    participant = models.ForeignKey(
        Participant,
        on_delete=models.PROTECT,
        related_name="eligibility_answers",
        verbose_name=_("participant"),
    )
    criterion = models.ForeignKey(
        EligibilityCriterion,
        on_delete=models.PROTECT,
        related_name="answers",
        verbose_name=_("criterion"),
    )
    answer = models.CharField(max_length=3, choices=Answer.choices, verbose_name=_("answer"))
    note = models.TextField(blank=True, verbose_name=_("note"))
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        verbose_name=_("answered by"),
    )
    answered_at = models.DateTimeField(default=timezone.now, verbose_name=_("answered at"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("eligibility answer")
        verbose_name_plural = _("eligibility answers")
        ordering = ["participant", "criterion"]
        permissions = [("confirm_eligibility", "Can confirm a participant's eligibility")]
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "criterion"], name="one_answer_per_participant_criterion"
            )
        ]

    def __str__(self):
        return f"{self.participant}: {self.criterion} → {self.answer}"

    @property
    def is_met(self) -> bool:
        """True when this answer does not stand in the way of eligibility."""
        return self.answer == self.criterion.qualifying_answer
