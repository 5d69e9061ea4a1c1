"""Reads of the participant page: the timeline (phases and visits, as the chart draws them and
as the visits table lists them) and the reminders; how an instant reads at a site.
"""

import datetime
from dataclasses import dataclass

from participants.models import Participant
from scheduling.models import OutboxStatus, Reminder, VersionTakeUp, Visit
from scheduling.rules import engine
from scheduling.timeline.plans import day_one_phase, followed_plan, phase_actual_starts
from scheduling.workspace.timeline_chart import (
    ChartPhase,
    ChartVisit,
    TimelineChart,
    timeline_geometry,
)


@dataclass
class Timeline:
    chart: TimelineChart  # drawn by scheduling/timeline_chart.html
    day_one: datetime.date
    today: datetime.date
    visits: list[Visit]


def participant_timeline(participant: Participant, now=None) -> Timeline:
    """The participant's phases and visits as the chart draws them, and the visits listed."""
    today = participant.site.today(now)
    phases, _ = followed_plan(participant)
    starts = phase_actual_starts(participant, phases)
    plans = [phase.as_plan() for phase in phases]
    names = {phase.code: phase.name for phase in phases}
    chart_phases = [
        ChartPhase(s.code, names[s.code], s.start, s.end, s.actual)
        for s in engine.phase_starts(plans, participant.consent_date, starts)
    ]
    if participant.left_on:
        # Phases after the day the participant left never happen; the one running is cut there.
        chart_phases = [
            ChartPhase(p.code, p.name, p.start, min(p.end, participant.left_on), p.actual)
            for p in chart_phases
            if p.start <= participant.left_on
        ]
    day_one = (
        engine.day_one(plans, day_one_phase(phases).code, participant.consent_date, starts)
        if phases
        else participant.consent_date
    )
    visits = list(
        participant.visits.select_related("definition", "version").order_by("planned_date", "id")
    )
    for visit in visits:
        visit.current_status = visit.status_on(today)
    chart_visits = [
        ChartVisit(
            v.code,
            v.name,
            v.planned_date,
            v.window_start,
            v.window_end,
            v.actual_date,
            v.current_status,
            v.get_deviation_display() if v.deviation else "",
        )
        for v in visits
    ]
    return Timeline(
        timeline_geometry(chart_phases, chart_visits, today, day_one), day_one, today, visits
    )


def participant_reminders(participant: Participant) -> tuple[list[Reminder], int]:
    """The participant's reminders that went out or may still go out, in due order, and how
    many were cancelled (by schedule changes, leaving the trial or opting out)."""
    reminders = list(
        Reminder.objects.filter(visit__participant=participant)
        .select_related("visit", "rule")
        .order_by("due_at", "id")
    )
    shown = [r for r in reminders if r.status != OutboxStatus.CANCELLED]
    return shown, len(reminders) - len(shown)


def take_ups(participant: Participant) -> list[VersionTakeUp]:
    """The versions the participant followed, latest first (the first is the one followed
    now): since when, how, who recorded it and why (one query)."""
    return list(
        VersionTakeUp.objects.filter(participant=participant)
        .select_related("version", "previous", "recorded_by")
        .order_by("-since", "-id")
    )
