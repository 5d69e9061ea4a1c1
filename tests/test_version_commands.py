"""Issue 24, item 4: a version activated at a site and a participant's re-consent, from the
command line. The story is tests/test_protocol_versions.py's: version 2.0 adds FU2 and widens
the infusion windows; A is in follow-up and B in screening at Oceanside on 15 June 2026."""

import datetime
from io import StringIO

import pytest
from django.core.management import call_command

from participants.cli import InputError
from scheduling.models import VersionActivation, VersionTakeUp, Visit
from scheduling.timeline import versions
from tests.versions_fixtures import version_two

D = datetime.date
A, B = "SLE-001-101-001", "SLE-001-101-002"
ACTIVATE = ("activate_version", "SLE-001", "2.0", "--site", "OCN", "--on", "2026-06-15")
REASON = ("--reason", "Local approval 2026-06-12")


def run(*args) -> list[str]:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue().splitlines()


def refused(*args) -> list[str]:
    with pytest.raises(InputError) as excinfo:
        call_command(*args, stdout=StringIO(), stderr=StringIO())
    assert excinfo.value.returncode == 1
    return excinfo.value.lines


def state() -> tuple:
    return (
        VersionActivation.objects.count(),
        VersionTakeUp.objects.count(),
        sorted(
            Visit.objects.values_list(
                "participant__subject_id", "code", "version__number", "window_start", "closed_on"
            )
        ),
    )


def codes(subject_id: str) -> set[str]:
    return set(
        Visit.objects.filter(participant__subject_id=subject_id).values_list("code", flat=True)
    )


@pytest.fixture
def two(protocol, clerk, two_participants):
    return version_two(protocol, clerk)


@pytest.fixture
def two_with_reconsent(protocol, site_ocn, clerk, two_participants):
    version = version_two(protocol, clerk, needs_reconsent=True)
    versions.activate_version(version, site_ocn, on=D(2026, 6, 15), by=clerk, reason="IRB")
    return version


def test_the_dry_run_of_an_activation_prints_the_preview_and_changes_nothing(two):
    before = state()
    lines = run(*ACTIVATE, *REASON, "--dry-run", "--by", "clerk")

    assert lines[0] == f"{A} (OCN): version 1.0 → 2.0 from 2026-06-15"
    assert "  FU2 added: planned 2026-06-27, window 2026-06-13–2026-07-11" in lines
    assert f"{B} (OCN): version 1.0 → 2.0 from 2026-06-15" in lines
    assert any(line.startswith("  INF2 re-windowed: ") for line in lines)
    assert lines[-1] == "Dry run: nothing was saved."
    assert state() == before


def test_the_activation_prints_the_same_lines_and_changes_the_schedule(two):
    preview = run(*ACTIVATE, *REASON, "--dry-run", "--by", "clerk")
    assert "FU2" not in codes(A)

    lines = run(*ACTIVATE, *REASON, "--by", "clerk")

    assert lines[:-1] == preview[:-1]
    assert lines[-1] == "SLE-001 2.0 is active at OCN from 2026-06-15."
    assert "FU2" in codes(A)
    assert VersionActivation.objects.get().reason == "Local approval 2026-06-12"


def test_a_version_that_needs_reconsent_lists_who_waits(protocol, clerk, two_participants):
    version_two(protocol, clerk, needs_reconsent=True)
    lines = run(*ACTIVATE, *REASON, "--by", "clerk")
    assert lines == [
        f"2 participant(s) keep their version until they re-consent: {A}, {B}",
        "SLE-001 2.0 is active at OCN from 2026-06-15.",
    ]
    assert "FU2" not in codes(A)


def test_the_dry_run_of_a_reconsent_prints_the_preview_and_changes_nothing(two_with_reconsent):
    before = state()
    lines = run("reconsent", A, "2.0", "--on", "2026-06-15", "--dry-run", "--by", "clerk")

    assert lines[0] == f"{A} (OCN): version 1.0 → 2.0 from 2026-06-15"
    assert "  FU2 added: planned 2026-06-27, window 2026-06-13–2026-07-11" in lines
    assert lines[-1] == "Dry run: nothing was saved."
    assert state() == before


