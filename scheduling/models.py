"""Protocol plans (phases, visit definitions, reminder rules), visits and reminders."""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from participants.models import Participant, Protocol, Resource, Site, Status
from participants.translations import translated, validate_translations
from participants.validators import validate_single_line
from scheduling.rules import engine, schedule


class Unit(models.TextChoices):
    DAYS = engine.DAYS, _("days")
    WEEKS = engine.WEEKS, _("weeks")
    MONTHS = engine.MONTHS, _("months")


# The transitions that record a phase's actual start (docs/timeline.md: the treatment and
# follow-up transitions); which phase each starts is the protocol's data (Phase.started_by).
PHASE_START_STATUSES = (Status.TREATMENT, Status.FOLLOW_UP)


class ProtocolVersion(models.Model):
    """A numbered version of a protocol's plan (``1.0``, ``2.0``…): its phases, visit
    definitions and participant reminder rules. A draft is edited; a released version never
    is again (a change is a new draft, copied from the latest). docs/amendments.md."""

    protocol = models.ForeignKey(
        Protocol, on_delete=models.CASCADE, related_name="versions", verbose_name=_("protocol")
    )
    number = models.CharField(
        max_length=10,
        validators=[
            RegexValidator(
                r"^[0-9]{1,3}\.[0-9]{1,3}$",
                _("Write a version number as two whole numbers with a dot: 2.0, 2.1."),
            )
        ],
        verbose_name=_("version"),
    )
    approved_on = models.DateField(
        null=True,
        blank=True,
        help_text=_("The day the ethics committee approved it (needed to release it)."),
        verbose_name=_("approved on"),
    )
    note = models.TextField(blank=True, verbose_name=_("note"))
    needs_reconsent = models.BooleanField(
        _("needs re-consent"),
        default=False,
        help_text=_(
            "A participant takes it up only when their re-consent is recorded; otherwise "
            "every active participant of a site takes it up on the site's activation date."
        ),
    )
    released_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("released at")
    )
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        verbose_name=_("released by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("protocol version")
        verbose_name_plural = _("protocol versions")
        ordering = ["protocol", "id"]
        constraints = [
            models.UniqueConstraint(fields=["protocol", "number"], name="version_number_unique"),
        ]

    def __str__(self):
        return gettext("version %(number)s") % {"number": self.number}

    @property
    def is_released(self) -> bool:
        return self.released_at is not None

    @property
    def order_key(self) -> tuple[int, ...]:
        return version_key(self.number)


def version_key(number: str) -> tuple[int, ...]:
    """``2.10`` after ``2.9``: a version number as the numbers it is made of."""
    return tuple(int(part) if part.isdigit() else 0 for part in number.split("."))


class VersionActivation(models.Model):
    """A released version put in force at one site on a date, after local approval."""

    version = models.ForeignKey(
        ProtocolVersion,
        on_delete=models.PROTECT,
        related_name="activations",
        verbose_name=_("version"),
    )
    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, related_name="version_activations", verbose_name=_("site")
    )
    activated_on = models.DateField(verbose_name=_("activated on"))
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("activated by"),
    )
    reason = models.TextField(verbose_name=_("reason"))
    recorded_at = models.DateTimeField(auto_now_add=True, verbose_name=_("recorded at"))

    class Meta:
        verbose_name = _("version activation")
        verbose_name_plural = _("version activations")
        ordering = ["site", "activated_on", "id"]
        constraints = [
            models.UniqueConstraint(fields=["version", "site"], name="one_activation_per_site"),
        ]

    def __str__(self):
        return f"{self.version.number} @ {self.site.code} {self.activated_on.isoformat()}"


class TakeUp(models.TextChoices):
    START = "start", _("Started on it")
    ACTIVATION = "activation", _("Site activation")
    RECONSENT = "reconsent", _("Re-consent")


