"""Times and durations of the FHIR export, pure (docs/fhir.md#times): an appointment's start
and end as instants in the site's zone, a plan's offsets and windows as UCUM durations."""

import datetime
import zoneinfo

from scheduling.rules.clinic_calendar import APPOINTMENT_LENGTH as BOOKED_LENGTH

UCUM = "http://unitsofmeasure.org"
# scheduling.models.Unit → (UCUM code, unit as written).
UNITS = {"days": ("d", "days"), "weeks": ("wk", "weeks"), "months": ("mo", "months")}
DAYS_IN = {"days": 1, "weeks": 7}


def instant(moment: datetime.datetime) -> str:
    """A FHIR instant: seconds and the UTC offset of the moment's zone."""
    return moment.isoformat(timespec="seconds")


def appointment_period(
    day: datetime.date, booked_time: datetime.time | None, zone: zoneinfo.ZoneInfo
) -> tuple[str, str]:
    """Start and end of an appointment at a site: an hour from its booked time, else the whole
    day (midnight to the next midnight, 23 or 25 hours on a change of clock)."""
    if booked_time is None:
        start = datetime.datetime.combine(day, datetime.time(0), tzinfo=zone)
        end = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time(0), zone)
        # Midnight may not exist (a zone that changes its clock at 00:00): its real instant.
        return instant(_real(start, zone)), instant(_real(end, zone))
    start = _real(datetime.datetime.combine(day, booked_time, tzinfo=zone), zone)
    end = (start.astimezone(datetime.UTC) + BOOKED_LENGTH).astimezone(zone)
    return instant(start), instant(end)


def _real(moment: datetime.datetime, zone: zoneinfo.ZoneInfo) -> datetime.datetime:
    """A wall time as an instant: through UTC and back, so a time in a spring-forward gap
    becomes the instant after it."""
    return moment.astimezone(datetime.UTC).astimezone(zone)


def duration(value: int, unit: str) -> dict:
    """A FHIR Duration of a plan's length or offset in its own unit."""
    code, written = UNITS[unit]
    return {"value": value, "unit": written, "system": UCUM, "code": code}


def days(value: int) -> dict:
    return {"value": value, "unit": "days", "system": UCUM, "code": "d"}


def offset_range(offset: int, unit: str, before: int, after: int) -> dict | None:
    """The acceptable offsets of a visit as the SoA guide's range from the same anchor, in
    days; None for an offset in months, whose length in days depends on the start."""
    if unit not in DAYS_IN:
        return None
    planned = offset * DAYS_IN[unit]
    return {"low": days(planned - before), "high": days(planned + after)}


def window_range(before: int, after: int) -> dict:
    """A visit's window around its planned date, in days (−before to +after)."""
    return {"low": days(-before), "high": days(after)}
