"""The participant lifecycle: allowed and forbidden moves, reasons, effective dates, records."""

import datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError

from participants.lifecycle import correct_transition, record_transition
from participants.models import Participant, Status, Transition
from participants.selectors import effective_dates_by_status, effective_transitions
from tests.factories import enrol, investigator, move

D = datetime.date
NOW = datetime.datetime(2027, 6, 1, 12, tzinfo=datetime.UTC)

# A day for each step of the way in, from consent on 2026-01-05.
PATH = [
    (Status.ENROLLED, D(2026, 2, 1)),
    (Status.TREATMENT, D(2026, 3, 2)),
    (Status.FOLLOW_UP, D(2026, 4, 27)),
]


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def participant_in(make_participant, status: str) -> Participant:
    """A participant moved along the usual path until it reaches ``status``."""
    participant = make_participant(consent_date=D(2026, 1, 5))
    for target, on in PATH:
        if participant.status == status:
            break
        move(participant, target, on=on)
        participant.refresh_from_db()
    assert participant.status == status
    return participant


def error_of(excinfo, field: str) -> str:
    return " ".join(excinfo.value.message_dict[field])


def test_a_participant_goes_from_screening_to_completed_one_record_per_step(make_participant):
    participant = participant_in(make_participant, Status.FOLLOW_UP)
    record_transition(participant, Status.COMPLETED, on=D(2027, 4, 27))
    participant.refresh_from_db()
    steps = list(participant.transitions.values_list("from_status", "to_status", "effective_date"))
    assert steps == [
        ("", "screening", D(2026, 1, 5)),
        ("screening", "enrolled", D(2026, 2, 1)),
        ("enrolled", "treatment", D(2026, 3, 2)),
        ("treatment", "follow_up", D(2026, 4, 27)),
        ("follow_up", "completed", D(2027, 4, 27)),
    ]
    assert (participant.status, participant.left_on) == ("completed", D(2027, 4, 27))


@pytest.mark.parametrize(
    ("status", "target", "message"),
    [
        (Status.SCREENING, Status.TREATMENT, "Treatment needs enrolment (eligibility confirmed)"),
        (Status.SCREENING, Status.FOLLOW_UP, "cannot move to follow-up"),
        (Status.SCREENING, Status.COMPLETED, "cannot move to completed"),
        (Status.ENROLLED, Status.FOLLOW_UP, "cannot move to follow-up"),
        (Status.ENROLLED, Status.SCREENING, "cannot move to screening"),
        (Status.TREATMENT, Status.SCREEN_FAILED, "cannot move to screen failure"),
        (Status.TREATMENT, Status.ENROLLED, "cannot move to enrolled"),
        (Status.TREATMENT, Status.COMPLETED, "cannot move to completed"),
        (Status.FOLLOW_UP, Status.TREATMENT, "cannot move to treatment"),
        (Status.FOLLOW_UP, Status.SCREEN_FAILED, "cannot move to screen failure"),
    ],
)
def test_a_move_outside_the_lifecycle_is_refused_with_the_allowed_ones(
    make_participant, status, target, message
):
    participant = participant_in(make_participant, status)
    with pytest.raises(ValidationError) as excinfo:
        record_transition(participant, target, on=D(2026, 5, 1), reason="x")
    assert message in error_of(excinfo, "target")
    assert "allowed: " in error_of(excinfo, "target")
    participant.refresh_from_db()
    assert participant.status == status


@pytest.mark.parametrize(
    ("status", "target"),
    [
        (Status.SCREENING, Status.SCREEN_FAILED),
        (Status.ENROLLED, Status.SCREEN_FAILED),
        *[
            (status, exit_)
            for status in (Status.SCREENING, Status.ENROLLED, Status.TREATMENT, Status.FOLLOW_UP)
            for exit_ in (Status.WITHDRAWN, Status.LOST_TO_FOLLOW_UP)
        ],
    ],
)
def test_an_exit_is_allowed_from_its_statuses_with_a_reason(make_participant, status, target):
    participant = participant_in(make_participant, status)
    transition = record_transition(participant, target, on=D(2026, 5, 1), reason="Moved away")
    participant.refresh_from_db()
    assert (participant.status, participant.left_on) == (target, D(2026, 5, 1))
    assert (transition.from_status, transition.reason) == (status, "Moved away")


@pytest.mark.parametrize(
    ("target", "label"),
    [
        (Status.SCREEN_FAILED, "a screen failure"),
        (Status.WITHDRAWN, "a withdrawal"),
        (Status.LOST_TO_FOLLOW_UP, "lost to follow-up"),
    ],
)
def test_an_exit_without_a_reason_is_refused(make_participant, target, label):
    participant = participant_in(make_participant, Status.ENROLLED)
    with pytest.raises(ValidationError) as excinfo:
        record_transition(participant, target, on=D(2026, 5, 1), reason="  ")
    assert error_of(excinfo, "reason") == f"A reason is required for {label}."


@pytest.mark.parametrize("left", [Status.COMPLETED, Status.WITHDRAWN])
def test_a_participant_who_left_can_move_nowhere(make_participant, left):
    participant = participant_in(make_participant, Status.FOLLOW_UP)
    record_transition(participant, left, on=D(2026, 6, 1), reason="Done")
    with pytest.raises(ValidationError) as excinfo:
        record_transition(participant, Status.LOST_TO_FOLLOW_UP, on=D(2026, 6, 2), reason="x")
    assert "none: the participant has left" in error_of(excinfo, "target")


