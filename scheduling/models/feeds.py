"""Sites' calendar feeds (docs/calendar-feeds.md)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from participants.models import Site
from participants.validators import validate_single_line


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
