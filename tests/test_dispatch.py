"""Dispatching participant reminders over a real SMTP server on loopback (aiosmtpd).

SLE-001's Leukapheresis (LEUK) is planned 35 days after consent, so a participant who
consents on ``visit - 35`` has a LEUK visit on ``visit``, with reminders 7 and 1 days before
it at 09:00 site time. The coordinator digest is switched off here (tests/test_digest.py).
"""

import contextlib
import datetime
import socket
import threading

import pytest

from participants.lifecycle import record_transition, set_reminders
from scheduling.mail import claims, dispatch, outcomes, sending
from scheduling.mail.claims import claim_due_reminders
from scheduling.mail.dispatch import dispatch_due
from scheduling.mail.mailer import Mailer
from scheduling.mail.outcomes import retry_delay
from scheduling.models import Audience, OutboxStatus, Reminder, ReminderRule
from tests.smtp_server import (  # noqa: F401
    LoopbackSMTP,
    point_django_at,
    refusing_port_fixture,
    smtp_server_fixture,
)

UTC = datetime.UTC


def at(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=UTC)


@pytest.fixture(autouse=True)
def no_digest(protocol):
    ReminderRule.objects.filter(audience=Audience.COORDINATOR_DIGEST).update(active=False)


@pytest.fixture
def leuk_on(make_participant, time_machine):
    """A participant whose LEUK visit is on ``visit`` (created on the consent day)."""

    def make(visit: datetime.date, site, **kwargs):
        consent = visit - datetime.timedelta(days=35)
        time_machine.move_to(datetime.datetime.combine(consent, datetime.time(12), UTC), tick=False)
        return make_participant(consent_date=consent, site=site, **kwargs)

    return make


def leuk_reminder(participant, lead_days: int) -> Reminder:
    return Reminder.objects.get(
        visit__participant=participant, visit__code="LEUK", rule__lead_days=lead_days
    )


@pytest.mark.parametrize(
    ("site_fixture", "visit", "lead", "due"),
    [
        # Europe/Berlin: CET (UTC+1) until 29 March 2026, CEST (UTC+2) until 25 October.
        ("site_ber", datetime.date(2026, 3, 30), 7, at(2026, 3, 23, 8)),
        ("site_ber", datetime.date(2026, 4, 5), 7, at(2026, 3, 29, 7)),
        ("site_ber", datetime.date(2026, 10, 25), 1, at(2026, 10, 24, 7)),
        ("site_ber", datetime.date(2026, 10, 26), 1, at(2026, 10, 25, 8)),
        # America/Los_Angeles: PST (UTC-8) until 8 March 2026, PDT (UTC-7) until 1 November.
        ("site_ocn", datetime.date(2026, 3, 14), 7, at(2026, 3, 7, 17)),
        ("site_ocn", datetime.date(2026, 3, 15), 7, at(2026, 3, 8, 16)),
        ("site_ocn", datetime.date(2026, 11, 1), 1, at(2026, 10, 31, 16)),
        ("site_ocn", datetime.date(2026, 11, 2), 1, at(2026, 11, 1, 17)),
    ],
)
def test_reminder_goes_out_at_nine_site_time_on_both_sides_of_daylight_saving_changes(
    request, leuk_on, smtp_server, time_machine, site_fixture, visit, lead, due
):
    participant = leuk_on(visit, request.getfixturevalue(site_fixture))
    reminder = leuk_reminder(participant, lead)
    assert reminder.due_at == due

    time_machine.move_to(due - datetime.timedelta(seconds=1), tick=False)
    dispatch_due()
    reminder.refresh_from_db()
    assert reminder.status == OutboxStatus.PENDING

    time_machine.move_to(due, tick=False)
    dispatch_due()
    reminder.refresh_from_db()
    assert reminder.status == OutboxStatus.SENT
    assert reminder.message_id in smtp_server.handler.message_ids()


def test_early_run_sends_nothing(leuk_on, site_ber, smtp_server, time_machine):
    leuk_on(datetime.date(2026, 4, 5), site_ber)
    time_machine.move_to(at(2026, 3, 29, 6, 59), tick=False)  # 08:59 in Berlin
    summary = dispatch_due()
    assert summary.as_dict() == dispatch.DispatchSummary().as_dict()
    assert smtp_server.messages == []


