"""Properties of a participant's move to another version of the plan (issue 24), on plain
values (hypothesis): ``schedule.decide`` with a ``TakeUp`` over any pair of plans (visits
kept, removed, added, moved, re-windowed, moved to another phase), consent day, recorded
phase starts, visits done and booked, take-up day and clinic calendar; and
``versions.start_steps`` over any site's activations. Then the worked examples that showed
a bug.

The rule (docs/timeline.md, ``schedule.decide``): visits done keep their dates and their
version; a visit the new version removes becomes not applicable on the take-up day; a visit
whose window under the new version ended before that day, while it was open then under the
old one, is not applicable: never scheduled backwards; every other visit not done is planned
under the new version.
"""

import dataclasses
import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduling.rules import clinic_calendar as cc
from scheduling.rules import engine, schedule, versions
from scheduling.rules.engine import PhasePlan, VisitPlan
from tests.test_engine_properties import actual_starts, plans, units
from tests.test_schedule_rule_properties import blank, calendars, dates, lived

D = datetime.date
DAY = datetime.timedelta(days=1)
OLD, NEW = 1, 2  # the versions' ids
EXAMPLES = 120


def as_plan(phases, visits, version: int, number: str) -> schedule.Plan:
    """A plan as ``tests.test_schedule_rule_properties.cases`` makes it, of a version."""
    return schedule.Plan(
        phases,
        visits,
        phases[-1 if len(phases) == 1 else 1].code,
        frozenset(p.code for p in phases[1:]),
        version,
        number,
    )


def amended(draw, plan: schedule.Plan, version: int, number: str) -> schedule.Plan:
    """A version made from ``plan``: each visit kept, removed, moved (offset, unit),
    re-windowed or moved to another phase; 0–4 visits added (or added back: a code an earlier
    version removed); some phase lengths changed."""
    phases = plan.phases
    visits = []
    for visit in plan.visits:
        change = draw(st.sampled_from(["kept", "removed", "moved", "re-windowed", "phase"]))
        if change == "removed":
            continue
        if change == "moved":
            visit = dataclasses.replace(visit, offset=draw(st.integers(0, 60)), unit=draw(units))
        elif change == "re-windowed":
            visit = dataclasses.replace(
                visit, before=draw(st.integers(0, 30)), after=draw(st.integers(0, 30))
            )
        elif change == "phase":
            visit = dataclasses.replace(visit, phase=draw(st.sampled_from(phases)).code)
        visits.append(visit)
    taken = {visit.code for visit in visits}
    for index in range(draw(st.integers(0, 4))):
        code = draw(st.sampled_from([f"N{index}", f"V{index}"]))
        if code in taken:
            continue
        taken.add(code)
        visits.insert(
            draw(st.integers(0, len(visits))),
            VisitPlan(
                code,
                draw(st.sampled_from(phases)).code,
                draw(st.integers(0, 60)),
                draw(units),
                draw(st.integers(0, 30)),
                draw(st.integers(0, 30)),
            ),
        )
    phases = [
        dataclasses.replace(phase, length=draw(st.integers(1, 24)))
        if draw(st.booleans())
        else phase
        for phase in phases
    ]
    return as_plan(phases, visits, version, number)


@st.composite
def version_pairs(draw):
    """Version 1.0 and a version 2.0 made from it (``amended``)."""
    phases, visits = draw(plans())
    old = as_plan(phases, visits, OLD, "1.0")
    return old, amended(draw, old, NEW, "2.0")


@dataclasses.dataclass(frozen=True)
class Move:
    old: schedule.Plan
    new: schedule.Plan
    consent: datetime.date
    starts: dict
    left_on: datetime.date | None
    calendar: cc.ClinicCalendar
    visits: list  # as the shell reads them at the move: 1.0's rows, then 2.0's new codes
    take_up: schedule.TakeUp
    keep_done_plans: bool

    def decide(self, visits=None):
        return schedule.decide(
            self.new,
            self.consent,
            self.starts,
            self.left_on,
            self.visits if visits is None else visits,
            self.calendar,
            keep_done_plans=self.keep_done_plans,
            take_up=self.take_up,
        )

    def old_window_end(self, code: str) -> datetime.date | None:
        """The last day of ``code``'s window under 1.0, as the phase starts now stand."""
        for visit in engine.plan_visits(
            self.old.phases, self.old.visits, self.consent, self.starts
        ):
            if visit.code == code:
                return visit.window_end
        return None


