"""Appointments on the clinic calendar, through the services (PostgreSQL).

SLE-001 at OCN (Oceanside, America/Los_Angeles), open Monday to Friday with California's
public holidays, unless a test says otherwise. A participant who consents on Monday
5 January 2026 has every visit on an open weekday: LEUK on Monday 9 February (window 2 to
16 February), treatment from Monday 2 March (INF1 2 March, no window; INF2 9 March, ±2 days;
INF3 16 March …). Reminders: 7 and 1 days before the appointment, at 09:00 site time.
"""

import datetime
import threading
import time
import zoneinfo

import holidays
import icalendar
import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from participants.lifecycle import correct_transition, record_transition
from participants.models import Resource, SiteCapacity
from participants.sites import add_closure, remove_closure
from scheduling.exports.calendars import visit_calendar
from scheduling.mail import outcomes, sending
from scheduling.mail.claims import claim_due_reminders
from scheduling.mail.dispatch import dispatch_due
from scheduling.mail.mailer import Mailer
from scheduling.models import (
    AppointmentFlag,
    Audience,
    OutboxStatus,
    Reminder,
    ReminderRule,
    Visit,
    VisitDefinition,
)
from scheduling.timeline import schedules, site_calendars
from scheduling.timeline.appointments import book_appointment, clear_booking
from scheduling.timeline.visits import record_visit
from tests.factories import enrol as confirm_enrolment
from tests.smtp_server import smtp_server_fixture  # noqa: F401

D = datetime.date
UTC = datetime.UTC
LA = zoneinfo.ZoneInfo("America/Los_Angeles")
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
CONSENT = D(2026, 1, 5)
NINE = datetime.time(9)


@pytest.fixture(autouse=True)
def no_digest(protocol):
    ReminderRule.objects.filter(audience=Audience.COORDINATOR_DIGEST).update(active=False)


@pytest.fixture
def clock(time_machine):
    """Move the clock to noon (or 13:00) in Oceanside, early evening in Berlin, of ``day``."""

    def move(day: datetime.date, hour_utc: int = 20):
        time_machine.move_to(datetime.datetime.combine(day, datetime.time(hour_utc), UTC), False)

    move(CONSENT)
    return move


def clinic(site, country: str, subdivision: str):
    site.open_days = "12345"
    site.holiday_country, site.holiday_subdivision = country, subdivision
    site.full_clean()
    site.save()
    return site


@pytest.fixture
def ocn(site_ocn):
    return clinic(site_ocn, "US", "CA")


@pytest.fixture
def ber(site_ber):
    return clinic(site_ber, "DE", "BE")


@pytest.fixture
def apheresis(protocol):
    """LEUK uses the apheresis resource (set here: a flushed database reloads SLE-001 bare)."""
    resource, _ = Resource.objects.get_or_create(
        name="apheresis", defaults={"plural": "apheresis slots"}
    )
    VisitDefinition.objects.filter(protocol=protocol, code="LEUK").update(resource=resource)
    return resource


@pytest.fixture
def enrol(make_participant, ocn, clock):
    """A participant at OCN (or ``site``) consenting on ``consent``, on that day."""

    def make(consent: datetime.date = CONSENT, site=None, **kwargs):
        clock(consent)
        return make_participant(consent_date=consent, site=site or ocn, **kwargs)

    return make


def visit(participant, code: str) -> Visit:
    return Visit.objects.select_related("participant__site").get(participant=participant, code=code)


def reminders(visit: Visit, status: str = OutboxStatus.PENDING) -> dict[int, tuple]:
    """Lead days → (appointment day, due instant) of the visit's reminders in ``status``."""
    return {
        r.rule.lead_days: (r.planned_date, r.due_at)
        for r in Reminder.objects.filter(visit=visit, status=status).select_related("rule")
    }


def site_holidays(site):
    return holidays.country_holidays(site.holiday_country, subdiv=site.holiday_subdivision)


