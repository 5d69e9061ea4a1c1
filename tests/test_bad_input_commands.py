"""Every management command of the project fed malformed input (issue 13, "Bad input").

The contract (README, "Site staff: the command line"): a command exits 0, or 1 with plain
lines on stderr (``FILE:LINE: field: message`` for a file); it never prints a traceback and
never leaves a half-saved state. Hypothesis draws the arguments (and, for the imports, the
bytes of the CSV file) from text, bytes, dates, ids, control characters and huge values, with
enough well-formed values mixed in to reach the services. Each run is compared with a dump of
every table of the database taken just before it.

The commands are found with ``get_commands()``: a new command of participants or scheduling
fails :func:`test_every_command_of_the_project_is_fed_bad_input` until it has a strategy here.
In-process runs go through ``call_command`` (what a real process prints is worked out from the
exception the command raised); a few real ``manage.py`` processes check that working-out.
"""

import csv
import datetime
import io
import json
import os
import re
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.core.management import CommandError, call_command, get_commands
from django.db import connection, transaction
from hypothesis import HealthCheck, currently_in_test_context, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from participants.cli import InputError
from participants.lifecycle import record_transition
from participants.models import Status
from tests.conftest import CLERK
from tests.databases import process_database_url
from tests.factories import SiteFactory, enrol
from tests.passwords import reused_password_hashes
from tests.tables import table_digests

pytestmark = pytest.mark.django_db

D = datetime.date
NOW = datetime.datetime(2026, 3, 12, 17, tzinfo=datetime.UTC)  # Oceanside: 10:00, 12 March
SUBJECT = "SLE-001-101-001"  # in treatment since 2026-03-02, at OCN
PROJECT_APPS = ("participants", "scheduling")

# Each example runs in a savepoint rolled back at its end, so the function-scoped fixtures
# (the clock, the participant, tmp_path) are the same for every example, as the health check
# wants to be sure of.
BAD_INPUT = hypothesis_settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def project_commands() -> list[str]:
    return sorted(name for name, app in get_commands().items() if app in PROJECT_APPS)


# What a user may type or a file may hold.

CONTROL = st.sampled_from(["\x00", "\t", "\n", "\r", "\r\n", "\x1b[2J", "\x85", "\u2028", "\x7f"])
# Bytes a terminal passed that are not UTF-8 reach Python as lone surrogates (surrogateescape).
UNDECODABLE = st.sampled_from(["\udcff", "\udce9", "caf\udce9", "\udcc3("])
HUGE = st.sampled_from(["9" * 400, "x" * 5_000, "é" * 70_000, "1" * 4_400])
NASTY_TEXT = st.one_of(
    st.text(max_size=30),
    st.text(st.characters(codec="utf-8"), max_size=12),
    CONTROL,
    UNDECODABLE,
    HUGE,
    st.lists(st.one_of(st.text(max_size=6), CONTROL, UNDECODABLE), max_size=4).map("".join),
    st.sampled_from(["", " ", "'", '"', ";", ",", "=1+1", "@SUM(A1)", "%s", "{0}", "\\", "../"]),
)


def mostly(good, bad) -> st.SearchStrategy:
    """A value that is right three times in four, so that an example with several arguments
    often has one wrong and reaches the check of that one. (Drawn by a number rather than
    with ``one_of``, which draws the branch that gives new values more often.)"""
    return st.integers(0, 3).flatmap(lambda choice: bad if choice == 3 else good)


