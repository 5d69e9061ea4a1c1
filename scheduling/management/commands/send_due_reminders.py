"""`manage.py send_due_reminders`: the dispatch beat runs every minute, run once by hand.

For operators catching up after an outage (docs/reminders.md): it claims rows like any
worker, so running it while the worker and beat are up is safe. Bad options follow the staff
commands' contract (participants.cli): one plain line and exit status 1.
"""

from participants.cli import InputError, StaffCommand
from scheduling.mail.claims import BATCH_SIZE
from scheduling.mail.dispatch import dispatch_due

# A batch is claimed by one query and sent over one connection: far more rows than this at a
# time is a typing slip (and past PostgreSQL's bigint, the claim query would fail).
LARGEST_BATCH = 10_000


class Command(StaffCommand):
    help = (
        "Send every participant reminder and coordinator digest that is due now, and print "
        "one summary line: sent, retrying, failed, expired, superseded, unknown (the server "
        "took the message and never answered)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size",
            type=int,
            default=BATCH_SIZE,
            help=f"Rows claimed (and sent over one connection) at a time; default {BATCH_SIZE}.",
        )

    def handle(self, *args, batch_size, **options):
        if batch_size < 1:
            raise InputError(["--batch-size must be at least 1."])
        if batch_size > LARGEST_BATCH:
            raise InputError([f"--batch-size must be at most {LARGEST_BATCH:,}."])
        summary = dispatch_due(batch_size=batch_size)
        self.stdout.write(summary.line())