# Proposals: every visit of a new participant on an open day.


def test_a_new_participants_visits_are_proposed_on_open_days_of_their_windows(enrol, ocn):
    # Consent on Friday 8 May 2026: every visit falls on a Friday or, in follow-up, on the
    # 28th of a month; INF1 (no window) on Friday 3 July, Independence Day (observed).
    participant = enrol(D(2026, 5, 8))
    closed = site_holidays(ocn)
    visits = list(participant.visits.order_by("planned_date"))
    assert len(visits) == 14
    for v in visits:
        assert v.window_start <= v.appointment_date <= v.window_end, v.code
        assert v.appointment_source == "proposed"
        if v.appointment_flag == AppointmentFlag.NO_OPEN_DAY:
            assert v.appointment_date == v.planned_date
            assert v.appointment_note == "no open day in window"
            continue
        assert v.appointment_date.isoweekday() <= 5, v.code
        assert v.appointment_date not in closed, (v.code, closed.get(v.appointment_date))
    by_code = {v.code: v for v in visits}
    assert [
        (code, by_code[code].planned_date, by_code[code].appointment_date)
        for code in ("INF1", "FU3", "FU6", "FU12")
    ] == [
        ("INF1", D(2026, 7, 3), D(2026, 7, 3)),  # flagged: no open day in window
        ("FU3", D(2026, 11, 28), D(2026, 11, 30)),  # Thanksgiving and the day after are closed
        ("FU6", D(2027, 2, 28), D(2027, 3, 1)),
        ("FU12", D(2027, 8, 28), D(2027, 8, 27)),
    ]
    assert by_code["INF1"].appointment_flag == AppointmentFlag.NO_OPEN_DAY
    assert by_code["FU3"].appointment_note == "moved off a Saturday"
    assert by_code["FU6"].appointment_note == "moved off a Sunday"
    moved = [v.code for v in visits if v.appointment_date != v.planned_date]
    assert moved == ["FU3", "FU6", "FU12"]


def test_reminders_of_a_moved_proposal_are_for_the_appointment_day(enrol):
    # A screening visit (in screening, later phases' visits have no reminders: issue 20).
    participant = enrol(D(2026, 5, 10))
    leuk = visit(participant, "LEUK")  # planned Sunday 14 June 2026, proposed Monday 15 June
    assert reminders(leuk) == {
        7: (D(2026, 6, 15), datetime.datetime.combine(D(2026, 6, 8), NINE, LA)),
        1: (D(2026, 6, 15), datetime.datetime.combine(D(2026, 6, 14), NINE, LA)),
    }


# Re-anchoring and calendar changes.


def test_a_re_anchoring_transition_moves_proposals_and_keeps_a_booking(enrol, clock):
    participant = enrol()
    book_appointment(visit(participant, "INF2"), on=D(2026, 3, 11))  # window 7 to 11 March
    clock(D(2026, 3, 3))
    confirm_enrolment(participant, on=D(2026, 2, 10))
    record_transition(participant, "treatment", on=D(2026, 3, 3))  # a day later than planned
    inf2, inf3 = visit(participant, "INF2"), visit(participant, "INF3")
    assert (inf2.planned_date, inf2.window_start, inf2.window_end) == (
        D(2026, 3, 10),
        D(2026, 3, 8),
        D(2026, 3, 12),
    )
    assert (inf2.booked_date, inf2.appointment_date, inf2.appointment_source) == (
        D(2026, 3, 11),
        D(2026, 3, 11),
        "booked",
    )
    assert (inf2.appointment_flag, inf2.appointment_note) == ("", "")
    assert (inf3.planned_date, inf3.appointment_date) == (D(2026, 3, 17), D(2026, 3, 17))
    assert set(reminders(inf2)) == {7, 1}
    assert {day for day, _ in reminders(inf2).values()} == {D(2026, 3, 11)}


