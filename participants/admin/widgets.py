"""Inputs of dates and times that read and write ISO 8601 in every browser and language.

``<input type="date">`` and ``type="time"`` show what the browser's locale says (mm/dd/yyyy
and 02:30 PM in a US Chromium), so the workspace's inputs are text fields in the one format
staff read everywhere (``trialsite/formats``): ``2026-12-10`` and ``14:30``. Templates that
write an input by hand use the same attributes (``ISO_DATE_ATTRS``).
"""

from django import forms
from django.utils import timezone

ISO_DATE_ATTRS = {
    "inputmode": "numeric",
    "pattern": "[0-9]{4}-[0-9]{2}-[0-9]{2}",
    "placeholder": "YYYY-MM-DD",
    "size": "10",
    "autocomplete": "off",
}
CLOCK_ATTRS = {
    "inputmode": "numeric",
    "pattern": "[0-2][0-9]:[0-5][0-9]",
    "placeholder": "HH:MM",
    "size": "5",
    "autocomplete": "off",
}


class IsoDateInput(forms.DateInput):
    """A day as YYYY-MM-DD. ``shortcuts``: the admin's "Today" and calendar beside it (the
    page needs the admin's calendar scripts; "Today" is the day in the request's zone, the
    site's: participants.local_times)."""

    def __init__(self, attrs=None, shortcuts=False):
        attrs = {**ISO_DATE_ATTRS, **(attrs or {})}
        if shortcuts:
            attrs["class"] = "vDateField"
        super().__init__(attrs, format="%Y-%m-%d")


class ClockInput(forms.TimeInput):
    """A local time of day as HH:MM, 24-hour."""

    def __init__(self, attrs=None):
        super().__init__({**CLOCK_ATTRS, **(attrs or {})}, format="%H:%M")


class IsoDateTimeInput(forms.DateTimeInput):
    """A local date and time as YYYY-MM-DD HH:MM."""

    def __init__(self, attrs=None):
        attrs = {
            "pattern": "[0-9]{4}-[0-9]{2}-[0-9]{2} [0-2][0-9]:[0-5][0-9]",
            "placeholder": "YYYY-MM-DD HH:MM",
            "size": "16",
            "autocomplete": "off",
            **(attrs or {}),
        }
        super().__init__(attrs, format="%Y-%m-%d %H:%M")


class SiteSelect(forms.Select):
    """A site chooser whose options carry their site's offset from UTC now, so the admin's
    "Today" and "Now" on the same form give the chosen site's day and time (``site_today.js``),
    also for a user whose sites keep several zones (whose pages are otherwise read in UTC)."""

    class Media:
        js = ["participants/site_today.js"]

    def __init__(self, attrs=None, choices=()):
        super().__init__({"data-site-zone": "", **(attrs or {})}, choices)

    def create_option(self, name, value, *args, **kwargs):
        option = super().create_option(name, value, *args, **kwargs)
        site = getattr(value, "instance", None)
        if site is not None:
            offset = timezone.now().astimezone(site.zone).utcoffset()
            option["attrs"]["data-utc-offset"] = str(int(offset.total_seconds()))
        return option
