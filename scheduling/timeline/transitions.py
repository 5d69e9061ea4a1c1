"""What a transition would do to a participant's schedule, asked before it is recorded: the
visits still to be done that it closes (a later phase starting) or cancels (leaving the trial),
by the rule a rebuild applies (``engine.visit_end``), and how each is said. Reads only.
"""

from __future__ import annotations

import datetime

from participants.models import LEFT_STATUSES, Participant
from scheduling.models import Visit
from scheduling.rules import engine
from scheduling.timeline.plans import SchedulePlan, phase_actual_starts


def visits_closed_by_transition(
    participant: Participant, target: str, on: datetime.date
) -> list[tuple[Visit, engine.VisitEnd]]:
    """The visits still to be done that moving ``participant`` to ``target`` on ``on`` would
    close (a later phase starting) or cancel (leaving the trial), with how, by the rule
    :func:`rebuild_schedule` applies (``engine.visit_end``). Reads only."""
    plan = SchedulePlan.followed_by(participant)
    if plan is None:
        return []
    starts = phase_actual_starts(participant, plan.phases)
    starts.update({phase.code: on for phase in plan.phases if phase.started_by == target})
    left_on = on if target in LEFT_STATUSES else participant.left_on
    phase_starts = engine.phase_starts(plan.phase_plans, participant.consent_date, starts)
    closing = []
    for visit in participant.visits.open().order_by("planned_date", "id"):
        ending = engine.visit_end(
            visit.phase, visit.planned_date, visit.window_end, phase_starts, left_on
        )
        if ending is not None:
            closing.append((visit, ending))
    return closing


def closing_sentence(visit: Visit, ending: engine.VisitEnd) -> str:
    """``LEUK Leukapheresis (planned 2026-02-09, missed: phase ended on 2026-01-20)``."""
    return (
        f"{visit.code} {visit.name} (planned {visit.planned_date.isoformat()}, {ending.sentence()})"
    )


def closing_needs_reason(ending: engine.VisitEnd) -> bool:
    """A visit closed because its phase ended, or cancelled because the participant leaves
    before it, needs the transition to give a reason."""
    return ending.cancelled or ending.reason == engine.PHASE_ENDED
