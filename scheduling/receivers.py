"""The scheduling app's answer to ``participants.signals.timeline_changed``."""

from . import services


def rebuild_on_timeline_change(sender, participant, **kwargs):
    services.rebuild_schedule(participant)