def test_a_reconsent_moves_the_participant_and_no_one_else(two_with_reconsent):
    lines = run("reconsent", A, "2.0", "--on=2026-06-15", "--reason", "Visit FU1+", "--by", "clerk")

    assert lines[-1] == f"{A} follows version 2.0 from 2026-06-15."
    assert "FU2" in codes(A) and "FU2" not in codes(B)
    take_up = VersionTakeUp.objects.filter(participant__subject_id=A).latest("id")
    assert (take_up.kind, take_up.reason) == ("reconsent", "Visit FU1+")


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            (*ACTIVATE[:-1], "2026-05-01", *REASON),
            "on: 2026-05-01 is before version 2.0 was approved, on 2026-06-01.",
        ),
        ((*ACTIVATE, "--reason", " "), "reason: Say why the version is activated (the site's "
         "approval, say)."),
        (("activate_version", "SLE-001", "9.9", "--site=OCN", "--on=2026-06-15", *REASON),
         "version: SLE-001 has no version 9.9 (versions: 1.0, 2.0)."),
        (("activate_version", "SLE-001", "2.0", "--site=XXX", "--on=2026-06-15", *REASON),
         "site: there is no site XXX."),
        ((*ACTIVATE[:-1], "15/06/2026", *REASON), "on: “15/06/2026” is not a date"),
        ((*ACTIVATE, "--reason", "IRB\x00"), "reason: contains a NUL byte"),
        (("reconsent", A, "2.0", "--on=2026-06-15"), "version: Version 2.0 is not active at OCN: "
         "it is activated at the site before participants re-consent to it."),
        (("reconsent", "SLE-001-101-999", "2.0", "--on=2026-06-15"),
         "subject_id: there is no participant SLE-001-101-999."),
    ],
    ids=["before-approval", "no-reason", "no-such-version", "no-such-site", "not-a-date", "nul",
         "not-active-at-site", "no-such-participant"],
)  # fmt: skip
def test_a_refusal_is_one_line_and_nothing_changes(two, args, line):
    before = state()
    [told] = refused(*args, "--by", "clerk")
    assert told.startswith(line), told
    assert state() == before


# Who may: a site manager activates at their site; a coordinator re-consents a participant of
# their site; a monitor does neither.
ROLES = [
    ("activate", "manager-ocn", True, ""),
    ("activate-ber", "manager-ocn", False, "by: manager-ocn does not work at BER."),
    ("activate", "coordinator-ocn", False,
     "by: coordinator-ocn may not do this: their role lacks scheduling.add_versionactivation."),
    ("activate", "monitor", False,
     "by: monitor may not do this: their role lacks scheduling.add_versionactivation."),
    ("reconsent", "coordinator-ocn", True, ""),
    ("reconsent", "coordinator-ber", False, "by: coordinator-ber does not work at OCN."),
    ("reconsent", "monitor", False,
     "by: monitor may not do this: their role lacks scheduling.add_versiontakeup."),
]  # fmt: skip


@pytest.mark.parametrize(("what", "username", "allowed", "line"), ROLES)
def test_a_command_does_only_what_its_user_may_do(
    protocol, site_ocn, clerk, two_participants, staff, what, username, allowed, line
):
    version = version_two(protocol, clerk, needs_reconsent=what == "reconsent")
    if what == "reconsent":
        versions.activate_version(version, site_ocn, on=D(2026, 6, 15), by=clerk, reason="IRB")
        args = ("reconsent", A, "2.0", "--on", "2026-06-15")
    else:
        args = (*ACTIVATE[:4], "BER" if what == "activate-ber" else "OCN", *ACTIVATE[5:], *REASON)
    before = state()
    if allowed:
        run(*args, "--by", username)
        assert state() != before
        return
    assert refused(*args, "--by", username) == [line]
    assert state() == before


def test_a_dry_run_needs_no_reason_and_applying_without_one_is_refused(two):
    """The issue's own line, `activate_version PROTOCOL VERSION --site --on --dry-run --by`,
    previews; applying asks why, in one line."""
    before = state()
    lines = run(*ACTIVATE, "--dry-run", "--by", "clerk")
    assert any("FU2 added" in line for line in lines)
    assert lines[-1] == "Dry run: nothing was saved."
    assert refused(*ACTIVATE, "--by", "clerk") == [
        "reason: Say why the version is activated (the site's approval, say)."
    ]
    assert state() == before
