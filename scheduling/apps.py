from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SchedulingConfig(AppConfig):
    name = "scheduling"
    verbose_name = _("Scheduling: plans, visits and reminders")

    def ready(self):
        from participants.signals import timeline_changed, transition_closes
        from scheduling import receivers

        timeline_changed.connect(
            receivers.rebuild_on_timeline_change, dispatch_uid="scheduling.rebuild"
        )
        transition_closes.connect(
            receivers.visits_closed_by_transition, dispatch_uid="scheduling.visits_closed"
        )
