"""Start-up refusals: a setting that makes the project unsafe or unable to run stops every
entry point (manage.py, celery, gunicorn) with one line saying what to set, not a traceback."""

import sys

from django.core.exceptions import ImproperlyConfigured


class StartupRefused(ImproperlyConfigured):
    """Raised by the settings; its message is the one line shown."""


def load_settings_or_exit() -> None:
    """Read the settings now (Django reads them lazily), exiting with one line if refused."""
    from django.conf import settings

    try:
        settings.DEBUG  # noqa: B018 - the first read loads the settings module
    except StartupRefused as refusal:
        print(f"trialsite: {refusal}", file=sys.stderr)
        sys.exit(1)


def serve_embedded_postgres() -> None:
    """On the local default (no DATABASE_URL), make sure the embedded PostgreSQL runs for this
    process: started here (and stopped at exit) when nothing else runs it."""
    from django.conf import settings

    if settings.EMBEDDED_POSTGRES:
        from trialsite.embedded_postgres import EmbeddedPostgresError, for_this_process

        try:
            for_this_process(settings.VAR_DIR)
        except EmbeddedPostgresError as error:
            print(f"trialsite: {error}", file=sys.stderr)
            sys.exit(1)
