"""Changing a protocol plan that participants already follow: preview, confirm, apply.

Saving the protocol page with changed phases or visit definitions first computes, from the
submitted (unsaved) plan, which future visits of active participants would move. If any
would, the page comes back with that list and asks for a reason; saved again with the reason,
the plan is stored and every active participant's schedule is rebuilt in the same
transaction. Visits already done never move, nor does the window they were done in
(``rebuild_schedule``'s rule with ``plan_changed``).
"""

import datetime
from dataclasses import dataclass

from participants.models import Participant
from scheduling.models import Visit
from scheduling.rules import engine
from scheduling.timeline.plans import phase_actual_starts
from scheduling.timeline.schedules import rebuild_schedule

PLAN_PREFIXES = ("phases", "visit_definitions", "reminder_rules")


@dataclass(frozen=True)
class VisitMove:
    """A future visit the plan change moves (planned date) or re-windows, or adds."""

    subject_id: str
    site: str
    code: str
    before: datetime.date | None
    after: datetime.date | None
    window_before: tuple[datetime.date, datetime.date] | None = None
    window_after: tuple[datetime.date, datetime.date] | None = None


def _kept_forms(formset):
    deleted = set(formset.deleted_forms) if formset.can_delete else set()
    for form in formset.forms:
        if form in deleted or (form.instance.pk is None and not form.has_changed()):
            continue
        yield form


def submitted_plan(phase_formset, definition_formset):
    """The plan as submitted: phases in order (the forms' validated, unsaved instances) and
    visit plans."""
    phases = sorted((form.instance for form in _kept_forms(phase_formset)), key=lambda p: p.order)
    code_by_pk = {phase.pk: phase.code for phase in phases if phase.pk}
    visits = []
    for form in _kept_forms(definition_formset):
        definition = form.instance
        phase_code = code_by_pk.get(definition.phase_id)
        if phase_code is None:
            continue  # its phase is being deleted: the form's own validation reports it
        visits.append(
            engine.VisitPlan(
                definition.code,
                phase_code,
                definition.offset,
                definition.unit,
                definition.window_before,
                definition.window_after,
            )
        )
    return phases, visits


def preview_moves(protocol, phases, visit_plans) -> list[VisitMove]:
    """Open visits (not done, not cancelled) of active participants that the plan would move,
    re-window or add, where the old or the new date is today or later at the participant's
    site. A new window changes which dates count as done in time, so it is shown too."""
    phase_plans = [phase.as_plan() for phase in phases]
    participants = list(
        Participant.objects.active().filter(protocol=protocol).select_related("site")
    )
    current: dict[int, dict[str, Visit]] = {}
    for visit in Visit.objects.filter(participant__in=participants, definition__isnull=False).only(
        "participant_id",
        "code",
        "planned_date",
        "window_start",
        "window_end",
        "actual_date",
        "cancelled",
    ):
        current.setdefault(visit.participant_id, {})[visit.code] = visit
    moves = []
    for participant in participants:
        today = participant.site.today()
        try:
            planned = engine.plan_visits(
                phase_plans,
                visit_plans,
                participant.consent_date,
                phase_actual_starts(participant, phases),
            )
        except (KeyError, ValueError):
            continue  # an incomplete plan: the forms say what is missing
        visits = current.get(participant.pk, {})
        for plan in planned:
            visit = visits.get(plan.code)
            if visit is not None and (visit.actual_date is not None or visit.cancelled):
                continue
            before = visit.planned_date if visit else None
            window_before = (visit.window_start, visit.window_end) if visit else None
            window_after = (plan.window_start, plan.window_end)
            if before == plan.planned and window_before == window_after:
                continue
            if max(before or plan.planned, plan.planned) < today:
                continue
            moves.append(
                VisitMove(
                    participant.subject_id,
                    participant.site.code,
                    plan.code,
                    before,
                    plan.planned,
                    window_before,
                    window_after,
                )
            )
    return sorted(moves, key=lambda m: (m.subject_id, m.after or m.before))


def rebuild_followers(protocol, *, by, reason: str) -> int:
    """Rebuild the schedule of every active participant of ``protocol``; returns how many."""
    participants = list(Participant.objects.active().filter(protocol=protocol))
    for participant in participants:
        rebuild_schedule(participant, by=by, reason=reason, plan_changed=True)
    return len(participants)
