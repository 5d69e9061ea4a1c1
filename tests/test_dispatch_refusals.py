"""A refusal by the relay is not a refusal of the reminder (issue 10, point 2).

Real loopback SMTP server (tests/smtp_server.py) told to refuse the ways relays do. A refusal
that concerns the mail set-up (the relay, the sender, the login) leaves every row pending with
backoff, stops the run, logs one ERROR and shows a banner on the staff dashboard until a
message is accepted; only a refusal of one mailbox fails that one reminder.
"""

import datetime
import logging

import pytest
from django.urls import reverse

from scheduling.mail.dispatch import dispatch_due
from scheduling.mail.mailer import MAILBOX, SETUP, TRANSIENT, UNCLEAR, concerns
from scheduling.models import Audience, MailRelay, OutboxStatus, Reminder, ReminderRule, SiteDigest
from tests.smtp_server import smtp_server_fixture  # noqa: F401

UTC = datetime.UTC
VISIT = datetime.date(2026, 4, 5)
DUE = datetime.datetime(2026, 3, 29, 7, tzinfo=UTC)  # 09:00 in Berlin; its digest (07:00) too


def minutes_after_due(minutes: int) -> datetime.datetime:
    return DUE + datetime.timedelta(minutes=minutes)


@pytest.fixture
def due_at_nine(make_participant, site_ber, time_machine):
    """``count`` participants in Berlin (participant0@… and on), each with the 7-day reminder
    of a LEUK visit on 5 April due at ``DUE``; the coordinator digest only if asked."""

    def make(count: int, *, digest: bool = False) -> list[Reminder]:
        if not digest:
            ReminderRule.objects.filter(audience=Audience.COORDINATOR_DIGEST).update(active=False)
        consent = VISIT - datetime.timedelta(days=35)
        time_machine.move_to(datetime.datetime.combine(consent, datetime.time(12), UTC), tick=False)
        participants = [
            make_participant(
                consent_date=consent, site=site_ber, email=f"participant{n}@example.org"
            )
            for n in range(count)
        ]
        time_machine.move_to(DUE, tick=False)
        return list(
            Reminder.objects.filter(
                visit__participant__in=participants, visit__code="LEUK", rule__lead_days=7
            ).order_by("due_at", "id")
        )

    return make


def statuses(rows) -> list[str]:
    return [type(row).objects.get(pk=row.pk).status for row in rows]


@pytest.mark.parametrize(
    ("code", "text", "kind"),
    [
        (550, "5.1.1 <a@example.org>: Recipient address rejected: User unknown", MAILBOX),
        (553, "5.1.3 Bad recipient address syntax", MAILBOX),
        (550, "5.1.8 <visits@localhost>: Sender address rejected: Domain not found", SETUP),
        (554, "5.7.1 <a@example.org>: Relay access denied", SETUP),
        (530, "5.7.0 Authentication required", SETUP),
        (530, "Authentication required", SETUP),
        (503, "5.5.1 Error: need MAIL command", SETUP),
        (501, "5.5.4 Syntax error in parameters", SETUP),
        (550, "Relaying denied", UNCLEAR),
        (552, "5.2.2 Mailbox full", UNCLEAR),
        (550, "5.4.5 Daily sending quota exceeded", UNCLEAR),
        (451, "4.7.1 Greylisted, try again later", TRANSIENT),
        (450, "4.1.1 Mailbox temporarily unavailable", TRANSIENT),
    ],
)
def test_a_refusal_is_read_by_its_enhanced_status_code_first(code, text, kind):
    assert concerns(code, text) == kind


def test_530_at_mail_from_holds_every_row_back_and_all_go_out_once_the_relay_is_fixed(
    due_at_nine, smtp_server, caplog
):
    reminders = due_at_nine(5, digest=True)
    smtp_server.handler.refuse_mail = "530 5.7.0 Authentication required"
    with caplog.at_level(logging.WARNING):
        summary = dispatch_due()
    assert (summary.sent, summary.retrying, summary.failed) == (0, 6, 0)
    assert smtp_server.handler.mail_attempts == 1  # the rest of the run did not try again
    [digest] = SiteDigest.objects.all()
    rows = [*reminders, digest]
    assert set(statuses(rows)) == {OutboxStatus.PENDING}
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == [
        "mail set-up fault, this run sends no more: sender refused: 530 5.7.0 "
        "Authentication required"
    ]
    for row in rows:
        row.refresh_from_db()
        assert (row.attempts, row.next_attempt_at) == (1, minutes_after_due(1))
        assert row.last_error == "sender refused: 530 5.7.0 Authentication required"

    smtp_server.handler.refuse_mail = None  # the password is put right
    summary = dispatch_due(now=minutes_after_due(1))
    assert (summary.sent, summary.retrying, summary.failed) == (6, 0, 0)
    assert set(statuses(rows)) == {OutboxStatus.SENT}
    assert len(smtp_server.messages) == 6


@pytest.mark.parametrize(
    "reply",
    [
        "554 5.7.1 <participant0@example.org>: Relay access denied",
        "530 5.7.0 Must issue a STARTTLS command first",
        "501 5.5.4 Syntax error in parameters",
        "550 5.1.8 <visits@localhost>: Sender address rejected: Domain not found",
    ],
)
def test_a_policy_or_protocol_refusal_of_a_recipient_is_the_set_ups_fault(
    due_at_nine, smtp_server, reply
):
    reminders = due_at_nine(3)
    smtp_server.handler.refuse_rcpt = reply
    summary = dispatch_due()
    assert (summary.retrying, summary.failed) == (3, 0)
    assert smtp_server.handler.rcpt_attempts == 1
    assert set(statuses(reminders)) == {OutboxStatus.PENDING}
    smtp_server.handler.refuse_rcpt = None
    assert dispatch_due(now=minutes_after_due(1)).sent == 3


