from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "scheduling"
    verbose_name = "Scheduling: plans, visits and reminders"

    def ready(self):
        from participants.signals import timeline_changed, transition_closes
        from scheduling import receivers

        timeline_changed.connect(
            receivers.rebuild_on_timeline_change, dispatch_uid="scheduling.rebuild"
        )
        transition_closes.connect(
            receivers.visits_closed_by_transition, dispatch_uid="scheduling.visits_closed"
        )
