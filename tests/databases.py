"""The test database as a URL, for the processes a test starts (manage.py, a worker, beat):
on a TCP server or on the embedded server's Unix socket alike."""

from django.db import connection

from trialsite.embedded_postgres import database_url


def process_database_url() -> str:
    settings = connection.settings_dict
    return database_url(
        settings["NAME"],
        settings["HOST"] or "127.0.0.1",
        settings["PORT"] or "",
        settings["USER"] or "postgres",
        settings["PASSWORD"] or "",
    )


def environment_without_servers(*also_unset: str) -> dict[str, str]:
    """This process's environment as a newcomer's shell has it: no DATABASE_URL or
    CELERY_BROKER_URL (so a process started with it uses the embedded servers), no pytest
    variables, and any other names given unset too."""
    import os

    unset = {"DATABASE_URL", "CELERY_BROKER_URL", *also_unset}
    return {
        key: value
        for key, value in os.environ.items()
        if key not in unset and not key.startswith("PYTEST")
    }
