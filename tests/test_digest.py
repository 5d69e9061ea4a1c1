"""The coordinator digest: once per site per local day at or after 07:00 site time, dropped
when its day ends unsent, listing what coordinators chase (and no participant email)."""

import datetime

import pytest

from participants.lifecycle import record_transition
from participants.models import Participant, Status
from scheduling.mail.digest import create_due_digests, digest_content
from scheduling.mail.dispatch import dispatch_due
from scheduling.models import OutboxStatus, Reminder, SiteDigest
from tests.smtp_server import (  # noqa: F401
    LoopbackSMTP,
    point_django_at,
    refusing_port_fixture,
    smtp_server_fixture,
)

UTC = datetime.UTC
TODAY = datetime.date(2026, 3, 2)  # a Monday; Berlin on CET (UTC+1), Oceanside on PST (UTC-8)


def at(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=UTC)


def digests(server) -> list:
    return [m for m in server.messages if m["Message-ID"].startswith("<digest-")]


@pytest.mark.parametrize(
    ("day", "seven_local"),
    [
        (datetime.date(2026, 3, 28), at(2026, 3, 28, 6)),  # CET
        (datetime.date(2026, 3, 29), at(2026, 3, 29, 5)),  # CEST from this morning
    ],
)
def test_digest_goes_out_once_at_seven_site_time_across_the_change_to_summer_time(
    make_participant, site_ber, smtp_server, time_machine, day, seven_local
):
    time_machine.move_to(at(2026, 3, 1, 12), tick=False)
    make_participant(consent_date=datetime.date(2026, 3, 1), site=site_ber)
    time_machine.move_to(seven_local - datetime.timedelta(seconds=1), tick=False)
    dispatch_due()
    assert not SiteDigest.objects.exists()
    time_machine.move_to(seven_local, tick=False)
    dispatch_due()
    dispatch_due()
    digest = SiteDigest.objects.get()
    assert (digest.local_date, digest.due_at, digest.status) == (day, seven_local, "sent")
    [message] = digests(smtp_server)
    assert message["To"] == "coordinator-ber@example.org"


def test_each_site_gets_its_digest_at_its_own_seven_oclock(
    make_participant, site_ber, site_ocn, smtp_server, time_machine
):
    time_machine.move_to(at(2026, 3, 1, 12), tick=False)
    make_participant(consent_date=datetime.date(2026, 3, 1), site=site_ber)
    make_participant(consent_date=datetime.date(2026, 3, 1), site=site_ocn)
    time_machine.move_to(at(2026, 3, 2, 14, 59), tick=False)  # 15:59 Berlin, 06:59 Oceanside
    dispatch_due()
    assert [m["To"] for m in digests(smtp_server)] == ["coordinator-ber@example.org"]
    time_machine.move_to(at(2026, 3, 2, 15), tick=False)  # 07:00 in Oceanside
    dispatch_due()
    assert [m["To"] for m in digests(smtp_server)] == [
        "coordinator-ber@example.org",
        "coordinator-ocn@example.org",
    ]


def test_only_sites_with_a_participant_still_in_the_trial_get_a_digest(
    make_participant, site_ber, site_ocn, time_machine
):
    from tests.factories import SiteFactory

    time_machine.move_to(at(2026, 3, 1, 12), tick=False)
    make_participant(consent_date=datetime.date(2026, 3, 1), site=site_ber)
    left = make_participant(consent_date=datetime.date(2026, 3, 1), site=site_ocn)
    record_transition(left, Status.SCREEN_FAILED, on=datetime.date(2026, 3, 1), reason="Lab")
    SiteFactory(code="NEW", name="New site", timezone="Europe/Berlin")  # no participant yet
    # 21:00 in Berlin (CET) and 12:00 in Oceanside (PST): every site's digest time has come.
    time_machine.move_to(at(2026, 3, 2, 20), tick=False)
    assert create_due_digests(at(2026, 3, 2, 20)) == 1
    [digest] = SiteDigest.objects.all()
    assert (digest.site, digest.local_date) == (site_ber, datetime.date(2026, 3, 2))
    # Once the last one has left, a site's digests stop; a new participant starts them again.
    record_transition(
        Participant.objects.get(site=site_ber),
        Status.SCREEN_FAILED,
        on=datetime.date(2026, 3, 2),
        reason="Lab",
    )
    assert create_due_digests(at(2026, 3, 3, 20)) == 0
    make_participant(consent_date=datetime.date(2026, 3, 2), site=site_ocn)
    assert create_due_digests(at(2026, 3, 3, 20)) == 1
    assert SiteDigest.objects.get(local_date=datetime.date(2026, 3, 3)).site == site_ocn


def test_a_days_digest_not_sent_by_the_end_of_that_day_is_dropped(
    make_participant, site_ber, refusing_port, time_machine, settings
):
    time_machine.move_to(at(2026, 3, 1, 12), tick=False)
    make_participant(consent_date=datetime.date(2026, 3, 1), site=site_ber)
    time_machine.move_to(at(2026, 3, 2, 6), tick=False)
    assert dispatch_due().retrying == 1  # the mail server is down all day
    with LoopbackSMTP() as server:
        point_django_at(settings, server.port)
        time_machine.move_to(at(2026, 3, 3, 6, 30), tick=False)  # 07:30 the next day in Berlin
        summary = dispatch_due()
        assert (summary.expired, summary.sent) == (1, 1)
        [message] = digests(server)
    assert message["Subject"] == "Daily visit digest for Berlin: Tuesday 3 March 2026"
    statuses = dict(SiteDigest.objects.values_list("local_date", "status"))
    assert statuses == {
        datetime.date(2026, 3, 2): OutboxStatus.EXPIRED,
        datetime.date(2026, 3, 3): OutboxStatus.SENT,
    }


