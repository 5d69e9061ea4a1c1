"""Reading a CSV file given to a command: checked down to its header, its rows then read lazily,
a chunk at a time, each with the line of the file it starts on.

The file is UTF-8 (a byte order mark is fine) with commas and any line endings; its header
names every required column once and nothing unknown. A file that cannot be read this way
stops with one ``FILE:LINE: field: message`` line (:class:`cli.InputError`) naming what to
change: not UTF-8 (the line and field of the first such byte), UTF-16, a workbook, another
separator, a column named another way, a quote never closed. What the rows mean is the import
services' (``imports``); a file imported all or nothing is ``file_imports``.
"""

import codecs
import csv
import io
import itertools
import re
from collections.abc import Sequence
from pathlib import Path

from .cli import LONGEST_QUOTE, InputError
from .imports import RowError

# A file is read, checked and saved this many rows at a time: memory stays flat whatever the
# file's size (a 50 MB file took 1.5-2.2 GB when it was read whole).
CHUNK_ROWS = 1000


class CsvFile:
    """A CSV file checked down to its header, whose rows are read lazily, in chunks, each time
    :meth:`chunks` is called (an import reads the file twice: once to check every row, once
    to save them). A problem found further in (a quote never closed, bytes that are not UTF-8)
    stops the reading with one line, as it does at the header."""

    def __init__(self, path: str, header: list[str], data_start: int):
        self.path = path
        self.header = header
        self.data_start = data_start  # the line after the header

    def chunks(self, size: int | None = None):
        """``(rows, errors)`` for every ``size`` (``CHUNK_ROWS``) rows of the file: ``rows``
        are ``(line, values by column)``, ``errors`` the rows that could not be read as rows."""
        size = size or CHUNK_ROWS
        rows, errors = [], []
        for line, fields in self._records():
            if len(fields) != len(self.header):
                errors.append(
                    RowError(
                        line,
                        "row",
                        f"has {len(fields)} fields; the header has {len(self.header)}.",
                    )
                )
            else:
                rows.append((line, dict(zip(self.header, fields, strict=True))))
            if len(rows) + len(errors) >= size:
                yield rows, errors
                rows, errors = [], []
        if rows or errors:
            yield rows, errors

    def _records(self):
        with _open_text(self.path) as stream:
            try:
                reader = csv.reader(stream, strict=True)
                start = 1
                for fields in reader:
                    line, start = start, reader.line_num + 1
                    if line < self.data_start or not any(field.strip() for field in fields):
                        continue
                    yield line, fields
            except csv.Error as error:
                raise InputError([f"{self.path}:{start}: row: {_csv_problem(error)}"]) from None
            except UnicodeDecodeError:
                raise _not_utf8(self.path) from None


def read_csv(path: str, required: Sequence[str], optional: Sequence[str] = ()) -> CsvFile:
    """The CSV file at ``path``, its header checked; its rows are read by :meth:`CsvFile.chunks`
    with the line of the file each starts on (the header is line 1). The file is UTF-8 (a byte
    order mark is fine) with commas and any line endings; the header must name every
    ``required`` column once and nothing beyond ``required`` and ``optional``. A file that
    cannot be read this way stops with one line naming what to change: not UTF-8 (the line
    and field of the first such byte), UTF-16, a workbook, another separator, a quote never
    closed.
    """
    expected = ",".join(required) + (f" (optional: {','.join(optional)})" if optional else "")
    known = {*required, *optional}
    with _open_text(path) as stream:
        try:
            first_line = stream.readline()
            if "\x00" in first_line:
                # UTF-16 without a byte order mark: every other byte of an English header is NUL.
                raise InputError(
                    [f"{path}:1: header: holds NUL bytes, as UTF-16 text does; {_SAVE_AS}."]
                )
            reader = csv.reader(itertools.chain([first_line], stream), strict=True)
            problems = _separator_problems(first_line, known)
            if not problems:
                header = [column.strip() for column in next(reader, [])]
                problems = _header_problems(header, required, known, first_line, stream)
            if problems:
                raise InputError(f"{path}:1: header: {p}; expected {expected}." for p in problems)
            data_start = reader.line_num + 1
        except csv.Error as error:
            raise InputError([f"{path}:1: row: {_csv_problem(error)}"]) from None
        except UnicodeDecodeError:
            raise _not_utf8(path) from None
    return CsvFile(path, header, data_start)


def _open_text(path: str):
    """The file as UTF-8 text read as it is needed (a byte order mark is dropped); a UTF-16 file
    or a spreadsheet workbook is refused at once, from its first bytes."""
    try:
        raw = open(path, "rb")  # noqa: SIM115 - closed by the text wrapper's context
    except OSError as error:
        reason = error.strerror or str(error)
        raise InputError([f"{path}: file: cannot be read ({reason})."]) from None
    except ValueError:  # a NUL byte in the name: no file has one
        raise InputError(
            [f"{path}: file: cannot be read (a file name holds no NUL byte)."]
        ) from None
    try:
        start = raw.read(4)
        raw.seek(0)
    except OSError as error:
        raw.close()
        raise InputError([f"{path}: file: cannot be read ({error.strerror or error})."]) from None
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raw.close()
        raise InputError([f"{path}:1: file: is UTF-16 text, not UTF-8; {_SAVE_AS}."])
    if start.startswith(b"PK\x03\x04") or start.startswith(b"\xd0\xcf\x11\xe0"):
        raw.close()
        raise InputError([f"{path}:1: file: is a spreadsheet workbook, not CSV; {_SAVE_AS}."])
    return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")


def _not_utf8(path: str) -> "InputError":
    """Where the first byte that is not UTF-8 is (read again, as bytes, only then)."""
    data = _bytes_of(path)
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line, field, value = _where_not_utf8(data, error.start)
        return InputError(
            [
                f"{path}:{line}: {field}: is not UTF-8 text (byte 0x{data[error.start]:02X}; in "
                f"Windows-1252 it reads “{value}”); {_SAVE_AS}."
            ]
        )
    return InputError([f"{path}: file: is not UTF-8 text; {_SAVE_AS}."])


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


# Other separators a spreadsheet writes "CSV" with (";" where the comma is the decimal mark).
_OTHER_SEPARATORS = {";": "“;”", "\t": "tabs", "|": "“|”"}


def _separator_problems(text: str, known: set[str]) -> list[str]:
    """A first line that names columns only when split at another separator than commas:
    refused, not read, for a file saved with another separator was saved with the same
    locale's dates and numbers too."""
    first_line = (text.splitlines() or [""])[0]  # ``text``: the file's first line

    def columns(separator: str) -> set[str]:
        return {column.strip().strip('"').strip() for column in first_line.split(separator)}

    if columns(",") & known:
        return []
    for separator, name in _OTHER_SEPARATORS.items():
        if len(columns(separator)) > 1 and columns(separator) & known:
            return [f"the file is separated by {name}; use commas"]
    return []


def _header_problems(
    header: list[str], required, known: set[str], first_line: str, rest
) -> list[str]:
    if not any(header):
        # Anything but blanks further on (``rest``: the lines after the first, read lazily)?
        if any(re.sub(r'[\s,"]', "", text) for text in itertools.chain([first_line], rest)):
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
    return text if len(text) <= LONGEST_QUOTE else f"{text[:LONGEST_QUOTE]}…"


def _normalised(column: str) -> str:
    return column.casefold().replace(" ", "_").replace("-", "_")
