"""Issue 24, item 6: a protocol version as a JSON file (docs/protocol-file.md). Exported,
imported as a new draft all or nothing, every problem of a file named by its JSON path."""

import copy
import json
import re
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command

from participants.cli import InputError
from scheduling.models import Phase, ProtocolVersion, ReminderRule, VisitDefinition
from scheduling.timeline.version_file_checks import check_file
from scheduling.timeline.version_files import export_version, import_version, loads

pytestmark = pytest.mark.usefixtures("clerk")


@pytest.fixture
def one(protocol):
    return ProtocolVersion.objects.get(protocol=protocol, number="1.0")


@pytest.fixture
def file_two(one) -> dict:
    """SLE-001 1.0's file, renumbered 2.0."""
    return {**export_version(one), "version": "2.0"}


def plan_rows() -> tuple[int, int, int, int]:
    return (
        ProtocolVersion.objects.count(),
        Phase.objects.count(),
        VisitDefinition.objects.count(),
        ReminderRule.objects.count(),
    )


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def refused(*args) -> list[str]:
    with pytest.raises(InputError) as excinfo:
        call_command(*args, stdout=StringIO(), stderr=StringIO())
    assert excinfo.value.returncode == 1
    return excinfo.value.lines


def test_the_round_trip_gives_the_same_plan(one, file_two, clerk):
    version = import_version(copy.deepcopy(file_two), by=clerk)

    assert (version.number, version.is_released) == ("2.0", False)
    assert export_version(version) == file_two
    assert version.history.get().history_user == clerk


def test_sle_001_1_0_exported_is_the_example_of_the_documentation(one):
    text = (Path(settings.BASE_DIR) / "docs" / "protocol-file.md").read_text(encoding="utf-8")
    example = re.search(r"```json\n(.*?)```", text, re.DOTALL)[1]
    example = json.loads(example)
    # 1.0's approval date is the day its migration recorded: each database's own.
    assert example == {**export_version(one), "approved_on": example["approved_on"]}


def test_the_commands_write_and_read_the_file(one, tmp_path):
    path = tmp_path / "sle-001.json"
    assert run("export_protocol", "SLE-001", "--version", "1.0", "--output", str(path)) == (
        f"SLE-001 1.0 written to {path}: 3 phases, 14 visits, 2 reminders.\n"
    )
    text = path.read_text(encoding="utf-8")
    assert text.startswith('{\n  "format": "trialsite.protocol-version",\n')
    assert "Infusión 1" in text  # UTF-8 as it is, not \u escapes
    assert run("export_protocol", "SLE-001", "--version=1.0", "--output", "-") == text
    data = json.loads(text)
    data["version"] = "2.0"
    data["visits"].insert(10, {**data["visits"][9], "code": "FU2", "name": "Follow-up Month 2"})
    path.write_text(json.dumps(data), encoding="utf-8")

    assert run("import_protocol", str(path), "--by", "clerk") == (
        "SLE-001 2.0 imported as a draft: 3 phases, 15 visits, 2 reminders\n"
    )
    two = ProtocolVersion.objects.get(number="2.0")
    assert list(two.visit_definitions.order_by("order").values_list("code", flat=True))[9:12] == [
        "FU1",
        "FU2",
        "FU3",
    ]
    # A second import of the same file is refused: the version exists; nothing half-saved.
    before = plan_rows()
    assert refused("import_protocol", str(path), "--by", "clerk") == [
        f"{path}: version: Version 2.0 of SLE-001 is a draft already: edit it, or release it, "
        "before starting another.",
        f"{path}: version: Version 2.0 of SLE-001 exists already: choose another.",
    ]
    assert plan_rows() == before


def edit(path: str, value):
    """Set (or, with ``...``, delete) the value at ``path`` of a file's data."""

    def apply(data):
        *parents, last = re.findall(r"[^.\[\]]+", path)
        for part in parents:
            data = data[int(part)] if part.isdigit() else data[part]
        last = int(last) if last.isdigit() else last
        if value is ...:
            del data[last]
        else:
            data[last] = value

    return apply