def test_a_booking_left_outside_its_new_window_stays_and_is_flagged_to_rebook(enrol, clock):
    participant = enrol()
    book_appointment(visit(participant, "INF2"), on=D(2026, 3, 10))
    clock(D(2026, 2, 23))
    confirm_enrolment(participant, on=D(2026, 2, 2))
    record_transition(participant, "treatment", on=D(2026, 2, 23))  # a week early
    inf2 = visit(participant, "INF2")
    assert (inf2.window_start, inf2.window_end) == (D(2026, 2, 28), D(2026, 3, 4))
    assert (inf2.booked_date, inf2.appointment_date) == (D(2026, 3, 10), D(2026, 3, 10))
    assert inf2.appointment_flag == AppointmentFlag.REBOOK
    assert inf2.appointment_note == "rebook: outside window"
    # Rebooking inside the window clears the flag.
    inf2 = book_appointment(inf2, on=D(2026, 3, 3))
    assert (inf2.appointment_date, inf2.appointment_flag, inf2.appointment_note) == (
        D(2026, 3, 3),
        "",
        "",
    )


def test_a_closure_on_a_booked_day_flags_it_to_rebook_and_its_removal_clears_the_flag(enrol, ocn):
    booked = enrol()
    proposed = enrol(subject_id="SLE-001-101-900")  # consent on the same day: LEUK 9 February
    book_appointment(visit(booked, "LEUK"), on=D(2026, 2, 10))
    sequence = visit(booked, "LEUK").sequence

    closure = add_closure(ocn, start=D(2026, 2, 9), end=D(2026, 2, 10), reason="inspection")
    leuk = visit(booked, "LEUK")
    assert (leuk.appointment_date, leuk.booked_date) == (D(2026, 2, 10), D(2026, 2, 10))
    assert leuk.appointment_flag == AppointmentFlag.REBOOK
    assert leuk.appointment_note == "rebook: closed: inspection"
    assert leuk.sequence == sequence  # the day did not move: the calendar entry stays
    other = visit(proposed, "LEUK")
    assert (other.appointment_date, other.appointment_note) == (
        D(2026, 2, 11),
        "moved off a closure: inspection",
    )

    remove_closure(closure)
    leuk = visit(booked, "LEUK")
    assert (leuk.appointment_date, leuk.appointment_flag, leuk.appointment_note) == (
        D(2026, 2, 10),
        "",
        "",
    )
    other = visit(proposed, "LEUK")
    assert (other.appointment_date, other.appointment_note) == (D(2026, 2, 9), "")


def test_done_visits_never_change_their_appointment(enrol, ocn, clock):
    participant = enrol()
    book_appointment(visit(participant, "LEUK"), on=D(2026, 2, 10))
    clock(D(2026, 3, 10))
    record_visit(participant, "LEUK", on=D(2026, 2, 10))
    confirm_enrolment(participant, on=D(2026, 2, 20))
    treatment = record_transition(participant, "treatment", on=D(2026, 3, 2))
    record_visit(participant, "INF1", on=D(2026, 3, 2))
    record_visit(participant, "INF2", on=D(2026, 3, 10))  # a day after its appointment
    fields = ("appointment_date", "appointment_note", "appointment_flag", "sequence", "booked_date")
    done = {
        code: tuple(getattr(visit(participant, code), f) for f in fields)
        for code in ("LEUK", "INF1", "INF2")
    }
    assert done["INF2"][0] == D(2026, 3, 9)

    # Their days close, and the treatment start they were planned from is corrected.
    add_closure(ocn, start=D(2026, 2, 9), end=D(2026, 3, 10), reason="inspection")
    correct_transition(treatment, on=D(2026, 2, 27), reason="Infusion date misread")
    for code, before in done.items():
        assert tuple(getattr(visit(participant, code), f) for f in fields) == before, code
        assert visit(participant, code).appointment_flag == ""
    inf3 = visit(participant, "INF3")  # still to be done: it followed the correction
    assert (inf3.planned_date, inf3.appointment_date) == (D(2026, 3, 13), D(2026, 3, 13))