# Mostly days that have been, as a date given for something done is.
NEAR_DATES = st.one_of(
    st.dates(D(2026, 1, 1), D(2026, 3, 12)), st.dates(D(2025, 11, 1), D(2027, 6, 30))
).map(lambda day: day.isoformat())
ODD_DATES = st.sampled_from(
    [
        "0001-01-01",
        "9999-12-31",
        "1989-12-31",
        "2031-03-13",
        "0000-00-00",
        "2026-02-29",
        "2026-13-01",
        "2026-W10-1",
        "2026-071",
        "20260302",
        "46066",
        "46066.5",
        "13/02/2026",
        "2/13/2026",
        "13.02.2026",
        "2026-03-02T09:30",
        "2026-03-02 ",
        "２０２６-０３-０２",
        "99999-01-01",
        "-2026-03-02",
    ]
)
DATES = mostly(
    NEAR_DATES, st.one_of(ODD_DATES, st.dates().map(lambda day: day.isoformat()), NASTY_TEXT)
)
SUBJECT_IDS = mostly(
    st.just(SUBJECT),
    st.one_of(
        st.sampled_from(["SLE-001-101-999", "sle-001-101-001", f" {SUBJECT}", f"{SUBJECT}\x00"]),
        st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,20}", fullmatch=True),
        NASTY_TEXT,
    ),
)
SITE_CODES = mostly(st.just("OCN"), st.one_of(st.sampled_from(["BER", "ocn", "XXX"]), NASTY_TEXT))
STATUSES = mostly(st.sampled_from(Status.values), NASTY_TEXT)
VISIT_CODES = mostly(
    st.sampled_from(["SCR", "LEUK", "INF1", "INF2", "INF3", "EOT", "FU1", "FU12"]),
    st.one_of(st.sampled_from(["UNS", "inf1", "ZZZ"]), NASTY_TEXT),
)
VERSIONS = mostly(
    st.sampled_from(["1.0", "2.0"]),
    st.one_of(st.sampled_from(["9.9", "1", "1.0.0", " 1.0"]), NASTY_TEXT),
)
DRY_RUN = st.sampled_from([[], ["--dry-run"]])
REASONS = mostly(st.sampled_from(["", "Moved away", "inspection", "Typo in the date"]), NASTY_TEXT)
PROTOCOLS = st.one_of(st.sampled_from(["SLE-001", "NOPE-1", "sle-001"]), NASTY_TEXT)
# Who makes a change (--by): the world's staff user, or one that is unknown, inactive or not staff.
USERS = mostly(
    st.just(CLERK),
    st.one_of(st.sampled_from(["nobody", "former", "visitor", "Clerk", f" {CLERK}"]), NASTY_TEXT),
)
TIMES = mostly(
    st.builds("{:02d}:{:02d}".format, st.integers(0, 23), st.integers(0, 59)),
    st.one_of(
        st.builds("{:02d}:{:02d}".format, st.integers(0, 99), st.integers(0, 99)),
        st.sampled_from(["9:30", "09:30:00", "24:00", "0930", "09h30", "٠٩:٣٠"]),
        NASTY_TEXT,
    ),
)
NUMBERS = st.one_of(
    st.integers(-(10**30), 10**30).map(str),
    st.integers(-5, 500).map(str),
    st.sampled_from(["1e3", "0x10", "1_000", " 5", "NaN", "9" * 5_000]),
    NASTY_TEXT,
)
# Stray arguments: never one Django's own options would take (--settings, --pythonpath,
# --traceback): those change the process rather than the input.
STRAY = st.sampled_from(["extra", "-x", "--bogus", "--on", "--", "-", "--help", "--verbosity=9"])


def option(name: str, values, *, required: bool = False) -> st.SearchStrategy:
    """``--name=VALUE`` (so a value beginning with "-" stays a value); an option that is not
    required is left out half the time."""
    given = values.map(lambda value: [f"--{name}={value}"])
    return given if required else st.one_of(st.just([]), given)


@st.composite
def argv(draw, *parts) -> list[str]:
    """The parts in order, then, one time in five, one part dropped or a stray argument added."""
    args = [arg for part in parts for arg in draw(part)]
    change = draw(st.sampled_from(["none"] * 8 + ["drop", "stray"]))
    if change == "drop" and args:
        del args[draw(st.integers(0, len(args) - 1))]
    elif change == "stray":
        args.insert(draw(st.integers(0, len(args))), draw(STRAY))
    return args


def one(values) -> st.SearchStrategy:
    """A positional argument: never one that argparse would read as an option."""
    return values.map(lambda value: [value.lstrip("-")])


# CSV files: a header (right, or wrong in one of the ways files are wrong), rows of fields that
# are right or wrong, written with some separator, line ending, byte order mark and encoding.


