"""Protocol plans (phases, visit definitions, reminder rules), visits and reminders."""

import datetime

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from simple_history.models import HistoricalRecords

from participants.models import Participant, Protocol, Resource, Site, Status
from participants.translations import translated, validate_translations
from participants.validators import validate_single_line
from scheduling.rules import engine, schedule


class Unit(models.TextChoices):
    DAYS = engine.DAYS, "days"
    WEEKS = engine.WEEKS, "weeks"
    MONTHS = engine.MONTHS, "months"


# The transitions that record a phase's actual start (docs/timeline.md: the treatment and
# follow-up transitions); which phase each starts is the protocol's data (Phase.started_by).
PHASE_START_STATUSES = (Status.TREATMENT, Status.FOLLOW_UP)


class Phase(models.Model):
    """A phase (CDISC epoch) of a protocol, in order. The first starts on the consent date."""

    protocol = models.ForeignKey(Protocol, on_delete=models.CASCADE, related_name="phases")
    order = models.PositiveSmallIntegerField()
    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=100, validators=[validate_single_line])
    length = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    unit = models.CharField(max_length=6, choices=Unit.choices)
    is_day_one = models.BooleanField(
        "starts study Day 1", default=False, help_text="Study Day 1 is this phase's start."
    )
    started_by = models.CharField(
        "actual start recorded by",
        max_length=20,
        blank=True,
        choices=[(s.value, s.label) for s in PHASE_START_STATUSES],
        help_text="The participant transition whose date is this phase's actual start. "
        "Without one the phase keeps its planned start (the first phase starts on consent).",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["protocol", "order"]
        constraints = [
            models.UniqueConstraint(fields=["protocol", "code"], name="phase_code_unique"),
            models.UniqueConstraint(fields=["protocol", "order"], name="phase_order_unique"),
            models.UniqueConstraint(
                fields=["protocol"],
                condition=models.Q(is_day_one=True),
                name="one_day_one_phase_per_protocol",
            ),
            models.UniqueConstraint(
                fields=["protocol", "started_by"],
                condition=~models.Q(started_by=""),
                name="one_phase_per_start_transition",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.length} {self.unit})"

    def as_plan(self) -> engine.PhasePlan:
        return engine.PhasePlan(self.code, self.length, self.unit)


class VisitDefinition(models.Model):
    """A planned visit of a phase: offset from the phase start and an acceptable window."""

    protocol = models.ForeignKey(
        Protocol, on_delete=models.CASCADE, related_name="visit_definitions"
    )
    phase = models.ForeignKey(Phase, on_delete=models.PROTECT, related_name="visit_definitions")
    order = models.PositiveSmallIntegerField(default=0)
    code = models.SlugField(max_length=20)
    name = models.CharField(max_length=200, validators=[validate_single_line])
    name_translations = models.JSONField(
        "name in other languages",
        default=dict,
        blank=True,
        validators=[validate_translations],
        help_text="What participants reading another language see in their reminders.",
    )
    offset = models.PositiveIntegerField(help_text="From the phase start.")
    unit = models.CharField(max_length=6, choices=Unit.choices, default=Unit.DAYS)
    window_before = models.PositiveIntegerField("window − days", default=0)
    window_after = models.PositiveIntegerField("window + days", default=0)
    resource = models.ForeignKey(
        Resource,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="visit_definitions",
        help_text="What the visit occupies at the clinic (an infusion chair), counted against "
        "each site's capacity per day.",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["protocol", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["protocol", "code"], name="visit_code_unique"),
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
    SCHEDULED = "scheduled", "Scheduled"
    COMPLETED = "completed", "Completed"
    MISSED = "missed", "Missed"
    CANCELLED = "cancelled", "Cancelled"


UNSCHEDULED_CODE = "UNS"


class AppointmentFlag(models.TextChoices):
    """What an appointment waits for, as ``schedule.place_appointment`` decides it."""

    NONE = schedule.NO_FLAG, "—"
    NO_OPEN_DAY = schedule.NO_OPEN_DAY, "No open day in window"
    REBOOK = schedule.REBOOK, "Rebook"
    PLANNED_DEVIATION = schedule.PLANNED_DEVIATION, "Planned deviation"


# An appointment waiting for a coordinator's decision: its reminders are held until then.
AWAITING_DECISION = frozenset({AppointmentFlag.NO_OPEN_DAY, AppointmentFlag.REBOOK})


class Deviation(models.TextChoices):
    """Why a done visit is a protocol deviation (``engine.deviation``); its label completes
    "a deviation: …" and fills the export's ``deviation`` column."""

    NONE = "", "—"
    AFTER_LEFT = engine.AFTER_LEFT, "after the participant left"
    BEFORE_PHASE = engine.BEFORE_PHASE, "before its phase"
    OUTSIDE_WINDOW = engine.OUTSIDE_WINDOW, "outside its window"


# The deviations that break the participant's lifecycle: recorded only with a reason, and
# never brought about silently by a later change (a correction, a backdated exit).
LIFECYCLE_DEVIATIONS = frozenset({Deviation.AFTER_LEFT, Deviation.BEFORE_PHASE})


class Confirmation(models.TextChoices):
    UNCONFIRMED = schedule.UNCONFIRMED, "Unconfirmed"
    CONFIRMED = "confirmed", "Confirmed"
    RESCHEDULE_REQUESTED = "reschedule_requested", "Reschedule requested"


class VisitQuerySet(models.QuerySet):
    def open(self):
        """Visits still to be done: not completed, not cancelled, not closed."""
        return self.filter(actual_date__isnull=True, cancelled=False, closed_on__isnull=True)

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

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="visits")
    definition = models.ForeignKey(
        VisitDefinition, null=True, blank=True, on_delete=models.PROTECT, related_name="visits"
    )
    code = models.CharField(max_length=20)
    name = models.CharField(max_length=200, validators=[validate_single_line])
    phase = models.CharField(max_length=40, help_text="Phase code.")
    planned_date = models.DateField()
    window_start = models.DateField(null=True, blank=True)
    window_end = models.DateField(null=True, blank=True)
    study_day = models.IntegerField(
        null=True, blank=True, editable=False, help_text="Study day of the planned date."
    )
    actual_date = models.DateField(null=True, blank=True)
    booked_time = models.TimeField(
        null=True, blank=True, help_text="Local time booked at the site (optional)."
    )
    appointment_date = models.DateField(
        null=True,
        blank=True,
        editable=False,
        help_text="The day the site expects the participant: the booked day, else the "
        "proposed one (the planned date, moved to an open day of the window if closed).",
    )
    booked_date = models.DateField(
        null=True, blank=True, editable=False, help_text="Booked by staff; empty: proposed."
    )
    booked_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When the booking on its day was made: when capacity is lowered below a "
        "day's bookings, the earliest keep their places (clinic_calendar).",
    )
    booking_override = models.TextField(
        blank=True,
        editable=False,
        help_text="Why the booking was made on a closed or full day, or outside the window.",
    )
    appointment_note = models.CharField(
        max_length=300,
        blank=True,
        editable=False,
        help_text="Why the appointment differs from the planned date, or what is wrong with it.",
    )
    appointment_flag = models.CharField(
        max_length=20, choices=AppointmentFlag.choices, blank=True, editable=False
    )
    confirmation = models.CharField(
        max_length=20,
        choices=Confirmation.choices,
        default=Confirmation.UNCONFIRMED,
        editable=False,
        help_text="Whether the participant said they will come to this appointment.",
    )
    confirmation_at = models.DateTimeField(null=True, blank=True, editable=False)
    confirmation_via = models.CharField(
        max_length=40, blank=True, editable=False, help_text="reminder link, or staff."
    )
    reschedule_message = models.TextField(
        blank=True, editable=False, help_text="The participant's message with a request."
    )
    cancelled = models.BooleanField(default=False, editable=False)
    closed_on = models.DateField(
        null=True,
        blank=True,
        editable=False,
        help_text="Closed as missed on this day before its window ended: a later phase "
        "started, or the participant left the trial (engine.visit_end).",
    )
    closed_reason = models.CharField(
        max_length=40, blank=True, editable=False, help_text="Why it was closed."
    )
    reason = models.TextField(blank=True, help_text="Why an unscheduled visit took place.")
    deviation = models.CharField(
        max_length=20,
        choices=Deviation.choices,
        blank=True,
        editable=False,
        help_text="Why this done visit is a protocol deviation, as its window and the "
        "participant's lifecycle now stand (kept in step by every schedule rebuild).",
    )
    deviation_reason = models.TextField(
        "reason for the deviation",
        blank=True,
        editable=False,
        help_text="Why it was recorded before its phase or after the participant left.",
    )
    sequence = models.PositiveIntegerField(
        default=0, editable=False, help_text="Raised on every reschedule (iCalendar SEQUENCE)."
    )
    history = HistoricalRecords()

    objects = VisitQuerySet.as_manager()

    class Meta:
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
    def is_unscheduled(self) -> bool:
        return self.definition_id is None

    def status_on(self, today: datetime.date) -> str:
        if self.actual_date is not None:
            return VisitStatus.COMPLETED
        if self.cancelled:
            return VisitStatus.CANCELLED
        if self.closed_on is not None:
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
    PARTICIPANT = "participant", "Participant email before each visit"
    COORDINATOR_DIGEST = "coordinator_digest", "Daily coordinator digest per site"


