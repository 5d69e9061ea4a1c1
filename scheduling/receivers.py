"""The scheduling app's answer to ``participants.signals.timeline_changed``."""

from . import services


def rebuild_on_timeline_change(
    sender, participant=None, participants=(), by=None, reason: str = "", reasons=(), **kwargs
):
    if participant is not None:
        services.rebuild_schedule(participant, by=by, reason=reason)
    if participants:
        services.create_schedules(participants, by=by, reasons=reasons)
