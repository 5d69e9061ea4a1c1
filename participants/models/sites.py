"""Sites: their clinic calendar (open days, hours, holidays, closures), resources and
capacities, and which staff work at each."""

import datetime
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from participants import clinic
from participants.dates import EARLIEST_DATE
from participants.translations import (
    DEFAULT_LANGUAGE,
    PARTICIPANT_LANGUAGES,
    translated,
    validate_translations,
)
from participants.validators import (
    validate_open_days,
    validate_printable_text,
    validate_single_line,
)


def validate_time_zone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as error:
        # OSError: a folder of the zone database ("Europe") or a name too long for a path.
        raise ValidationError(
            f"“{value}” is not an IANA time zone such as Europe/Berlin."
        ) from error


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
