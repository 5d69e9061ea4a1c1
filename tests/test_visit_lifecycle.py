"""Visits bounded by the participant's lifecycle (issue 20, items 4, 9 and 11): a visit before
its phase or after the participant left is recorded only with a reason and flagged; no later
change makes one so silently; corrections carry deviations with them; the export and the
participant page show the same appointment and the deviation."""

import datetime
from io import StringIO

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from participants.cli import InputError
from participants.lifecycle import correct_transition, record_transition
from participants.models import Status
from scheduling.models import LIFECYCLE_DEVIATIONS, Visit
from scheduling.rules import engine
from scheduling.timeline.plans import SchedulePlan, phase_actual_starts
from scheduling.timeline.selectors import schedule_rows
from scheduling.timeline.visits import record_visit
from tests.factories import enrol

D = datetime.date
UTC = datetime.UTC
CONSENT = D(2026, 1, 5)  # SCR 5–8 Jan, LEUK planned 9 Feb (2–16 Feb), treatment planned 2 Mar
NOW = datetime.datetime(2026, 9, 1, 18, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def visit(participant, code) -> Visit:
    return Visit.objects.get(participant=participant, code=code)


# Item 4: recorded where the lifecycle forbids it.


def test_an_infusion_for_a_participant_in_screening_needs_a_reason_and_is_flagged(
    make_participant, clock
):
    """The issue's example: INF1 recorded as done for a participant still in screening."""
    participant = make_participant(consent_date=CONSENT)
    with pytest.raises(ValidationError) as refused:
        record_visit(participant, "INF1", on=D(2026, 3, 2))
    assert refused.value.message_dict["reason"] == [
        "INF1 on 2026-03-02 is a treatment visit, and SLE-001-101-001 has not reached that "
        "phase (they are in screening). Recording it is a protocol deviation and needs a reason."
    ]
    assert visit(participant, "INF1").actual_date is None
    infusion = record_visit(participant, "INF1", on=D(2026, 3, 2), reason="Entered in error?")
    assert (infusion.actual_date, infusion.deviation, infusion.deviation_reason) == (
        D(2026, 3, 2),
        "before_phase",
        "Entered in error?",
    )
    assert infusion.history.first().history_change_reason == "Entered in error? (admin)"


def test_a_visit_dated_after_the_withdrawal_needs_a_reason_and_is_flagged(make_participant, clock):
    # SCR: planned 5 January, window to 8 January; withdrawn on the 6th, seen on the 7th.
    participant = make_participant(consent_date=CONSENT)
    record_transition(participant, Status.WITHDRAWN, on=D(2026, 1, 6), reason="Moved away")
    with pytest.raises(ValidationError) as refused:
        record_visit(participant, "SCR", on=D(2026, 1, 7))
    assert refused.value.message_dict["reason"] == [
        "SCR on 2026-01-07 is after SLE-001-101-001 left the trial (withdrawn on 2026-01-06). "
        "Recording it is a protocol deviation and needs a reason."
    ]
    done = record_visit(participant, "SCR", on=D(2026, 1, 7), reason="Safety check")
    assert (done.deviation, done.get_deviation_display()) == (
        "after_left",
        "after the participant left",
    )


@pytest.mark.parametrize(
    "exit_to", [Status.WITHDRAWN, Status.LOST_TO_FOLLOW_UP, Status.SCREEN_FAILED]
)
def test_a_backdated_exit_that_leaves_done_visits_after_it_is_refused(
    make_participant, clock, exit_to
):
    participant = make_participant(consent_date=CONSENT)
    record_visit(participant, "LEUK", on=D(2026, 2, 9))
    with pytest.raises(ValidationError) as refused:
        record_transition(participant, exit_to, on=D(2026, 2, 5), reason="Backdated")
    assert refused.value.message_dict["on"] == [
        "This date would leave done visits outside the participant's lifecycle: LEUK done on "
        "2026-02-09 is after the participant left on 2026-02-05. Choose a date that keeps them "
        "inside it, or correct the visits first."
    ]
    participant.refresh_from_db()
    assert (participant.status, participant.left_on) == (Status.SCREENING, None)
    assert participant.transitions.count() == 1
    assert visit(participant, "LEUK").deviation == ""


def test_the_command_line_records_a_visit_before_its_phase_only_with_a_reason(
    make_participant, clerk, clock
):
    participant = make_participant(consent_date=CONSENT, subject_id="SLE-001-101-004")
    args = ("record_visit", "SLE-001-101-004", "INF1", "--on", "2026-03-02", "--by", "clerk")
    with pytest.raises(InputError) as refused:
        call_command(*args, stdout=StringIO(), stderr=StringIO())
    assert refused.value.lines[0].startswith("reason: INF1 on 2026-03-02 is a treatment visit")
    out = StringIO()
    call_command(*args, "--reason", "Infused at another site", stdout=out, stderr=StringIO())
    assert out.getvalue() == (
        "SLE-001-101-004 INF1 recorded on 2026-03-02. Protocol deviation: before its phase "
        "(reason: Infused at another site).\n"
    )
    assert visit(participant, "INF1").deviation == "before_phase"


def test_the_admin_records_a_visit_before_its_phase_only_with_a_reason(
    client, staff, make_participant, clock
):
    participant = make_participant(consent_date=CONSENT)
    infusion = visit(participant, "INF1")
    client.force_login(staff["coordinator-ocn"])
    url = reverse("admin:participant_visit", args=[participant.pk, infusion.pk])
    refused = client.post(url, {"actual_date": "2026-03-02", "booked_time": ""}, follow=True)
    messages = [str(m) for m in refused.context["messages"]]
    assert any("is a treatment visit" in m and "needs a reason" in m for m in messages)
    assert visit(participant, "INF1").actual_date is None
    accepted = client.post(
        url, {"actual_date": "2026-03-02", "booked_time": "", "reason": "Site error"}, follow=True
    )
    messages = [str(m) for m in accepted.context["messages"]]
    assert "INF1 recorded on 2026-03-02 (a deviation: before its phase)." in messages
    assert 'data-deviation="before_phase"' in accepted.text


# Item 9: corrections of a phase start after visits are done.


def test_a_correction_that_puts_treatment_after_a_done_infusion_is_refused(make_participant, clock):
    """The issue's example: correcting the start after INF1 was done could give it Day -3."""
    participant = make_participant(consent_date=CONSENT)
    enrol(participant, on=D(2026, 2, 20))
    treatment = record_transition(participant, Status.TREATMENT, on=D(2026, 3, 2))
    record_visit(participant, "INF1", on=D(2026, 3, 2))
    with pytest.raises(ValidationError) as refused:
        correct_transition(treatment, on=D(2026, 3, 5), reason="Start date mistyped")
    assert refused.value.message_dict["on"] == [
        "This date would leave done visits outside the participant's lifecycle: INF1 done on "
        "2026-03-02 is before its phase (treatment) starts on 2026-03-05. Choose a date that "
        "keeps them inside it, or correct the visits first."
    ]
    infusion = visit(participant, "INF1")
    assert (infusion.study_day, infusion.deviation) == (1, "")
    assert participant.transitions.count() == 3  # consent, enrolled, treatment: no correction


def test_a_correction_carries_study_days_and_deviations_with_it(make_participant, clock):
    participant = make_participant(consent_date=CONSENT)
    enrol(participant, on=D(2026, 2, 20))
    treatment = record_transition(participant, Status.TREATMENT, on=D(2026, 3, 2))
    record_visit(participant, "INF1", on=D(2026, 3, 2))
    record_visit(participant, "INF2", on=D(2026, 3, 8))
    correct_transition(treatment, on=D(2026, 2, 27), reason="Infusion day was the 27th")
    first, second = visit(participant, "INF1"), visit(participant, "INF2")
    assert (first.actual_date, first.planned_date, first.study_day) == (
        D(2026, 3, 2),
        D(2026, 2, 27),
        1,
    )
    # INF1's window is the corrected start alone; INF2's (6 March ± 2 days) still holds it.
    assert (first.deviation, second.deviation) == ("outside_window", "")


# Item 11: one source for the export and the page.


def test_the_export_and_the_page_show_no_appointment_for_a_done_visit(
    client, staff, make_participant, clock
):
    participant = make_participant(consent_date=CONSENT)
    record_visit(participant, "SCR", on=D(2026, 1, 6))
    record_visit(participant, "INF1", on=D(2026, 3, 2), reason="Infused elsewhere")
    rows = {row.visit_code: row for row in schedule_rows()}
    done = rows["SCR"]
    assert (done.appointment_date, done.appointment_time, done.appointment_source) == (None, "", "")
    assert (done.appointment_note, done.confirmation, done.deviation) == ("", "", "")
    assert rows["INF1"].deviation == "before its phase"
    client.force_login(staff["coordinator-ocn"])
    page = client.get(reverse("admin:participants_participant_change", args=[participant.pk]))
    row = page.text.split('data-visit="SCR">')[1].split("</tr>")[0]
    assert '<td class="appointment" data-label="Appointment">—</td>' in row
    assert "deviation: before its phase" in page.text.split('data-visit="INF1">')[1]


def test_the_export_names_each_kind_of_deviation(make_participant, clock):
    late = make_participant(consent_date=CONSENT)
    record_visit(late, "SCR", on=D(2026, 1, 12))  # window 5–8 January
    left = make_participant(consent_date=CONSENT)
    record_transition(left, Status.WITHDRAWN, on=D(2026, 1, 6), reason="Moved away")
    record_visit(left, "SCR", on=D(2026, 1, 7), reason="Safety check")
    rows = {(row.subject_id, row.visit_code): row.deviation for row in schedule_rows()}
    assert rows[(late.subject_id, "SCR")] == "outside its window"
    assert rows[(left.subject_id, "SCR")] == "after the participant left"
    assert rows[(late.subject_id, "LEUK")] == ""


# The rule as a property: whatever happens, the flag is the rule's and never silently lifecycle.

steps = st.lists(
    st.one_of(
        st.tuples(
            st.just("visit"),
            st.sampled_from(["SCR", "LEUK", "INF1", "INF3", "EOT", "FU1"]),
            st.integers(0, 240),
            st.booleans(),
        ),
        st.tuples(
            st.just("transition"),
            st.sampled_from(
                [Status.ENROLLED, Status.TREATMENT, Status.FOLLOW_UP, Status.WITHDRAWN]
            ),
            st.integers(0, 240),
            st.booleans(),
        ),
        st.tuples(st.just("correct"), st.just(""), st.integers(0, 240), st.booleans()),
    ),
    max_size=8,
)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=steps)
def test_every_done_visit_carries_the_deviation_its_lifecycle_gives(make_participant, history):
    """For every sequence of transitions, corrections and recorded visits (some with a reason,
    some refused): each done visit's flag is ``engine.deviation`` of its window, its phase as
    reached and the day the participant left; and a visit before its phase or after leaving
    always carries the reason it was recorded with."""
    with time_machine.travel(NOW, tick=False):
        participant = make_participant(consent_date=CONSENT)
        for kind, what, days, with_reason in history:
            on = CONSENT + datetime.timedelta(days=days)
            reason = "Because" if with_reason else ""
            try:
                if kind == "visit":
                    record_visit(participant, what, on=on, reason=reason)
                elif kind == "transition" and what == Status.ENROLLED:
                    enrol(participant, on=on)
                elif kind == "transition":
                    record_transition(participant, what, on=on, reason="Because")
                else:
                    latest = participant.transitions.order_by("-recorded_at", "-id").first()
                    correct_transition(latest, on=on, reason="Because")
            except ValidationError:
                pass
        participant.refresh_from_db()
        plan = SchedulePlan.read(participant.protocol_id)
        reached = plan.reached(CONSENT, phase_actual_starts(participant, plan.phases))
        for done in Visit.objects.filter(participant=participant, actual_date__isnull=False):
            expected = engine.deviation(
                done.actual_date,
                done.window_start,
                done.window_end,
                reached[done.phase],
                participant.left_on,
            )
            assert done.deviation == expected, done.code
            if done.deviation in LIFECYCLE_DEVIATIONS:
                assert done.deviation_reason