def test_late_run_sends_only_the_most_recent_reminder(leuk_on, site_ber, smtp_server, time_machine):
    participant = leuk_on(datetime.date(2026, 4, 5), site_ber)
    time_machine.move_to(at(2026, 4, 4, 12), tick=False)  # both the 7- and 1-day reminders due
    summary = dispatch_due()
    assert (summary.sent, summary.superseded) == (1, 1)
    assert leuk_reminder(participant, 7).status == OutboxStatus.SUPERSEDED
    assert leuk_reminder(participant, 1).status == OutboxStatus.SENT
    assert len(smtp_server.messages) == 1


def test_late_run_sends_the_older_reminder_when_the_newer_ones_rule_is_switched_off(
    leuk_on, site_ber, smtp_server, time_machine
):
    participant = leuk_on(datetime.date(2026, 4, 5), site_ber)
    ReminderRule.objects.filter(lead_days=1).update(active=False)
    time_machine.move_to(at(2026, 4, 4, 12), tick=False)  # both due; the 1-day one never goes
    summary = dispatch_due()
    assert (summary.sent, summary.superseded, summary.cancelled) == (1, 0, 1)
    assert leuk_reminder(participant, 7).status == OutboxStatus.SENT
    assert leuk_reminder(participant, 1).status == OutboxStatus.CANCELLED
    assert len(smtp_server.messages) == 1


def test_run_on_the_visit_day_expires_its_reminders_unsent(
    leuk_on, site_ocn, smtp_server, time_machine
):
    participant = leuk_on(datetime.date(2026, 4, 5), site_ocn)
    time_machine.move_to(at(2026, 4, 5, 7, 30), tick=False)  # 00:30 on 5 April in Oceanside
    summary = dispatch_due()
    assert summary.expired == 2
    assert {leuk_reminder(participant, lead).status for lead in (7, 1)} == {OutboxStatus.EXPIRED}
    assert smtp_server.messages == []


def test_run_late_on_the_evening_before_still_sends(leuk_on, site_ocn, smtp_server, time_machine):
    participant = leuk_on(datetime.date(2026, 4, 5), site_ocn)
    time_machine.move_to(at(2026, 4, 5, 3, 59), tick=False)  # 20:59 on 4 April in Oceanside
    dispatch_due()
    assert leuk_reminder(participant, 1).status == OutboxStatus.SENT


def test_run_late_in_the_night_before_sends_nothing(leuk_on, site_ocn, smtp_server, time_machine):
    # Issue 20 item 10: never in the night. 23:59 is outside 08:00-21:00 and the next allowed
    # time is on the visit day, so the reminder expires unsent (it used to go out at 23:59).
    participant = leuk_on(datetime.date(2026, 4, 5), site_ocn)
    time_machine.move_to(at(2026, 4, 5, 6, 59), tick=False)  # 23:59 on 4 April in Oceanside
    dispatch_due()
    assert leuk_reminder(participant, 1).status == OutboxStatus.EXPIRED
    assert smtp_server.messages == []


def test_running_twice_sends_each_reminder_once(leuk_on, site_ber, smtp_server, time_machine):
    leuk_on(datetime.date(2026, 4, 5), site_ber)
    time_machine.move_to(at(2026, 3, 29, 7), tick=False)
    first = dispatch_due()
    second = dispatch_due()
    assert (first.sent, second.sent) == (1, 0)
    assert len(smtp_server.messages) == 1


def test_backoff_doubles_from_one_minute_and_is_capped_at_thirty():
    delays = [retry_delay(n) for n in range(1, 9)]
    assert [d.total_seconds() / 60 for d in delays] == [1, 2, 4, 8, 16, 30, 30, 30]


