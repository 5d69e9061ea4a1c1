"""Run one of the project's processes with its clock moved: fake time for a real process.

    python -m tests.faults.clock +SECONDS celery -A trialsite worker …
    python -m tests.faults.clock 2026-03-29T07:00:00+00:00 manage.py send_due_reminders

The clock starts at the given instant (or this many seconds from now) and then runs at the
normal rate (time-machine, as the in-process tests use). Everything the process reads as
"now" (Django's ``timezone.now()``, Celery's clock) is moved; its timeouts are not, since they
run on the monotonic clock. The fault suite uses it where waiting for real would take minutes:
a claim lease running out, a retry's backoff.
"""

import datetime
import runpy
import sys

import time_machine


def destination(argument: str) -> datetime.datetime:
    if argument.startswith("+"):
        return datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=float(argument))
    return datetime.datetime.fromisoformat(argument)


def main() -> None:
    when, program, *arguments = sys.argv[1:]
    time_machine.travel(destination(when), tick=True).start()
    sys.argv = [program, *arguments]
    if program.endswith("celery"):
        from celery.__main__ import main as celery

        sys.exit(celery())
    runpy.run_path(program, run_name="__main__")


if __name__ == "__main__":
    main()
