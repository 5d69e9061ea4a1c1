"""A version's plan: its phases and visit definitions (docs/timeline.md)."""

from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from participants.models import Protocol, Resource, Status
from participants.translations import validate_translations
from participants.validators import validate_single_line
from scheduling.models.versions import ProtocolVersion, refuse_released, version_being_drafted
from scheduling.rules import engine


class Unit(models.TextChoices):
    DAYS = engine.DAYS, _("days")
    WEEKS = engine.WEEKS, _("weeks")
    MONTHS = engine.MONTHS, _("months")


# The transitions that record a phase's actual start (docs/timeline.md: the treatment and
# follow-up transitions); which phase each starts is the protocol's data (Phase.started_by).
PHASE_START_STATUSES = (Status.TREATMENT, Status.FOLLOW_UP)


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
