"""Protocols and their eligibility criteria."""

from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from participants import trial_phases
from participants.dates import EARLIEST_DATE
from participants.validators import (
    validate_printable_text,
    validate_regex,
    validate_single_line,
)


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
