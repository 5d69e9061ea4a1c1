"""The scheduling app's answer to ``participants.signals.timeline_changed``."""

from scheduling.timeline import schedules, transitions


def rebuild_on_timeline_change(
    sender, participant=None, participants=(), by=None, reason: str = "", reasons=(), **kwargs
):
    if participant is not None:
        schedules.rebuild_schedule(participant, by=by, reason=reason)
    if participants:
        schedules.create_schedules(participants, by=by, reasons=reasons)


def visits_closed_by_transition(
    sender, participant, target: str, on, **kwargs
) -> list[tuple[str, bool]]:
    """The answer to ``participants.signals.transition_closes``: a sentence per visit, and
    whether it needs a reason (closed by a phase, or cancelled by leaving before it)."""
    return [
        (transitions.closing_sentence(visit, ending), transitions.closing_needs_reason(ending))
        for visit, ending in transitions.visits_closed_by_transition(participant, target, on)
    ]
