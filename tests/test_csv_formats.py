"""CSV files as spreadsheets and editors write them (issue 13, "Bad input").

A byte order mark and any line ending are read. Everything else a spreadsheet may have done to
the file is refused with one line naming the file, the line and the field, and saying what to
change: another separator (refused rather than read: a file saved with ";" was saved with that
locale's dates and numbers too), a serial or day-first date, a header with a column missing,
unknown, repeated, misnamed or blank, an empty file, bytes that are not UTF-8 (UTF-16, a
workbook, Latin-1), a quote never closed. Nothing is saved from a refused file, and a bad last
row of 10,000 is found before anything is written.
"""

import codecs
import datetime
import time
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from participants.cli import InputError
from participants.models import Participant, Site
from scheduling.models import Visit
from tests.conftest import CLERK

# The imports change data: they name the staff user who makes the change with --by.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clerk")]

D = datetime.date
NOW = datetime.datetime(2026, 3, 12, 17, tzinfo=datetime.UTC)  # Oceanside: 10:00, 12 March
HEADER = "subject_id,site_code,email,consent_date"
SITES_HEADER = "code,name,timezone,coordinator_email"
SAVE_AS = "save it from the spreadsheet as “CSV UTF-8”."
BY = ("--by", CLERK)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def people(tmp_path, protocol, site_ocn):
    """Write ``people.csv`` (text as UTF-8 with "\\n" line endings, or bytes as they are)."""

    def write(content) -> str:
        path = tmp_path / "people.csv"
        if isinstance(content, str):
            content = content.encode("utf-8")
        path.write_bytes(content)
        return str(path)

    return write


def lines(*rows: str) -> str:
    return "".join(f"{row}\n" for row in rows)


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def refused(*args) -> list[str]:
    """The lines the command prints on stderr (it exits 1)."""
    with pytest.raises(InputError) as excinfo:
        call_command(*args, stdout=StringIO(), stderr=StringIO())
    assert excinfo.value.returncode == 1
    return excinfo.value.lines


def refused_file(path: str) -> list[str]:
    """What import_participants says of the file, having saved nothing."""
    problems = refused("import_participants", path, *BY)
    assert (Participant.objects.count(), Visit.objects.count()) == (0, 0)
    return problems


def header_problems(path: str) -> list[str]:
    """The problems import_participants finds in the file's header, each on a line of its own
    that ends with the columns expected (whatever optional columns the command reads)."""
    problems = []
    for line in refused_file(path):
        assert line.startswith(f"{path}:1: header: "), line
        problem, expected = line.removeprefix(f"{path}:1: header: ").split("; expected ")
        assert expected.startswith(HEADER), line
        problems.append(problem)
    return problems


# Read: a byte order mark and any line ending.


@pytest.mark.parametrize("bom", [b"", codecs.BOM_UTF8], ids=["no BOM", "BOM"])
@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"], ids=["LF", "CRLF", "CR"])
def test_a_byte_order_mark_and_any_line_ending_are_read(people, bom, ending):
    rows = [HEADER, "SLE-001-101-001,OCN,p1@example.org,2026-01-05"]
    rows.append("SLE-001-101-002,OCN,p2@example.org,2026-01-06")
    path = people(bom + ending.join(row.encode() for row in rows) + ending)
    assert run("import_participants", path, *BY) == "2 participant(s) created in SLE-001.\n"
    assert list(Participant.objects.values_list("subject_id", flat=True).order_by("pk")) == [
        "SLE-001-101-001",
        "SLE-001-101-002",
    ]


@pytest.mark.parametrize("ending", ["\r\n", "\r"], ids=["CRLF", "CR"])
def test_lines_are_counted_the_same_whatever_the_line_ending(people, ending):
    rows = [HEADER, "SLE-001-101-001,OCN,p1@example.org,2026-01-05", ""]
    rows.append("SLE-001-101-002,XXX,p2@example.org,2026-01-06")
    path = people(codecs.BOM_UTF8 + ending.join(rows).encode() + ending.encode())
    assert refused_file(path) == [f"{path}:4: site_code: “XXX” is not a site code."]


def test_a_sites_file_saved_by_excel_with_a_bom_windows_line_endings_and_quotes_is_read(tmp_path):
    path = tmp_path / "sites.csv"
    path.write_bytes(
        codecs.BOM_UTF8
        + f"{SITES_HEADER},address\r\n".encode()
        + b'OCN,Oceanside,America/Los_Angeles,ocn@example.org,"100 Mission Ave, Oceanside"\r\n'
        + "BER,Charité,Europe/Berlin,ber@example.org,\r\n".encode()
    )
    assert (
        run("import_sites", str(path), *BY)
        == "2 site(s) read: 2 created, 0 updated, 0 unchanged.\n"
    )
    assert Site.objects.get(code="OCN").address == "100 Mission Ave, Oceanside"
    assert Site.objects.get(code="BER").name == "Charité"


def test_a_file_with_only_its_header_creates_no_one(people):
    assert run("import_participants", people(lines(HEADER)), *BY) == (
        "0 participant(s) created in SLE-001.\n"
    )


# Another separator: refused on the header, with what to change.


