"""Participants' visits: planned, booked, done, missed or closed (docs/timeline.md)."""

import datetime

from django.db import models
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from participants.models import Participant, Site
from participants.translations import translated
from participants.validators import validate_single_line
from scheduling.models.plan import VisitDefinition
from scheduling.models.versions import ProtocolVersion
from scheduling.rules import engine, schedule


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
