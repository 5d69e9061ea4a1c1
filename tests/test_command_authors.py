"""A staff command does only what its --by user may do in the admin (security issue 21
item 3): the same permission and the same site scope, refused in one line otherwise, with
nothing changed. Each row of the matrix runs the command as the demo's roles would."""

import datetime
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from participants.cli import InputError
from participants.models import Participant, Site, SiteClosure, Status, Transition
from scheduling.models import Visit

NOW = datetime.datetime(2026, 3, 12, 18, tzinfo=datetime.UTC)  # 11:00 in Oceanside


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def world(staff, make_participant, site_ocn, site_ber):
    ocn = make_participant(consent_date=datetime.date(2026, 3, 2), subject_id="SLE-001-101-001")
    ber = make_participant(
        consent_date=datetime.date(2026, 3, 2), site=site_ber, subject_id="SLE-001-201-001"
    )
    return {"OCN": ocn, "BER": ber}


def state() -> tuple:
    return (
        list(Site.objects.order_by("code").values_list("code", "coordinator_email", "name")),
        list(Participant.objects.order_by("subject_id").values_list("subject_id", "status")),
        Transition.objects.count(),
        SiteClosure.objects.count(),
        list(Visit.objects.order_by("pk").values_list("pk", "booked_date", "actual_date")),
    )


def command(name, tmp_path):
    """The arguments of ``name`` aimed at a site (OCN or BER), without --by."""
    sites = tmp_path / "sites.csv"
    people = tmp_path / "people.csv"

    def args(site):
        subject = "SLE-001-101-001" if site == "OCN" else "SLE-001-201-001"
        if name == "import_sites":
            sites.write_text(
                "code,name,timezone,coordinator_email\n"
                f"{site},Renamed,Europe/Berlin,someone-else@example.org\n"
            )
            return ["import_sites", str(sites)]
        if name == "import_participants":
            people.write_text(
                f"subject_id,site_code,email,consent_date\nNEW-{site},{site},p@example.org,"
                "2026-03-10\n"
            )
            return ["import_participants", str(people), "--protocol", "SLE-001"]
        if name == "close_site":
            return ["close_site", site, "--from", "2026-04-01", "--reason", "inspection"]
        if name == "transition":
            return [
                "transition",
                subject,
                "lost_to_follow_up",
                "--on",
                "2026-03-11",
                "--reason",
                "No answer to three calls",
            ]
        if name == "book_visit":
            return ["book_visit", subject, "LEUK", "--on", "2026-04-07"]
        if name == "record_visit":
            return ["record_visit", subject, "SCR", "--on", "2026-03-02"]
        raise AssertionError(name)

    return args


# (command, username, site) → allowed? Monitors change nothing; a coordinator, investigator
# or site manager changes only at their own site; only a site manager keeps a site's details.
MATRIX = [
    ("close_site", "monitor", "OCN", False),
    ("transition", "monitor", "OCN", False),
    ("import_participants", "monitor", "OCN", False),
    ("record_visit", "monitor", "OCN", False),
    ("book_visit", "monitor", "OCN", False),
    ("book_visit", "coordinator-ocn", "BER", False),
    ("book_visit", "coordinator-ocn", "OCN", True),
    ("record_visit", "coordinator-ocn", "BER", False),
    ("record_visit", "investigator-ocn", "OCN", True),
    ("transition", "coordinator-ocn", "BER", False),
    ("transition", "coordinator-ocn", "OCN", True),
    ("close_site", "coordinator-ocn", "BER", False),
    ("close_site", "coordinator-ocn", "OCN", True),
    ("import_participants", "coordinator-ocn", "BER", False),
    ("import_participants", "coordinator-ocn", "OCN", True),
    ("import_sites", "coordinator-ocn", "BER", False),
    ("import_sites", "coordinator-ocn", "OCN", False),
    ("import_sites", "manager-ocn", "BER", False),
    ("import_sites", "manager-ocn", "OCN", True),
    ("import_sites", "manager-ocn", "NEW", False),  # creating a site: superusers only
]


@pytest.mark.parametrize(("name", "username", "site", "allowed"), MATRIX)
def test_a_command_does_only_what_its_user_may_do_in_the_admin(
    world, tmp_path, name, username, site, allowed
):
    args = command(name, tmp_path)(site) + ["--by", username]
    before = state()
    if allowed:
        call_command(*args, stdout=StringIO(), stderr=StringIO())
        assert state() != before
        return
    with pytest.raises(InputError) as refused:
        call_command(*args, stdout=StringIO(), stderr=StringIO())
    [line] = refused.value.lines
    assert line.startswith(f"by: {username} "), line
    assert ("does not work at" in line) or ("may not do this" in line), line
    assert state() == before


def test_the_refusal_says_which_permission_or_site(world, tmp_path):
    args = command("close_site", tmp_path)
    with pytest.raises(InputError) as refused:
        call_command(*args("OCN"), "--by", "monitor", stdout=StringIO(), stderr=StringIO())
    assert refused.value.lines == [
        "by: monitor may not do this: their role lacks participants.add_siteclosure."
    ]
    with pytest.raises(InputError) as refused:
        call_command(*args("BER"), "--by", "coordinator-ocn", stdout=StringIO(), stderr=StringIO())
    assert refused.value.lines == ["by: coordinator-ocn does not work at BER."]


def test_a_superuser_may_run_every_command_at_every_site(world, tmp_path, admin_user):
    for name in ("close_site", "book_visit", "transition"):
        call_command(
            *command(name, tmp_path)("BER"), "--by", "admin", stdout=StringIO(), stderr=StringIO()
        )
    assert Participant.objects.get(subject_id="SLE-001-201-001").status == (
        Status.LOST_TO_FOLLOW_UP
    )