@st.composite
def moves(draw):
    """A participant on 1.0, some visits done and some booked, their schedule rebuilt under
    1.0; then a take-up of 2.0 on a day from their consent on (a participant may leave
    afterwards), the visits of the codes 2.0 adds not yet created."""
    old, new = draw(version_pairs())
    consent = draw(dates)
    starts = draw(actual_starts(old.phases, consent))
    calendar = draw(calendars())
    first = schedule.decide(
        old,
        consent,
        starts,
        None,
        [blank(v.code, v.phase, version_id=OLD) for v in old.visits],
        calendar,
    )
    rows = []
    for key, visit in enumerate(first, 1):
        visit = visit.but(key=key)
        choice = draw(st.sampled_from(["as is", "done", "booked"]))
        shift = draw(st.integers(-10, 10)) * DAY
        if choice == "done":
            visit = visit.but(actual_date=visit.planned_date + shift)
        elif choice == "booked" and visit.is_open:
            visit = visit.but(booked_date=visit.planned_date + shift)
        rows.append(visit)
    rows = schedule.decide(old, consent, starts, None, rows, calendar)
    on = draw(st.dates(min_value=consent, max_value=consent + 900 * DAY))
    left_on = draw(st.none() | st.dates(min_value=on, max_value=on + 400 * DAY))
    old_codes = {v.code for v in old.visits}
    rows += [blank(v.code, v.phase, version_id=NEW) for v in new.visits if v.code not in old_codes]
    return Move(
        old,
        new,
        consent,
        starts,
        left_on,
        calendar,
        rows,
        schedule.TakeUp(on, old),
        draw(st.booleans()),
    )


@settings(max_examples=EXAMPLES)
@given(moves())
def test_a_visit_done_keeps_its_date_its_window_and_its_version(move):
    for before, after in zip(move.visits, move.decide(), strict=True):
        if before.actual_date is None:
            continue
        assert (after.actual_date, after.window_start, after.window_end, after.version_id) == (
            before.actual_date,
            before.window_start,
            before.window_end,
            before.version_id,
        )
        assert after.closed_on is None and not after.cancelled


@settings(max_examples=EXAMPLES)
@given(moves())
def test_no_visit_is_ever_deleted(move):
    after = move.decide()
    assert [(v.key, v.definition) for v in after] == [(v.key, v.definition) for v in move.visits]


@settings(max_examples=EXAMPLES)
@given(moves())
def test_a_visit_the_new_version_removes_is_not_applicable_from_the_take_up_day(move):
    on = move.take_up.on
    new_codes = {v.code for v in move.new.visits}
    once = move.decide()
    twice = move.decide(once)
    for before, after, again in zip(move.visits, once, twice, strict=True):
        if before.definition in new_codes or before.definition is None:
            continue
        assert after.version_id == OLD  # planned by 1.0, and it stays so
        if before.is_open and (before.window_end or before.planned_date) >= on:
            assert (after.closed_on, after.closed_reason) == (on, "not applicable: version 2.0")
            assert schedule.is_not_applicable(after.closed_reason)
        else:
            assert after == before  # history: done, missed or closed under 1.0
        if not before.is_open or after.closed_on is not None:
            assert not again.is_open  # never open afterwards


@settings(max_examples=EXAMPLES)
@given(moves())
def test_no_visit_is_scheduled_backwards(move):
    """An open visit under 2.0 whose window ended before the take-up day had ended before it
    under 1.0 too (simply missed, as it was); any other is not applicable."""
    on = move.take_up.on
    new_codes = {v.code for v in move.new.visits}
    for visit in move.decide():
        if visit.definition not in new_codes:
            continue
        if visit.is_open and visit.window_end < on:
            old_end = move.old_window_end(visit.definition)
            assert old_end is not None and old_end < on, visit
        if visit.closed_on == on and schedule.is_not_applicable(visit.closed_reason):
            assert visit.window_end < on