@st.composite
def csv_file(draw, values: dict) -> bytes:
    """A file of rows whose fields are right three times in four (``values``: column → a
    strategy of its field), wrong in one more way now and then."""
    columns = list(values)
    if draw(st.integers(0, 15)) == 0:
        return draw(st.binary(max_size=300))
    header = draw(
        mostly(
            st.one_of(st.just(columns), st.permutations(columns)),
            st.one_of(
                st.lists(
                    st.sampled_from([*columns, "Email", "unknown", "", " email "]), max_size=9
                ),
                st.lists(NASTY_TEXT, max_size=3),
            ),
        )
    )
    field = {column: values.get(column, NASTY_TEXT) for column in header}
    rows = draw(
        st.lists(
            mostly(
                st.tuples(*(field[column] for column in header)).map(list),
                st.lists(NASTY_TEXT, max_size=len(header) + 1),
            ),
            max_size=4,
        )
    )
    delimiter = draw(mostly(st.just(","), st.sampled_from([";", "\t", "|"])))
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = io.StringIO()
    writer = csv.writer(text, delimiter=delimiter, lineterminator=ending)
    for row in [header, *rows]:
        writer.writerow([value.encode("utf-8", "replace").decode("utf-8") for value in row])
    content = text.getvalue()
    if draw(st.integers(0, 7)) == 0:  # a cut-off file: an open quote, a half line
        content = content[: draw(st.integers(0, len(content)))]
    if draw(st.integers(0, 7)) == 0:  # a stray quote or separator typed into the file
        at = draw(st.integers(0, len(content)))
        content = content[:at] + draw(st.sampled_from(['"', ",", '""', "\r", "\n"])) + content[at:]
    encoding = draw(
        mostly(st.sampled_from(["utf-8", "utf-8-sig"]), st.sampled_from(["latin-1", "utf-16"]))
    )
    return content.encode(encoding, errors="replace")


def wrong(*values) -> st.SearchStrategy:
    return st.one_of(st.sampled_from(values), NASTY_TEXT) if values else NASTY_TEXT


SITE_VALUES = {
    "code": mostly(st.sampled_from(["OCN", "NEW", "MUC"]), wrong("ocn new", "O" * 30)),
    "name": mostly(st.sampled_from(["Oceanside", "München", "Site d’Orléans"]), wrong()),
    "timezone": mostly(
        st.sampled_from(["UTC", "Europe/Berlin", "America/Los_Angeles"]),
        wrong("Mars/Olympus", "utc", "+01:00", "Europe", "Europe/" + "x" * 300),
    ),
    "coordinator_email": mostly(st.just("c@example.org"), wrong("nobody", "a@b@example.org")),
    "address": mostly(st.sampled_from(["", "1 Clinic Road"]), wrong()),
    "phone": mostly(st.sampled_from(["", "+1 555 0100"]), wrong()),
    "open_days": mostly(st.sampled_from(["", "Mon-Fri", "Tue-Sat"]), wrong("Sun-Mon", "Mon-")),
    "holidays": mostly(st.sampled_from(["", "US-CA", "DE-BE", "FR"]), wrong("XX-YY", "US-")),
}
PARTICIPANT_VALUES = {
    "subject_id": mostly(
        st.from_regex(r"SLE-001-1[0-9]{2}-[0-9]{3}", fullmatch=True),
        wrong(SUBJECT, "=1+1", "-SLE", "S" * 50),
    ),
    "site_code": mostly(st.sampled_from(["OCN", "BER"]), wrong("XXX", "ocn")),
    "email": mostly(st.just("p@example.org"), wrong("not-an-email", "p@" + "x" * 300 + ".org")),
    "consent_date": mostly(
        st.dates(D(2026, 1, 1), D(2026, 3, 12)).map(lambda day: day.isoformat()),
        st.one_of(ODD_DATES, NEAR_DATES, NASTY_TEXT),
    ),
}


# The database, table by table, to see that a refused run left nothing behind.


def database_dump() -> dict[str, tuple[int, str]]:
    """Every table of the database: its number of rows and a digest of what they hold
    (tests/tables.py; fetching every row and sorting its repr here took about 20 ms a dump,
    two dumps an example, some 30 s of the module)."""
    with connection.cursor() as cursor:
        return table_digests(connection.introspection.table_names(cursor))


def changed_tables(before: dict, after: dict) -> list[str]:
    return [
        table
        for table in sorted(before.keys() | after.keys())
        if before.get(table) != after.get(table)
    ]


class Run:
    def __init__(self, code: int, stdout: str, stderr: str):
        self.code, self.stdout, self.stderr = code, stdout, stderr


