"""The demo path: `make demo`'s runner on the embedded defaults, and its data."""

import datetime
from pathlib import Path

import pytest
import time_machine

from participants.models import (
    ACTIVE_STATUSES,
    EligibilityAnswer,
    Participant,
    Site,
    Status,
    Transition,
)
from scheduling.demo import load_demo_data
from tests.passwords import reused_password_hashes

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def one_hash_per_password():
    """load_demo_data gives its six users one password: hashed once a session here
    (tests/passwords.py), not six times a load (0.6 s each). The demo run in its own process
    below hashes as it always does."""
    with reused_password_hashes():
        yield


def test_demo_data_covers_every_phase_and_exit_and_loads_once(protocol):
    created = load_demo_data("demo-password")
    first = set(Participant.objects.values_list("subject_id", "status"))
    again = load_demo_data("demo-password")
    second = set(Participant.objects.values_list("subject_id", "status"))
    assert first == second
    # What make demo prints is what the README describes (issue 23: it counted participants
    # the README did not name): 20 stories, 4 at OCN for the calendar, 3 at BER answering.
    assert (created["stories"], created["calendar"], created["replies"]) == (20, 4, 3)
    assert (again["participants"], again["in_all"]) == (0, 27)
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert "27 participants" in readme and "twenty (thirteen at OCN, seven at BER)" in readme
    # Twenty stories, four that show the clinic calendar and three the participants' answers.
    assert len(first) == 27
    assert {status for _, status in first} == set(Status.values)
    assert set(Participant.objects.values_list("site__code", flat=True)) == {
        "OCN",
        "BER",
    }


@pytest.mark.parametrize(
    "today",
    [
        datetime.datetime(2026, 12, 2, 18, tzinfo=datetime.UTC),
        datetime.datetime(2027, 3, 13, 18, tzinfo=datetime.UTC),  # a Saturday
        datetime.datetime(2027, 8, 30, 18, tzinfo=datetime.UTC),
    ],
    ids=str,
)
def test_demo_shows_the_clinic_calendar_and_participants_answering(protocol, today):
    from scheduling.models import AppointmentFlag, Visit
    from scheduling.timeline.site_calendars import booked_counts

    with time_machine.travel(today, tick=False):
        load_demo_data("demo-password")
        ocn = Site.objects.get(code="OCN")
        open_visits = Visit.objects.open().filter(participant__status__in=ACTIVE_STATUSES)
        notes = list(open_visits.values_list("appointment_note", flat=True))
        assert ocn.holidays_label == "US-CA"
        assert any(note.startswith("moved off a S") for note in notes)
        assert any(note.startswith("moved off a holiday: ") for note in notes)
        assert open_visits.filter(appointment_flag=AppointmentFlag.NO_OPEN_DAY).exists()
        rebook = open_visits.get(appointment_flag=AppointmentFlag.REBOOK)
        assert rebook.appointment_note == "rebook: closed: sponsor inspection"
        booked = open_visits.filter(booked_date__isnull=False).exclude(pk=rebook.pk)
        assert booked.filter(booked_time__isnull=False).exists()
        apheresis = booked.get(definition__resource__name="apheresis")
        day = apheresis.booked_date
        assert booked_counts(ocn, apheresis.definition.resource_id, day, day)[day] == 1  # of 1
        # Nothing proposed on a day the clinic is closed, unless flagged.
        for visit in open_visits.filter(booked_date__isnull=True, appointment_flag=""):
            assert visit.appointment_date.isoweekday() <= 5
            assert (
                visit.appointment_date not in ocn.public_holidays or visit.participant.site != ocn
            )
        _assert_participants_answer_in_every_language()