@pytest.mark.parametrize(("separator", "named"), [(";", "“;”"), ("\t", "tabs"), ("|", "“|”")])
def test_a_file_separated_by_something_else_than_commas_is_refused(people, separator, named):
    path = people(
        lines(
            HEADER.replace(",", separator),
            separator.join(["SLE-001-101-001", "OCN", "p1@example.org", "2026-01-05"]),
        )
    )
    assert header_problems(path) == [f"the file is separated by {named}; use commas"]


def test_a_semicolon_file_with_a_bom_and_quoted_columns_is_recognised(people):
    path = people(codecs.BOM_UTF8 + b'"subject_id";"site_code";"email";"consent_date"\r\n')
    assert header_problems(path) == ["the file is separated by “;”; use commas"]


# Dates a spreadsheet rewrote.


def test_a_spreadsheet_serial_date_is_named_as_such(people):
    path = people(
        lines(
            HEADER,
            "SLE-001-101-001,OCN,p1@example.org,2026-01-05",
            "SLE-001-101-002,OCN,p2@example.org,46066",
            "SLE-001-101-003,OCN,p3@example.org,46027.75",
        )
    )
    assert refused_file(path) == [
        f"{path}:3: consent_date: “46066” is not a date (YYYY-MM-DD); it looks like a "
        "spreadsheet serial date (2026-02-13): format the column as YYYY-MM-DD before saving.",
        f"{path}:4: consent_date: “46027.75” is not a date (YYYY-MM-DD); it looks like a "
        "spreadsheet serial date (2026-01-05): format the column as YYYY-MM-DD before saving.",
    ]


@pytest.mark.parametrize("value", ["13/02/2026", "2/13/2026", "13.02.2026", "13/02/26"])
def test_a_date_written_day_or_month_first_is_named_as_a_spreadsheets(people, value):
    path = people(lines(HEADER, f"SLE-001-101-001,OCN,p1@example.org,{value}"))
    assert refused_file(path) == [
        f"{path}:2: consent_date: “{value}” is not a date (YYYY-MM-DD); it looks like a date a "
        "spreadsheet wrote with the day or month first: format the column as YYYY-MM-DD "
        "before saving."
    ]


@pytest.mark.parametrize("value", ["2026", "20260213", "12", "99999"])
def test_a_number_that_is_no_trial_days_serial_is_only_not_a_date(people, value):
    path = people(lines(HEADER, f"SLE-001-101-001,OCN,p1@example.org,{value}"))
    assert refused_file(path) == [f"{path}:2: consent_date: “{value}” is not a date (YYYY-MM-DD)."]


def test_a_serial_date_on_the_command_line_is_named_too(make_participant):
    make_participant(subject_id="SLE-001-101-004")
    assert refused("transition", "SLE-001-101-004", "enrolled", "--on", "46066", *BY) == [
        "on: “46066” is not a date (YYYY-MM-DD); it looks like a spreadsheet serial date "
        "(2026-02-13): format the column as YYYY-MM-DD before saving."
    ]


# A long file whose last row is bad: refused before anything is written.


def long_file(last: str, rows: int = 10_000) -> str:
    """A header, ``rows`` - 1 good rows, and ``last``."""
    good = (
        f"SLE-001-{n // 1000:03d}-{n % 1000:03d},OCN,p{n}@example.org,2026-01-05"
        for n in range(1, rows)
    )
    return lines(HEADER, *good, last)


FUTURE = "consent_date: 2026-03-13 is in the future at site OCN, where today is 2026-03-12."


@pytest.mark.parametrize(
    ("last", "problem"),
    [
        ("SLE-001-999-999,OCN,p@example.org,2026-03-13", FUTURE),
        ("SLE-001-999-999,OCN,p@example.org", "row: has 3 fields; the header has 4."),
    ],
    ids=["in the future", "a field short"],
)
def test_a_bad_last_row_of_10000_is_reported_at_once_and_nothing_is_saved(people, last, problem):
    path = people(long_file(last))
    started = time.perf_counter()
    assert refused_file(path) == [f"{path}:10001: {problem}"]
    # Measured, not asserted (benchmarks are not tests): shown with pytest -s.
    elapsed = time.perf_counter() - started
    print(f"\n10,000 rows, the last one bad ({problem.split(':')[0]}): refused in {elapsed:.1f} s")


# Columns: missing, unknown, repeated, misnamed, blank.


@pytest.mark.parametrize(
    ("header", "problems"),
    [
        ("subject_id,site_code,email", ["missing column consent_date"]),
        (f"{HEADER},notes", ["unknown column notes"]),
        (f"{HEADER},email", ["column email appears twice"]),
        ("subject_id,site_code,Email,consent_date", ["column Email must be named email"]),
        (
            "subject id,site_code,email,Consent Date",
            [
                "column subject id must be named subject_id",
                "column Consent Date must be named consent_date",
            ],
        ),
        (f"{HEADER},", ["column 5 has no name (delete the empty column)"]),
        (
            "subject_id,email,email,notes",
            [
                "missing column site_code, consent_date",
                "unknown column notes",
                "column email appears twice",
            ],
        ),
    ],
)
def test_a_bad_header_is_named_on_line_1(people, header, problems):
    path = people(lines(header, "SLE-001-101-001,OCN,p1@example.org,2026-01-05"))
    assert header_problems(path) == problems