class ReminderRule(models.Model):
    protocol = models.ForeignKey(Protocol, on_delete=models.CASCADE, related_name="reminder_rules")
    audience = models.CharField(max_length=20, choices=Audience.choices)
    lead_days = models.PositiveSmallIntegerField(
        default=0,
        validators=[MaxValueValidator(365)],
        help_text="Days before the visit (participant reminders).",
    )
    local_time = models.TimeField(help_text="Send time in the site's own time zone.")
    active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["protocol", "audience", "-lead_days"]

    def __str__(self):
        if self.audience == Audience.PARTICIPANT:
            return f"Participant, {self.lead_days} d before at {self.local_time:%H:%M}"
        return f"Coordinator digest at {self.local_time:%H:%M}"


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired"
    SUPERSEDED = "superseded", "Superseded"
    UNKNOWN = "unknown", "Outcome unknown"


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

    due_at = models.DateTimeField(help_text="Aware UTC instant.")
    status = models.CharField(
        max_length=12, choices=OutboxStatus.choices, default=OutboxStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(
        null=True, blank=True, help_text="A claim by a dispatcher, valid until this instant."
    )
    claim_token = models.CharField(
        max_length=32,
        blank=True,
        editable=False,
        help_text="Which dispatcher run holds the claim; a run only sends rows it still holds.",
    )
    last_error = models.TextField(blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    outcome_unknown_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the mail server last took the whole message and never answered: it "
        "may have gone out. Retried once with the same Message-ID, then closed as unknown.",
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OutboxQuerySet.as_manager()

    class Meta:
        abstract = True


class Reminder(OutboxMessage):
    """One participant reminder per (visit, rule, appointment day)."""

    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="reminders")
    rule = models.ForeignKey(ReminderRule, on_delete=models.PROTECT, related_name="reminders")
    planned_date = models.DateField(
        "appointment day", help_text="The visit's appointment day this reminder was computed for."
    )

    class Meta:
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
        ]

    def __str__(self):
        return f"Reminder {self.pk} for {self.visit} ({self.rule})"