def run_in_process(name: str, args: list[str]) -> Run:
    """``manage.py NAME ARGS`` in this process: the exit status and stderr a real process would
    have, worked out from how the command ended (an exception of any other kind would be a
    traceback, and fails the test with it)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            call_command(name, *args, stdout=out, stderr=err)
            code = 0
        except SystemExit as exit:  # --help
            code = exit.code or 0
        except InputError as error:  # StaffCommand.execute prints its lines, exits 1
            err.write("\n".join(error.lines) + "\n")
            code = error.returncode
        except CommandError as error:  # BaseCommand.run_from_argv's way
            err.write(f"{type(error).__name__}: {error}\n")
            code = error.returncode
    return Run(code, out.getvalue(), err.getvalue())


def check_contract(name: str, args: list[str], file: str | None = None) -> Run:
    """Run the command in a savepoint rolled back afterwards: exit 0, or exit 1 with plain
    lines and the database as it was."""
    with transaction.atomic():
        before = database_dump()
        run = run_in_process(name, args)
        after = database_dump()
        transaction.set_rollback(True)
    # What the examples reached (pytest --hypothesis-show-statistics): how far into the
    # command they went is told by the field of the first line of stderr.
    if currently_in_test_context():
        told = run.stderr.removeprefix(f"{file}:") if file else run.stderr
        reached = re.sub(r"^[0-9]*: ?", "", told).split(":")[0][:30] or "done"
        event(f"exit {run.code}: {reached}")
    assert "Traceback" not in run.stderr + run.stdout
    assert run.code in (0, 1), (run.code, run.stderr)
    if run.code == 1:
        lines = run.stderr.splitlines()
        assert lines and all(line.strip() for line in lines), run.stderr
        assert not run.stderr.startswith("CommandError"), run.stderr
        assert changed_tables(before, after) == [], run.stderr
        if file is not None and not lines[0].startswith(
            ("protocol:", "by:", "the following", "unrec")
        ):
            assert all(line.startswith(f"{file}:") for line in lines), run.stderr
    return run


# The data the arguments may name: OCN and BER, one participant in treatment at OCN, and the
# users --by may name: the clerk (active staff), former (inactive) and visitor (not staff).


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def one_hash_per_password():
    """An example that runs load_demo_data (``--`` alone parses) gives its six users one
    password: hashed once a session (tests/passwords.py), not six times (0.6 s each)."""
    with reused_password_hashes():
        yield


@pytest.fixture
def world(protocol, make_participant, clerk, django_user_model):
    SiteFactory(code="BER", name="Berlin", timezone="Europe/Berlin", open_days="12345")
    django_user_model.objects.create_user("former", is_staff=True, is_active=False)
    django_user_model.objects.create_user("visitor")
    participant = make_participant(subject_id=SUBJECT, consent_date=D(2026, 1, 5))
    enrol(participant, on=D(2026, 2, 20))
    record_transition(participant, Status.TREATMENT, on=D(2026, 3, 2))
    return participant


def file_argument(tmp_path: Path) -> st.SearchStrategy:
    """Where a file argument points when it is not the file drawn: nowhere, a folder, a name
    the system cannot hold."""
    return st.sampled_from(
        [
            str(tmp_path / "missing.csv"),
            str(tmp_path),
            str(tmp_path / ("n" * 300)),
            str(tmp_path / "nul\x00.csv"),
            str(tmp_path / "caf\udce9.csv"),
            "",
        ]
    )


# Arguments of every command (the commands that read files get their file separately).
ARGUMENTS = {
    "transition": lambda: argv(
        one(SUBJECT_IDS),
        one(STATUSES),
        option("on", DATES, required=True),
        option("reason", REASONS),
        option("protocol", PROTOCOLS),
        option("by", USERS, required=True),
    ),
    "record_visit": lambda: argv(
        one(SUBJECT_IDS),
        one(VISIT_CODES),
        option("on", DATES, required=True),
        option("reason", REASONS),
        option("protocol", PROTOCOLS),
        option("by", USERS, required=True),
    ),
    "book_visit": lambda: argv(
        one(SUBJECT_IDS),
        one(VISIT_CODES),
        mostly(option("on", DATES, required=True), st.just(["--clear"])),
        option("at", TIMES),
        option("override-reason", REASONS),
        option("protocol", PROTOCOLS),
        option("by", USERS, required=True),
    ),
    "close_site": lambda: argv(
        one(SITE_CODES),
        option("from", DATES, required=True),
        option("to", DATES),
        option("reason", REASONS, required=True),
        option("by", USERS, required=True),
    ),
    "activate_version": lambda: argv(
        one(mostly(st.just("SLE-001"), PROTOCOLS)),
        one(VERSIONS),
        option("site", SITE_CODES, required=True),
        option("on", DATES, required=True),
        option("reason", REASONS, required=True),
        DRY_RUN,
        option("by", USERS, required=True),
    ),
    "reconsent": lambda: argv(
        one(SUBJECT_IDS),
        one(VERSIONS),
        option("on", DATES, required=True),
        option("reason", REASONS),
        option("protocol", PROTOCOLS),
        DRY_RUN,
        option("by", USERS, required=True),
    ),
    "send_due_reminders": lambda: argv(option("batch-size", NUMBERS)),
    # A demo loader: with no argument it loads the demo (not input); any argument is refused.
    "load_demo_data": lambda: st.lists(
        st.one_of(STRAY, one(NASTY_TEXT).map(lambda a: a[0])), min_size=1
    ),
}
# The ones with files: (required columns, a field's strategy, options after the file).
FILE_COMMANDS = {
    "import_sites": (SITE_VALUES, option("by", USERS, required=True)),
    "import_participants": (
        PARTICIPANT_VALUES,
        st.tuples(
            mostly(st.just([]), option("protocol", PROTOCOLS, required=True)),
            option("by", USERS, required=True),
        ).map(lambda options: [*options[0], *options[1]]),
    ),
}
OUTPUT_COMMANDS = {"export_schedule", "export_protocol", "export_sdtm", "export_fhir"}
JSON_FILE_COMMANDS = {"import_protocol"}


def test_every_command_of_the_project_is_fed_bad_input():
    covered = {*ARGUMENTS, *FILE_COMMANDS, *OUTPUT_COMMANDS, *JSON_FILE_COMMANDS}
    assert set(project_commands()) == covered, (
        "A command without a strategy here is not tested with bad input: add one."
    )


@pytest.mark.parametrize("name", sorted(ARGUMENTS))
@BAD_INPUT
@given(data=st.data())
def test_bad_arguments_exit_1_with_plain_lines_and_save_nothing(world, name, data):
    args = data.draw(ARGUMENTS[name](), label="args")
    run = check_contract(name, args)
    if name == "load_demo_data":
        assert run.code == 1 or "--help" in args


@pytest.mark.parametrize("name", sorted(FILE_COMMANDS))
@hypothesis_settings(BAD_INPUT, max_examples=120)
@given(data=st.data())
def test_bad_files_exit_1_with_file_line_field_lines_and_save_nothing(world, tmp_path, name, data):
    values, options = FILE_COMMANDS[name]
    path = tmp_path / ("people.csv" if name == "import_participants" else "sites.csv")
    path.write_bytes(data.draw(csv_file(values), label="content"))
    elsewhere = data.draw(mostly(st.none(), file_argument(tmp_path)), label="elsewhere")
    file = str(path) if elsewhere is None else elsewhere
    args = [file, *data.draw(options, label="options")]
    check_contract(name, args, file=file if elsewhere is None else None)


def export_outputs(tmp_path: Path) -> st.SearchStrategy:
    return st.one_of(
        st.none(),
        st.sampled_from(
            [
                str(tmp_path / "schedule.csv"),
                str(tmp_path),
                str(tmp_path / "missing" / "schedule.csv"),
                str(tmp_path / ("n" * 300)),
                str(tmp_path / "nul\x00.csv"),
                str(tmp_path / "caf\udce9.csv"),
                "/dev/full",
            ]
        ),
        NASTY_TEXT.map(lambda name: str(tmp_path / f"out{name.replace('/', '_')}")),
    )


@BAD_INPUT
@given(data=st.data())
def test_bad_export_options_exit_1_with_one_plain_line(world, tmp_path, data):
    outputs = export_outputs(tmp_path)
    args = data.draw(
        argv(
            option("site", SITE_CODES),
            option("format", mostly(st.just("csv"), NASTY_TEXT)),
            outputs.map(lambda output: [] if output is None else [f"--output={output}"]),
        ),
        label="args",
    )
    check_contract("export_schedule", args)


@BAD_INPUT
@given(data=st.data())
def test_bad_protocol_export_options_exit_1_with_one_plain_line(world, tmp_path, data):
    outputs = st.one_of(st.just("-"), export_outputs(tmp_path).filter(lambda o: o is not None))
    args = data.draw(
        argv(
            one(mostly(st.just("SLE-001"), PROTOCOLS)),
            option("version", VERSIONS, required=True),
            option("output", outputs, required=True),
        ),
        label="args",
    )
    check_contract("export_protocol", args)


@BAD_INPUT
@given(data=st.data())
def test_bad_sdtm_and_fhir_export_options_exit_1_with_one_plain_line(world, tmp_path, data):
    """export_sdtm (a folder) and export_fhir (a file): a bad protocol or output is one plain
    line and exit 1, and nothing is left half-written."""
    name = data.draw(st.sampled_from(["export_sdtm", "export_fhir"]), label="name")
    args = data.draw(
        argv(
            option("protocol", mostly(st.just("SLE-001"), PROTOCOLS)),
            export_outputs(tmp_path).map(
                lambda output: [] if output is None else [f"--output={output}"]
            ),
        ),
        label="args",
    )
    check_contract(name, args)


# JSON values, to put where a protocol file's values go.
JSON_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**20), 10**20),
        st.floats(allow_nan=True),
        NASTY_TEXT,
        st.sampled_from(["days", "weeks", "treatment", "SCR", "screening", "infusion chair"]),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(NASTY_TEXT, children, max_size=3)
    ),
    max_leaves=6,
)
FILE_PATHS = st.sampled_from(
    [
        ("format",), ("format_version",), ("protocol",), ("version",), ("approved_on",),
        ("needs_reconsent",), ("note",), ("phases",), ("visits",), ("reminders",), ("extra",),
        ("phases", 0, "code"), ("phases", 1, "length"), ("phases", 2, "unit"),
        ("phases", 0, "starts_study_day_1"), ("phases", 1, "started_by"), ("phases", 1, "name"),
        ("visits", 0, "code"), ("visits", 3, "phase"), ("visits", 2, "window"),
        ("visits", 5, "window", "before"), ("visits", 4, "resource"), ("visits", 0, "offset"),
        ("visits", 1, "name_translations"), ("visits", 1, "name_translations", "de"),
        ("visits", 6, "unit"), ("reminders", 0, "lead_days"), ("reminders", 1, "local_time"),
        ("reminders", 0, "active"), ("visits", 0), ("phases", 0), ("reminders", 0),
    ]
)  # fmt: skip


@st.composite
def protocol_file(draw, base: dict) -> bytes:
    """SLE-001 1.0's file renumbered 2.0 (importable), with values replaced, then written as
    JSON; now and then cut off, or bytes that are not JSON at all."""
    if draw(st.integers(0, 15)) == 0:
        return draw(st.binary(max_size=300))
    data = json.loads(json.dumps(base))
    for *parents, last in draw(st.lists(FILE_PATHS, max_size=3)):
        node = data
        for key in parents:
            node = _child(node, key)
        if isinstance(node, dict) or (isinstance(node, list) and last in range(len(node))):
            node[last] = draw(JSON_VALUES)
    text = json.dumps(
        data, indent=draw(st.sampled_from([None, 2])), ensure_ascii=draw(st.booleans())
    )
    if draw(st.integers(0, 7)) == 0:
        text = text[: draw(st.integers(0, len(text)))]
    encoding = draw(mostly(st.just("utf-8"), st.sampled_from(["latin-1", "utf-16"])))
    return text.encode(encoding, "surrogatepass" if encoding == "utf-8" else "replace")


def _child(node, key):
    if isinstance(node, list) and isinstance(key, int) and key < len(node):
        return node[key]
    return node.get(key) if isinstance(node, dict) else None


@hypothesis_settings(BAD_INPUT, max_examples=120)
@given(data=st.data())
def test_bad_protocol_files_exit_1_with_file_lines_and_save_nothing(world, tmp_path, data):
    from scheduling.models import ProtocolVersion
    from scheduling.timeline.version_files import export_version

    base = {**export_version(ProtocolVersion.objects.get(number="1.0")), "version": "2.0"}
    path = tmp_path / "plan.json"
    path.write_bytes(data.draw(protocol_file(base), label="content"))
    elsewhere = data.draw(mostly(st.none(), file_argument(tmp_path)), label="elsewhere")
    file = str(path) if elsewhere is None else elsewhere
    by = data.draw(option("by", USERS, required=True), label="by")
    check_contract("import_protocol", [file, *by], file=file if elsewhere is None else None)


# What the search found, kept as worked examples: each was a traceback (or a message split
# over lines) before.

BY = f"--by={CLERK}"


@pytest.mark.parametrize(
    ("name", "args", "line"),
    [
        (
            "transition",
            ["SLE\x00", "enrolled", "--on=2026-03-02", BY],
            "subject_id: contains a NUL",
        ),
        ("transition", [SUBJECT, "follow_up", "--on=2026-03-02", "--reason=a\x00", BY], "reason: "),
        (
            "record_visit",
            [SUBJECT, "INF1\x00", "--on=2026-03-02", BY],
            "visit_code: contains a NUL",
        ),
        ("record_visit", [SUBJECT, "INF1", "--on=2026-03-02", "--protocol=\x00", BY], "protocol: "),
        ("book_visit", [SUBJECT, "\x00", "--clear", BY], "visit_code: contains a NUL"),
        ("close_site", ["\x00", "--from=2026-03-20", "--reason=x", BY], "site: contains a NUL"),
        ("export_schedule", ["--site=OC\x00N"], "site: contains a NUL"),
        ("export_schedule", ["--output=out\x00.csv"], "out\\x00.csv: file: cannot be written"),
        ("import_sites", ["sites\x00.csv", BY], "sites\\x00.csv: file: cannot be read"),
        ("import_participants", ["p.csv", "--protocol=\x00", BY], "protocol: contains a NUL"),
        ("transition", [SUBJECT, "enrolled", "--on=\udcff", BY], "on: “\\xff” is not a date"),
        (
            "transition",
            ["SLE-\udcff", "enrolled", "--on=2026-03-02", BY],
            "subject_id: holds bytes",
        ),
        (
            "book_visit",
            [SUBJECT, "INF1", "--on=2026-03-20", "--override-reason=\udce9", BY],
            "override_reason: holds bytes",
        ),
        ("transition", [SUBJECT, "follow_up", "--on=2026-03\r\n02", BY], "on: “2026-03\\r\\n02”"),
        ("import_protocol", ["plan\x00.json", BY], "plan\\x00.json: file: cannot be read"),
        (
            "activate_version",
            ["SLE-001", "1.\x00", "--site=OCN", "--on=2026-03-02", "--reason=x", BY],
            "version: contains a NUL",
        ),
        ("reconsent", [SUBJECT, "1.0", "--on=2026-03-02", "--reason=a\x00", BY], "reason: "),
        ("export_protocol", ["SLE-001", "--version=1.0", "--output=o\x00"], "o\\x00: file: cannot"),
        ("send_due_reminders", [f"--batch-size={10**30}"], "--batch-size must be at most"),
        ("load_demo_data", ["extra"], "unrecognized arguments: extra"),
    ],
)
def test_what_the_search_found_is_refused_in_one_plain_line(world, name, args, line):
    run = check_contract(name, args)
    assert (run.code, len(run.stderr.splitlines())) == (1, 1), run.stderr
    assert run.stderr.startswith(line), run.stderr


@pytest.mark.parametrize(
    ("name", "args", "line"),
    [
        ("transition", [SUBJECT, "follow_up", "--on=2026-03-02"], "the following arguments are "
         "required: --by"),
        ("transition", [SUBJECT, "follow_up", "--on=2026-03-02", "--by=nobody"],
         "by: there is no user nobody."),
        ("close_site", ["OCN", "--from=2026-03-20", "--reason=x", "--by=former"],
         "by: the user former is inactive."),
        ("book_visit", [SUBJECT, "INF1", "--clear", "--by=visitor"],
         "by: the user visitor is not staff."),
        ("record_visit", [SUBJECT, "INF1", "--on=2026-03-02", "--by=cl\x00erk"],
         "by: contains a NUL byte"),
        ("transition", [SUBJECT, "follow_up", "--on=2026-03-02", "--by=\udcff"],
         "by: holds bytes that are not UTF-8"),
    ],
)  # fmt: skip
def test_who_makes_a_change_is_an_active_staff_user_or_one_plain_line(world, name, args, line):
    run = check_contract(name, args)
    assert (run.code, len(run.stderr.splitlines())) == (1, 1), run.stderr
    assert run.stderr.startswith(line), run.stderr


@pytest.mark.parametrize(
    ("timezone", "line"),
    [
        ("Europe", "timezone: “Europe” is not an IANA time zone such as Europe/Berlin."),
        ("9" * 400, f"timezone: “{'9' * 80}…” is not an IANA time zone such as Europe/Berlin."),
    ],
    ids=["a folder of the time-zone database", "a name too long for a file"],
)
def test_a_time_zone_zoneinfo_cannot_open_is_refused_by_line(world, tmp_path, timezone, line):
    path = tmp_path / "sites.csv"
    path.write_text(
        "code,name,timezone,coordinator_email\n"
        f"MUC,Munich,{timezone},m@example.org\n"
        "HAM,Hamburg,Europe/Berlin,nobody\n"
    )
    run = check_contract("import_sites", [str(path), BY], file=str(path))
    assert run.stderr.splitlines() == [
        f"{path}:2: {line}",
        f"{path}:3: coordinator_email: Enter a valid email address.",
    ]


# The same contract through real processes: what call_command's exceptions were taken to mean.


def test_real_processes_exit_1_with_one_plain_line_and_no_traceback(tmp_path):
    latin1 = tmp_path / "sites.csv"
    latin1.write_bytes(b"code,name,timezone,coordinator_email\nMUC,M\xfcnchen,UTC,m@example.org\n")
    not_json = tmp_path / "plan.json"
    not_json.write_bytes(b'{"format": "trialsite.protocol-version",}')
    # One of each way a command ends, as a terminal passes the arguments (bytes, some of them
    # not UTF-8); each process costs a Django start, so the in-process runs do the searching.
    expected = {
        ("import_sites", str(latin1), BY): f"{latin1}:2: name: is not UTF-8 text (byte 0xFC;",
        ("transition", b"SLE-\xff", "enrolled", "--on=2026-03-02", BY): "subject_id: holds bytes",
        ("transition", "SLE-1", "enrolled", b"--on=2026-03-\xff", BY): "on: “2026-03-\\xff” is",
        ("send_due_reminders", f"--batch-size={10**30}"): "--batch-size must be at most 10,000.",
        ("load_demo_data", "--bogus"): "unrecognized arguments: --bogus (see manage.py load_demo",
        ("export_schedule", f"--output={tmp_path}"): f"{tmp_path}: file: cannot be written (Is",
        ("import_protocol", str(not_json), BY): f"{not_json}: line 1, column 41: Expecting prop",
    }
    env = {**os.environ, "DATABASE_URL": process_database_url()}
    # Started together: each process spends most of its time starting Django.
    processes = {
        args: subprocess.Popen(
            [sys.executable, "manage.py", *args],
            cwd=Path(settings.BASE_DIR),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for args in expected
    }
    for args, process in processes.items():
        stdout, stderr = process.communicate(timeout=120)
        told = stderr.decode("utf-8", "backslashreplace")
        assert (args, process.returncode, stdout) == (args, 1, b""), told
        assert "Traceback" not in told, (args, told)
        assert len(told.splitlines()) == 1 and told.startswith(expected[args]), (args, told)


def test_a_file_name_that_is_not_utf_8_is_written_to_and_named_escaped(tmp_path):
    output = os.fsencode(tmp_path) + b"/caf\xe9.csv"
    result = subprocess.run(
        [sys.executable, "manage.py", "export_schedule", b"--output=" + output],
        cwd=Path(settings.BASE_DIR),
        env={**os.environ, "DATABASE_URL": process_database_url()},
        capture_output=True,
        timeout=120,
    )
    assert (result.returncode, result.stderr) == (0, b"")
    assert result.stdout.endswith(
        b" visit(s) written to " + os.fsencode(tmp_path) + b"/caf\\xe9.csv.\n"
    )
    assert os.path.exists(output)