def test_a_row_with_more_fields_than_the_header_is_named_by_line(people):
    path = people(
        lines(
            HEADER,
            "SLE-001-101-001,OCN,p1@example.org,2026-01-05",
            "SLE-001-101-002,OCN,p2@example.org,2026-01-05,extra",
        )
    )
    assert refused_file(path) == [f"{path}:3: row: has 5 fields; the header has 4."]


@pytest.mark.parametrize(
    "content",
    [b"", codecs.BOM_UTF8, b"\n\n", b"  \r\n,,,\r\n"],
    ids=["no bytes", "only a BOM", "blank lines", "blank fields"],
)
def test_an_empty_file_is_one_line(people, content):
    path = people(content)
    assert header_problems(path) == ["the file is empty"]


def test_a_header_below_a_blank_first_line_is_named(people):
    path = people(lines("", HEADER, "SLE-001-101-001,OCN,p1@example.org,2026-01-05"))
    assert header_problems(path) == ["line 1 is blank: the header must be the first line"]


# Bytes that are not UTF-8.


def test_a_latin_1_field_is_named_by_line_and_column_as_windows_1252_reads_it(people):
    path = people(
        lines(HEADER, "SLE-001-101-001,OCN,p1@example.org,2026-01-05").encode()
        + "SLE-001-101-002,OCN,josé@example.org,2026-01-05\n".encode("latin-1")
    )
    assert refused_file(path) == [
        f"{path}:3: email: is not UTF-8 text (byte 0xE9; in Windows-1252 it reads "
        f"“josé@example.org”); {SAVE_AS}"
    ]


def test_windows_1252_quotes_in_a_sites_file_are_named(tmp_path):
    path = tmp_path / "sites.csv"
    path.write_bytes(
        f"{SITES_HEADER}\nOCN,".encode() + "“Oceanside”".encode("cp1252") + b",UTC,o@example.org\n"
    )
    with pytest.raises(InputError) as excinfo:
        call_command("import_sites", str(path), *BY, stdout=StringIO(), stderr=StringIO())
    assert excinfo.value.lines == [
        f"{path}:2: name: is not UTF-8 text (byte 0x93; in Windows-1252 it reads "
        f"““Oceanside””); {SAVE_AS}"
    ]
    assert not Site.objects.exists()


def test_a_latin_1_header_is_named_on_line_1(people):
    path = people("subject_id,site_code,email,date_de_consentement_é\n".encode("latin-1"))
    assert refused_file(path) == [
        f"{path}:1: header: is not UTF-8 text (byte 0xE9; in Windows-1252 it reads "
        f"“date_de_consentement_é”); {SAVE_AS}"
    ]


def test_utf_16_text_is_named(people):
    path = people(lines(HEADER, "SLE-001-101-001,OCN,p1@example.org,2026-01-05").encode("utf-16"))
    assert refused_file(path) == [f"{path}:1: file: is UTF-16 text, not UTF-8; {SAVE_AS}"]


def test_utf_16_text_without_a_byte_order_mark_is_named(people):
    path = people(lines(HEADER).encode("utf-16-le"))
    assert refused_file(path) == [
        f"{path}:1: header: holds NUL bytes, as UTF-16 text does; {SAVE_AS}"
    ]


def test_a_workbook_is_not_a_csv_file(people):
    path = people(b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + bytes(range(256)))
    assert refused_file(path) == [f"{path}:1: file: is a spreadsheet workbook, not CSV; {SAVE_AS}"]


# Quotes and sizes.


def test_a_quote_never_closed_is_named_on_the_line_it_opens(people):
    path = people(
        lines(
            HEADER,
            "SLE-001-101-001,OCN,p1@example.org,2026-01-05",
            'SLE-001-101-002,OCN,"p2@example.org,2026-01-05',
            "SLE-001-101-003,OCN,p3@example.org,2026-01-05",
        )
    )
    assert refused_file(path) == [
        f"{path}:3: row: a quote opened in this row is never closed; the file ends inside it."
    ]


def test_text_after_a_closing_quote_is_named(people):
    path = people(lines(HEADER, 'SLE-001-101-001,OCN,"p1"@example.org,2026-01-05'))
    assert refused_file(path) == [
        f"{path}:2: row: a quoted field goes on after its closing quote; inside quotes write a "
        'quote twice (""), or quote the whole field.'
    ]


def test_a_huge_field_is_named_by_line_and_a_huge_value_is_shown_by_its_start(people):
    path = people(lines(HEADER, f"SLE-001-101-001,OCN,p1@example.org,2026-01-05{'9' * 200_000}"))
    assert refused_file(path) == [f"{path}:2: row: a field is longer than 131,072 characters."]
    path = people(lines(HEADER, f"SLE-001-101-001,{'X' * 5_000},p1@example.org,2026-01-05"))
    assert refused_file(path) == [f"{path}:2: site_code: “{'X' * 80}…” is not a site code."]