def test_an_unknown_target_is_refused(make_participant):
    participant = make_participant()
    with pytest.raises(ValidationError) as excinfo:
        record_transition(participant, "graduated", on=D(2026, 2, 1))
    assert error_of(excinfo, "target") == "“graduated” is not a status."


def test_an_effective_date_in_the_sites_future_is_refused_though_it_is_today_in_utc(
    make_participant, site_ber, clock
):
    # 03:00 UTC on 1 June: already 1 June in Berlin, still 31 May in Oceanside.
    clock.move_to(datetime.datetime(2026, 6, 1, 3, tzinfo=datetime.UTC))
    oceanside = make_participant()
    berlin = make_participant(site=site_ber)
    with pytest.raises(ValidationError) as excinfo:
        enrol(oceanside, on=D(2026, 6, 1))
    assert error_of(excinfo, "on") == (
        "2026-06-01 is in the future at site OCN, where today is 2026-05-31."
    )
    enrol(berlin, on=D(2026, 6, 1))


def test_an_effective_date_before_the_previous_transition_is_refused(make_participant):
    participant = participant_in(make_participant, Status.ENROLLED)
    with pytest.raises(ValidationError) as excinfo:
        record_transition(participant, Status.TREATMENT, on=D(2026, 1, 31))
    assert error_of(excinfo, "on") == (
        "2026-01-31 is before the previous transition (enrolled on 2026-02-01)."
    )


def test_a_transition_on_the_same_day_as_the_previous_one_is_allowed(make_participant):
    participant = make_participant(consent_date=D(2026, 1, 5))
    enrol(participant, on=D(2026, 1, 5))
    participant.refresh_from_db()
    assert participant.status == Status.ENROLLED


def test_a_transition_records_who_and_through_what(make_participant, django_user_model):
    user = investigator()
    participant = make_participant()
    transition = enrol(participant, on=D(2026, 2, 1), by=user, via="command line")
    assert (transition.recorded_by, transition.recorded_via, transition.recorded_at) == (
        user,
        "command line",
        NOW,
    )


def test_a_correction_is_a_new_record_and_the_original_is_kept(make_participant):
    participant = participant_in(make_participant, Status.TREATMENT)
    original = participant.transitions.get(to_status=Status.TREATMENT)
    correction = correct_transition(original, on=D(2026, 3, 4), reason="Infusion date mistyped")
    original.refresh_from_db()
    assert original.effective_date == D(2026, 3, 2)
    assert (correction.corrects, correction.effective_date, correction.reason) == (
        original,
        D(2026, 3, 4),
        "Infusion date mistyped",
    )
    assert (correction.from_status, correction.to_status) == ("enrolled", "treatment")
    assert effective_dates_by_status(participant)["treatment"] == D(2026, 3, 4)
    assert Transition.objects.filter(participant=participant).count() == 4


def test_the_lifecycle_reads_each_step_as_last_corrected(make_participant):
    participant = participant_in(make_participant, Status.FOLLOW_UP)
    original = participant.transitions.get(to_status=Status.TREATMENT)
    first = correct_transition(original, on=D(2026, 3, 3), reason="Typo")
    correct_transition(first, on=D(2026, 3, 5), reason="Typo again")
    assert [(t.to_status, t.effective_date) for t in effective_transitions(participant)] == [
        ("screening", D(2026, 1, 5)),
        ("enrolled", D(2026, 2, 1)),
        ("treatment", D(2026, 3, 5)),
        ("follow_up", D(2026, 4, 27)),
    ]


def test_a_correction_needs_a_reason(make_participant):
    participant = participant_in(make_participant, Status.ENROLLED)
    with pytest.raises(ValidationError) as excinfo:
        correct_transition(participant.transitions.last(), on=D(2026, 2, 2), reason="")
    assert error_of(excinfo, "reason") == "A correction needs a reason."


def test_a_correction_stays_between_its_neighbours(make_participant):
    participant = participant_in(make_participant, Status.FOLLOW_UP)
    treatment = participant.transitions.get(to_status=Status.TREATMENT)
    with pytest.raises(ValidationError) as excinfo:
        correct_transition(treatment, on=D(2026, 4, 28), reason="x")
    assert error_of(excinfo, "on") == (
        "2026-04-28 is after the next transition (follow-up on 2026-04-27)."
    )
    with pytest.raises(ValidationError) as excinfo:
        correct_transition(treatment, on=D(2026, 1, 31), reason="x")
    assert "before the previous transition (enrolled on 2026-02-01)" in error_of(excinfo, "on")


def test_a_record_already_corrected_is_not_corrected_again(make_participant):
    participant = participant_in(make_participant, Status.ENROLLED)
    original = participant.transitions.get(to_status=Status.ENROLLED)
    correct_transition(original, on=D(2026, 2, 2), reason="Typo")
    with pytest.raises(ValidationError) as excinfo:
        correct_transition(original, on=D(2026, 2, 3), reason="Typo")
    assert "already corrected" in error_of(excinfo, "transition")


def test_the_screening_record_is_not_corrected_as_a_transition(make_participant):
    participant = make_participant()
    with pytest.raises(ValidationError) as excinfo:
        correct_transition(participant.transitions.get(), on=D(2026, 1, 6), reason="Typo")
    assert "consent date" in error_of(excinfo, "transition")


def test_correcting_a_withdrawal_moves_the_leaving_date(make_participant):
    participant = participant_in(make_participant, Status.TREATMENT)
    withdrawal = record_transition(participant, Status.WITHDRAWN, on=D(2026, 4, 1), reason="x")
    correct_transition(withdrawal, on=D(2026, 3, 20), reason="Withdrew earlier by phone")
    participant.refresh_from_db()
    assert participant.left_on == D(2026, 3, 20)
