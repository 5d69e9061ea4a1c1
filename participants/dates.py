"""Dates people give us: read strictly as YYYY-MM-DD."""

import datetime
import re

# ``date.fromisoformat`` also reads ISO week dates (2026-W45-1) and basic dates (20260101);
# the contract is YYYY-MM-DD with ASCII digits and nothing else.
_YYYY_MM_DD = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_iso_date(value: str) -> datetime.date:
    """A date written YYYY-MM-DD; ValueError with a sentence otherwise."""
    try:
        if not _YYYY_MM_DD.fullmatch(value):
            raise ValueError
        return datetime.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(f"“{value}” is not a date (YYYY-MM-DD).") from None
