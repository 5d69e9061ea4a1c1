"""How a visit's day is written for the people who read it: one place for the reminder, the
digest and the participant's reply pages (which sit in different layers above this one)."""

import datetime

from django.conf import settings
from django.utils import dateformat, translation
from django.utils.translation import pgettext

LONG_DATE = "l j F Y"  # Monday 9 February 2026


def long_date(day: datetime.date, language: str | None = None) -> str:
    """``day`` written the reader's way: "Monday 9 February 2026", "Montag, 9. Februar 2026",
    "lunes, 9 de febrero de 2026", "lundi 9 février 2026" (the active language unless one is
    given; the staff's English outside a translation)."""
    with translation.override(language or translation.get_language() or settings.LANGUAGE_CODE):
        # Translators: a date format of Django's date filter; "l j F Y" is Monday 9 February 2026.
        return dateformat.format(day, pgettext("long date format", LONG_DATE))
