"""The periodic task that deletes the REST API's Idempotency-Key answers once they are seven
days old (django-celery-beat): a row, seen and paused by operators under Periodic tasks.
``install`` is a plain function, as in 0004: tests call it again after a transactional flush.
"""

from django.db import migrations

TASK_NAME = "Forget Idempotency-Keys older than seven days"
TASK = "scheduling.tasks.forget_idempotency_keys"


def install(apps, schema_editor=None):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    every_hour, _ = IntervalSchedule.objects.get_or_create(every=1, period="hours")
    task, created = PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={
            "task": TASK,
            "interval": every_hour,
            # Runs queued during a worker outage do the same work: one is enough.
            "expire_seconds": 3600,
            "description": "Deletes the first answers kept for the REST API's Idempotency-Key "
            "header once they are seven days old (docs/api.md). Safe to run twice.",
        },
    )
    if created:
        PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": task.date_changed})
    return task


def uninstall(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("scheduling", "0026_visit_api_order"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(install, uninstall)]
