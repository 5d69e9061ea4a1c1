"""Exactly once on PostgreSQL: dispatchers at the same time, a crash between the SMTP server's
"250" and the commit, and a schedule change that arrives while a reminder is being sent.

Each dispatcher runs in its own thread with its own database connection (transactional_db:
what one commits, the others see).
"""

import datetime
import threading
import time

import psycopg
import pytest
from django.db import connection, connections

from participants.lifecycle import set_reminders
from scheduling.mail import claims
from scheduling.mail.dispatch import dispatch_due
from scheduling.models import Audience, OutboxStatus, Reminder, ReminderRule
from tests.smtp_server import smtp_server_fixture  # noqa: F401

UTC = datetime.UTC
DUE = datetime.datetime(2026, 3, 29, 7, tzinfo=UTC)  # 09:00 in Berlin
VISIT = datetime.date(2026, 4, 5)


@pytest.fixture
def due_reminders(transactional_db, make_participant, site_ber, time_machine):
    """``count`` participants, each with one reminder (LEUK, 7 days ahead) due at ``DUE``."""
    ReminderRule.objects.filter(audience=Audience.COORDINATOR_DIGEST).update(active=False)

    def make(count: int) -> list[Reminder]:
        consent = VISIT - datetime.timedelta(days=35)
        time_machine.move_to(datetime.datetime.combine(consent, datetime.time(12), UTC), tick=False)
        participants = [make_participant(consent_date=consent, site=site_ber) for _ in range(count)]
        time_machine.move_to(DUE, tick=False)
        return list(
            Reminder.objects.filter(
                visit__participant__in=participants, visit__code="LEUK", rule__lead_days=7
            )
        )

    return make


def in_thread(target, results: list, errors: list, start: threading.Barrier | None = None):
    def run():
        try:
            if start is not None:
                start.wait()
            results.append(target())
        except Exception as error:  # noqa: BLE001 - handed to the test thread
            errors.append(error)
        finally:
            connections.close_all()

    return threading.Thread(target=run)


def test_two_dispatchers_at_once_never_send_a_reminder_twice(due_reminders, smtp_server):
    reminders = due_reminders(20)
    smtp_server.handler.delay = 0.01
    start = threading.Barrier(2)
    results, errors = [], []
    threads = [
        in_thread(lambda: dispatch_due(batch_size=3), results, errors, start) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    ids = smtp_server.handler.message_ids()
    assert sorted(ids) == sorted(f"<reminder-{r.pk}@localhost>" for r in reminders)
    assert sorted(summary.sent for summary in results) != [0, 20]  # both did part of the work
    assert sum(summary.sent for summary in results) == 20
    assert set(
        Reminder.objects.filter(pk__in=[r.pk for r in reminders]).values_list("status", flat=True)
    ) == {OutboxStatus.SENT}


def _own_session():
    """A database session of the test's own, usable from the SMTP server's (async) thread."""
    settings = connection.settings_dict
    return psycopg.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        host=settings["HOST"],
        port=settings["PORT"] or 5432,
        autocommit=True,
    )


def _terminate(pid: int) -> None:
    with _own_session() as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])


def test_resend_after_a_crash_before_the_commit_carries_the_same_message_id(
    due_reminders, smtp_server, time_machine
):
    [reminder] = due_reminders(1)
    backend = {}

    def crash_once(message):
        # The server has the message; the dispatcher's database session dies before it can
        # commit "sent" (as if the worker were killed between the two).
        if "pid" in backend:
            _terminate(backend.pop("pid"))

    smtp_server.handler.after_accept = crash_once

    def dispatcher():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend["pid"] = cursor.fetchone()[0]
        return dispatch_due()

    results, errors = [], []
    thread = in_thread(dispatcher, results, errors)
    thread.start()
    thread.join(timeout=30)
    assert len(errors) == 1  # the run died with its database session
    reminder.refresh_from_db()
    assert reminder.status == OutboxStatus.PENDING
    assert reminder.claimed_until == DUE + claims.claim_lease()

    time_machine.move_to(DUE + claims.claim_lease() + datetime.timedelta(seconds=1), tick=False)
    assert dispatch_due().sent == 1
    reminder.refresh_from_db()
    first, second = smtp_server.handler.message_ids()
    assert first == second == reminder.message_id == f"<reminder-{reminder.pk}@localhost>"


def test_opt_out_during_a_send_waits_and_leaves_the_sent_reminder_sent(due_reminders, smtp_server):
    [reminder] = due_reminders(1)
    participant = reminder.visit.participant
    opt_out_done = {}
    results, errors = [], []

    def opt_out():
        set_reminders(participant, False)
        opt_out_done["at"] = time.monotonic()

    opt_out_thread = in_thread(opt_out, results, errors)

    def opt_out_while_sending(message):
        opt_out_thread.start()
        time.sleep(0.5)  # the opt-out now waits on the reminder's row lock
        opt_out_done["sent_at"] = time.monotonic()

    smtp_server.handler.after_accept = opt_out_while_sending
    assert dispatch_due().sent == 1
    opt_out_thread.join(timeout=30)
    assert errors == []
    assert opt_out_done["at"] > opt_out_done["sent_at"]
    reminder.refresh_from_db()
    assert reminder.status == OutboxStatus.SENT
    others = Reminder.objects.filter(visit__participant=participant).exclude(pk=reminder.pk)
    assert set(others.values_list("status", flat=True)) == {OutboxStatus.CANCELLED}


def test_a_row_whose_final_reply_is_still_coming_is_not_claimed_by_another_dispatcher(
    due_reminders, smtp_server, time_machine
):
    # The first dispatcher sent the data and waits for the reply; its database session dies
    # meanwhile (the row lock goes with it). Six minutes on, a second dispatcher runs.
    due_reminders(1)
    smtp_server.handler.reply_delay = 2
    backend, results, errors = {}, [], []
    second = in_thread(dispatch_due, results, errors)

    def lose_the_session_and_start_another_dispatcher(message):
        if "pid" in backend:  # the first dispatcher's message only
            _terminate(backend.pop("pid"))
            time_machine.move_to(DUE + datetime.timedelta(minutes=6), tick=False)
            second.start()

    smtp_server.handler.after_accept = lose_the_session_and_start_another_dispatcher

    def first_dispatcher():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend["pid"] = cursor.fetchone()[0]
        return dispatch_due()

    first_errors = []
    first = in_thread(first_dispatcher, [], first_errors)
    first.start()
    first.join(timeout=30)
    second.join(timeout=30)
    assert len(first_errors) == 1  # it got "250" and could not record it
    assert errors == []
    assert [summary.sent for summary in results] == [0]  # the claim still held
    assert len(smtp_server.messages) == 1


def test_a_row_reached_after_a_slow_start_has_its_claim_renewed_before_it_is_sent(
    due_reminders, smtp_server, time_machine
):
    first, second = due_reminders(2)
    slow_start = DUE + claims.LEASE_MARGIN + datetime.timedelta(minutes=1)
    seen = []

    def note_the_claim(message):
        if len(seen) == 0:
            time_machine.move_to(slow_start, tick=False)  # the first send took that long
        with _own_session() as session:
            query = "SELECT claimed_until FROM scheduling_reminder WHERE id = %s"
            seen.append(session.execute(query, [second.pk]).fetchone()[0])

    smtp_server.handler.after_accept = note_the_claim
    assert dispatch_due().sent == 2
    lease = claims.claim_lease()
    assert seen == [DUE + lease, slow_start + lease]
