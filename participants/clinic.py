"""A site's clinic calendar as staff write it: open weekdays and a public-holiday calendar.

Open days are stored as ISO weekday numbers ("12345" is Monday to Friday) and written as
``Mon-Fri``, ``Mon,Tue,Thu`` or ``Tue-Sat``. Public holidays come from the ``holidays``
package, by country and subdivision (``US-CA``, ``DE-BE``, ``FR``; empty for none). Nothing
here touches the database; the choice of a day lives in ``scheduling.rules.clinic_calendar``.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Mapping

import holidays

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # ISO weekday 1 … 7
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DEFAULT_OPEN_DAYS = "12345"


def weekday_name(day: datetime.date) -> str:
    return WEEKDAY_NAMES[day.isoweekday() - 1]


_WEEKDAY_WORDS = {
    **{short.lower(): n for n, short in enumerate(WEEKDAYS, 1)},
    **{name.lower(): n for n, name in enumerate(WEEKDAY_NAMES, 1)},
}


def _weekday_number(word: str, text: str) -> int:
    number = _WEEKDAY_WORDS.get(word.strip().lower())
    if number is None:
        raise ValueError(
            f"“{text}” is not a list of weekdays: “{word.strip()}” is not one of "
            f"{', '.join(WEEKDAYS)} (write e.g. Mon-Fri, Mon,Tue,Thu or Tue-Sat)."
        )
    return number


def parse_open_days(text: str) -> str:
    """``Mon-Fri`` → ``"12345"``; a list of days and ranges separated by commas. A range may
    wrap over the week's end (``Sat-Mon``). Raises ValueError saying what is wrong."""
    days: set[int] = set()
    if not text.strip():
        raise ValueError("No open day: write e.g. Mon-Fri, Mon,Tue,Thu or Tue-Sat.")
    for part in text.split(","):
        if not part.strip():
            raise ValueError(f"“{text}” has an empty item between commas.")
        first, dash, last = part.partition("-")
        start = _weekday_number(first, text)
        end = _weekday_number(last, text) if dash else start
        day = start
        while True:
            days.add(day)
            if day == end:
                break
            day = day % 7 + 1
    return "".join(str(day) for day in sorted(days))


def open_days_problem(stored: str) -> str:
    if not stored or any(c not in "1234567" for c in stored) or len(set(stored)) != len(stored):
        return "Open days are weekday numbers 1 (Monday) to 7 (Sunday), each once, e.g. 12345."
    return ""


def open_weekdays(stored: str) -> frozenset[int]:
    return frozenset(int(c) for c in stored)


def open_days_label(stored: str) -> str:
    """``"12345"`` → ``Mon-Fri``; runs of three or more days as ranges, the rest listed."""
    numbers = sorted(open_weekdays(stored))
    parts, run = [], []
    for number in [*numbers, None]:
        if run and (number is None or number != run[-1] + 1):
            if len(run) >= 3:
                parts.append(f"{WEEKDAYS[run[0] - 1]}-{WEEKDAYS[run[-1] - 1]}")
            else:
                parts.extend(WEEKDAYS[n - 1] for n in run)
            run = []
        if number is not None:
            run.append(number)
    return ",".join(parts)


def parse_holiday_calendar(text: str) -> tuple[str, str]:
    """``US-CA`` → ``("US", "CA")``, ``FR`` → ``("FR", "")``, empty → ``("", "")``; checked
    against the ``holidays`` package. Raises ValueError saying what is wrong."""
    text = text.strip()
    if not text:
        return "", ""
    country, _, subdivision = text.partition("-")
    country, subdivision = country.strip().upper(), subdivision.strip()
    problem = holiday_calendar_problem(country, subdivision)
    if problem:
        raise ValueError(problem)
    return country, _subdivision_as_listed(country, subdivision)


def _subdivision_as_listed(country: str, subdivision: str) -> str:
    for known in holidays.list_supported_countries().get(country, []):
        if known.upper() == subdivision.upper():
            return known
    return subdivision


def holiday_calendar_problem(country: str, subdivision: str) -> str:
    """Why ``country``/``subdivision`` is not a calendar of the ``holidays`` package, or ""."""
    if not country:
        return "A subdivision needs its country (e.g. US-CA)." if subdivision else ""
    supported = holidays.list_supported_countries()
    if country.upper() not in supported:
        return (
            f"“{country}” is not a country of the holidays package (ISO 3166 codes such as "
            "US, DE, FR, GB)."
        )
    subdivisions = supported[country.upper()]
    if subdivision and subdivision.upper() not in {s.upper() for s in subdivisions}:
        listed = ", ".join(subdivisions[:40]) + (" …" if len(subdivisions) > 40 else "")
        return f"“{subdivision}” is not a subdivision of {country.upper()} ({listed})."
    return ""


def holiday_calendar_label(country: str, subdivision: str) -> str:
    if not country:
        return ""
    return f"{country}-{subdivision}" if subdivision else country


@functools.lru_cache(maxsize=64)
def _holidays(country: str, subdivision: str):
    return holidays.country_holidays(country, subdiv=subdivision or None)


def public_holidays(country: str, subdivision: str) -> Mapping[datetime.date, str]:
    """The public holidays of a calendar, as date → name (names joined by "; " when a day has
    several). Years are computed on first use; an empty calendar has none."""
    if not country:
        return {}
    return _HolidayNames(_holidays(country.upper(), subdivision))


class _HolidayNames(Mapping):
    """A read-only view of a ``holidays`` calendar that computes a year when first asked."""

    def __init__(self, calendar):
        self._calendar = calendar

    def __getitem__(self, day: datetime.date) -> str:
        if not isinstance(day, datetime.date) or not datetime.MINYEAR < day.year < 9999:
            raise KeyError(day)
        name = self._calendar.get(day)
        if name is None:
            raise KeyError(day)
        return name

    def __contains__(self, day) -> bool:
        try:
            self[day]
        except KeyError:
            return False
        return True

    def __iter__(self):
        return iter(self._calendar)

    def __len__(self) -> int:
        return len(self._calendar)
