"""The scheduling app's answer to ``participants.signals.timeline_changed``."""

from . import services


def rebuild_on_timeline_change(sender, participant, by=None, reason: str = "", **kwargs):
    services.rebuild_schedule(participant, by=by, reason=reason)