# Booking: sequence, reminders, .ics and the dispatcher follow the appointment.


@pytest.mark.parametrize(
    ("site_fixture", "consent", "booked_on", "due_7", "due_1"),
    [
        # Oceanside: PST (UTC-8) until 8 March 2026, PDT (UTC-7) after.
        (
            "ocn",
            D(2026, 2, 2),
            D(2026, 3, 12),
            datetime.datetime(2026, 3, 5, 17, tzinfo=UTC),
            datetime.datetime(2026, 3, 11, 16, tzinfo=UTC),
        ),
        # Berlin: CET (UTC+1) until 29 March 2026, CEST (UTC+2) after.
        (
            "ber",
            D(2026, 2, 23),
            D(2026, 4, 1),
            datetime.datetime(2026, 3, 25, 8, tzinfo=UTC),
            datetime.datetime(2026, 3, 31, 7, tzinfo=UTC),
        ),
    ],
)
def test_booking_raises_the_sequence_and_re_times_pending_reminders_in_site_time(
    request, enrol, site_fixture, consent, booked_on, due_7, due_1
):
    site = request.getfixturevalue(site_fixture)
    participant = enrol(consent, site=site)
    leuk = visit(participant, "LEUK")
    planned = consent + datetime.timedelta(days=35)
    assert leuk.appointment_date == planned
    before = reminders(leuk)
    assert {day for day, _ in before.values()} == {planned}

    booked = book_appointment(leuk, on=booked_on)
    assert booked.sequence == leuk.sequence + 1
    assert (booked.appointment_date, booked.booked_date) == (booked_on, booked_on)
    assert reminders(booked) == {7: (booked_on, due_7), 1: (booked_on, due_1)}
    assert reminders(booked, OutboxStatus.CANCELLED) == before
    for lead, (_, due) in reminders(booked).items():
        local = due.astimezone(site.zone)
        assert (local.date(), local.time()) == (booked_on - datetime.timedelta(days=lead), NINE)


def test_a_booking_and_its_reminders_are_written_together_or_not_at_all(enrol, monkeypatch):
    participant = enrol()
    leuk = visit(participant, "LEUK")
    before = set(Reminder.objects.values_list("id", "status", "due_at", "planned_date"))
    real_sync = schedules.sync_reminders

    def sync_then_fail(*args, **kwargs):
        real_sync(*args, **kwargs)  # the reminders are re-timed …
        raise RuntimeError("the process dies before the commit")

    monkeypatch.setattr(schedules, "sync_reminders", sync_then_fail)
    with pytest.raises(RuntimeError):
        book_appointment(leuk, on=D(2026, 2, 11))
    leuk.refresh_from_db()
    assert (leuk.booked_date, leuk.appointment_date) == (None, D(2026, 2, 9))  # … and undone
    assert set(Reminder.objects.values_list("id", "status", "due_at", "planned_date")) == before


def test_a_booking_on_the_proposed_day_at_a_time_raises_the_sequence_once(enrol):
    leuk = visit(enrol(), "LEUK")
    booked = book_appointment(leuk, on=leuk.appointment_date, at=datetime.time(10, 30))
    assert booked.sequence == leuk.sequence + 1
    again = book_appointment(booked, on=leuk.appointment_date, at=datetime.time(10, 30))
    assert again.sequence == booked.sequence  # nothing changed: nothing to tell calendars


