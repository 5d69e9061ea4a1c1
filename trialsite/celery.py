"""The Celery app: `celery -A trialsite worker` and `celery -A trialsite beat`.

Configuration comes from Django settings (CELERY_* names). Beat uses django-celery-beat's
DatabaseScheduler (set in settings), so the periodic tasks are rows visible in the admin.
"""

import os

from celery import Celery
from celery.signals import beat_init, worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trialsite.settings")

app = Celery("trialsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _start_embedded_broker(**_kwargs):
    from django.conf import settings

    if settings.USE_EMBEDDED_REDIS:
        from trialsite.embedded_redis import ensure_running

        ensure_running(settings.EMBEDDED_REDIS_SOCKET)


# On the local default there is no Redis to point at: the first process up starts the
# embedded one, so `celery -A trialsite worker` works with no configuration at all.
worker_init.connect(_start_embedded_broker, weak=False)
beat_init.connect(_start_embedded_broker, weak=False)