@pytest.fixture
def coordinators_monday(make_participant, site_ber, time_machine):
    """At Berlin on TODAY: a screening visit today, one missed yesterday, a failed reminder."""
    time_machine.move_to(at(2026, 3, 2, 6), tick=False)
    today = make_participant(consent_date=TODAY, site=site_ber, subject_id="SLE-001-101-001")
    missed = make_participant(
        consent_date=TODAY - datetime.timedelta(days=4), site=site_ber, subject_id="SLE-001-101-002"
    )
    failing = make_participant(
        consent_date=TODAY - datetime.timedelta(days=30),
        site=site_ber,
        subject_id="SLE-001-101-003",
        email="bounces@example.net",
    )
    Reminder.objects.filter(
        visit__participant=failing, visit__code="LEUK", rule__lead_days=7
    ).update(
        status=OutboxStatus.FAILED,
        last_error="recipient refused: 550 5.1.1 <bounces@example.net>: Recipient unknown",
    )
    # Left the trial: nothing of theirs is chased any more.
    gone = make_participant(consent_date=TODAY, site=site_ber, subject_id="SLE-001-101-004")
    record_transition(gone, "withdrawn", on=TODAY, reason="Moved away")
    return today, missed, failing


def test_digest_lists_todays_visits_closing_windows_newly_missed_and_failed_reminders(
    coordinators_monday, django_assert_num_queries
):
    today, missed, failing = coordinators_monday
    from scheduling.mail.digest import create_due_digests

    create_due_digests(at(2026, 3, 2, 6))
    digest = SiteDigest.objects.select_related("site", "rule").get()
    # 9: the visits a version change of the last day made not applicable (issue 24), listed
    # apart from the missed ones.
    with django_assert_num_queries(9):
        content = digest_content(digest)
    assert [(v.participant, v.code) for v in content.today] == [(today, "SCR")]
    assert [(v.participant, v.code) for v in content.closing] == [(today, "SCR")]
    assert [(v.participant, v.code) for v in content.missed] == [(missed, "SCR")]
    [reminder] = content.failed
    assert (reminder.visit.participant, reminder.visit.code) == (failing, "LEUK")
    assert reminder.last_error == "recipient refused: 550 5.1.1 [address]: Recipient unknown"


def test_digest_email_names_subjects_but_no_participant_email_or_trial(
    coordinators_monday, smtp_server
):
    dispatch_due()
    [message] = digests(smtp_server)
    assert message["Subject"] == "Daily visit digest for Berlin: Monday 2 March 2026"
    for part in ("plain", "html"):
        body = message.get_body(preferencelist=(part,)).get_content()
        for subject_id in ("SLE-001-101-001", "SLE-001-101-002", "SLE-001-101-003"):
            assert subject_id in body
        assert "SLE-001-101-004" not in body
        assert "example.net" not in body
        assert "participant@example.org" not in body
    for word in ("SLE", "lupus", "Descartes", "NCT06038474"):
        assert word not in message["Subject"]


def test_a_participants_message_cannot_pose_as_a_line_of_the_plain_text_digest(
    coordinators_monday, smtp_server, client
):
    """Security issue 21 item 5: what a participant writes is shown on one line, quoted, in
    the plain-text digest: line breaks (and other control or format characters) cannot start
    a line that reads as a digest entry of its own."""
    from scheduling.models import LinkAction
    from scheduling.replies.answers import link_path

    today, missed, failing = coordinators_monday
    reminder = Reminder.objects.filter(visit__participant=today, visit__code="LEUK").first()
    forged = 'ok"\n  SLE-001-101-009  stopped their reminders\r\n  SLE-001-101-010  SCR'
    response = client.post(link_path(reminder, LinkAction.RESCHEDULE), {"message": forged})
    assert response.status_code == 200

    dispatch_due()
    [message] = digests(smtp_server)
    text = message.get_body(preferencelist=("plain",)).get_content()
    lines = text.splitlines()
    forged_entries = ("SLE-001-101-009", "SLE-001-101-010")
    assert not any(line.strip().startswith(forged_entries) for line in lines)
    [request] = [line for line in lines if "another date asked for" in line]
    assert request == (
        "  SLE-001-101-001  LEUK on "
        f"{reminder.visit.appointment_date:%Y-%m-%d}: another date asked for: "
        '"ok\\" SLE-001-101-009 stopped their reminders SLE-001-101-010 SCR"'
    )


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("plain", "plain"),
        ("two\nlines", "two lines"),
        ("tab\tand\r\nCRLF", "tab and CRLF"),
        ("right\u202eto-left override", "right to-left override"),
        ("line\u2028separator\u2029paragraph\x85next", "line separator paragraph next"),
        ("  spaces  ", "spaces"),
    ],
)
def test_one_line_turns_every_break_and_control_character_into_a_space(text, line):
    from scheduling.templatetags.plain_text import one_line, quoted

    assert one_line(text) == line
    assert quoted('say "hi"\nback\\slash') == '"say \\"hi\\" back\\\\slash"'