def test_the_ics_entry_carries_the_appointment_day_and_the_booked_time(enrol):
    participant = enrol()
    leuk = visit(participant, "LEUK")
    now = datetime.datetime(2026, 1, 5, 20, tzinfo=UTC)
    all_day = icalendar.Calendar.from_ical(visit_calendar(leuk, now=now, language="en"))
    [event] = all_day.walk("VEVENT")
    assert event.decoded("dtstart") == D(2026, 2, 9)
    uid = str(event["uid"])

    book_appointment(leuk, on=D(2026, 2, 12), at=datetime.time(10, 30))
    booked = visit(participant, "LEUK")
    ics = visit_calendar(booked, now=now, language="en")
    [event] = icalendar.Calendar.from_ical(ics).walk("VEVENT")
    start = event.decoded("dtstart")
    assert start == datetime.datetime(2026, 2, 12, 10, 30, tzinfo=LA)
    assert start.utcoffset() == datetime.timedelta(hours=-8)
    assert str(event["uid"]) == uid
    assert event.decoded("sequence") == booked.sequence > leuk.sequence


def test_the_ics_entry_of_a_proposal_moved_off_a_weekend_is_on_the_proposed_day(enrol):
    fu6 = visit(enrol(D(2026, 5, 8)), "FU6")
    [event] = icalendar.Calendar.from_ical(
        visit_calendar(fu6, now=datetime.datetime(2026, 5, 8, 20, tzinfo=UTC), language="en")
    ).walk("VEVENT")
    assert (fu6.planned_date, event.decoded("dtstart")) == (D(2027, 2, 28), D(2027, 3, 1))


def test_the_dispatcher_sends_the_reminder_for_the_booked_day(enrol, smtp_server, time_machine):
    participant = enrol(email="pat@example.org")
    book_appointment(visit(participant, "LEUK"), on=D(2026, 2, 12))  # planned Monday 9 Feb.
    # The 7-day reminder of the planned date would have been due on 2 February: none goes.
    time_machine.move_to(datetime.datetime(2026, 2, 2, 17, tzinfo=UTC), tick=False)
    assert dispatch_due().sent == 0
    time_machine.move_to(datetime.datetime(2026, 2, 5, 17, tzinfo=UTC), tick=False)  # 09:00
    assert dispatch_due().sent == 1
    [message] = smtp_server.messages
    assert message["Subject"] == "Reminder: your study visit on Thursday 12 February 2026"
    sent = Reminder.objects.get(visit__participant=participant, status=OutboxStatus.SENT)
    assert (sent.planned_date, sent.rule.lead_days) == (D(2026, 2, 12), 7)


def test_a_reminder_claimed_before_its_appointment_moved_is_not_sent(
    enrol, smtp_server, time_machine
):
    participant = enrol()
    now = datetime.datetime(2026, 2, 2, 17, tzinfo=UTC)  # 09:00 on 2 February in Oceanside
    time_machine.move_to(now, tick=False)
    [(reminder_id, visit_id)] = claim_due_reminders(now, limit=10, token="run-1")
    book_appointment(visit(participant, "LEUK"), on=D(2026, 2, 12))
    outcome = sending.process_reminder(
        reminder_id, visit_id=visit_id, token="run-1", now=now, mailer=Mailer()
    )
    assert outcome == outcomes.SKIPPED
    assert Reminder.objects.get(pk=reminder_id).status == OutboxStatus.CANCELLED
    assert smtp_server.messages == []


def test_the_dispatcher_cancels_a_reminder_whose_appointment_moved_around_the_services(
    enrol, smtp_server, time_machine
):
    participant = enrol()
    leuk = visit(participant, "LEUK")
    # A change that did not go through the services (a data fix, an old worker): the
    # dispatcher's own check that the appointment is still on the reminder's day.
    Visit.objects.filter(pk=leuk.pk).update(appointment_date=D(2026, 2, 12))
    time_machine.move_to(datetime.datetime(2026, 2, 2, 17, tzinfo=UTC), tick=False)
    summary = dispatch_due()
    assert (summary.sent, summary.cancelled) == (0, 1)
    assert reminders(leuk, OutboxStatus.CANCELLED) == {
        7: (D(2026, 2, 9), datetime.datetime(2026, 2, 2, 17, tzinfo=UTC))
    }
    assert smtp_server.messages == []


