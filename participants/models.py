"""Who is in the trial, and where: protocols, sites, participants and their transitions.

This app knows nothing of schedules: ``scheduling`` depends on it, never the reverse
(an import-linter contract checks it). When a participant's timeline inputs change, the
services here send the one documented signal ``participants.signals.timeline_changed``.
"""

import datetime
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from . import clinic, trial_phases
from .dates import EARLIEST_DATE
from .translations import (
    DEFAULT_LANGUAGE,
    PARTICIPANT_LANGUAGES,
    translated,
    validate_translations,
)
from .validators import (
    validate_open_days,
    validate_printable_text,
    validate_regex,
    validate_single_line,
    validate_subject_id,
)


def validate_time_zone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as error:
        # OSError: a folder of the zone database ("Europe") or a name too long for a path.
        raise ValidationError(
            f"“{value}” is not an IANA time zone such as Europe/Berlin."
        ) from error


class Protocol(models.Model):
    """A study plan. Its phases and visit definitions are the scheduling app's plan data."""

    code = models.SlugField(
        max_length=40, unique=True, help_text=_("Short code, e.g. SLE-001."), verbose_name=_("code")
    )
    title = models.CharField(
        max_length=300, validators=[validate_single_line], verbose_name=_("title")
    )
    registry_id = models.CharField(
        _("registry id"),
        max_length=40,
        blank=True,
        validators=[validate_single_line],
    )
    sponsor = models.CharField(
        max_length=200, blank=True, validators=[validate_single_line], verbose_name=_("sponsor")
    )
    subject_id_pattern = models.CharField(
        _("subject id pattern"),
        max_length=200,
        blank=True,
        validators=[validate_single_line, validate_regex],
        help_text=_(
            r"A regular expression every subject id of this protocol matches in full, "
            r"e.g. ^SLE-001-\d{3}-\d{3}$. Blank: letters, digits, “-”, “_” and “.”."
        ),
    )
    earliest_date = models.DateField(
        _("earliest date"),
        null=True,
        blank=True,
        validators=[MinValueValidator(EARLIEST_DATE)],
        help_text=_(
            "No consent is accepted before this date (e.g. the day the study opened). "
            "Blank: 1990-01-01."
        ),
    )
    # The stage of clinical development (CDISC's "trial phase"), not a phase of the plan.
    trial_phase = models.CharField(
        _("trial phase"),
        max_length=trial_phases.LONGEST,
        choices=trial_phases.CHOICES,
        blank=True,
        help_text=_(
            "The trial's stage of clinical development, as its protocol and registry entry "
            "state it (e.g. Phase II); not a phase of its plan such as screening or "
            "treatment. Blank: unknown."
        ),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("protocol")
        verbose_name_plural = _("protocols")
        ordering = ["code"]

    def __str__(self):
        return self.code


class YesNo(models.TextChoices):
    YES = "yes", _("Yes")
    NO = "no", _("No")


class EligibilityCriterion(models.Model):
    """One statement of a protocol's inclusion or exclusion criteria, as the listing words it,
    and the answer to "Is this true of the participant?" that qualifies them. An exclusion
    worded as a negative ("I do not have severe kidney lupus") qualifies on "yes": the kind
    says where the criterion is listed, ``qualifying_answer`` what it asks for."""

    class Kind(models.TextChoices):
        INCLUSION = "inclusion", _("Inclusion")
        EXCLUSION = "exclusion", _("Exclusion")

    protocol = models.ForeignKey(
        Protocol, on_delete=models.CASCADE, related_name="criteria", verbose_name=_("protocol")
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, verbose_name=_("kind"))
    order = models.PositiveSmallIntegerField(default=0, verbose_name=_("order"))
    text = models.TextField(validators=[validate_printable_text], verbose_name=_("text"))
    qualifying_answer = models.CharField(
        _("qualifies when true of the participant?"),
        max_length=3,
        choices=YesNo.choices,
        help_text=_(
            "The answer to “Is this true of the participant?” that lets them take part: "
            "usually yes for an inclusion and no for an exclusion, but yes for an exclusion "
            "worded as a negative (“I do not have …”)."
        ),
    )
    history = HistoricalRecords()

    class Meta:
        # Inclusions first, as listings and case report forms print them: "inclusion" sorts
        # after "exclusion", so the kind is ordered descending.
        verbose_name = _("eligibility criterion")
        ordering = ["protocol", "-kind", "order"]
        verbose_name_plural = _("eligibility criteria")
        constraints = [
            models.UniqueConstraint(
                fields=["protocol", "kind", "order"], name="criterion_order_unique"
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.order}: {self.text[:60]}"

    @property
    def label(self) -> str:
        """How the checklist and its messages name it: "Exclusion 2"."""
        return f"{self.get_kind_display()} {self.order}"


class Site(models.Model):
    code = models.SlugField(max_length=20, unique=True, verbose_name=_("code"))
    name = models.CharField(
        max_length=200, validators=[validate_single_line], verbose_name=_("name")
    )
    timezone = models.CharField(
        _("time zone"),
        max_length=64,
        validators=[validate_time_zone],
        help_text=_(
            "IANA name, e.g. America/Los_Angeles. Dates and reminder times are local to it."
        ),
    )
    coordinator_email = models.EmailField(
        validators=[validate_single_line], verbose_name=_("coordinator email")
    )
    address = models.TextField(
        blank=True, validators=[validate_printable_text], verbose_name=_("address")
    )
    phone = models.CharField(
        max_length=40, blank=True, validators=[validate_single_line], verbose_name=_("phone")
    )
    open_days = models.CharField(
        _("open days"),
        max_length=7,
        default=clinic.DEFAULT_OPEN_DAYS,
        validators=[validate_open_days],
        help_text=_("The weekdays the clinic sees participants."),
    )
    holiday_country = models.CharField(
        _("public holidays of"),
        max_length=3,
        blank=True,
        help_text=_(
            "Country of the public-holiday calendar (holidays package), e.g. US or DE. "
            "Blank: no holiday calendar."
        ),
    )
    language = models.CharField(
        _("default language"),
        max_length=5,
        choices=PARTICIPANT_LANGUAGES,
        default=DEFAULT_LANGUAGE,
        help_text=_("Reminders go out in it to participants who have no language of their own."),
    )
    holiday_subdivision = models.CharField(
        _("subdivision"),
        max_length=20,
        blank=True,
        validators=[validate_single_line],
        help_text=_("State or region of that calendar, e.g. CA or BE (optional)."),
    )
    sender_name = models.CharField(
        _("sender name"),
        max_length=200,
        blank=True,
        validators=[validate_single_line],
        help_text=_(
            "Who reminders come from, as participants see it in their inbox. "
            "Blank: the name in DEFAULT_FROM_EMAIL."
        ),
    )
    sender_name_translations = models.JSONField(
        _("sender name in other languages"),
        default=dict,
        blank=True,
        validators=[validate_translations],
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("site")
        verbose_name_plural = _("sites")
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} ({self.name})"

    def sender_name_in(self, language: str) -> str:
        """The sender name participants reading ``language`` see; blank: none of the site's."""
        return translated(self.sender_name, self.sender_name_translations, language)

    def clean(self):
        super().clean()
        self.holiday_country = self.holiday_country.strip().upper()
        problem = clinic.holiday_calendar_problem(self.holiday_country, self.holiday_subdivision)
        if problem:
            field = (
                "holiday_subdivision"
                if self.holiday_country and "subdivision" in problem
                else ("holiday_country")
            )
            raise ValidationError({field: problem})

    @property
    def open_days_label(self) -> str:
        return clinic.open_days_label(self.open_days)

    @property
    def holidays_label(self) -> str:
        return clinic.holiday_calendar_label(self.holiday_country, self.holiday_subdivision)

    @property
    def public_holidays(self):
        """Date → holiday name, computed on first use of a year."""
        return clinic.public_holidays(self.holiday_country, self.holiday_subdivision)

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def today(self, now: datetime.datetime | None = None) -> datetime.date:
        """The site's own calendar date at ``now`` (default: the current instant)."""
        return (now or timezone.now()).astimezone(self.zone).date()


class Resource(models.Model):
    """Something a visit occupies at the clinic and a site has a number of per day: an
    apheresis slot, an infusion chair. Visit definitions name the resource they use."""

    name = models.CharField(
        max_length=60,
        unique=True,
        validators=[validate_single_line],
        help_text=_("Singular, lower case, e.g. “infusion chair”."),
        verbose_name=_("name"),
    )
    plural = models.CharField(
        max_length=60,
        blank=True,
        validators=[validate_single_line],
        help_text=_("For loads such as “1 of 2 infusion chairs” (blank: the name + s)."),
        verbose_name=_("plural"),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("resource")
        verbose_name_plural = _("resources")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def count_label(self, number: int) -> str:
        return self.name if number == 1 else (self.plural or f"{self.name}s")


class SiteCapacity(models.Model):
    """How many of a resource a site has per open day (e.g. OCN: 2 infusion chairs)."""

    site = models.ForeignKey(
        Site, on_delete=models.CASCADE, related_name="capacities", verbose_name=_("site")
    )
    resource = models.ForeignKey(
        Resource, on_delete=models.PROTECT, related_name="capacities", verbose_name=_("resource")
    )
    per_day = models.PositiveSmallIntegerField(_("per day"), validators=[MaxValueValidator(500)])
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("site capacity")
        ordering = ["site", "resource"]
        verbose_name_plural = _("site capacities")
        constraints = [
            models.UniqueConstraint(fields=["site", "resource"], name="one_capacity_per_resource")
        ]

    def __str__(self):
        return f"{self.site.code}: {self.per_day_label}"

    @property
    def per_day_label(self) -> str:
        """``2 infusion chairs a day``."""
        return f"{self.per_day} {self.resource.count_label(self.per_day)} a day"


class SiteClosure(models.Model):
    """Days the clinic is closed besides its weekly closed days and public holidays."""

    site = models.ForeignKey(
        Site, on_delete=models.CASCADE, related_name="closures", verbose_name=_("site")
    )
    start = models.DateField(_("from"), validators=[MinValueValidator(EARLIEST_DATE)])
    end = models.DateField(_("to (inclusive)"), validators=[MinValueValidator(EARLIEST_DATE)])
    reason = models.CharField(
        max_length=200,
        validators=[validate_single_line],
        help_text=_("e.g. inspection."),
        verbose_name=_("reason"),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("site closure")
        verbose_name_plural = _("site closures")
        ordering = ["site", "start", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gte=models.F("start")), name="closure_ends_after_start"
            )
        ]

    def __str__(self):
        if self.start == self.end:
            return f"{self.site.code} closed {self.start.isoformat()}: {self.reason}"
        return (
            f"{self.site.code} closed {self.start.isoformat()} to {self.end.isoformat()}: "
            f"{self.reason}"
        )

    def clean(self):
        super().clean()
        if self.start and self.end and self.end < self.start:
            raise ValidationError({"end": "A closure ends on or after the day it starts."})


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


class SiteMembership(models.Model):
    """A staff user's assignment to a site: the admin shows a user only their sites' records."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="site_memberships",
        verbose_name=_("user"),
    )
    site = models.ForeignKey(
        Site, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("site")
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("site membership")
        verbose_name_plural = _("site memberships")
        ordering = ["site", "user"]
        constraints = [
            models.UniqueConstraint(fields=["user", "site"], name="one_membership_per_user_site")
        ]

    def __str__(self):
        return f"{self.user} at {self.site.code}"


# The languages of the staff workspace (Django's admin is translated into each; the project's
# catalogues ship for each). Blank: the browser's Accept-Language, else English.
STAFF_LANGUAGES = PARTICIPANT_LANGUAGES


class StaffProfile(models.Model):
    """A staff user's own settings: the language of their workspace."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="staff_profile",
        verbose_name=_("user"),
    )
    language = models.CharField(
        _("language"),
        max_length=5,
        blank=True,
        choices=STAFF_LANGUAGES,
        help_text=_("Of the workspace. Blank: the browser's language."),
    )

    class Meta:
        verbose_name = _("staff profile")
        verbose_name_plural = _("staff profiles")

    def __str__(self):
        return f"{self.user}: {self.language or 'browser language'}"


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


# Staff access to the REST API: tokens and Idempotency-Key records (their own module).
from .api_tokens import ApiToken, IdempotencyRecord  # noqa: E402, F401