class VersionTakeUp(models.Model):
    """From ``since``, ``participant`` follows ``version``: the version they started on, one
    their site activated, or one they re-consented to. The latest is the one followed; rows
    are never edited (who, when, why)."""

    participant = models.ForeignKey(
        Participant,
        on_delete=models.CASCADE,
        related_name="version_take_ups",
        verbose_name=_("participant"),
    )
    version = models.ForeignKey(
        ProtocolVersion, on_delete=models.PROTECT, related_name="+", verbose_name=_("version")
    )
    previous = models.ForeignKey(
        ProtocolVersion,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("previous version"),
    )
    since = models.DateField(verbose_name=_("since"))
    kind = models.CharField(max_length=12, choices=TakeUp.choices, verbose_name=_("how"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    reason = models.TextField(blank=True, verbose_name=_("reason"))
    recorded_at = models.DateTimeField(auto_now_add=True, verbose_name=_("recorded at"))

    class Meta:
        verbose_name = _("version take-up")
        verbose_name_plural = _("version take-ups")
        ordering = ["participant", "since", "id"]
        indexes = [models.Index(fields=["participant", "-since", "-id"], name="take_up_latest")]

    def __str__(self):
        return f"{self.version.number} since {self.since.isoformat()}"


def version_being_drafted(protocol_id: int) -> "ProtocolVersion":
    """The version a plan row written without one belongs to: the protocol's draft, or its
    first version (a draft ``1.0``) when it has none yet. A protocol whose versions are all
    released takes no such row: a change is a new draft (docs/amendments.md)."""
    versions = ProtocolVersion.objects.filter(protocol_id=protocol_id)
    draft = versions.filter(released_at__isnull=True).order_by("-id").first()
    if draft is not None:
        return draft
    if versions.exists():
        raise ValidationError(
            gettext(
                "Every version of this protocol is released and is never edited again: "
                "make a new draft version to change its plan."
            )
        )
    return ProtocolVersion.objects.create(protocol_id=protocol_id, number="1.0")


def refuse_released(version_id: int | None) -> None:
    """A released version is never edited again (docs/amendments.md): refused at the model,
    whatever writes (admin, import, shell)."""
    if version_id is None:
        return
    released = (
        ProtocolVersion.objects.filter(pk=version_id, released_at__isnull=False)
        .values_list("number", flat=True)
        .first()
    )
    if released is not None:
        raise ValidationError(
            gettext(
                "Version %(number)s is released and is never edited again: make a new draft "
                "version to change its plan."
            )
            % {"number": released}
        )


class VersionedPlanRow(models.Model):
    """A row of a version's plan (phase, visit definition): written only into a draft."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.version_id is None:
            self.version = version_being_drafted(self.protocol_id)
        refuse_released(self.version_id)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        refuse_released(self.version_id)
        return super().delete(*args, **kwargs)


class Phase(VersionedPlanRow):
    """A phase (CDISC epoch) of a protocol, in order. The first starts on the consent date."""

    protocol = models.ForeignKey(
        Protocol, on_delete=models.CASCADE, related_name="phases", verbose_name=_("protocol")
    )
    version = models.ForeignKey(
        ProtocolVersion,
        on_delete=models.CASCADE,
        related_name="phases",
        verbose_name=_("version"),
    )
    order = models.PositiveSmallIntegerField(verbose_name=_("order"))
    code = models.SlugField(max_length=40, verbose_name=_("code"))
    name = models.CharField(
        max_length=100, validators=[validate_single_line], verbose_name=_("name")
    )
    length = models.PositiveIntegerField(
        validators=[MinValueValidator(1)], verbose_name=_("length")
    )
    unit = models.CharField(max_length=6, choices=Unit.choices, verbose_name=_("unit"))
    is_day_one = models.BooleanField(
        _("starts study Day 1"),
        default=False,
        help_text=_("Study Day 1 is this phase's start."),
    )
    started_by = models.CharField(
        _("actual start recorded by"),
        max_length=20,
        blank=True,
        choices=[(s.value, s.label) for s in PHASE_START_STATUSES],
        help_text=_(
            "The participant transition whose date is this phase's actual start. "
            "Without one the phase keeps its planned start (the first phase starts on consent)."
        ),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("phase")
        verbose_name_plural = _("phases")
        ordering = ["protocol", "version", "order"]
        constraints = [
            models.UniqueConstraint(fields=["version", "code"], name="phase_code_unique"),
            models.UniqueConstraint(fields=["version", "order"], name="phase_order_unique"),
            models.UniqueConstraint(
                fields=["version"],
                condition=models.Q(is_day_one=True),
                name="one_day_one_phase_per_protocol",
            ),
            models.UniqueConstraint(
                fields=["version", "started_by"],
                condition=~models.Q(started_by=""),
                name="one_phase_per_start_transition",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.length} {self.unit})"

    def as_plan(self) -> engine.PhasePlan:
        return engine.PhasePlan(self.code, self.length, self.unit)


class VisitDefinition(VersionedPlanRow):
    """A planned visit of a phase: offset from the phase start and an acceptable window."""

    protocol = models.ForeignKey(
        Protocol,
        on_delete=models.CASCADE,
        related_name="visit_definitions",
        verbose_name=_("protocol"),
    )
    version = models.ForeignKey(
        ProtocolVersion,
        on_delete=models.CASCADE,
        related_name="visit_definitions",
        verbose_name=_("version"),
    )
    phase = models.ForeignKey(
        Phase, on_delete=models.PROTECT, related_name="visit_definitions", verbose_name=_("phase")
    )
    order = models.PositiveSmallIntegerField(default=0, verbose_name=_("order"))
    code = models.SlugField(max_length=20, verbose_name=_("code"))
    name = models.CharField(
        max_length=200, validators=[validate_single_line], verbose_name=_("name")
    )
    name_translations = models.JSONField(
        _("name in other languages"),
        default=dict,
        blank=True,
        validators=[validate_translations],
        help_text=_("What participants reading another language see in their reminders."),
    )
    offset = models.PositiveIntegerField(
        help_text=_("From the phase start."), verbose_name=_("offset")
    )
    unit = models.CharField(
        max_length=6, choices=Unit.choices, default=Unit.DAYS, verbose_name=_("unit")
    )
    window_before = models.PositiveIntegerField(_("window − days"), default=0)
    window_after = models.PositiveIntegerField(_("window + days"), default=0)
    resource = models.ForeignKey(
        Resource,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="visit_definitions",
        help_text=_(
            "What the visit occupies at the clinic (an infusion chair), counted against "
            "each site's capacity per day."
        ),
        verbose_name=_("resource"),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("visit definition")
        verbose_name_plural = _("visit definitions")
        ordering = ["protocol", "version", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["version", "code"], name="visit_code_unique"),
        ]

    def __str__(self):
        return f"{self.code} ({self.name})"

    def as_plan(self) -> engine.VisitPlan:
        return engine.VisitPlan(
            self.code,
            self.phase.code,
            self.offset,
            self.unit,
            self.window_before,
            self.window_after,
        )


class VisitStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    COMPLETED = "completed", _("Completed")
    MISSED = "missed", _("Missed")
    CANCELLED = "cancelled", _("Cancelled")
    NOT_APPLICABLE = "not_applicable", _("Not applicable")


UNSCHEDULED_CODE = "UNS"


class AppointmentFlag(models.TextChoices):
    """What an appointment waits for, as ``schedule.place_appointment`` decides it."""

    NONE = schedule.NO_FLAG, "—"
    NO_OPEN_DAY = schedule.NO_OPEN_DAY, _("No open day in window")
    REBOOK = schedule.REBOOK, _("Rebook")
    PLANNED_DEVIATION = schedule.PLANNED_DEVIATION, _("Planned deviation")


# An appointment waiting for a coordinator's decision: its reminders are held until then.
AWAITING_DECISION = frozenset({AppointmentFlag.NO_OPEN_DAY, AppointmentFlag.REBOOK})


class Deviation(models.TextChoices):
    """Why a done visit is a protocol deviation (``engine.deviation``); its label completes
    "a deviation: …" and fills the export's ``deviation`` column."""

    NONE = "", "—"
    AFTER_LEFT = engine.AFTER_LEFT, _("after the participant left")
    BEFORE_PHASE = engine.BEFORE_PHASE, _("before its phase")
    OUTSIDE_WINDOW = engine.OUTSIDE_WINDOW, _("outside its window")


# The deviations that break the participant's lifecycle: recorded only with a reason, and
# never brought about silently by a later change (a correction, a backdated exit).
LIFECYCLE_DEVIATIONS = frozenset({Deviation.AFTER_LEFT, Deviation.BEFORE_PHASE})


class Confirmation(models.TextChoices):
    UNCONFIRMED = schedule.UNCONFIRMED, _("Unconfirmed")
    CONFIRMED = "confirmed", _("Confirmed")
    RESCHEDULE_REQUESTED = "reschedule_requested", _("Reschedule requested")


# A visit still to be done (``VisitQuerySet.open``), as the partial indexes' condition.
OPEN_VISIT = models.Q(actual_date__isnull=True, cancelled=False, closed_on__isnull=True)


class VisitQuerySet(models.QuerySet):
    def open(self):
        """Visits still to be done: not completed, not cancelled, not closed."""
        return self.filter(OPEN_VISIT)

    def no_shows(self, today: datetime.date):
        """Open visits whose appointment day has passed while their window is still open."""
        return self.open().filter(appointment_date__lt=today, window_end__gte=today)

    def for_schedule(self):
        return self.select_related("participant__site", "definition__phase")


class Visit(models.Model):
    """One participant's visit: planned from a definition, or unscheduled (code UNS).

    ``status_on(today)`` derives the status; only ``cancelled``, ``closed_on`` (missed before
    its window ended: its phase ended or the participant left) and the actual date are stored,
    so "missed" can never be stale.
    """

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="visits", verbose_name=_("participant")
    )
    # The participant's site, copied so that a site's visits are read by an index of their
    # own (the site calendar, docs/architecture.md "Fast for a network"). The database keeps
    # it equal: (participant, site) references the participant's (id, site), ON UPDATE
    # CASCADE (migration 0020_visit_site), so it cannot differ, even when a site changes.
    site = models.ForeignKey(
        Site,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        editable=False,
        verbose_name=_("site"),
    )
    definition = models.ForeignKey(
        VisitDefinition,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="visits",
        verbose_name=_("definition"),
    )
    version = models.ForeignKey(
        ProtocolVersion,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="visits",
        help_text=_("The protocol version that planned it (none: unscheduled)."),
        verbose_name=_("version"),
    )
    code = models.CharField(max_length=20, verbose_name=_("code"))
    name = models.CharField(
        max_length=200, validators=[validate_single_line], verbose_name=_("name")
    )
    phase = models.CharField(max_length=40, help_text=_("Phase code."), verbose_name=_("phase"))
    planned_date = models.DateField(verbose_name=_("planned date"))
    window_start = models.DateField(null=True, blank=True, verbose_name=_("window start"))
    window_end = models.DateField(null=True, blank=True, verbose_name=_("window end"))
    study_day = models.IntegerField(
        null=True,
        blank=True,
        editable=False,
        help_text=_("Study day of the planned date."),
        verbose_name=_("study day"),
    )
    actual_date = models.DateField(null=True, blank=True, verbose_name=_("actual date"))
    booked_time = models.TimeField(
        null=True,
        blank=True,
        help_text=_("Local time booked at the site (optional)."),
        verbose_name=_("booked time"),
    )
    appointment_date = models.DateField(
        null=True,
        blank=True,
        editable=False,
        help_text=_(
            "The day the site expects the participant: the booked day, else the "
            "proposed one (the planned date, moved to an open day of the window if closed)."
        ),
        verbose_name=_("appointment date"),
    )
    booked_date = models.DateField(
        null=True,
        blank=True,
        editable=False,
        help_text=_("Booked by staff; empty: proposed."),
        verbose_name=_("booked date"),
    )
    booked_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text=_(
            "When the booking on its day was made: when capacity is lowered below a "
            "day's bookings, the earliest keep their places (clinic_calendar)."
        ),
        verbose_name=_("booked at"),
    )
    booking_override = models.TextField(
        blank=True,
        editable=False,
        help_text=_("Why the booking was made on a closed or full day, or outside the window."),
        verbose_name=_("booking override"),
    )
    appointment_note = models.CharField(
        max_length=300,
        blank=True,
        editable=False,
        help_text=_("Why the appointment differs from the planned date, or what is wrong with it."),
        verbose_name=_("appointment note"),
    )
    appointment_flag = models.CharField(
        max_length=20,
        choices=AppointmentFlag.choices,
        blank=True,
        editable=False,
        verbose_name=_("appointment flag"),
    )
    confirmation = models.CharField(
        max_length=20,
        choices=Confirmation.choices,
        default=Confirmation.UNCONFIRMED,
        editable=False,
        help_text=_("Whether the participant said they will come to this appointment."),
        verbose_name=_("confirmation"),
    )
    confirmation_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("confirmation at")
    )
    confirmation_via = models.CharField(
        max_length=40,
        blank=True,
        editable=False,
        help_text=_("reminder link, or staff."),
        verbose_name=_("confirmation via"),
    )
    reschedule_message = models.TextField(
        blank=True,
        editable=False,
        help_text=_("The participant's message with a request."),
        verbose_name=_("reschedule message"),
    )
    cancelled = models.BooleanField(default=False, editable=False, verbose_name=_("cancelled"))
    closed_on = models.DateField(
        null=True,
        blank=True,
        editable=False,
        help_text=_(
            "Closed as missed on this day before its window ended: a later phase "
            "started, or the participant left the trial (engine.visit_end)."
        ),
        verbose_name=_("closed on"),
    )
    closed_reason = models.CharField(
        max_length=40,
        blank=True,
        editable=False,
        help_text=_("Why it was closed."),
        verbose_name=_("closed reason"),
    )
    reason = models.TextField(
        blank=True, help_text=_("Why an unscheduled visit took place."), verbose_name=_("reason")
    )
    deviation = models.CharField(
        max_length=20,
        choices=Deviation.choices,
        blank=True,
        editable=False,
        help_text=_(
            "Why this done visit is a protocol deviation, as its window and the "
            "participant's lifecycle now stand (kept in step by every schedule rebuild)."
        ),
        verbose_name=_("deviation"),
    )
    deviation_reason = models.TextField(
        _("reason for the deviation"),
        blank=True,
        editable=False,
        help_text=_("Why it was recorded before its phase or after the participant left."),
    )
    sequence = models.PositiveIntegerField(
        default=0,
        editable=False,
        help_text=_("Raised on every reschedule (iCalendar SEQUENCE)."),
        verbose_name=_("sequence"),
    )
    # The site is the participant's, not a record of the visit: not in its history.
    history = HistoricalRecords(excluded_fields=["site"])

    objects = VisitQuerySet.as_manager()

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["participant", "planned_date", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "definition"],
                condition=models.Q(definition__isnull=False),
                name="one_visit_per_definition",
            ),
            models.CheckConstraint(
                condition=models.Q(window_start__isnull=True)
                | models.Q(window_start__lte=models.F("planned_date")),
                name="window_starts_before_planned",
            ),
            models.CheckConstraint(
                condition=models.Q(window_end__isnull=True)
                | models.Q(window_end__gte=models.F("planned_date")),
                name="window_ends_after_planned",
            ),
        ]
        indexes = [
            models.Index(fields=["planned_date"]),
            models.Index(fields=["window_end"]),
            models.Index(fields=["appointment_date"]),
            # The workspace across a whole network (docs/architecture.md, "Fast for a
            # network"): each list of open visits walks its own index in the order it is
            # shown and stops at the rows it draws, whatever the number of sites.
            # (window_end last: "window still open" is checked in the index, not the table.)
            models.Index(
                fields=["appointment_date", "booked_time", "id", "window_end"],
                condition=OPEN_VISIT,
                name="visit_open_by_appointment",
            ),
            models.Index(
                fields=["-window_end", "id"],
                condition=OPEN_VISIT,
                name="visit_open_by_window_end",
            ),
            models.Index(
                fields=["appointment_date", "window_end", "id"],
                condition=OPEN_VISIT,
                name="visit_open_no_show",
            ),
            models.Index(
                fields=["appointment_date", "id"],
                condition=OPEN_VISIT & models.Q(appointment_flag__in=["rebook", "no_open_day"]),
                name="visit_open_to_decide",
            ),
            models.Index(
                fields=["confirmation_at", "id"],
                condition=OPEN_VISIT & models.Q(confirmation="reschedule_requested"),
                name="visit_open_reschedule",
            ),
            models.Index(fields=["participant", "planned_date", "id"], name="visit_list_order"),
            # The API's visit list (scheduling/api/): keyset pages by appointment day, then id.
            models.Index(
                Coalesce("appointment_date", "planned_date"), F("id"), name="visit_api_order"
            ),
            # The site calendar (workspace.calendar_reads): a site's visits by their day on
            # the calendar, with what its two queries read, so both are index-only scans.
            models.Index(
                F("site"),
                Coalesce("actual_date", "appointment_date"),
                F("booked_time"),
                F("participant"),
                F("definition"),
                F("actual_date"),
                F("appointment_date"),  # the day's parts too: else no index-only scan
                F("booked_date"),
                F("id"),
                condition=models.Q(cancelled=False),
                name="visit_calendar_day",
            ),
        ]

    def __str__(self):
        return f"{self.participant} {self.code} {self.planned_date}"

    def name_in(self, language: str) -> str:
        """The visit's name for a reader of ``language``: its definition's translation, else
        the name it was planned with (an unscheduled visit's own)."""
        if self.definition is None:
            return self.name
        return translated(self.name, self.definition.name_translations, language)

    @property
    def not_applicable(self) -> bool:
        """Closed because a protocol version removed it or added it after its window ended
        (``schedule.NOT_APPLICABLE``): not a missed visit."""
        return self.closed_on is not None and schedule.is_not_applicable(self.closed_reason)

    @property
    def is_unscheduled(self) -> bool:
        return self.definition_id is None

    def status_on(self, today: datetime.date) -> str:
        if self.actual_date is not None:
            return VisitStatus.COMPLETED
        if self.cancelled:
            return VisitStatus.CANCELLED
        if self.closed_on is not None:
            if self.not_applicable:
                return VisitStatus.NOT_APPLICABLE
            return VisitStatus.MISSED
        if engine.is_missed(self.window_end, self.actual_date, today):
            return VisitStatus.MISSED
        return VisitStatus.SCHEDULED

    @property
    def window(self) -> engine.Window | None:
        """The days it may be done on without a deviation; None for an unscheduled visit,
        whose day is its own."""
        if self.window_start is None:
            return None
        return engine.Window(self.window_start, self.window_end or self.window_start)

    @property
    def days_to_choose(self) -> engine.Window:
        """The days its appointment may be booked on without an override: its window, or its
        own day when it has none."""
        return self.window or engine.Window(self.planned_date, self.planned_date)

    def outside_window(self, day: datetime.date) -> bool:
        window = self.window
        return window is not None and day not in window

    @property
    def is_open(self) -> bool:
        """Still to be done: not done, not cancelled, not closed (see ``VisitQuerySet.open``)."""
        return self.actual_date is None and not self.cancelled and self.closed_on is None

    @property
    def appointment_source(self) -> str:
        return "booked" if self.booked_date is not None else "proposed"

    @property
    def appointment_day(self) -> datetime.date:
        """The appointment, or the planned date for a visit that has none (done long ago)."""
        return self.appointment_date or self.planned_date

    def is_no_show(self, today: datetime.date) -> bool:
        """The appointment day passed with no actual date while the window is still open
        (it becomes missed only when the window ends)."""
        return (
            self.is_open
            and self.appointment_date is not None
            and self.appointment_date < today
            and self.window_end is not None
            and self.window_end >= today
        )

    @property
    def is_deviation(self) -> bool:
        return bool(self.deviation)

    @property
    def shows_appointment(self) -> bool:
        """Whether the visit has an appointment to show: only while it is still to be done.
        The participant page, the visit list and the export all ask this (a done or cancelled
        visit's former proposal is history, not an appointment)."""
        return self.actual_date is None and not self.cancelled and self.appointment_date is not None


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


class CalendarFeed(models.Model):
    """A site's iCalendar feed at a secret URL (docs/calendar-feeds.md): only the secret's
    SHA-256 digest is kept, so the URL is shown once, when the feed is made; revoking it
    makes the URL a 404."""

    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, related_name="+", verbose_name=_("site")
    )
    label = models.CharField(
        max_length=200, validators=[validate_single_line], verbose_name=_("label")
    )
    digest = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=8, editable=False, verbose_name=_("prefix"))
    created_at = models.DateTimeField(editable=False, verbose_name=_("created at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        editable=False,
        related_name="+",
        verbose_name=_("created by"),
    )
    revoked_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("revoked at")
    )
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("revoked by"),
    )
    last_fetched_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("last fetched at")
    )
    history = HistoricalRecords(excluded_fields=["last_fetched_at"])

    class Meta:
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")
        ordering = ["site", "-created_at", "id"]

    def __str__(self):
        return f"{self.site.code}: {self.label} ({self.prefix}…)"