def test_server_answering_451_for_a_while_gets_the_reminder_on_a_later_try(
    leuk_on, site_ber, smtp_server, time_machine
):
    participant = leuk_on(datetime.date(2026, 4, 5), site_ber)
    smtp_server.handler.refuse_rcpt = "451 4.3.0 Try again later"
    smtp_server.handler.refuse_first = 3
    start = at(2026, 3, 29, 7)
    reminder = leuk_reminder(participant, 7)
    expected_retries = [start + datetime.timedelta(minutes=m) for m in (1, 3, 7)]
    time_machine.move_to(start, tick=False)
    for retry_at in expected_retries:
        assert dispatch_due().retrying == 1
        reminder.refresh_from_db()
        assert reminder.next_attempt_at == retry_at
        assert reminder.last_error.startswith("recipient refused: 451")
        time_machine.move_to(retry_at - datetime.timedelta(seconds=1), tick=False)
        assert dispatch_due().as_dict() == dispatch.DispatchSummary().as_dict()
        time_machine.move_to(retry_at, tick=False)
    assert dispatch_due().sent == 1
    reminder.refresh_from_db()
    assert (reminder.status, reminder.attempts, reminder.last_error) == ("sent", 4, "")
    assert len(smtp_server.messages) == 1


def test_server_answering_550_fails_the_reminder_for_good(
    leuk_on, site_ber, smtp_server, time_machine
):
    participant = leuk_on(datetime.date(2026, 4, 5), site_ber)
    smtp_server.handler.refuse_rcpt = "550 5.1.1 Mailbox unavailable"
    time_machine.move_to(at(2026, 3, 29, 7), tick=False)
    assert dispatch_due().failed == 1
    reminder = leuk_reminder(participant, 7)
    assert reminder.status == OutboxStatus.FAILED
    assert reminder.last_error == "recipient refused: 550 5.1.1 Mailbox unavailable"
    time_machine.move_to(at(2026, 3, 30, 7), tick=False)
    smtp_server.handler.refuse_rcpt = None
    assert dispatch_due().as_dict() == dispatch.DispatchSummary().as_dict()
    assert smtp_server.messages == []


def test_invalid_address_fails_without_a_retry(leuk_on, site_ber, smtp_server, time_machine):
    participant = leuk_on(datetime.date(2026, 4, 5), site_ber)
    type(participant).objects.filter(pk=participant.pk).update(email="not an address")
    time_machine.move_to(at(2026, 3, 29, 7), tick=False)
    assert dispatch_due().failed == 1
    reminder = leuk_reminder(participant, 7)
    assert (reminder.status, reminder.last_error) == (OutboxStatus.FAILED, "invalid address")
    assert smtp_server.handler.rcpt_attempts == 0


def test_refused_connection_is_retried_and_the_reminder_goes_out_when_the_server_is_back(
    leuk_on, site_ber, refusing_port, time_machine, settings
):
    participant = leuk_on(datetime.date(2026, 4, 5), site_ber)
    time_machine.move_to(at(2026, 3, 29, 7), tick=False)
    assert dispatch_due().retrying == 1
    reminder = leuk_reminder(participant, 7)
    assert reminder.last_error.startswith("mail server unreachable: ConnectionRefusedError")
    with LoopbackSMTP() as server:
        point_django_at(settings, server.port)
        time_machine.move_to(at(2026, 3, 29, 7, 1), tick=False)
        assert dispatch_due().sent == 1
        assert len(server.messages) == 1


def test_a_server_that_hangs_up_costs_one_connection_per_run_not_one_per_reminder(
    leuk_on, site_ber, time_machine, settings
):
    accepted = []
    with socket.create_server(("127.0.0.1", 0)) as listener:

        def hang_up():
            with contextlib.suppress(OSError):
                while True:
                    client, _ = listener.accept()
                    accepted.append(client.getpeername())
                    client.close()  # before the greeting: "connection unexpectedly closed"

        threading.Thread(target=hang_up, daemon=True).start()
        point_django_at(settings, listener.getsockname()[1])
        for _ in range(3):
            leuk_on(datetime.date(2026, 4, 5), site_ber)
        time_machine.move_to(at(2026, 3, 29, 7), tick=False)
        assert dispatch_due().retrying == 3
    assert len(accepted) == 1
    errors = set(Reminder.objects.filter(attempts=1).values_list("last_error", flat=True))
    assert errors == {
        "mail server unreachable: SMTPServerDisconnected: Connection unexpectedly closed"
    }


