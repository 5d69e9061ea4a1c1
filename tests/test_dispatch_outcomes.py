"""A late final reply sends once; an unknown outcome is retried once (issue 10, point 3).

The loopback SMTP server (tests/smtp_server.py) takes the message and then answers late, or
hangs up without answering. Timeouts are shrunk so that the tests take seconds: what matters
is that the wait for the reply to the data is its own (``EMAIL_DATA_REPLY_TIMEOUT``), not
``EMAIL_TIMEOUT``.
"""

import datetime
import time

import pytest
from django.core.mail import EmailMessage, get_connection
from django.urls import reverse

from scheduling.mail import claims, dispatch
from scheduling.mail.dispatch import dispatch_due
from scheduling.mail.smtp import OutcomeUnknown
from scheduling.models import Audience, OutboxStatus, Reminder, ReminderRule
from tests.smtp_server import smtp_server_fixture  # noqa: F401

UTC = datetime.UTC
VISIT = datetime.date(2026, 4, 5)
DUE = datetime.datetime(2026, 3, 29, 7, tzinfo=UTC)  # 09:00 in Berlin


@pytest.fixture
def due_reminders(make_participant, site_ber, time_machine):
    ReminderRule.objects.filter(audience=Audience.COORDINATOR_DIGEST).update(active=False)

    def make(count: int) -> list[Reminder]:
        consent = VISIT - datetime.timedelta(days=35)
        time_machine.move_to(datetime.datetime.combine(consent, datetime.time(12), UTC), tick=False)
        participants = [make_participant(consent_date=consent, site=site_ber) for _ in range(count)]
        time_machine.move_to(DUE, tick=False)
        return list(
            Reminder.objects.filter(
                visit__participant__in=participants, visit__code="LEUK", rule__lead_days=7
            ).order_by("id")
        )

    return make


def test_a_final_reply_slower_than_email_timeout_is_waited_for_and_the_reminder_sent_once(
    due_reminders, smtp_server, settings, time_machine
):
    [reminder] = due_reminders(1)
    settings.EMAIL_TIMEOUT = 1
    smtp_server.handler.reply_delay = 2.5  # the server has queued it and answers late
    assert dispatch_due().sent == 1
    reminder.refresh_from_db()
    assert (reminder.status, reminder.attempts, reminder.outcome_unknown_at) == ("sent", 1, None)
    time_machine.move_to(DUE + datetime.timedelta(minutes=30), tick=False)
    assert dispatch_due().as_dict() == dispatch.DispatchSummary().as_dict()
    assert len(smtp_server.messages) == 1


def test_email_timeout_still_bounds_the_other_replies(smtp_server, settings):
    settings.EMAIL_TIMEOUT = 1
    settings.EMAIL_DATA_REPLY_TIMEOUT = 30
    smtp_server.handler.latency = 2  # slow to answer EHLO: the client gives up after 1 s
    message = EmailMessage("Subject", "Body", "visits@localhost", ["participant@example.org"])
    started = time.monotonic()
    with pytest.raises(OSError, match="timed out") as raised:
        get_connection(fail_silently=False).send_messages([message])
    assert not isinstance(raised.value, OutcomeUnknown)  # nothing was sent: a plain failure
    assert time.monotonic() - started < 5
    assert smtp_server.messages == []


def test_the_wait_for_the_final_reply_ends_after_email_data_reply_timeout(smtp_server, settings):
    settings.EMAIL_TIMEOUT = 5
    settings.EMAIL_DATA_REPLY_TIMEOUT = 1
    smtp_server.handler.reply_delay = 30
    message = EmailMessage("Subject", "Body", "visits@localhost", ["participant@example.org"])
    started = time.monotonic()
    with pytest.raises(OutcomeUnknown, match="no reply after the message was sent"):
        get_connection(fail_silently=False).send_messages([message])
    assert time.monotonic() - started < 5
    assert len(smtp_server.messages) == 1  # the server had it all along


