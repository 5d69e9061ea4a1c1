"""Issue 20, worked examples on PostgreSQL: visits end with their phase (3), reminders only
for the participant's phase (5), none for an appointment awaiting a decision (6), nothing
scheduled after leaving (7), an early completion needs a reason (8), never at night (10).

SLE-001 at Oceanside (America/Los_Angeles), consent Monday 5 January 2026: LEUK planned
9 February (window 2-16 February), treatment planned from 2 March.
"""

import datetime
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from participants.imports import import_participants
from participants.lifecycle import record_transition
from participants.sites import add_closure
from scheduling.mail.dispatch import dispatch_due
from scheduling.models import AppointmentFlag, OutboxStatus, Reminder, Visit, VisitStatus
from scheduling.timeline.selectors import schedule_rows
from scheduling.workspace.participant_list import with_schedule_summary
from tests.factories import enrol
from tests.smtp_server import point_django_at, smtp_server_fixture  # noqa: F401

D = datetime.date
UTC = datetime.UTC
CONSENT = D(2026, 1, 5)


@pytest.fixture(autouse=True)
def no_digest(protocol):
    """The coordinator digest is tests/test_digest.py's: off here, so the mails are reminders."""
    protocol.reminder_rules.filter(audience="coordinator_digest").update(active=False)


@pytest.fixture
def clock(time_machine):
    def move(day: datetime.date, hour_utc: int = 20):  # 20:00 UTC is noon in Oceanside
        time_machine.move_to(datetime.datetime.combine(day, datetime.time(hour_utc), UTC), False)

    move(CONSENT)
    return move


def visits(participant) -> dict[str, Visit]:
    return {v.code: v for v in Visit.objects.filter(participant=participant)}


def pending(participant) -> set[str]:
    return set(
        Reminder.objects.filter(
            visit__participant=participant, status=OutboxStatus.PENDING
        ).values_list("visit__code", flat=True)
    )


# 3. A visit outlives its phase.


def test_treatment_on_the_consent_day_closes_leukapheresis_and_its_reminders(
    make_participant, clock
):
    participant = make_participant(consent_date=CONSENT)
    enrol(participant, on=CONSENT)
    with pytest.raises(ValidationError) as refused:
        record_transition(participant, "treatment", on=CONSENT)
    assert "LEUK Leukapheresis (planned 2026-02-09" in refused.value.message_dict["reason"][0]
    record_transition(participant, "treatment", on=CONSENT, reason="Cells from a prior study")
    leuk = visits(participant)["LEUK"]
    assert leuk.status_on(CONSENT) == VisitStatus.MISSED
    assert (leuk.closed_on, leuk.closed_reason) == (CONSENT, "phase ended")
    assert "LEUK" not in pending(participant)
    assert "SCR" not in {
        v.code for v in Visit.objects.open().filter(participant=participant)
    }  # planned on the day treatment started: closed too


def test_treatment_and_follow_up_on_one_day_leave_no_infusion_scheduled_in_follow_up(
    make_participant, clock
):
    participant = make_participant(consent_date=CONSENT)
    enrol(participant, on=CONSENT)
    record_transition(participant, "treatment", on=CONSENT, reason="r")
    record_transition(participant, "follow_up", on=CONSENT, reason="Treatment abandoned")
    by_code = visits(participant)
    scheduled = [v for v in by_code.values() if v.status_on(CONSENT) == VisitStatus.SCHEDULED]
    assert {v.phase for v in scheduled} == {"follow_up"}
    assert all(v.planned_date > CONSENT for v in scheduled)
    for code in ("INF1", "INF2", "INF6", "EOT"):
        assert by_code[code].status_on(CONSENT) == VisitStatus.MISSED
    assert pending(participant) <= {v.code for v in scheduled}


def test_the_transition_command_names_the_visits_it_closes(make_participant, clock, clerk):
    participant = make_participant(consent_date=CONSENT)
    enrol(participant, on=CONSENT)
    out = io.StringIO()
    call_command(
        "transition",
        participant.subject_id,
        "treatment",
        "--on",
        "2026-01-05",
        "--reason",
        "Cells ready",
        "--by",
        "clerk",
        stdout=out,
    )
    assert "closed: LEUK Leukapheresis (planned 2026-02-09, missed: phase ended" in out.getvalue()


# 5. Reminders only for the phase the participant is in.


def test_a_participant_imported_14_months_after_consent_has_no_follow_up_reminders(
    protocol, site_ocn, clock
):
    clock(D(2027, 3, 5))
    (participant,) = import_participants(
        protocol,
        [(2, {"subject_id": "SLE-001-101-014", "site_code": "OCN",
              "email": "p@example.org", "consent_date": "2026-01-05"})],
    )  # fmt: skip
    assert participant.status == "screening"
    assert pending(participant) == set()
    assert visits(participant)["FU12"].status_on(D(2027, 3, 5)) == VisitStatus.SCHEDULED


