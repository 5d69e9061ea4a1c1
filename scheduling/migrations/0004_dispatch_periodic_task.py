"""The periodic task that runs the reminder dispatch every minute (django-celery-beat).

It is a row, so operators see it in the admin (Periodic tasks) and can pause it there.
``install`` is a plain function: tests call it again after a transactional flush.
"""

from django.db import migrations

TASK_NAME = "Send due visit reminders"
TASK = "scheduling.tasks.dispatch_due_reminders"


def install(apps, schema_editor=None):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=1, period="minutes")
    task, created = PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={
            "task": TASK,
            "interval": every_minute,
            # A run queued during a worker outage is stale after two minutes: the next one
            # does the same work, so piled-up runs are dropped rather than replayed.
            "expire_seconds": 120,
            "description": "Claims due participant reminders and coordinator digests and "
            "sends them (scheduling.dispatch). Safe to run twice; see docs/reminders.md.",
        },
    )
    if created:
        # Tell a running beat (DatabaseScheduler) that its schedule changed.
        PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": task.date_changed})
    return task


def uninstall(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("scheduling", "0003_outbox_claim_token"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(install, uninstall)]