def test_a_policy_refusal_after_the_data_is_the_set_ups_fault(due_at_nine, smtp_server):
    reminders = due_at_nine(2)
    smtp_server.handler.refuse_data = "554 5.7.1 Message rejected: sender not authorised"
    assert dispatch_due().retrying == 2
    assert set(statuses(reminders)) == {OutboxStatus.PENDING}
    smtp_server.handler.refuse_data = None
    assert dispatch_due(now=minutes_after_due(1)).sent == 2


def test_the_set_up_fault_shows_on_the_dashboard_until_a_message_is_accepted(
    due_at_nine, smtp_server, client, staff, time_machine
):
    due_at_nine(2)
    client.force_login(staff["coordinator-ber"])
    smtp_server.handler.refuse_rcpt = "554 5.7.1 <participant0@example.org>: Relay access denied"
    dispatch_due()
    page = client.get(reverse("admin:index")).text
    assert 'id="mail-fault"' in page
    assert "554 5.7.1 [address]: Relay access denied" in page
    assert "participant0@example.org" not in page
    relay = MailRelay.objects.get()
    assert (relay.fault_since, relay.last_accepted_at) == (DUE, None)

    time_machine.move_to(minutes_after_due(1), tick=False)
    assert dispatch_due().retrying == 2  # still refused: the fault began at DUE
    assert MailRelay.objects.get().fault_since == DUE

    smtp_server.handler.refuse_rcpt = None
    time_machine.move_to(minutes_after_due(3), tick=False)
    assert dispatch_due().sent == 2
    assert 'id="mail-fault"' not in client.get(reverse("admin:index")).text
    assert MailRelay.objects.get().fault == ""


def test_550_5_1_1_for_one_address_fails_only_that_reminder(due_at_nine, smtp_server):
    reminders = due_at_nine(4)
    smtp_server.handler.refuse_address = {"participant1@example.org": "550 5.1.1 User unknown"}
    summary = dispatch_due()
    assert (summary.sent, summary.retrying, summary.failed) == (3, 0, 1)
    assert statuses(reminders) == ["sent", "failed", "sent", "sent"]
    assert not MailRelay.objects.exclude(fault="").exists()


def test_the_same_5xx_for_every_recipient_is_the_relays_fault_and_no_reminder_is_lost(
    due_at_nine, smtp_server
):
    reminders = due_at_nine(5)
    smtp_server.handler.refuse_rcpt = "550 Relaying denied"
    summary = dispatch_due()
    # Three different recipients in a row with the same reply: the relay, not the mailboxes.
    assert smtp_server.handler.rcpt_attempts == 3
    assert (summary.sent, summary.retrying, summary.failed) == (0, 5, 0)
    assert set(statuses(reminders)) == {OutboxStatus.PENDING}
    assert MailRelay.objects.get().fault == (
        "the same refusal for 3 recipients in a row: 550 Relaying denied"
    )
    smtp_server.handler.refuse_rcpt = None
    assert dispatch_due(now=minutes_after_due(1)).sent == 5


def test_an_unclear_5xx_for_one_recipient_fails_it_once_the_server_accepts_another(
    due_at_nine, smtp_server
):
    reminders = due_at_nine(3)
    smtp_server.handler.refuse_address = {"participant0@example.org": "550 No such user here"}
    summary = dispatch_due()
    assert (summary.sent, summary.retrying, summary.failed) == (2, 0, 1)
    assert statuses(reminders) == ["failed", "sent", "sent"]
    reminders[0].refresh_from_db()
    assert reminders[0].last_error == "recipient refused: 550 No such user here"
    assert reminders[0].next_attempt_at is None


def test_an_unclear_5xx_with_no_one_else_to_send_to_is_retried_not_failed(due_at_nine, smtp_server):
    [reminder] = due_at_nine(1)
    smtp_server.handler.refuse_rcpt = "550 Relaying denied"
    assert dispatch_due().retrying == 1
    reminder.refresh_from_db()
    assert (reminder.status, reminder.next_attempt_at) == ("pending", minutes_after_due(1))
    smtp_server.handler.refuse_rcpt = None  # it was the relay after all
    assert dispatch_due(now=minutes_after_due(1)).sent == 1


def test_an_unclear_5xx_again_after_the_server_accepted_others_fails_the_reminder(
    due_at_nine, smtp_server, make_participant, site_ber, time_machine
):
    [reminder] = due_at_nine(1)
    smtp_server.handler.refuse_address = {"participant0@example.org": "550 No such user here"}
    assert dispatch_due().retrying == 1  # alone in its run: held
    # A participant whose reminder falls due between the two tries, sent on its own.
    consent = datetime.date(2026, 3, 1)
    time_machine.move_to(datetime.datetime(2026, 3, 1, 12, tzinfo=UTC), tick=False)
    make_participant(consent_date=consent, site=site_ber, email="other@example.org")
    time_machine.move_to(DUE + datetime.timedelta(seconds=30), tick=False)
    assert dispatch_due().sent == 1
    time_machine.move_to(minutes_after_due(1), tick=False)
    summary = dispatch_due()
    assert (summary.retrying, summary.failed) == (0, 1)
    reminder.refresh_from_db()
    assert (reminder.status, reminder.attempts) == (OutboxStatus.FAILED, 2)