def _assert_participants_answer_in_every_language():
    from participants.contact_log import unanswered_streak
    from participants.models import ContactAttempt
    from scheduling.models import Confirmation, Visit

    languages = {p.reminder_language for p in Participant.objects.select_related("site")}
    assert languages == {"en", "de", "es", "fr"}
    visits = Visit.objects.open().filter(participant__status__in=ACTIVE_STATUSES)
    confirmed = visits.get(confirmation=Confirmation.CONFIRMED)
    assert confirmed.confirmation_via == "reminder link"
    asked = visits.get(confirmation=Confirmation.RESCHEDULE_REQUESTED)
    assert asked.reschedule_message
    ber_today = Site.objects.get(code="BER").today()
    no_show = visits.no_shows(ber_today).get(participant__site__code="BER")
    attempts = list(no_show.participant.contact_attempts.all())
    assert len(attempts) == 3
    assert unanswered_streak(attempts) == 3
    # Issue 23: the participant lost "after three phone calls and a letter" had an empty log.
    lost = Participant.objects.get(site__code="OCN", status=Status.LOST_TO_FOLLOW_UP)
    tried = list(lost.contact_attempts.all())
    assert sorted(a.channel for a in tried) == ["letter", "phone", "phone", "phone"]
    assert unanswered_streak(tried) == 4
    assert all(a.at.date() < lost.left_on for a in tried)
    assert ContactAttempt.objects.count() == 3 + 4


def test_demo_participants_past_screening_have_their_eligibility_answered(protocol):
    from participants import eligibility

    load_demo_data("demo-password")
    enrolled = Participant.objects.filter(transitions__to_status=Status.ENROLLED).distinct()
    ocn_enrolments = Transition.objects.filter(
        to_status=Status.ENROLLED, participant__site__code="OCN"
    )
    failed_on_exclusion = Participant.objects.get(
        status=Status.SCREEN_FAILED, transitions__reason__startswith="Exclusion"
    )
    assert enrolled.count() >= 10
    assert all(eligibility.unmet(participant) == [] for participant in enrolled)
    assert {t.recorded_by.username for t in ocn_enrolments} == {"investigator-ocn"}
    assert eligibility.unmet(failed_on_exclusion) == ["Exclusion 3 is present."]
    # Without severe kidney or brain lupus: "I do not have …" is true of them (issue 20).
    assert {
        answer.answer
        for answer in EligibilityAnswer.objects.filter(
            participant__in=enrolled, criterion__kind="exclusion", criterion__order=2
        )
    } == {"yes"}
    ber_enrolments = Transition.objects.filter(
        to_status=Status.ENROLLED, participant__site__code="BER"
    )
    assert {t.recorded_by.username for t in ber_enrolments} == {"investigator-ber"}


@pytest.mark.django_db
def test_the_demo_snapshot_puts_back_what_the_demo_wrote(protocol):
    """The demo_data fixture copies back the rows of a first real load (tests/demo_snapshot.py):
    after the copy every table holds exactly what it held after the load, the users sign in
    with the demo's password, and the next row of a table gets a new key."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from tests import demo_snapshot

    tables = [table.name for table in demo_snapshot._tables()]
    start = transaction.savepoint()
    snapshot = demo_snapshot.capture()
    loaded = {name: demo_snapshot.dump(name) for name in tables}
    assert len(snapshot.added) >= 20, "the demo writes participants, visits, reminders, history"
    transaction.savepoint_rollback(start)
    assert not Participant.objects.exists()

    assert snapshot.replay() == snapshot.result
    assert {name: demo_snapshot.dump(name) for name in tables} == loaded
    assert Participant.objects.count() == 27
    coordinator = get_user_model().objects.get(username="coordinator-ocn")
    assert coordinator.check_password(demo_snapshot.PASSWORD)
    newest = Site.objects.order_by("-pk").first().pk
    assert Site.objects.create(code="NEW", name="New", timezone="UTC").pk > newest
    # And load_demo_data sees the copied demo as its own: it creates nothing more.
    assert load_demo_data(demo_snapshot.PASSWORD)["participants"] == 0
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
