"""The command line's side of the contract: reading CSV files, naming participants, and
reporting a user's mistakes as ``FILE:LINE: field: message`` lines (or one plain line where no
file is involved) with exit status 1, never a traceback.

Management commands subclass :class:`StaffCommand` and raise :class:`InputError`. Those that
change data name who makes the change with ``--by USERNAME`` (:func:`add_by_option`,
:func:`staff_user_named`): the history and the transitions record that user, as the audit trail
requires who changed what and why.
"""

import codecs
import csv
import datetime
import io
import re
import sys
import unicodedata
import zoneinfo
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import NamedTuple, TypeVar

from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from .dates import date_problem, parse_iso_date
from .models import Participant, Protocol, Site
from .services import ImportRejected, RowError
from .validators import LINE_BREAKS_AND_TABS, control_character_problem

RECORDED_VIA = "command line"
T = TypeVar("T")
# A local time of day as staff type it: two digits, a colon, two digits (09:30), nothing else.
_HH_MM = re.compile(r"([0-9]{2}):([0-9]{2})")


class InputError(CommandError):
    """Bad input: ``lines`` are printed to stderr, and the command exits 1. Each stays one line
    of printable text whatever it quotes (see :func:`printable`)."""

    def __init__(self, lines: Iterable[str]):
        self.lines = [printable(line) for line in lines]
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


# Characters shown escaped in what a command prints: control characters (a line break would
# split a message, an escape sequence would drive the terminal), format characters (a
# right-to-left override), line and paragraph separators, and the lone surrogates that stand
# for bytes of an argument that were not UTF-8.
_NOT_SHOWN = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
# A value quoted in a message (“…”) longer than this is shown by its start.
_LONGEST_QUOTE = 80
_QUOTED = re.compile(f"“([^”]{{{_LONGEST_QUOTE + 1},}})”")


def printable(text: str) -> str:
    """``text`` as one line of printable text: control characters written as Python escapes
    (\\n, \\x00, \\u2028), a byte that was not UTF-8 as \\xff, a quoted value over 80
    characters cut to its start."""
    if not text.isprintable():
        text = "".join(_escaped(char) for char in text)
    return _QUOTED.sub(lambda quoted: f"“{quoted[1][:_LONGEST_QUOTE]}…”", text)


def _escaped(char: str) -> str:
    if unicodedata.category(char) not in _NOT_SHOWN:
        return char
    if 0xDC80 <= ord(char) <= 0xDCFF:  # surrogateescape: the byte it stands for
        return f"\\x{ord(char) - 0xDC00:02x}"
    return char.encode("unicode_escape").decode("ascii")


def utf8_argument(value: str, field: str) -> str:
    """An argument the terminal passed as UTF-8: bytes that are not reach Python as lone
    surrogates, which PostgreSQL can neither store nor look up."""
    if any(0xD800 <= ord(char) <= 0xDFFF for char in value):
        raise InputError(
            [f"{field}: holds bytes that are not UTF-8 text (check the terminal's encoding)."]
        )
    return value


def text_argument(value: str, field: str, *, lines: bool = False) -> str:
    """An argument of text, in UTF-8: one line of printable text (``lines``: line breaks and
    tabs too, as in a reason). A NUL byte is never stored (PostgreSQL refuses it) nor found."""
    problem = control_character_problem(
        utf8_argument(value, field), allowed=LINE_BREAKS_AND_TABS if lines else ""
    )
    if problem:
        raise InputError([f"{field}: {problem}."])
    return value


class CsvFile(NamedTuple):
    path: str
    rows: list[tuple[int, dict[str, str]]]  # (line number, values by column)
    errors: list[RowError]  # rows that could not be read as rows


def read_csv(path: str, required: Sequence[str], optional: Sequence[str] = ()) -> CsvFile:
    """Every non-blank row of the CSV file at ``path``, with the line of the file it starts on
    (the header is line 1). The file is UTF-8 (a byte order mark is fine) with commas and any
    line endings; the header must name every ``required`` column once and nothing beyond
    ``required`` and ``optional``. A file that cannot be read this way stops here with one
    line naming what to change: not UTF-8 (the line and field of the first such byte),
    UTF-16, a workbook, another separator, a quote never closed.
    """
    text = _text_of(path, _bytes_of(path))
    expected = ",".join(required) + (f" (optional: {','.join(optional)})" if optional else "")
    known = {*required, *optional}
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1  # the line the row being read starts on (a quoted field may span lines)
    try:
        problems = _separator_problems(text, known)
        if not problems:
            header = [column.strip() for column in next(reader, [])]
            problems = _header_problems(header, required, known, text)
        if problems:
            raise InputError(f"{path}:1: header: {p}; expected {expected}." for p in problems)
        rows, errors = [], []
        start = reader.line_num + 1
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
    except csv.Error as error:
        raise InputError([f"{path}:{start}: row: {_csv_problem(error)}"]) from None
    return CsvFile(path, rows, errors)


