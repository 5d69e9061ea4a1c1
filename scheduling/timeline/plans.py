"""A protocol version's plan as the schedule reads it: its phases and visit definitions read
once (``SchedulePlan``, handed to the pure rules as ``schedule.Plan``), the version a
participant follows (``Followed``), the phase starts a participant's recorded transitions
give, and the phase whose start is study day 1. Reads only.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from participants.models import Participant
from participants.selectors import effective_dates_by_status
from scheduling.models import Phase, ProtocolVersion, VersionTakeUp, VisitDefinition
from scheduling.rules import engine, schedule


def version_plan(version_id: int) -> tuple[list[Phase], list[VisitDefinition]]:
    """A version's phases in order and its visit definitions in plan order (two queries)."""
    phases = list(
        Phase.objects.filter(version_id=version_id).select_related("version").order_by("order")
    )
    definitions = list(
        VisitDefinition.objects.filter(version_id=version_id)
        .select_related("phase")
        .order_by("order", "id")
    )
    return phases, definitions


def followed_plan(participant: Participant) -> tuple[list[Phase], list[VisitDefinition]]:
    """The plan of the version ``participant`` follows."""
    followed = Followed.of(participant)
    return version_plan(followed.version_id) if followed else ([], [])


@dataclass(frozen=True)
class Followed:
    """The version a participant follows, since when, and the one they followed before
    (None: they started on it)."""

    version_id: int
    since: datetime.date
    previous_id: int | None

    @classmethod
    def of(cls, participant: Participant) -> Followed | None:
        """The participant's latest take-up (one query); None before their first."""
        take_up = (
            VersionTakeUp.objects.filter(participant_id=participant.pk)
            .order_by("-since", "-id")
            .values_list("version_id", "since", "previous_id")
            .first()
        )
        return cls(*take_up) if take_up else None

    @classmethod
    def of_all(cls, participant_ids) -> dict[int, Followed]:
        """The latest take-up of each participant (one query)."""
        rows = (
            VersionTakeUp.objects.filter(participant_id__in=list(participant_ids))
            .order_by("participant_id", "-since", "-id")
            .distinct("participant_id")
            .values_list("participant_id", "version_id", "since", "previous_id")
        )
        return {row[0]: cls(*row[1:]) for row in rows}


@dataclass(frozen=True)
class SchedulePlan:
    """A protocol's plan read once, as the engine takes it: used for every participant of a
    rebuild or an import."""

    phases: list[Phase]
    definitions: list[VisitDefinition]
    phase_plans: list[engine.PhasePlan]
    visit_plans: list[engine.VisitPlan]
    day_one_code: str
    # The phases whose start only a recorded transition gives (``Phase.started_by``).
    recorded_starts: frozenset[str]
    resources: dict[int, int]  # visit definition id → the resource it uses, when it uses one
    version: ProtocolVersion

    @property
    def rule(self) -> schedule.Plan:
        """The plan as ``schedule.decide`` takes it."""
        return schedule.Plan(
            self.phase_plans,
            self.visit_plans,
            self.day_one_code,
            self.recorded_starts,
            self.version.pk,
            self.version.number,
        )

    @classmethod
    def read(cls, version_id: int | None) -> SchedulePlan | None:
        """The plan of the version ``version_id`` (two queries); None when it has no
        phase."""
        if version_id is None:
            return None
        phases, definitions = version_plan(version_id)
        if not phases:
            return None
        return cls(
            version=phases[0].version,
            phases=phases,
            definitions=definitions,
            phase_plans=[phase.as_plan() for phase in phases],
            visit_plans=[definition.as_plan() for definition in definitions],
            day_one_code=day_one_phase(phases).code,
            recorded_starts=frozenset(p.code for p in phases if p.started_by),
            resources={d.id: d.resource_id for d in definitions if d.resource_id is not None},
        )

    @classmethod
    def followed_by(cls, participant: Participant) -> SchedulePlan | None:
        """The plan of the version ``participant`` follows (None: no plan yet)."""
        followed = Followed.of(participant)
        return cls.read(followed.version_id) if followed else None

    def reached(
        self, consent_date: datetime.date, starts: dict[str, datetime.date]
    ) -> dict[str, datetime.date | None]:
        """The day the participant reached each phase (None: not yet): see
        :func:`engine.phases_reached`."""
        return engine.phases_reached(
            engine.phase_starts(self.phase_plans, consent_date, starts), self.recorded_starts
        )

    def phase_gates(self) -> dict[int, tuple[str, bool]]:
        """How each visit definition's phase gates its reminders (``reminders.PhaseGates``):
        the phase's start transition, and whether it is the phase's first visit in plan
        order (the one reminded of once the participant may record that start)."""
        gates, seen = {}, set()
        for definition in self.definitions:
            phase = definition.phase
            gates[definition.id] = (phase.started_by, phase.code not in seen)
            seen.add(phase.code)
        return gates

    def starts(self, by_status: dict[str, datetime.date]) -> dict[str, datetime.date]:
        """Recorded phase starts from the effective date of each status (see
        :func:`phase_actual_starts`)."""
        return {
            phase.code: by_status[phase.started_by]
            for phase in self.phases
            if phase.started_by and phase.started_by in by_status
        }


def phase_actual_starts(participant: Participant, phases: list[Phase]) -> dict[str, datetime.date]:
    """Recorded starts by phase code: a phase whose plan names a start transition
    (``Phase.started_by``) starts on that transition's effective date, as corrected."""
    by_status = effective_dates_by_status(participant)
    return {
        phase.code: by_status[phase.started_by]
        for phase in phases
        if phase.started_by and phase.started_by in by_status
    }


def day_one_phase(phases: list[Phase]) -> Phase:
    for phase in phases:
        if phase.is_day_one:
            return phase
    # A protocol without an explicit anchor counts study days from its second phase (the first
    # after screening), or its only one.
    return phases[1] if len(phases) > 1 else phases[0]
