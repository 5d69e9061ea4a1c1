"""A participant's reminder in their language, end to end: the dispatcher sends it to a real
SMTP server on loopback and the test reads what arrived (subject, text and HTML bodies, the
.ics entry, Content-Language).

SLE-001's Leukapheresis (LEUK) is 35 days after consent: a participant who consents on Monday
5 January 2026 has it on Monday 9 February 2026, booked here at 09:30, and its 7-day reminder
goes out on 2 February at 09:00 site time.
"""

import datetime
from html import unescape

import icalendar
import pytest

from participants.models import Participant
from scheduling.mail.dispatch import dispatch_due
from scheduling.models import Audience, Reminder, ReminderRule, Visit
from scheduling.timeline.appointments import book_appointment
from tests.smtp_server import smtp_server_fixture  # noqa: F401
from tests.test_emails import TRIAL_WORDS

UTC = datetime.UTC
CONSENT = datetime.date(2026, 1, 5)
VISIT_DAY = datetime.date(2026, 2, 9)  # a Monday


@pytest.fixture(autouse=True)
def no_digest(protocol):
    ReminderRule.objects.filter(audience=Audience.COORDINATOR_DIGEST).update(active=False)


@pytest.fixture
def reminder_received(make_participant, smtp_server, time_machine):
    """The 7-day reminder of a LEUK visit on 9 February 2026 at 09:30, as the server got it."""

    def send(site, language=""):
        time_machine.move_to(datetime.datetime(2026, 1, 5, 12, tzinfo=UTC), tick=False)
        participant = make_participant(consent_date=CONSENT, site=site, email="pat@example.org")
        Participant.objects.filter(pk=participant.pk).update(language=language)
        visit = Visit.objects.get(participant=participant, code="LEUK")
        assert visit.appointment_date == VISIT_DAY
        book_appointment(visit, on=VISIT_DAY, at=datetime.time(9, 30))
        reminder = Reminder.objects.get(visit=visit, rule__lead_days=7, status="pending")
        time_machine.move_to(reminder.due_at, tick=False)
        assert dispatch_due().sent == 1
        [message] = smtp_server.messages
        return message

    return send


def subject(message) -> str:
    # A subject with non-ASCII letters goes out RFC 2047-encoded on a folded line
    # ("Subject:\r\n =?utf-8?q?...?="); Python's parser keeps the fold's space in front.
    return message["Subject"].strip()


def bodies(message) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = unescape(message.get_body(preferencelist=("html",)).get_content())
    return text, html


def event_of(message) -> icalendar.Event:
    [part] = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    [event] = icalendar.Calendar.from_ical(part.get_content()).events
    return event


def test_a_german_reminder_is_german_from_subject_to_calendar_entry(reminder_received, site_ber):
    message = reminder_received(site_ber, language="de")
    assert subject(message) == "Erinnerung: Ihr Studientermin am Montag, 9. Februar 2026"
    assert message["Content-Language"] == "de"
    text, html = bodies(message)
    for body in (text, html):
        for expected in [
            "Guten Tag,",
            "dies ist eine Erinnerung an Ihren nächsten Studientermin.",
            "Montag, 9. Februar 2026",
            "09:30",
            "Ortszeit des Studienzentrums",
            "Ich komme",
            "Ich brauche einen anderen Termin",
            "Erinnerungen abbestellen",
            "Ihre Studienkoordination:",
        ]:
            assert expected in body
        for english in ["Hello", "reminder of your next", "Monday", "February", "Stop reminders"]:
            assert english not in body
    assert "Uhrzeit:  09:30 (Ortszeit des Studienzentrums)" in text
    assert '<html lang="de">' in html
    event = event_of(message)
    assert str(event["SUMMARY"]) == "Studientermin bei Berlin"
    assert "Fragen oder ein neuer Termin: +1 555 0100." in str(event["DESCRIPTION"])
    assert event.start.isoformat() == "2026-02-09T09:30:00+01:00"


def test_a_spanish_reminder_is_spanish_from_subject_to_calendar_entry(reminder_received, site_ocn):
    message = reminder_received(site_ocn, language="es")
    assert subject(message) == (
        "Recordatorio: su visita del estudio el lunes, 9 de febrero de 2026"
    )
    assert message["Content-Language"] == "es"
    text, html = bodies(message)
    for body in (text, html):
        for expected in [
            "Hola:",
            "Le recordamos su próxima visita del estudio.",
            "lunes, 9 de febrero de 2026",
            "09:30",
            "hora local del centro",
        ]:
            assert expected in body
        for english in ["Hello", "reminder of your next", "Monday", "February", "Stop reminders"]:
            assert english not in body
    assert "Hora:  09:30" in text
    assert '<html lang="es">' in html
    event = event_of(message)
    assert str(event["SUMMARY"]) == "Visita del estudio en Oceanside"
    assert "Preguntas o una nueva fecha: +1 555 0100." in str(event["DESCRIPTION"])
    assert event.start.isoformat() == "2026-02-09T09:30:00-08:00"


def test_a_participant_without_a_language_gets_the_sites_default_language(
    reminder_received, site_ber
):
    site_ber.language = "de"
    site_ber.save()
    message = reminder_received(site_ber, language="")
    assert subject(message) == "Erinnerung: Ihr Studientermin am Montag, 9. Februar 2026"
    assert message["Content-Language"] == "de"
    assert "Guten Tag," in bodies(message)[0]


def test_a_participants_own_language_wins_over_the_sites_default(reminder_received, site_ber):
    site_ber.language = "de"
    site_ber.save()
    message = reminder_received(site_ber, language="fr")
    assert subject(message) == "Rappel : votre visite de l'étude le lundi 9 février 2026"
    assert message["Content-Language"] == "fr"


@pytest.mark.parametrize(("site_fixture", "language"), [("site_ber", "de"), ("site_ocn", "es")])
def test_a_translated_subject_names_nothing_of_the_trial(
    request, reminder_received, site_fixture, language
):
    message = reminder_received(request.getfixturevalue(site_fixture), language=language)
    for word in TRIAL_WORDS + ["Leukapheresis"]:
        assert word.lower() not in subject(message).lower()