def test_a_screening_participant_gets_no_infusion_reminder_even_from_a_stale_row(
    make_participant, clock, smtp_server
):
    participant = make_participant(consent_date=CONSENT)
    assert pending(participant) == {"LEUK"}
    inf1 = visits(participant)["INF1"]
    rule = protocol_rule(participant)
    stale = Reminder.objects.create(
        visit=inf1,
        rule=rule,
        planned_date=inf1.appointment_date,
        due_at=datetime.datetime(2026, 2, 23, 17, tzinfo=UTC),
    )  # written around the services, as an older release did
    clock(D(2026, 2, 23), hour_utc=17)  # 09:00 in Oceanside
    dispatch_due()
    stale.refresh_from_db()
    assert stale.status == OutboxStatus.CANCELLED
    assert "not in the visit's phase" in stale.last_error
    assert smtp_server.messages == []


def protocol_rule(participant):
    return participant.protocol.reminder_rules.get(audience="participant", lead_days=7)


# 6. No reminder for an appointment awaiting a decision.


def test_a_booking_on_a_day_that_closes_holds_its_reminders_until_rebooked(make_participant, clock):
    from scheduling.timeline.appointments import book_appointment

    participant = make_participant(consent_date=CONSENT)
    leuk = book_appointment(visits(participant)["LEUK"], on=D(2026, 2, 10))
    assert pending(participant) == {"LEUK"}
    add_closure(participant.site, start=D(2026, 2, 10), reason="Flooded")
    leuk.refresh_from_db()
    assert leuk.appointment_flag == AppointmentFlag.REBOOK
    assert pending(participant) == set()
    book_appointment(leuk, on=D(2026, 2, 11))
    assert set(
        Reminder.objects.filter(
            visit=leuk, status=OutboxStatus.PENDING, planned_date=D(2026, 2, 11)
        ).values_list("visit__code", flat=True)
    ) == {"LEUK"}


# 7. After leaving, nothing shows as scheduled.


def test_a_withdrawn_participant_has_no_scheduled_visit_on_the_page_export_or_list(
    make_participant, clock
):
    participant = make_participant(consent_date=CONSENT)
    clock(D(2026, 2, 10))  # LEUK's window (2-16 February) is open
    record_transition(participant, "withdrawn", on=D(2026, 2, 10), reason="Moved away")
    today = D(2026, 2, 10)
    statuses = {v.code: v.status_on(today) for v in visits(participant).values()}
    assert VisitStatus.SCHEDULED not in statuses.values()
    assert statuses["LEUK"] == VisitStatus.MISSED
    rows = schedule_rows(participants=type(participant).objects.filter(pk=participant.pk))
    assert "scheduled" not in {row.status for row in rows}
    listed = with_schedule_summary(
        type(participant).objects.filter(pk=participant.pk), [participant.site]
    ).get()
    assert listed.next_visit_code is None


# 8. Completing early needs a reason and names what it cancels.


def test_completing_one_day_into_follow_up_needs_a_reason(make_participant, clock):
    participant = make_participant(consent_date=CONSENT)
    clock(D(2026, 4, 28))
    enrol(participant, on=D(2026, 2, 1))
    record_transition(participant, "treatment", on=D(2026, 3, 2))
    record_transition(participant, "follow_up", on=D(2026, 4, 27), reason="EOT not done")
    with pytest.raises(ValidationError) as refused:
        record_transition(participant, "completed", on=D(2026, 4, 28))
    message = refused.value.message_dict["reason"][0]
    assert "FU12 Follow-up Month 12" in message and "cancelled" in message
    record_transition(participant, "completed", on=D(2026, 4, 28), reason="Sponsor ended study")
    statuses = {v.code: v.status_on(D(2026, 4, 28)) for v in visits(participant).values()}
    assert VisitStatus.SCHEDULED not in statuses.values()
    assert statuses["FU1"] == statuses["FU12"] == VisitStatus.CANCELLED


# 10. Never at night.


def test_a_reminder_found_late_at_night_goes_at_eight_the_next_morning(
    make_participant, clock, smtp_server
):
    participant = make_participant(consent_date=CONSENT)  # LEUK on 9 February
    # The 7-day reminder was due 2 February 09:00; found at 23:41 (07:41 UTC on 3 February).
    clock(D(2026, 2, 3), hour_utc=7)
    dispatch_due(now=datetime.datetime(2026, 2, 3, 7, 41, tzinfo=UTC))
    reminder = Reminder.objects.get(visit__participant=participant, rule__lead_days=7)
    assert reminder.status == OutboxStatus.PENDING and smtp_server.messages == []
    assert reminder.next_attempt_at == datetime.datetime(2026, 2, 3, 16, tzinfo=UTC)  # 08:00
    dispatch_due(now=datetime.datetime(2026, 2, 3, 16, tzinfo=UTC))
    reminder.refresh_from_db()
    assert reminder.status == OutboxStatus.SENT