# Capacity.


@pytest.fixture
def one_apheresis_slot(ocn, apheresis):
    return SiteCapacity.objects.create(site=ocn, resource=apheresis, per_day=1)


def test_the_last_slot_of_a_day_goes_to_the_first_booking(enrol, one_apheresis_slot):
    first, second = enrol(), enrol(subject_id="SLE-001-101-900")
    book_appointment(visit(first, "LEUK"), on=D(2026, 2, 10))
    leuk = visit(second, "LEUK")
    with pytest.raises(ValidationError) as refused:
        book_appointment(leuk, on=D(2026, 2, 10))
    [message] = refused.value.message_dict["on"]
    assert message == (
        "2026-02-10 is full at OCN: 1 of 1 apheresis booked. Nearest days with room: "
        "2026-02-09, 2026-02-11, 2026-02-06. Give an override reason to book anyway."
    )
    assert visit(second, "LEUK").booked_date is None
    # Proposals do not take a slot: both participants' LEUK is proposed on 9 February, and
    # the second one can be booked there.
    assert book_appointment(leuk, on=D(2026, 2, 9)).booked_date == D(2026, 2, 9)


def test_an_override_books_a_full_day(enrol, one_apheresis_slot):
    first, second = enrol(), enrol(subject_id="SLE-001-101-900")
    book_appointment(visit(first, "LEUK"), on=D(2026, 2, 10))
    leuk = book_appointment(
        visit(second, "LEUK"), on=D(2026, 2, 10), override_reason="Second machine on loan"
    )
    assert (leuk.booked_date, leuk.booking_override) == (D(2026, 2, 10), "Second machine on loan")
    # Over the day's capacity, by the override: noted, never flagged to rebook.
    assert leuk.appointment_note == "override: over capacity: 1 apheresis a day"
    assert leuk.appointment_flag == ""


def test_a_slot_freed_by_a_cleared_booking_can_be_booked(enrol, one_apheresis_slot):
    first, second = enrol(), enrol(subject_id="SLE-001-101-900")
    book_appointment(visit(first, "LEUK"), on=D(2026, 2, 10))
    clear_booking(visit(first, "LEUK"))
    assert book_appointment(visit(second, "LEUK"), on=D(2026, 2, 10)).booked_date == D(2026, 2, 10)


def in_thread(target, results: list, errors: list, start: threading.Barrier):
    def run():
        try:
            start.wait()
            results.append(target())
        except Exception as error:  # noqa: BLE001 - handed to the test thread
            errors.append(error)
        finally:
            connections.close_all()

    return threading.Thread(target=run)


