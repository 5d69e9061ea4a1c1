#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trialsite.settings")
    from django.core.management import execute_from_command_line

    from trialsite.startup import load_settings_or_exit, serve_embedded_postgres

    load_settings_or_exit()
    if _needs_database(sys.argv[1:2]):
        serve_embedded_postgres()
    execute_from_command_line(sys.argv)


def _needs_database(command: list[str]) -> bool:
    # Help, version and the checks that run without a database start no server.
    return bool(command) and command[0] not in {
        "help", "--help", "-h", "version", "--version", "check", "makemigrations",
        "compilemessages", "collectstatic",
    }  # fmt: skip


if __name__ == "__main__":
    main()
