"""Eligibility (issue 20, items 1, 2 and 12): each criterion states the answer that qualifies,
no entry point enrols without an investigator confirming it, and the checklist lists the
inclusions first."""

import datetime
import itertools
from io import StringIO

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from participants import eligibility
from participants.cli import InputError
from participants.lifecycle import confirm_eligibility, create_participant, record_transition
from participants.models import EligibilityCriterion, Protocol, Status, Transition
from tests.factories import investigator, qualifying_answers

D = datetime.date
NOW = datetime.datetime(2026, 3, 2, 18, tzinfo=datetime.UTC)
CONSENT = D(2026, 1, 5)
NEGATIVE_EXCLUSION = (
    "I do not have severe kidney or brain lupus, or major neurological symptoms from lupus."
)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def criterion(protocol, kind: str, order: int) -> EligibilityCriterion:
    return EligibilityCriterion.objects.get(protocol=protocol, kind=kind, order=order)


def answered(participant, **overrides: str) -> None:
    """Every criterion answered as it qualifies, but ``overrides`` (label "exclusion_2" →
    answer)."""
    answers = qualifying_answers(participant)
    for label, value in overrides.items():
        kind, order = label.split("_")
        answers[criterion(participant.protocol, kind, int(order)).pk] = value
    eligibility.answer_criteria(participant, answers)


# Item 1: the qualifying answer.


def test_each_sle001_criterion_states_the_answer_that_qualifies(protocol):
    stated = [(c.label, c.qualifying_answer) for c in protocol.criteria.all()]
    assert stated == [
        ("Inclusion 1", "yes"),
        ("Inclusion 2", "yes"),
        ("Inclusion 3", "yes"),
        ("Exclusion 1", "no"),
        # "I do not have severe kidney or brain lupus…": true of a participant who may take part.
        ("Exclusion 2", "yes"),
        ("Exclusion 3", "no"),
    ]
    assert criterion(protocol, "exclusion", 2).text == NEGATIVE_EXCLUSION


def test_the_migration_records_why_each_criterion_changed(protocol):
    exclusion = criterion(protocol, "exclusion", 2)
    assert exclusion.history.first().history_change_reason == (
        "Qualifying answer stated: “yes” to “Is this true of the participant?”"
    )


def test_a_participant_with_severe_lupus_nephritis_is_not_eligible(make_participant):
    """The issue's example: asked "I do not have severe kidney or brain lupus…: true?", a
    participant with lupus nephritis answers no and is refused; one without it answers yes and
    is enrolled."""
    with_nephritis = make_participant(consent_date=CONSENT)
    without = make_participant(consent_date=CONSENT)
    answered(with_nephritis, exclusion_2="no")
    answered(without, exclusion_2="yes")
    with pytest.raises(ValidationError) as refused:
        confirm_eligibility(with_nephritis, on=D(2026, 2, 2), by=investigator())
    confirm_eligibility(without, on=D(2026, 2, 2), by=investigator())
    with_nephritis.refresh_from_db()
    without.refresh_from_db()
    assert refused.value.message_dict["answer"] == [
        "Eligibility cannot be confirmed: Exclusion 2 is present."
    ]
    assert (with_nephritis.status, without.status) == (Status.SCREENING, Status.ENROLLED)


def test_the_checklist_asks_whether_each_statement_is_true_and_names_the_qualifying_answer(
    client, staff, make_participant
):
    participant = make_participant(consent_date=CONSENT)
    client.force_login(staff["coordinator-ocn"])
    page = client.get(reverse("admin:participants_participant_change", args=[participant.pk]))
    assert "<th>Is this true of the participant?</th><th>Qualifies on</th>" in page.text
    assert page.text.count('data-label="Qualifies on">yes</td>') == 4
    assert page.text.count('data-label="Qualifies on">no</td>') == 2


# A protocol's criteria, each with a kind and a qualifying answer, and a participant's answers
# to some of them.
criteria_sheets = st.lists(
    st.tuples(st.sampled_from(["inclusion", "exclusion"]), st.sampled_from(["yes", "no"])),
    min_size=1,
    max_size=6,
)
counter = itertools.count(1)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(sheet=criteria_sheets, data=st.data())
def test_enrolment_succeeds_exactly_when_every_criterion_has_its_qualifying_answer(
    site_ocn, sheet, data
):
    """For any protocol's criteria and any answers (some left out): an investigator enrols
    the participant if and only if every criterion is answered with its qualifying answer,
    whatever the criterion's kind."""
    number = next(counter)
    protocol = Protocol.objects.create(code=f"P-{number}", title="Any protocol")
    criteria = [
        EligibilityCriterion.objects.create(
            protocol=protocol,
            kind=kind,
            order=order,
            text=f"Statement {order}",
            qualifying_answer=q,
        )
        for order, (kind, q) in enumerate(sheet, start=1)
    ]
    answers = {
        c.pk: answer
        for c in criteria
        if (answer := data.draw(st.sampled_from(["yes", "no", None]))) is not None
    }
    participant = create_participant(
        protocol=protocol,
        site=site_ocn,
        subject_id=f"S-{number}",
        email="p@example.org",
        consent_date=CONSENT,
    )
    eligibility.answer_criteria(participant, answers)
    qualifies = all(answers.get(c.pk) == c.qualifying_answer for c in criteria)
    try:
        record_transition(participant, Status.ENROLLED, on=D(2026, 2, 2), by=investigator())
    except ValidationError as error:
        assert not qualifies
        assert error.message_dict["answer"][0].startswith("Eligibility cannot be confirmed:")
    else:
        assert qualifies
    assert (eligibility.unmet(participant) == []) == qualifies