@settings(max_examples=EXAMPLES)
@given(moves())
def test_an_open_visit_is_planned_by_the_new_version_in_its_phase_and_window(move):
    planned = {
        v.code: v
        for v in engine.plan_visits(move.new.phases, move.new.visits, move.consent, move.starts)
    }
    for visit in move.decide():
        target = planned.get(visit.definition)
        if target is None or not visit.is_open:
            continue
        assert visit.version_id == NEW
        assert (visit.planned_date, visit.window_start, visit.window_end) == (
            target.planned,
            target.window_start,
            target.window_end,
        )
        assert visit.phase == target.phase


@settings(max_examples=EXAMPLES)
@given(moves())
def test_deciding_the_move_twice_changes_nothing(move):
    once = move.decide()
    assert move.decide(once) == once


@settings(max_examples=EXAMPLES)
@given(moves(), st.data())
def test_a_second_move_never_reopens_the_past_and_is_idempotent(move, data):
    """Then 3.0, made from 2.0, taken up on a later day: the same rule against 2.0. A visit
    2.0 made not applicable stays closed on 2.0's take-up day unless 3.0 has it with a window
    still open on its own take-up day."""
    two = [v.but(key=v.key or 1000 + n) for n, v in enumerate(move.decide())]
    three = amended(data.draw, move.new, 3, "3.0")
    on = data.draw(st.dates(min_value=move.take_up.on, max_value=move.take_up.on + 400 * DAY))
    codes = {v.definition for v in two}
    visits = two + [
        blank(v.code, v.phase, version_id=3) for v in three.visits if v.code not in codes
    ]

    def decide(rows):
        return schedule.decide(
            three,
            move.consent,
            move.starts,
            move.left_on,
            rows,
            move.calendar,
            keep_done_plans=move.keep_done_plans,
            take_up=schedule.TakeUp(on, move.new),
        )

    once = decide(visits)
    assert decide(once) == once
    planned = {
        v.code: v for v in engine.plan_visits(three.phases, three.visits, move.consent, move.starts)
    }
    ended_under_two = {
        v.code: v.window_end
        for v in engine.plan_visits(move.new.phases, move.new.visits, move.consent, move.starts)
    }
    for before, after in zip(visits, once, strict=True):
        if before.actual_date is not None:
            assert (after.window_start, after.window_end, after.version_id) == (
                before.window_start,
                before.window_end,
                before.version_id,
            )
            continue
        target = planned.get(before.definition)
        was_na = before.closed_on is not None and schedule.is_not_applicable(before.closed_reason)
        if was_na and (target is None or target.window_end < on):
            assert (after.closed_on, after.closed_reason) == (
                before.closed_on,
                before.closed_reason,
            )
        if target is not None and after.is_open:
            assert (after.version_id, after.phase, after.window_end) == (
                3,
                target.phase,
                target.window_end,
            )
            if after.window_end < on:
                assert ended_under_two.get(before.definition, on) < on


@settings(max_examples=EXAMPLES)
@given(lived(), st.booleans())
def test_a_participant_who_never_moved_gets_the_schedule_of_before_versions(case, keep):
    plan, consent, starts, left_on, calendar, visits = case
    without = schedule.decide(
        plan, consent, starts, left_on, visits, calendar, keep_done_plans=keep
    )
    versioned = schedule.decide(
        dataclasses.replace(plan, version=7, number="1.0"),
        consent,
        starts,
        left_on,
        [v.but(version_id=7) for v in visits],
        calendar,
        keep_done_plans=keep,
        take_up=None,
    )
    assert {v.version_id for v in versioned} <= {7}
    assert [v.but(version_id=None) for v in versioned] == without


# Start steps: a site's activations of a protocol's versions, in their order (a site never
# activates a version older than one it has: ``timeline.versions._refuse_activation``).


