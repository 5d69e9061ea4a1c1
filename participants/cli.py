"""The command line's side of the contract: reading CSV files, naming participants, and
reporting a user's mistakes as ``FILE:LINE: field: message`` lines (or one plain line where no
file is involved) with exit status 1, never a traceback.

Management commands subclass :class:`StaffCommand` and raise :class:`InputError`.
"""

import csv
import datetime
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from .models import Participant
from .services import RowError, parse_iso_date

RECORDED_VIA = "command line"


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
                f"{field}: {message}"
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


def read_csv(
    path: str, required: Sequence[str], optional: Sequence[str] = ()
) -> list[tuple[int, dict[str, str]]]:
    """``(line number, values by column)`` for every non-blank row of the CSV file at ``path``.

    Line numbers are those of the file (the header is line 1). The header must name every
    ``required`` column and nothing beyond ``required`` and ``optional``.
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
            for fields in reader:
                if not any(field.strip() for field in fields):
                    continue
                if len(fields) != len(header):
                    errors.append(
                        f"{path}:{reader.line_num}: row: has {len(fields)} fields; "
                        f"the header has {len(header)}."
                    )
                    continue
                rows.append((reader.line_num, dict(zip(header, fields, strict=True))))
    except OSError as error:
        raise InputError([f"{path}: file: cannot be read ({error.strerror}).".strip()]) from None
    except UnicodeDecodeError:
        raise InputError([f"{path}: file: is not UTF-8 text."]) from None
    except csv.Error as error:
        raise InputError([f"{path}:{reader.line_num}: row: {error}."]) from None
    if errors:
        raise InputError(errors)
    return rows


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