class SiteDigest(OutboxMessage):
    """The coordinator digest of one site for one local day."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="digests")
    rule = models.ForeignKey(ReminderRule, on_delete=models.PROTECT, related_name="digests")
    local_date = models.DateField()

    class Meta:
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
    CONFIRM = "confirm", "I'll be there"
    RESCHEDULE = "reschedule", "I need another date"
    STOP = "stop", "Stop reminders"


class ReminderLinkUse(models.Model):
    """A participant's answer through one of a reminder's links: each link acts once."""

    reminder = models.ForeignKey(Reminder, on_delete=models.PROTECT, related_name="link_uses")
    action = models.CharField(max_length=12, choices=LinkAction.choices)
    used_at = models.DateTimeField()
    one_click = models.BooleanField(
        default=False, help_text="Sent by a mail client's one-click unsubscribe (RFC 8058)."
    )

    class Meta:
        ordering = ["-used_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["reminder", "action"], name="one_use_per_link")
        ]

    def __str__(self):
        return f"{self.get_action_display()} via reminder {self.reminder_id}"


class MailRelay(models.Model):
    """What the dispatcher last learnt of the mail set-up, in one row (``ONE``): the fault that
    stopped its last run, if any (the staff dashboard shows it until a message is accepted),
    and when a message was last accepted."""

    ONE = 1

    fault = models.TextField(
        blank=True, help_text="The server's answer, addresses removed; empty when none."
    )
    fault_since = models.DateTimeField(null=True, blank=True)
    last_accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
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

    last_completed_at = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(
        null=True, blank=True, help_text="The first run that raised since the last completed."
    )
    last_error = models.CharField(
        max_length=300, blank=True, help_text="One line, addresses removed."
    )
    last_error_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="one_dispatch_heartbeat")
        ]

    def __str__(self):
        return f"Dispatch last completed at {self.last_completed_at or 'never'}"