def test_retries_stop_when_the_night_before_the_visit_day_begins(
    leuk_on, site_ber, smtp_server, time_machine
):
    # Issue 20 item 10: a retry is a late send, so it never goes in the night either; the
    # next allowed time (08:00) is on the visit day, so the reminder expires at 21:00's first
    # retry rather than being tried until midnight as before.
    participant = leuk_on(datetime.date(2026, 4, 5), site_ber)
    smtp_server.handler.refuse_rcpt = "451 4.3.0 Try again later"
    time_machine.move_to(at(2026, 4, 4, 18, 50), tick=False)  # 20:50 in Berlin
    dispatch_due()
    reminder = leuk_reminder(participant, 1)
    for _ in range(3):
        time_machine.move_to(reminder.next_attempt_at, tick=False)
        dispatch_due()
        reminder.refresh_from_db()
    assert reminder.next_attempt_at == at(2026, 4, 4, 19, 5)  # 21:05 in Berlin
    time_machine.move_to(reminder.next_attempt_at, tick=False)
    assert dispatch_due().expired == 1
    reminder.refresh_from_db()
    assert (reminder.status, reminder.attempts) == (OutboxStatus.EXPIRED, 4)
    assert smtp_server.messages == []


def test_claim_left_by_a_crashed_dispatcher_is_taken_up_after_the_lease(
    leuk_on, site_ber, smtp_server, time_machine
):
    participant = leuk_on(datetime.date(2026, 4, 5), site_ber)
    time_machine.move_to(at(2026, 3, 29, 7), tick=False)
    claimed = claim_due_reminders(at(2026, 3, 29, 7), limit=10, token="crashed-run")
    assert [reminder_id for reminder_id, _ in claimed] == [leuk_reminder(participant, 7).pk]
    assert dispatch_due().sent == 0  # the lease still runs
    lease_over = at(2026, 3, 29, 7) + claims.claim_lease() + datetime.timedelta(seconds=1)
    time_machine.move_to(lease_over)
    assert dispatch_due().sent == 1
    assert len(smtp_server.messages) == 1


def test_reminder_claimed_before_its_visit_moved_is_not_sent(
    leuk_on, site_ber, smtp_server, time_machine
):
    participant = leuk_on(datetime.date(2026, 4, 5), site_ber)
    time_machine.move_to(at(2026, 3, 29, 7), tick=False)
    [(reminder_id, visit_id)] = claim_due_reminders(at(2026, 3, 29, 7), limit=10, token="run-1")
    record_transition(participant, "withdrawn", on=datetime.date(2026, 3, 29), reason="Moved away")
    outcome = sending.process_reminder(
        reminder_id,
        visit_id=visit_id,
        token="run-1",
        now=at(2026, 3, 29, 7),
        mailer=Mailer(),
    )
    assert outcome == outcomes.SKIPPED
    assert Reminder.objects.get(pk=reminder_id).status == OutboxStatus.CANCELLED
    assert smtp_server.messages == []


def test_switched_off_rule_cancels_its_pending_reminders_at_dispatch(
    leuk_on, site_ber, smtp_server, time_machine
):
    participant = leuk_on(datetime.date(2026, 4, 5), site_ber)
    ReminderRule.objects.filter(lead_days=7).update(active=False)
    time_machine.move_to(at(2026, 3, 29, 7), tick=False)
    assert dispatch_due().cancelled == 1
    assert leuk_reminder(participant, 7).status == OutboxStatus.CANCELLED
    assert smtp_server.messages == []


def test_opted_out_participant_gets_nothing(leuk_on, site_ber, smtp_server, time_machine):
    participant = leuk_on(datetime.date(2026, 4, 5), site_ber)
    set_reminders(participant, False)
    time_machine.move_to(at(2026, 3, 29, 7), tick=False)
    assert dispatch_due().sent == 0
    assert smtp_server.messages == []


