"""Inputs of dates and times that read and write ISO 8601 in every browser and language.

``<input type="date">`` and ``type="time"`` show what the browser's locale says (mm/dd/yyyy
and 02:30 PM in a US Chromium), so the workspace's inputs are text fields in the one format
staff read everywhere (``trialsite/formats``): ``2026-12-10`` and ``14:30``. Templates that
write an input by hand use the same attributes (``ISO_DATE_ATTRS``).
"""

from django import forms

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