def test_a_connection_dropped_after_the_data_is_an_unknown_outcome_retried_once_same_message_id(
    due_reminders, smtp_server, time_machine
):
    [reminder] = due_reminders(1)
    smtp_server.handler.drop_after_data = 1
    summary = dispatch_due()
    assert (summary.sent, summary.retrying, summary.unknown) == (0, 0, 1)
    assert summary.line().endswith(", unknown 1")
    reminder.refresh_from_db()
    assert reminder.status == OutboxStatus.PENDING
    assert reminder.outcome_unknown_at == DUE
    assert reminder.last_error.startswith("outcome unknown: no reply after the message was sent")
    assert reminder.message_id == f"<reminder-{reminder.pk}@localhost>"
    assert reminder.next_attempt_at == DUE + datetime.timedelta(minutes=1)

    time_machine.move_to(reminder.next_attempt_at, tick=False)
    assert dispatch_due().sent == 1
    reminder.refresh_from_db()
    assert (reminder.status, reminder.attempts, reminder.outcome_unknown_at) == ("sent", 2, DUE)
    first, second = smtp_server.handler.message_ids()
    assert first == second == reminder.message_id


def test_a_second_unknown_outcome_closes_the_reminder_as_unknown_without_a_third_copy(
    due_reminders, smtp_server, time_machine
):
    [reminder] = due_reminders(1)
    smtp_server.handler.drop_after_data = 100
    assert dispatch_due().unknown == 1
    later = DUE + datetime.timedelta(minutes=1)
    time_machine.move_to(later, tick=False)
    summary = dispatch_due()
    assert (summary.unknown, summary.retrying) == (1, 0)
    reminder.refresh_from_db()
    assert (reminder.status, reminder.attempts) == (OutboxStatus.UNKNOWN, 2)
    assert (reminder.outcome_unknown_at, reminder.next_attempt_at) == (later, None)
    time_machine.move_to(DUE + datetime.timedelta(hours=2), tick=False)
    assert dispatch_due().as_dict() == dispatch.DispatchSummary().as_dict()
    assert len(smtp_server.messages) == 2


def test_an_unknown_outcome_ends_the_runs_sending_and_the_rest_is_retried(
    due_reminders, smtp_server, time_machine
):
    first, second = due_reminders(2)
    smtp_server.handler.drop_after_data = 1
    summary = dispatch_due()
    assert (summary.unknown, summary.retrying, summary.sent) == (1, 1, 0)
    second.refresh_from_db()
    assert second.last_error == (
        "mail server gave no reply after a message was sent: Connection unexpectedly closed"
    )
    assert second.outcome_unknown_at is None
    time_machine.move_to(DUE + datetime.timedelta(minutes=1), tick=False)
    assert dispatch_due().sent == 2
    assert len(smtp_server.messages) == 3


def test_the_claim_lease_outlasts_the_longest_wait_for_a_reply(settings):
    settings.EMAIL_TIMEOUT = 20
    settings.EMAIL_DATA_REPLY_TIMEOUT = 600  # RFC 5321 §4.5.3.2.6
    budget = claims.send_budget()
    assert budget >= datetime.timedelta(seconds=600 + 10 * 20)
    assert claims.claim_lease() > budget


def test_the_dashboard_counts_reminders_closed_with_an_unknown_outcome(
    due_reminders, smtp_server, time_machine, client, staff
):
    due_reminders(1)
    smtp_server.handler.drop_after_data = 2
    dispatch_due()
    time_machine.move_to(DUE + datetime.timedelta(minutes=1), tick=False)
    dispatch_due()
    client.force_login(staff["coordinator-ber"])
    response = client.get(reverse("admin:index"))
    assert response.context["board"]["reminders_unknown"] == 1
    assert 'id="reminders-unknown">1</span> outcome unknown' in response.text