BAD = [
    (
        edit("visits.3.window.before", "3"),
        "visits[3].window.before: must be a whole number of days, not text",
    ),
    (
        edit("visits.3.window.before", True),
        "visits[3].window.before: must be a whole number of days, not true",
    ),
    (
        edit("visits.3.window.after", 2.5),
        "visits[3].window.after: must be a whole number of days, not 2.5",
    ),
    (edit("visits.0.offset", -1), "visits[0].offset: must be a whole number, 0 or more"),
    (edit("phases.1.unit", "fortnights"), "phases[1].unit: must be one of days, weeks, months"),
    (
        edit("phases.0.length", 0),
        "phases[0].length: Ensure this value is greater than or equal to 1.",
    ),
    (edit("visits.2.phase", "treat"), "visits[2].phase: no phase “treat” in this file"),
    (edit("visits.4.code", "SCR"), "visits[4].code: SCR appears twice (also visits[0])"),
    (
        edit("phases.2.code", "screening"),
        "phases[2].code: screening appears twice (also phases[0])",
    ),
    (edit("version", "1.0"), "version: Version 1.0 of SLE-001 exists already: choose another."),
    (
        edit("version", "0.9"),
        "version: Version 0.9 would come before version 1.0, the latest of SLE-001: "
        "number a new version after it.",
    ),
    (
        edit("version", "2"),
        "version: Write a version number as two whole numbers with a dot: 2.0, 2.1.",
    ),
    (edit("protocol", "SLE-999"), "protocol: no protocol SLE-999"),
    (edit("protocol", "SLE\x00"), "protocol: contains a NUL byte (U+0000)"),
    (edit("visits.3.resource", "infusion bed"), "visits[3].resource: no resource “infusion bed”"),
    (
        edit("visits.0.colour", "red"),
        "visits[0]: unknown key “colour” (the keys are code, name, name_translations, "
        "phase, offset, unit, window, resource)",
    ),
    (edit("phases.0.length", ...), "phases[0].length: missing"),
    (edit("reminders", ...), "reminders: missing"),
    (edit("needs_reconsent", 0), "needs_reconsent: must be true or false, not 0"),
    (
        edit("reminders.0.lead_days", True),
        "reminders[0].lead_days: must be a whole number of days, not true",
    ),
    (
        edit("reminders.0.local_time", "9:00"),
        "reminders[0].local_time: must be a local time “HH:MM”, 00:00 to 23:59",
    ),
    (edit("reminders.1.lead_days", 7), "reminders[1]: the same reminder as reminders[0]"),
    (
        edit("reminders.0.lead_days", 400),
        "reminders[0].lead_days: Ensure this value is less than or equal to 365.",
    ),
    (
        edit("phases.0.starts_study_day_1", True),
        "phases[1].starts_study_day_1: phases[0] starts study day 1 already; "
        "at most one phase does",
    ),
    (
        edit("phases.0.started_by", "treatment"),
        "phases[1].started_by: treatment starts phases[0] already; "
        "a transition starts at most one phase",
    ),
    (
        edit("phases.0.started_by", "screening"),
        "phases[0].started_by: must be one of “” (none), treatment, follow_up",
    ),
    (
        edit("phases.0.name", "Screen\ning"),
        "phases[0].name: Must be one line of printable text; this contains a line break (U+000A).",
    ),
    (
        edit("phases.0.code", "scr een"),
        "phases[0].code: Enter a valid “slug” consisting of letters, numbers, "
        "underscores or hyphens.",
    ),
    (
        edit("visits.0.code", "X" * 21),
        "visits[0].code: Ensure this value has at most 20 characters (it has 21).",
    ),
    (
        edit("visits.0.name", "Sc\udcffr"),
        "visits[0].name: holds a lone surrogate (\\ud800–\\udfff), which is not text",
    ),
    (
        edit("visits.0.name_translations", {"xx": "Screening"}),
        "visits[0].name_translations: “xx” is not a language of reminders (de, en, es, fr).",
    ),
    (
        edit("visits.0.name_translations", {"de": "Scr\teening"}),
        "visits[0].name_translations: Must be one line of printable text; "
        "this contains a tab (U+0009).",
    ),
    (edit("visits.0.window", [0, 3]), "visits[0].window: must be an object {…}, not a list"),
    (edit("note", "a\x00b"), "note: Must be printable text; this contains a NUL byte (U+0000)."),
    (
        edit("approved_on", "01/06/2026"),
        "approved_on: “01/06/2026” is not a date (YYYY-MM-DD), or null",
    ),
    (edit("format", "trialsite.protocol"), "format: must be “trialsite.protocol-version”"),
    (edit("format_version", 2), "format_version: must be 1"),
    (edit("phases", {}), "phases: must be a list […], not an object"),
]


@pytest.mark.parametrize(("change", "line"), BAD, ids=[line.split(":")[0] for _, line in BAD])
def test_each_problem_is_refused_with_its_path_and_nothing_is_saved(file_two, clerk, change, line):
    change(file_two)
    before = plan_rows()
    with pytest.raises(ValidationError) as problems:
        import_version(file_two, by=clerk)
    assert line in problems.value.messages
    assert plan_rows() == before


def test_every_problem_of_a_file_is_reported_at_once(file_two, clerk):
    edit("visits.3.window.before", "3")(file_two)
    edit("phases.1.unit", "fortnights")(file_two)
    edit("visits.2.phase", "treat")(file_two)
    with pytest.raises(ValidationError) as problems:
        import_version(file_two, by=clerk)
    assert problems.value.messages == [
        "phases[1].unit: must be one of days, weeks, months",
        "visits[2].phase: no phase “treat” in this file",
        "visits[3].window.before: must be a whole number of days, not text",
    ]


