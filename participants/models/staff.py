"""A staff user's own settings."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from participants.translations import (
    PARTICIPANT_LANGUAGES,
)

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