@st.composite
def site_histories(draw):
    """Versions 1..n (1: the first, the plan every site starts with), some activated at the
    site, each on or after the one before it; and a consent day around them."""
    count = draw(st.integers(1, 6))
    orders = {}
    major, minor = 1, 0
    for version in range(1, count + 1):
        orders[version] = (major, minor)
        if draw(st.booleans()):
            major, minor = major + 1, 0
        else:
            minor += 1
    day = D(2026, 1, 1)
    activations = []
    for version in range(1, count + 1):
        if not draw(st.booleans()):
            continue
        day += draw(st.integers(0, 40)) * DAY
        activations.append(versions.Activation(day, version, orders[version], draw(st.booleans())))
    consent = D(2026, 1, 1) + draw(st.integers(-10, 200)) * DAY
    shuffled = draw(st.permutations(activations))
    return orders, shuffled, consent


@settings(max_examples=300)
@given(site_histories())
def test_a_new_participant_starts_on_the_version_in_force_then_takes_up_the_newer_ones(
    history,
):
    orders, activations, consent = history
    steps = versions.start_steps(consent, activations, 1)
    in_force = [a for a in activations if a.on <= consent]
    first = max(in_force, key=lambda a: a.order).version if in_force else 1
    assert steps[0] == versions.Step(first, consent, None, versions.START)
    for before, step in zip(steps, steps[1:], strict=False):
        assert orders[step.version] > orders[before.version]  # strictly newer, never twice
        assert step.previous == before.version and step.kind == versions.ACTIVATION
        [activation] = [a for a in activations if a.version == step.version]
        assert activation.on == step.since > consent and not activation.needs_reconsent
    # Every newer version activated since without re-consent is taken up.
    taken = {step.version for step in steps}
    for activation in activations:
        if activation.on > consent and not activation.needs_reconsent:
            assert activation.version in taken or activation.order <= orders[first]


# Worked examples.

SCREENING, TREATMENT = "screening", "treatment"
PHASES = [PhasePlan(SCREENING, 8, "weeks"), PhasePlan(TREATMENT, 8, "weeks")]
CONSENT = D(2026, 1, 5)  # treatment planned from 2 March


def test_a_visit_the_new_version_moves_to_a_later_phase_belongs_to_that_phase():
    """2.0 moves EXTRA from screening (week 5) to treatment (week 2). Taken up on 12 January,
    before EXTRA's window: when treatment starts on 2 March, EXTRA (16 March) is a treatment
    visit and stays scheduled; it is not closed because screening ended. (It was: the visit
    kept the phase 1.0 gave it.)"""
    old = as_plan(
        PHASES,
        [
            VisitPlan("SCR", SCREENING, 0, "days", 0, 0),
            VisitPlan("EXTRA", SCREENING, 5, "weeks", 3, 3),
        ],
        OLD,
        "1.0",
    )
    new = as_plan(
        PHASES,
        [
            VisitPlan("SCR", SCREENING, 0, "days", 0, 0),
            VisitPlan("EXTRA", TREATMENT, 2, "weeks", 3, 3),
        ],
        NEW,
        "2.0",
    )
    calendar = cc.ClinicCalendar()
    fresh = [blank(v.code, v.phase, version_id=OLD) for v in old.visits]
    rows = [
        v.but(key=n)
        for n, v in enumerate(schedule.decide(old, CONSENT, {}, None, fresh, calendar), 1)
    ]
    take_up = schedule.TakeUp(D(2026, 1, 12), old)
    started = {TREATMENT: D(2026, 3, 2)}

    _, extra = schedule.decide(new, CONSENT, started, None, rows, calendar, take_up=take_up)

    assert (extra.phase, extra.version_id, extra.planned_date) == (TREATMENT, NEW, D(2026, 3, 16))
    assert extra.is_open and extra.closed_reason == ""


def test_a_site_that_activates_its_first_version_late_gives_no_second_take_up_of_it():
    """A new site (no activation) activates 1.0, the version every site starts with, on 10
    March; a participant consented there on 1 March follows 1.0 from consent. Activating 1.0
    is no move to another version. (It was: a second step, 1.0 → 1.0, from 10 March.)"""
    one = versions.Activation(D(2026, 3, 10), 1, (1, 0), False)
    two = versions.Activation(D(2026, 4, 1), 2, (2, 0), False)

    steps = versions.start_steps(D(2026, 3, 1), [one, two], 1)

    assert steps == [
        versions.Step(1, D(2026, 3, 1), None, versions.START),
        versions.Step(2, D(2026, 4, 1), 1, versions.ACTIVATION),
    ]
