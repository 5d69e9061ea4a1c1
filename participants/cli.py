"""The command line's side of the contract: reading CSV files, naming participants, and
reporting a user's mistakes as ``FILE:LINE: field: message`` lines (or one plain line where no
file is involved) with exit status 1, never a traceback.

Management commands subclass :class:`StaffCommand` and raise :class:`InputError`.
"""

import csv
import datetime
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import NamedTuple, TypeVar

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from .dates import parse_iso_date
from .models import Participant
from .services import ImportRejected, RowError

RECORDED_VIA = "command line"
T = TypeVar("T")
# A local time of day as staff type it: two digits, a colon, two digits (09:30), nothing else.
_HH_MM = re.compile(r"([0-9]{2}):([0-9]{2})")


class InputError(CommandError):
    """Bad input: ``lines`` are printed to stderr as they are, and the command exits 1."""

    def __init__(self, lines: Iterable[str]):
        self.lines = list(lines)
        super().__init__("\n".join(self.lines), returncode=1)

    @classmethod
    def from_rows(cls, path, errors: Sequence[RowError]) -> "InputError":
        return cls(f"{path}:{e.line}: {e.field}: {e.message}" for e in errors)

    @classmethod
    def from_validation(cls, error: ValidationError) -> "InputError":
        if hasattr(error, "error_dict"):
            return cls(
                message if field == NON_FIELD_ERRORS else f"{field}: {message}"
                for field, messages in error.message_dict.items()
                for message in messages
            )
        return cls(error.messages)


class StaffCommand(BaseCommand):
    """A command for site staff and their scripts: exit 1 and plain lines on bad input."""

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        from_command_line = parser.called_from_command_line

        def error(message):
            # argparse would print usage and exit 2; the contract is one line and exit 1.
            if from_command_line:
                sys.stderr.write(f"{message} (see manage.py {subcommand} --help)\n")
                sys.exit(1)
            raise InputError([message])

        parser.error = error
        return parser

    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except InputError as error:
            if not self._called_from_command_line:
                raise
            # Without the "CommandError: " prefix Django would add to the first line.
            self.stderr.write("\n".join(error.lines))
            sys.exit(error.returncode)


class CsvFile(NamedTuple):
    path: str
    rows: list[tuple[int, dict[str, str]]]  # (line number, values by column)
    errors: list[RowError]  # rows that could not be read as rows


def read_csv(path: str, required: Sequence[str], optional: Sequence[str] = ()) -> CsvFile:
    """Every non-blank row of the CSV file at ``path``, with the line of the file it starts on
    (the header is line 1). The header must name every ``required`` column and nothing beyond
    ``required`` and ``optional``; a bad header or an unreadable file stops here.
    """
    expected = ",".join(required) + (f" (optional: {','.join(optional)})" if optional else "")
    try:
        with Path(path).open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = [column.strip() for column in next(reader, [])]
            problems = _header_problems(header, required, optional)
            if problems:
                raise InputError(f"{path}:1: header: {p}; expected {expected}." for p in problems)
            rows, errors = [], []
            start = reader.line_num + 1  # a row's first line (a quoted field may span lines)
            for fields in reader:
                line, start = start, reader.line_num + 1
                if not any(field.strip() for field in fields):
                    continue
                if len(fields) != len(header):
                    errors.append(
                        RowError(
                            line, "row", f"has {len(fields)} fields; the header has {len(header)}."
                        )
                    )
                    continue
                rows.append((line, dict(zip(header, fields, strict=True))))
    except OSError as error:
        raise InputError([f"{path}: file: cannot be read ({error.strerror}).".strip()]) from None
    except UnicodeDecodeError:
        raise InputError([f"{path}: file: is not UTF-8 text."]) from None
    except csv.Error as error:
        raise InputError([f"{path}:{reader.line_num}: row: {error}."]) from None
    return CsvFile(path, rows, errors)


def import_all_or_nothing(table: CsvFile, save: Callable[[list], T]) -> T:
    """``save(rows)`` (an import service) for a file, reporting its errors together with the
    file's own by line; if there is any, nothing is saved."""
    try:
        with transaction.atomic():
            result = save(table.rows)
            if table.errors:
                raise ImportRejected([])
    except ImportRejected as rejected:
        errors = sorted([*table.errors, *rejected.errors], key=lambda error: error.line)
        raise InputError.from_rows(table.path, errors) from None
    return result


def _header_problems(header: list[str], required, optional) -> list[str]:
    if not any(header):
        return ["the file is empty"]
    problems = []
    missing = [column for column in required if column not in header]
    if missing:
        problems.append(f"missing column {', '.join(missing)}")
    unknown = [column for column in header if column not in (*required, *optional)]
    if unknown:
        problems.append(f"unknown column {', '.join(unknown)}")
    repeated = sorted({column for column in header if header.count(column) > 1})
    if repeated:
        problems.append(f"column {', '.join(repeated)} appears twice")
    return problems


def date_option(value: str, field: str) -> datetime.date:
    try:
        return parse_iso_date(value)
    except ValueError as error:
        raise InputError([f"{field}: {error}"]) from None


def time_option(value: str, field: str) -> datetime.time:
    """A local time written HH:MM, 00:00 to 23:59 (not 9:30, not 09:30:00, not 24:00)."""
    match = _HH_MM.fullmatch(value)
    hour, minute = (int(match[1]), int(match[2])) if match else (-1, -1)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise InputError([f"{field}: “{value}” is not a time (HH:MM, 00:00 to 23:59)."])
    return datetime.time(hour, minute)


def participant_named(subject_id: str, protocol_code: str | None = None) -> Participant:
    """The participant with this subject id (within ``protocol_code`` when given)."""
    found = Participant.objects.select_related("site", "protocol").filter(subject_id=subject_id)
    if protocol_code:
        found = found.filter(protocol__code=protocol_code)
    found = list(found[:2])
    if not found:
        where = f" in protocol {protocol_code}" if protocol_code else ""
        raise InputError([f"subject_id: there is no participant {subject_id}{where}."])
    if len(found) > 1:
        raise InputError(
            [f"subject_id: {subject_id} is in more than one protocol; name one with --protocol."]
        )
    return found[0]
