"""The Celery app: `celery -A trialsite worker` and `celery -A trialsite beat`.

Configuration comes from Django settings (CELERY_* names). Beat uses django-celery-beat's
DatabaseScheduler (set in settings), so the periodic tasks are rows visible in the admin.
"""

import os

from celery import Celery
from celery.signals import beat_init, worker_init

from trialsite.startup import load_settings_or_exit, serve_embedded_postgres

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trialsite.settings")

app = Celery("trialsite")
# A refused setting (SECRET_KEY missing outside DEBUG, an SQLite DATABASE_URL…): one line. Read
# when the app first loads its configuration, not on import: importing the trialsite package
# (trialsite.local_services, which runs before any settings exist) must not need settings.
app.on_configure.connect(lambda **_kwargs: load_settings_or_exit(), weak=False)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _start_embedded_servers(**_kwargs):
    from django.conf import settings

    if settings.USE_EMBEDDED_REDIS:
        from trialsite.embedded_redis import ensure_running

        ensure_running(settings.EMBEDDED_REDIS_SOCKET)
    serve_embedded_postgres()


# On the local default there is no Redis or PostgreSQL to point at: the first process up starts
# the embedded ones, so `celery -A trialsite worker` works with no configuration at all.
worker_init.connect(_start_embedded_servers, weak=False)
beat_init.connect(_start_embedded_servers, weak=False)
