"""The participant reminder as the SMTP server receives it: subject, text and HTML bodies, and
the .ics event (UID per visit, SEQUENCE raised by reschedules)."""

import datetime
from html import unescape

import icalendar
import pytest

from participants.lifecycle import record_transition
from scheduling.mail.dispatch import dispatch_due
from scheduling.models import Audience, Reminder, ReminderRule, Visit
from tests.factories import enrol
from tests.smtp_server import smtp_server_fixture  # noqa: F401

UTC = datetime.UTC
TRIAL_WORDS = ["SLE", "lupus", "Descartes", "CAR-T", "NCT06038474", "Cartesian", "mRNA"]


@pytest.fixture(autouse=True)
def no_digest(protocol):
    ReminderRule.objects.filter(audience=Audience.COORDINATOR_DIGEST).update(active=False)


@pytest.fixture
def leuk_reminder_received(make_participant, site_ber, smtp_server, time_machine):
    """Send the 7-day reminder of a LEUK visit on Sunday 5 April 2026 in Berlin."""

    def send(booked_time=None):
        site_ber.address = "Charité Campus Mitte\nCharitéplatz 1\n10117 Berlin"
        site_ber.phone = "+49 30 450 0"
        site_ber.save()
        time_machine.move_to(datetime.datetime(2026, 3, 1, 12, tzinfo=UTC), tick=False)
        participant = make_participant(
            consent_date=datetime.date(2026, 3, 1), site=site_ber, email="pat@example.org"
        )
        visit = Visit.objects.get(participant=participant, code="LEUK")
        if booked_time:
            Visit.objects.filter(pk=visit.pk).update(booked_time=booked_time)
        time_machine.move_to(datetime.datetime(2026, 3, 29, 7, tzinfo=UTC), tick=False)
        assert dispatch_due().sent == 1
        [message] = smtp_server.messages
        return message, visit

    return send


def calendar_of(message) -> icalendar.Calendar:
    [part] = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert part.get_filename() == "visit.ics"
    return icalendar.Calendar.from_ical(part.get_content())


def test_subject_names_the_visit_date_and_nothing_of_the_trial(leuk_reminder_received):
    message, _ = leuk_reminder_received()
    assert message["Subject"] == "Reminder: your study visit on Sunday 5 April 2026"
    for word in TRIAL_WORDS + ["Leukapheresis"]:
        assert word.lower() not in message["Subject"].lower()


def test_body_gives_the_visit_date_site_coordinator_and_how_to_reschedule_or_stop(
    leuk_reminder_received,
):
    message, _ = leuk_reminder_received()
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = unescape(message.get_body(preferencelist=("html",)).get_content())
    for body in (text, html):
        for expected in [
            "Leukapheresis",
            "Sunday 5 April 2026",
            "Charitéplatz 1",
            "+49 30 450 0",
            "coordinator-ber@example.org",
            "I'll be there",
            "I need another date",
            "Stop reminders",
            "http://127.0.0.1:8000/r/",
        ]:
            assert expected in body
        for word in TRIAL_WORDS:
            assert word not in body
    assert message["To"] == "pat@example.org"
    assert message["Reply-To"] == "coordinator-ber@example.org"


def test_message_id_is_stable_per_reminder(leuk_reminder_received):
    message, visit = leuk_reminder_received()
    reminder = Reminder.objects.get(visit=visit, rule__lead_days=7)
    assert message["Message-ID"] == f"<reminder-{reminder.pk}@localhost>" == reminder.message_id


def test_calendar_event_is_all_day_on_the_planned_date_with_a_uid_per_visit(
    leuk_reminder_received,
):
    message, visit = leuk_reminder_received()
    [event] = calendar_of(message).events
    assert event.start == datetime.date(2026, 4, 5)
    assert event.end == datetime.date(2026, 4, 6)
    assert str(event["UID"]) == f"visit-{visit.pk}@localhost"
    assert event["SEQUENCE"] == 0


def test_a_booked_time_makes_the_event_timed_in_the_sites_zone(leuk_reminder_received):
    message, _ = leuk_reminder_received(booked_time=datetime.time(10, 30))
    [event] = calendar_of(message).events
    assert event.start.isoformat() == "2026-04-05T10:30:00+02:00"
    assert str(event.start.tzinfo) == "Europe/Berlin"
    assert "10:30" in message.get_body(preferencelist=("plain",)).get_content()


def test_a_rescheduled_visit_keeps_its_uid_and_raises_its_sequence(
    make_participant, site_ber, smtp_server, time_machine
):
    time_machine.move_to(datetime.datetime(2026, 1, 5, 12, tzinfo=UTC), tick=False)
    participant = make_participant(consent_date=datetime.date(2026, 1, 5), site=site_ber)
    time_machine.move_to(datetime.datetime(2026, 2, 20, 12, tzinfo=UTC), tick=False)
    enrol(participant, on=datetime.date(2026, 2, 1))
    record_transition(participant, "treatment", on=datetime.date(2026, 2, 20))
    inf2 = Visit.objects.get(participant=participant, code="INF2")
    assert (inf2.planned_date, inf2.sequence) == (datetime.date(2026, 2, 27), 1)
    summary = dispatch_due()  # INF2's 7-day reminder for its new date is due
    assert summary.sent == 1
    [event] = calendar_of(smtp_server.messages[0]).events
    assert str(event["UID"]) == f"visit-{inf2.pk}@localhost"
    assert (event.start, event["SEQUENCE"]) == (datetime.date(2026, 2, 27), 1)
