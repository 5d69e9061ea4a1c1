"""Dates people give us: read strictly as YYYY-MM-DD, and kept inside a sane range.

A date far outside the trial's life (0001-01-01, 9999-12-31) is always a typing slip, and
once stored it breaks every page that draws or counts days around it. So every date a user
gives is checked here, with a sentence naming the limit, before anything is saved.
"""

import datetime
import re

from dateutil.relativedelta import relativedelta

# ``date.fromisoformat`` also reads ISO week dates (2026-W45-1) and basic dates (20260101);
# the contract is YYYY-MM-DD with ASCII digits and nothing else.
_YYYY_MM_DD = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

# No date of a trial participant before this one (a protocol may say later: earliest_date).
EARLIEST_DATE = datetime.date(1990, 1, 1)
# How far ahead a date may be booked (an unscheduled visit planned ahead).
YEARS_AHEAD = 5


def parse_iso_date(value: str) -> datetime.date:
    """A date written YYYY-MM-DD; ValueError with a sentence otherwise."""
    try:
        if not _YYYY_MM_DD.fullmatch(value):
            raise ValueError
        return datetime.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(f"“{value}” is not a date (YYYY-MM-DD).") from None


def earliest_date(protocol=None) -> datetime.date:
    """The earliest date ``protocol`` accepts: its own ``earliest_date`` if it has one (never
    before 1990-01-01), else 1990-01-01."""
    own = protocol.earliest_date if protocol is not None else None
    return max(own, EARLIEST_DATE) if own else EARLIEST_DATE


def latest_booking_date(today: datetime.date) -> datetime.date:
    """The latest date that may be booked ahead from ``today``."""
    return today + relativedelta(years=YEARS_AHEAD)


def too_early_problem(day: datetime.date, protocol=None) -> str:
    """Why ``day`` is too early for ``protocol`` (for any protocol, without one); else ""."""
    earliest = earliest_date(protocol)
    if day >= earliest:
        return ""
    return (
        f"{day.isoformat()} is before {earliest.isoformat()}, the earliest date this protocol "
        "accepts."
    )


def too_late_problem(day: datetime.date, today: datetime.date) -> str:
    """Why ``day`` is too far ahead to be booked from ``today``; else ""."""
    latest = latest_booking_date(today)
    if day <= latest:
        return ""
    return (
        f"{day.isoformat()} is more than {YEARS_AHEAD} years ahead (the latest date that can "
        f"be booked today is {latest.isoformat()})."
    )


# How a spreadsheet writes a date when it was not told to keep it as text.
_SERIAL = re.compile(r"[0-9]{1,7}(?:\.[0-9]+)?")
_DAY_MONTH_YEAR = re.compile(r"[0-9]{1,2}[./][0-9]{1,2}[./][0-9]{2,4}")
_SERIAL_EPOCH = datetime.date(1899, 12, 30)  # day 0 of the 1900 date system (Excel, LibreOffice)
# Serial numbers of the days a trial date may be (1990 to 2099): 4-digit years are not among them.
_SERIALS = range(32_874, 73_051)


def date_problem(value: str) -> str:
    """Why ``value`` is not a date YYYY-MM-DD, naming what a spreadsheet made of one: a serial
    number (46066, days since 1899-12-30) or a date written with the day or month first."""
    try:
        parse_iso_date(value)
    except ValueError as error:
        problem = str(error)
    else:
        return ""
    text = value.strip()
    if _SERIAL.fullmatch(text) and int(float(text)) in _SERIALS:
        day = _SERIAL_EPOCH + datetime.timedelta(days=int(float(text)))
        return (
            f"{problem[:-1]}; it looks like a spreadsheet serial date ({day.isoformat()}): "
            "format the column as YYYY-MM-DD before saving."
        )
    if _DAY_MONTH_YEAR.fullmatch(text):
        return (
            f"{problem[:-1]}; it looks like a date a spreadsheet wrote with the day or month "
            "first: format the column as YYYY-MM-DD before saving."
        )
    return problem