def _bytes_of(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as error:
        reason = error.strerror or str(error)
        raise InputError([f"{path}: file: cannot be read ({reason})."]) from None
    except ValueError:  # a NUL byte in the name: no file has one
        raise InputError(
            [f"{path}: file: cannot be read (a file name holds no NUL byte)."]
        ) from None


_SAVE_AS = "save it from the spreadsheet as “CSV UTF-8”"


def _text_of(path: str, data: bytes) -> str:
    """The file's text: UTF-8, with or without a byte order mark."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InputError([f"{path}:1: file: is UTF-16 text, not UTF-8; {_SAVE_AS}."])
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise InputError([f"{path}:1: file: is a spreadsheet workbook, not CSV; {_SAVE_AS}."])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line, field, value = _where_not_utf8(data, error.start)
        raise InputError(
            [
                f"{path}:{line}: {field}: is not UTF-8 text (byte 0x{data[error.start]:02X}; in "
                f"Windows-1252 it reads “{value}”); {_SAVE_AS}."
            ]
        ) from None
    if "\x00" in (text.splitlines() or [""])[0]:
        # UTF-16 without a byte order mark: every other byte of a header in English is NUL.
        raise InputError([f"{path}:1: header: holds NUL bytes, as UTF-16 text does; {_SAVE_AS}."])
    return text


def _where_not_utf8(data: bytes, position: int) -> tuple[int, str, str]:
    """The line, the column (``header`` on line 1) and the field, read as Windows-1252, of the
    byte at ``position`` that is not UTF-8. Read as Latin-1 every byte is one character, so
    the CSV reader finds the field that holds it; commas, quotes and line breaks are ASCII,
    which no UTF-8 sequence holds, so the field is the one the byte is in."""
    text = data.decode("latin-1")
    reader = csv.reader(io.StringIO(text, newline=""))
    header, start = None, 1
    try:
        for fields in reader:
            line, start = start, reader.line_num + 1
            if header is None:
                header = [field.strip() for field in fields]
            for number, field in enumerate(fields):
                raw = field.encode("latin-1")
                try:
                    raw.decode("utf-8-sig" if line == 1 and number == 0 else "utf-8")
                except UnicodeDecodeError:
                    column = "header" if line == 1 else _column_name(header, number)
                    return line, column, raw.decode("cp1252", errors="replace")
    except csv.Error:
        pass
    return data[:position].count(b"\n") + 1, "file", ""


def _column_name(header: list[str], number: int) -> str:
    if number < len(header) and header[number]:
        return header[number]
    return f"column {number + 1}"


def _csv_problem(error: csv.Error) -> str:
    """The csv module's complaint in the words of someone who edits the file."""
    message = str(error)
    if "expected after" in message:
        return (
            "a quoted field goes on after its closing quote; inside quotes write a quote twice "
            '(""), or quote the whole field.'
        )
    if "unexpected end of data" in message:
        return "a quote opened in this row is never closed; the file ends inside it."
    if limit := re.search(r"field larger than field limit \((\d+)\)", message):
        return f"a field is longer than {int(limit[1]):,} characters."
    return f"cannot be read as CSV ({message})."


def import_all_or_nothing(
    table: CsvFile,
    save: Callable[[list], T],
    check: Callable[[list], list[RowError]] | None = None,
) -> T:
    """``save(rows)`` (an import service) for a file, reporting its errors together with the
    file's own by line; if there is any, nothing is saved. A file with a row that could not be
    read (``table.errors``) is refused whatever its other rows hold: ``check(rows)``, when
    given, then finds without writing anything every problem ``save`` would find in them (the
    service's own first pass, not a copy of its rules), so that a long file whose only bad row
    has a field too few is refused before the first write rather than after every other row
    was saved and rolled back. Otherwise ``save`` alone checks the rows; an import service
    that checks every row before its first write refuses a bad row before writing anything."""
    if table.errors and check is not None:
        errors = sorted([*table.errors, *check(table.rows)], key=lambda error: error.line)
        raise InputError.from_rows(table.path, errors)
    try:
        with transaction.atomic():
            result = save(table.rows)
            if table.errors:
                raise ImportRejected([])
    except ImportRejected as rejected:
        errors = sorted([*table.errors, *rejected.errors], key=lambda error: error.line)
        raise InputError.from_rows(table.path, errors) from None
    return result


# Other separators a spreadsheet writes "CSV" with (";" where the comma is the decimal mark).
_OTHER_SEPARATORS = {";": "“;”", "\t": "tabs", "|": "“|”"}


def _separator_problems(text: str, known: set[str]) -> list[str]:
    """A first line that names columns only when split at another separator than commas:
    refused, not read, for a file saved with another separator was saved with the same
    locale's dates and numbers too."""
    first_line = (text.splitlines() or [""])[0]

    def columns(separator: str) -> set[str]:
        return {column.strip().strip('"').strip() for column in first_line.split(separator)}

    if columns(",") & known:
        return []
    for separator, name in _OTHER_SEPARATORS.items():
        if len(columns(separator)) > 1 and columns(separator) & known:
            return [f"the file is separated by {name}; use commas"]
    return []


def _header_problems(header: list[str], required, known: set[str], text: str) -> list[str]:
    if not any(header):
        if re.sub(r'[\s,"]', "", text):
            return ["line 1 is blank: the header must be the first line"]
        return ["the file is empty"]
    # A known column written another way (Email, "consent date", " email") is named once.
    renamed = {
        column: name
        for column in header
        for name in known
        if column not in known and name not in header and _normalised(column) == name
    }
    problems = []
    missing = [c for c in required if c not in header and c not in renamed.values()]
    if missing:
        problems.append(f"missing column {', '.join(missing)}")
    problems.extend(f"column {_shortened(c)} must be named {name}" for c, name in renamed.items())
    unknown = [column for column in header if column and column not in {*known, *renamed}]
    if unknown:
        problems.append(f"unknown column {', '.join(_shortened(c) for c in unknown)}")
    blank = [str(number) for number, column in enumerate(header, 1) if not column]
    if blank:
        problems.append(f"column {', '.join(blank)} has no name (delete the empty column)")
    repeated = sorted({column for column in header if column and header.count(column) > 1})
    if repeated:
        problems.append(f"column {', '.join(repeated)} appears twice")
    return problems


def _shortened(text: str) -> str:
    return text if len(text) <= _LONGEST_QUOTE else f"{text[:_LONGEST_QUOTE]}…"


def _normalised(column: str) -> str:
    return column.casefold().replace(" ", "_").replace("-", "_")


def without_unreadable_time_zones(table: CsvFile) -> CsvFile:
    """``table`` with the rows whose time zone the site's own validator cannot judge moved to
    its errors: a name too long for a file name, or one naming a folder of the time-zone
    database (``Europe``), makes ``zoneinfo`` raise OSError, which ``validate_time_zone`` lets
    through as a traceback. The other rows still go to the import, so that every problem of
    the file is reported together. (Until the validator catches OSError too.)"""
    rows, errors = [], list(table.errors)
    for line, values in table.rows:
        value = (values.get("timezone") or "").strip()
        try:
            zoneinfo.ZoneInfo(value)
        except OSError:
            message = f"“{value}” is not an IANA time zone such as Europe/Berlin."
            errors.append(RowError(line, "timezone", message))
            continue
        except (ValueError, zoneinfo.ZoneInfoNotFoundError):
            pass  # the validator's to name
        rows.append((line, values))
    return CsvFile(table.path, rows, errors)


def date_option(value: str, field: str) -> datetime.date:
    try:
        return parse_iso_date(value)
    except ValueError:
        raise InputError([f"{field}: {date_problem(value)}"]) from None


def time_option(value: str, field: str) -> datetime.time:
    """A local time written HH:MM, 00:00 to 23:59 (not 9:30, not 09:30:00, not 24:00)."""
    match = _HH_MM.fullmatch(value)
    hour, minute = (int(match[1]), int(match[2])) if match else (-1, -1)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise InputError([f"{field}: “{value}” is not a time (HH:MM, 00:00 to 23:59)."])
    return datetime.time(hour, minute)


def participant_named(subject_id: str, protocol_code: str | None = None) -> Participant:
    """The participant with this subject id (within ``protocol_code`` when given)."""
    text_argument(subject_id, "subject_id")
    found = Participant.objects.select_related("site", "protocol").filter(subject_id=subject_id)
    if protocol_code:
        found = found.filter(protocol__code=text_argument(protocol_code, "protocol"))
    found = list(found[:2])
    if not found:
        where = f" in protocol {protocol_code}" if protocol_code else ""
        raise InputError([f"subject_id: there is no participant {subject_id}{where}."])
    if len(found) > 1:
        raise InputError(
            [f"subject_id: {subject_id} is in more than one protocol; name one with --protocol."]
        )
    return found[0]


def protocol_named(code: str) -> Protocol:
    text_argument(code, "protocol")
    protocol = Protocol.objects.filter(code=code).first()
    if protocol is None:
        raise InputError([f"protocol: there is no protocol {code}."])
    return protocol


BY_HELP = (
    "Required: the username of the active staff user making the change, recorded as who made "
    "it in the history (the audit trail names who changed what and why)."
)


def add_by_option(parser) -> None:
    """``--by USERNAME``, required: a command that changes data records who made the change.
    It is looked up (:func:`staff_user_named`) after the command's other arguments, just
    before the change is made."""
    parser.add_argument("--by", metavar="USERNAME", required=True, help=BY_HELP)


def staff_user_named(username: str, field: str = "by"):
    """The active staff user ``username`` (``--by``): who a command's change is recorded as
    made by. A user who does not exist, whose account is inactive or who is not staff is
    refused in one line naming the option."""
    text_argument(username, field)
    user_model = get_user_model()
    user = user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).first()
    if user is None:
        raise InputError([f"{field}: there is no user {username}."])
    if not user.is_active:
        raise InputError([f"{field}: the user {username} is inactive."])
    if not user.is_staff:
        raise InputError([f"{field}: the user {username} is not staff."])
    return user


def site_named(code: str, field: str = "site") -> Site:
    text_argument(code, field)
    site = Site.objects.filter(code=code).first()
    if site is None:
        raise InputError([f"{field}: there is no site {code}."])
    return site