# Item 2: every entry point enrols by the same rule.


def enrol_by_command(participant, user) -> None:
    try:
        call_command(
            "transition",
            participant.subject_id,
            "enrolled",
            "--on",
            "2026-02-02",
            "--by",
            user.username,
            stdout=StringIO(),
            stderr=StringIO(),
        )
    except InputError as error:
        raise ValidationError(str(error)) from None


def enrol_by_service(participant, user) -> None:
    record_transition(participant, Status.ENROLLED, on=D(2026, 2, 2), by=user)


def enrol_by_confirmation(participant, user) -> None:
    confirm_eligibility(participant, on=D(2026, 2, 2), by=user)


ENTRY_POINTS = [enrol_by_command, enrol_by_service, enrol_by_confirmation]


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
def test_no_entry_point_enrols_a_participant_with_no_answers(make_participant, entry_point):
    participant = make_participant(consent_date=CONSENT)
    with pytest.raises(ValidationError) as refused:
        entry_point(participant, investigator())
    participant.refresh_from_db()
    assert "Eligibility cannot be confirmed: Inclusion 1 is not answered." in str(refused.value)
    assert "Exclusion 3 is not answered." in str(refused.value)
    assert participant.status == Status.SCREENING
    assert not participant.transitions.filter(to_status=Status.ENROLLED).exists()


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
def test_no_entry_point_lets_a_user_who_may_not_confirm_eligibility_enrol(
    make_participant, staff, entry_point
):
    # A coordinator of the participant's site: may record transitions there, not enrol.
    participant = make_participant(consent_date=CONSENT)
    answered(participant)
    with pytest.raises(ValidationError) as refused:
        entry_point(participant, staff["coordinator-ocn"])
    participant.refresh_from_db()
    assert "Only an investigator can confirm eligibility." in str(refused.value)
    assert "coordinator-ocn may not" in str(refused.value)
    assert participant.status == Status.SCREENING


def test_the_command_line_enrols_when_an_investigator_confirms_a_qualifying_checklist(
    make_participant,
):
    participant = make_participant(consent_date=CONSENT, subject_id="SLE-001-101-004")
    answered(participant)
    enrol_by_command(participant, investigator())
    participant.refresh_from_db()
    enrolment = participant.transitions.get(to_status=Status.ENROLLED)
    assert participant.status == Status.ENROLLED
    assert (enrolment.recorded_by.username, enrolment.recorded_via) == (
        "investigator",
        "command line",
    )


def test_treatment_by_command_line_needs_the_enrolment_it_could_not_skip(make_participant, clerk):
    """The issue's path: `transition … enrolled` then `treatment` with no answers: both refused."""
    participant = make_participant(consent_date=CONSENT, subject_id="SLE-001-101-004")
    for target in ("enrolled", "treatment"):
        with pytest.raises(InputError):
            call_command(
                "transition",
                participant.subject_id,
                target,
                "--on",
                "2026-02-02",
                "--by",
                clerk.username,
                stdout=StringIO(),
                stderr=StringIO(),
            )
    assert Transition.objects.filter(participant=participant).count() == 1  # consent only


# Item 12: the checklist's order.


def test_the_checklist_lists_inclusions_before_exclusions(make_participant):
    participant = make_participant(consent_date=CONSENT)
    labels = [c.label for c, _ in eligibility.checklist(participant)]
    assert labels == [
        "Inclusion 1",
        "Inclusion 2",
        "Inclusion 3",
        "Exclusion 1",
        "Exclusion 2",
        "Exclusion 3",
    ]


def test_the_participant_page_lists_inclusions_before_exclusions(client, staff, make_participant):
    participant = make_participant(consent_date=CONSENT)
    client.force_login(staff["coordinator-ocn"])
    page = client.get(reverse("admin:participants_participant_change", args=[participant.pk]))
    positions = [
        page.text.index(f"<strong>{label}</strong>")
        for label in ("Inclusion 1", "Inclusion 3", "Exclusion 1", "Exclusion 3")
    ]
    assert positions == sorted(positions)


def test_what_stands_in_the_way_names_inclusions_first(make_participant):
    participant = make_participant(consent_date=CONSENT)
    assert eligibility.unmet(participant)[:4] == [
        "Inclusion 1 is not answered.",
        "Inclusion 2 is not answered.",
        "Inclusion 3 is not answered.",
        "Exclusion 1 is not answered.",
    ]


def test_an_investigator_of_another_site_does_not_enrol(make_participant, staff, site_ber):
    """Every entry point: the investigator must work at the participant's site."""
    participant = make_participant(consent_date=CONSENT, site=site_ber)
    answered(participant)
    with pytest.raises(ValidationError) as refused:
        enrol_by_service(participant, staff["investigator-ocn"])
    assert "investigator-ocn does not work at BER" in str(refused.value)
    participant.refresh_from_db()
    assert participant.status == Status.SCREENING