def test_without_a_day_one_phase_the_plan_takes_the_default(file_two, clerk):
    """No phase starts study day 1: the second phase does (plans.day_one_phase)."""
    edit("phases.1.starts_study_day_1", False)(file_two)
    version = import_version(file_two, by=clerk)
    assert not version.phases.filter(is_day_one=True).exists()


def test_a_protocol_with_a_draft_takes_no_other(file_two, clerk):
    import_version(copy.deepcopy(file_two), by=clerk)
    before = plan_rows()
    with pytest.raises(ValidationError) as problems:
        import_version({**file_two, "version": "3.0"}, by=clerk)
    assert problems.value.messages == [
        "version: Version 2.0 of SLE-001 is a draft already: edit it, or release it, before "
        "starting another."
    ]
    assert plan_rows() == before


def test_a_file_that_is_not_a_json_object_is_refused():
    with pytest.raises(ValidationError) as problems:
        import_version([], by=None)
    assert problems.value.messages == ["file: must be an object {…}, not a list"]


@pytest.mark.parametrize(
    ("content", "line"),
    [
        (
            b'{"format": "trialsite.protocol-version",\n  "version": 2.0,,\n}',
            "line 2, column 18: Expecting property name enclosed in double quotes",
        ),
        (b"", "line 1, column 1: Expecting value"),
        (b'{"note": "M\xfcnchen"}', "line 1, column 12: is not UTF-8 text (byte 0xFC)."),
        (b'{"length": NaN}', "line 1, column 1: NaN is not a JSON number"),
        (b"[" * 100_000, "line 1, column 1: nested too deeply"),
    ],
    ids=["syntax", "empty", "latin-1", "nan", "deep"],
)
def test_a_file_that_is_not_json_is_refused_with_its_line_and_column(tmp_path, content, line):
    path = tmp_path / "plan.json"
    path.write_bytes(content)
    before = plan_rows()
    assert refused("import_protocol", str(path), "--by", "clerk") == [f"{path}: {line}"]
    assert plan_rows() == before


def test_a_key_given_twice_is_refused(file_two, clerk):
    text = json.dumps(file_two)
    data = loads(text.replace('"note":', '"note": "x", "note":', 1))
    with pytest.raises(ValidationError) as problems:
        import_version(data, by=clerk)
    assert problems.value.messages == ["file: the key “note” appears twice"]


def test_the_command_prints_every_problem_with_the_file_name(file_two, tmp_path):
    edit("visits.3.window.before", "3")(file_two)
    edit("protocol", "SLE-999")(file_two)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(file_two), encoding="utf-8")
    assert refused("import_protocol", str(path), "--by", "clerk") == [
        f"{path}: protocol: no protocol SLE-999",
        f"{path}: visits[3].window.before: must be a whole number of days, not text",
    ]


def test_only_a_superuser_or_a_holder_of_the_permission_imports(
    file_two, tmp_path, staff, django_user_model
):
    from django.contrib.auth.models import Permission

    path = tmp_path / "plan.json"
    path.write_text(json.dumps(file_two), encoding="utf-8")
    assert refused("import_protocol", str(path), "--by", "manager-ocn") == [
        "by: manager-ocn may not do this: their role lacks scheduling.add_protocolversion."
    ]
    user = django_user_model.objects.get(username="manager-ocn")
    user.user_permissions.add(Permission.objects.get(codename="add_protocolversion"))
    assert run("import_protocol", str(path), "--by", "manager-ocn").startswith("SLE-001 2.0 ")


def test_export_refuses_an_unknown_version_and_an_unwritable_file(one, tmp_path):
    assert refused("export_protocol", "SLE-001", "--version", "9.9", "--output", "-") == [
        "version: SLE-001 has no version 9.9 (versions: 1.0)."
    ]
    assert refused("export_protocol", "SLE-999", "--version", "1.0", "--output", "-") == [
        "protocol: there is no protocol SLE-999."
    ]
    assert refused("export_protocol", "SLE-001", "--version", "1.0", "--output", str(tmp_path)) == [
        f"{tmp_path}: file: cannot be written (Is a directory)."
    ]


def test_a_file_is_checked_in_three_queries_whatever_its_size(file_two, django_assert_num_queries):
    """The protocol (locked), its versions, the resources named: not a query a row."""
    file_two["visits"] += [{**file_two["visits"][3], "code": f"X{number}"} for number in range(50)]
    with django_assert_num_queries(3):
        plan = check_file(file_two)
    assert len(plan.visits) == 64