@pytest.mark.django_db(transaction=True)
def test_two_bookings_of_the_last_slot_at_once_book_exactly_one(
    enrol, one_apheresis_slot, monkeypatch
):
    first, second = enrol(), enrol(subject_id="SLE-001-101-900")
    real_count = site_calendars.booked_counts

    def count_slowly(*args, **kwargs):
        # Hold the transaction open after counting, long enough for the other booking to
        # count too if nothing made it wait: without a lock both would see a free slot.
        counts = real_count(*args, **kwargs)
        time.sleep(0.5)
        return counts

    monkeypatch.setattr(site_calendars, "booked_counts", count_slowly)
    start = threading.Barrier(2)
    results, errors = [], []
    threads = [
        in_thread(
            lambda p=participant: book_appointment(visit(p, "LEUK"), on=D(2026, 2, 10)),
            results,
            errors,
            start,
        )
        for participant in (first, second)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 1
    [error] = errors
    assert isinstance(error, ValidationError)
    assert "2026-02-10 is full at OCN: 1 of 1 apheresis booked" in error.message_dict["on"][0]
    assert Visit.objects.filter(booked_date=D(2026, 2, 10)).count() == 1


# Refusals and overrides.


@pytest.mark.parametrize(
    ("on", "sentence"),
    [
        (D(2026, 2, 17), "2026-02-17 is outside the window of LEUK (2026-02-02 to 2026-02-16)"),
        (D(2026, 2, 16), "2026-02-16 is a holiday at OCN: Presidents' Day"),
        (D(2026, 2, 7), "2026-02-07 is a Saturday; OCN is open Mon, Tue, Wed, Thu, Fri"),
    ],
)
def test_a_booking_is_refused_with_a_sentence_that_says_why(enrol, on, sentence):
    participant = enrol()
    leuk = visit(participant, "LEUK")
    with pytest.raises(ValidationError) as refused:
        book_appointment(leuk, on=on)
    [message] = refused.value.message_dict["on"]
    assert message.startswith(sentence + ".")
    assert message.endswith("Give an override reason to book anyway.")
    after = visit(participant, "LEUK")
    assert (after.booked_date, after.appointment_date, after.sequence) == (
        None,
        D(2026, 2, 9),
        leuk.sequence,
    )


def test_a_booking_on_independence_day_observed_names_the_holiday(enrol):
    leuk = visit(enrol(D(2026, 5, 29)), "LEUK")  # planned Friday 3 July, proposed Thursday 2
    assert (leuk.planned_date, leuk.appointment_date) == (D(2026, 7, 3), D(2026, 7, 2))
    assert leuk.appointment_note == "moved off a holiday: Independence Day (observed)"
    with pytest.raises(ValidationError) as refused:
        book_appointment(leuk, on=D(2026, 7, 3))
    assert refused.value.message_dict["on"][0].startswith(
        "2026-07-03 is a holiday at OCN: Independence Day (observed)."
    )


def test_a_booking_on_a_closed_day_is_refused_naming_the_closure(enrol, ocn):
    leuk = visit(enrol(), "LEUK")
    add_closure(ocn, start=D(2026, 2, 10), reason="inspection")
    with pytest.raises(ValidationError) as refused:
        book_appointment(leuk, on=D(2026, 2, 10))
    assert refused.value.message_dict["on"][0].startswith("2026-02-10: OCN is closed (inspection).")


def test_a_booking_before_the_sites_today_is_refused_even_with_an_override(enrol, clock):
    participant = enrol()
    clock(D(2026, 2, 5))
    with pytest.raises(ValidationError) as refused:
        book_appointment(visit(participant, "LEUK"), on=D(2026, 2, 4), override_reason="late entry")
    assert refused.value.message_dict["on"] == [
        "2026-02-04 is in the past at OCN (today is 2026-02-05)."
    ]


def test_an_override_books_a_holiday_and_the_history_keeps_why(enrol, django_user_model):
    coordinator = django_user_model.objects.create_user("coordinator-ocn-test")
    why = "Only day the participant can travel: a long way from Escondido, by two buses"
    leuk = book_appointment(
        visit(enrol(), "LEUK"), on=D(2026, 2, 16), override_reason=why, by=coordinator
    )
    assert (leuk.booked_date, leuk.appointment_date) == (D(2026, 2, 16), D(2026, 2, 16))
    assert (leuk.booking_override, leuk.appointment_flag) == (why, "")
    assert leuk.appointment_note == "override: holiday: Presidents' Day"
    latest = leuk.history.first()
    assert (latest.history_user, latest.booked_date) == (coordinator, D(2026, 2, 16))
    assert latest.booking_override == why  # whole, in the history row itself
    # The change reason says what was overridden, in simple-history's 100 characters.
    assert latest.history_change_reason.startswith(
        "Booked on 2026-02-16 (admin); override of: 2026-02-16 is a holiday at OCN: Presidents' Day"
    )
    assert latest.history_change_reason.endswith(f"reason: {why}")  # kept whole, not cut


def test_an_override_outside_the_window_is_a_planned_deviation(enrol):
    leuk = book_appointment(
        visit(enrol(), "LEUK"),
        on=D(2026, 2, 18),
        at=datetime.time(8),
        override_reason="Participant away until the 18th",
    )
    assert leuk.appointment_flag == AppointmentFlag.PLANNED_DEVIATION
    assert leuk.appointment_note == "planned deviation: outside window"
    assert "override of: 2026-02-18 is outside the window of LEUK" in (
        leuk.history.first().history_change_reason
    )


def test_an_override_reason_is_not_kept_for_a_booking_that_needs_none(enrol):
    leuk = book_appointment(
        visit(enrol(), "LEUK"), on=D(2026, 2, 10), override_reason="just in case"
    )
    assert (leuk.booking_override, leuk.appointment_note, leuk.appointment_flag) == ("", "", "")
    assert leuk.history.first().history_change_reason == "Booked on 2026-02-10 (admin)"


def test_clearing_a_booking_goes_back_to_the_proposal(enrol):
    participant = enrol()
    leuk = visit(participant, "LEUK")
    proposed_reminders = reminders(leuk)
    booked = book_appointment(leuk, on=D(2026, 2, 12), at=datetime.time(10, 30))
    cleared = clear_booking(booked)
    assert (cleared.booked_date, cleared.booked_time, cleared.booking_override) == (None, None, "")
    assert (cleared.appointment_date, cleared.appointment_source) == (D(2026, 2, 9), "proposed")
    assert (cleared.appointment_flag, cleared.appointment_note) == ("", "")
    assert cleared.sequence > booked.sequence  # the calendar entry moves back
    assert reminders(cleared) == proposed_reminders  # the same rows, pending again
    assert cleared.history.first().history_change_reason == "Booking cleared (admin)"


def test_clearing_a_booking_moves_back_to_a_proposal_off_a_closure(enrol, ocn):
    participant = enrol()
    book_appointment(visit(participant, "LEUK"), on=D(2026, 2, 12))
    add_closure(ocn, start=D(2026, 2, 9), reason="inspection")
    cleared = clear_booking(visit(participant, "LEUK"))
    assert (cleared.appointment_date, cleared.appointment_note) == (
        D(2026, 2, 10),
        "moved off a closure: inspection",
    )


def test_a_done_visit_cannot_be_booked(enrol, clock):
    participant = enrol()
    clock(D(2026, 2, 9))
    record_visit(participant, "LEUK", on=D(2026, 2, 9))
    with pytest.raises(ValidationError) as refused:
        book_appointment(visit(participant, "LEUK"), on=D(2026, 2, 10))
    assert refused.value.message_dict["visit_code"] == ["LEUK was done on 2026-02-09."]


# Cost.


def test_a_booking_costs_the_same_queries_with_10_or_100_participants_at_the_site(
    enrol, ocn, apheresis, django_assert_max_num_queries
):
    # Every other participant's LEUK is booked on 10 February, against a capacity: the
    # booking counts that day's load, and rebuilds only its own participant's schedule.
    SiteCapacity.objects.create(site=ocn, resource=apheresis, per_day=200)

    def enrol_and_book(numbers):
        participants = [enrol(subject_id=f"SLE-001-101-{n:03d}") for n in numbers]
        for participant in participants[1:]:
            book_appointment(visit(participant, "LEUK"), on=D(2026, 2, 10))
        return visit(participants[0], "LEUK")

    leuk = enrol_and_book(range(10))
    with CaptureQueriesContext(connection) as at_10:
        book_appointment(leuk, on=D(2026, 2, 10), at=datetime.time(9))
    leuk = enrol_and_book(range(10, 100))
    assert (
        Visit.objects.filter(participant__site=ocn).values("participant").distinct().count() == 100
    )
    with django_assert_max_num_queries(len(at_10.captured_queries)):
        book_appointment(leuk, on=D(2026, 2, 10), at=datetime.time(9))
    assert Visit.objects.filter(booked_date=D(2026, 2, 10)).count() == 100
    assert len(at_10.captured_queries) <= 30  # 23 when written