@pytest.mark.parametrize("count", [1, 4])
def test_dispatch_costs_five_queries_per_reminder(
    leuk_on, site_ber, smtp_server, time_machine, django_assert_num_queries, count
):
    for _ in range(count):
        leuk_on(datetime.date(2026, 4, 5), site_ber)
    time_machine.move_to(at(2026, 3, 29, 7), tick=False)
    # digest rules 1; claim: savepoint, select, update, release 4; the batch's rows with their
    # visits, participants, sites and rules 1; per reminder: savepoint, lock visit, lock and
    # read the reminder with the supersede check, update, release 5; empty digest claim 3;
    # the mail relay accepted a message 1; the run completed (dispatch heartbeat) 1.
    with django_assert_num_queries(11 + 5 * count):
        assert dispatch_due().sent == count


def test_batches_share_one_smtp_connection(leuk_on, site_ber, smtp_server, time_machine):
    for _ in range(5):
        leuk_on(datetime.date(2026, 4, 5), site_ber)
    time_machine.move_to(at(2026, 3, 29, 7), tick=False)
    assert dispatch_due(batch_size=2).sent == 5
    assert len(smtp_server.handler.peers) == 5
    assert len(set(smtp_server.handler.peers)) == 1


def test_reminder_re_timed_later_after_its_claim_is_released_not_sent(
    leuk_on, site_ber, smtp_server, time_machine
):
    participant = leuk_on(datetime.date(2026, 4, 5), site_ber)
    now = at(2026, 3, 29, 7)
    time_machine.move_to(now, tick=False)
    [(reminder_id, visit_id)] = claim_due_reminders(now, limit=10, token="run-1")
    Reminder.objects.filter(pk=reminder_id).update(due_at=now + datetime.timedelta(hours=1))
    outcome = sending.process_reminder(
        reminder_id, visit_id=visit_id, token="run-1", now=now, mailer=Mailer()
    )
    reminder = leuk_reminder(participant, 7)
    assert outcome == outcomes.SKIPPED
    assert (reminder.status, reminder.claimed_until, reminder.claim_token) == ("pending", None, "")
    assert smtp_server.messages == []


def test_a_reminder_whose_email_cannot_be_built_is_retried_later_not_lost(
    leuk_on, site_ber, smtp_server, time_machine, settings, tmp_path
):
    participant = leuk_on(datetime.date(2026, 4, 5), site_ber)
    broken = tmp_path / "scheduling" / "email"
    broken.mkdir(parents=True)
    (broken / "reminder.txt").write_text("{% no_such_tag %}")
    original = settings.TEMPLATES
    settings.TEMPLATES = [{**original[0], "DIRS": [tmp_path]}]  # found before the app's own
    time_machine.move_to(at(2026, 3, 29, 7), tick=False)
    assert dispatch_due().retrying == 1
    reminder = leuk_reminder(participant, 7)
    assert (reminder.status, reminder.attempts) == (OutboxStatus.PENDING, 1)
    assert reminder.last_error == "internal error: TemplateSyntaxError"
    settings.TEMPLATES = original
    time_machine.move_to(reminder.next_attempt_at, tick=False)
    assert dispatch_due().sent == 1
    assert len(smtp_server.messages) == 1


def test_an_older_reminder_retrying_never_follows_a_newer_one_already_sent(
    leuk_on, site_ber, smtp_server, time_machine
):
    participant = leuk_on(datetime.date(2026, 4, 5), site_ber)
    smtp_server.handler.refuse_rcpt = "451 4.3.0 Try again later"
    time_machine.move_to(at(2026, 4, 4, 6, 58), tick=False)  # 08:58 in Berlin
    dispatch_due()  # the 7-day reminder fails: next try 08:59
    time_machine.move_to(at(2026, 4, 4, 6, 59), tick=False)
    dispatch_due()  # fails again: next try 09:01
    smtp_server.handler.refuse_rcpt = None
    time_machine.move_to(at(2026, 4, 4, 7), tick=False)  # 09:00: the 1-day one is due
    assert dispatch_due().sent == 1
    time_machine.move_to(at(2026, 4, 4, 7, 1), tick=False)  # the 7-day one's retry
    assert dispatch_due().superseded == 1
    assert leuk_reminder(participant, 1).status == OutboxStatus.SENT
    assert leuk_reminder(participant, 7).status == OutboxStatus.SUPERSEDED
    assert len(smtp_server.messages) == 1
