import os

from participants.cli import StaffCommand
from scheduling.demo import load_demo_data


class Command(StaffCommand):
    help = "Load the demo sites, participants and users (idempotent). Passwords: DEMO_PASSWORD."

    def handle(self, *args, **options):
        created = load_demo_data(os.environ.get("DEMO_PASSWORD", "demo"))
        self.stdout.write(
            f"Demo data ready: {created['participants']} participants created "
            f"({created['stories']} over every phase and way of leaving the trial, "
            f"{created['calendar']} at OCN showing the clinic calendar, "
            f"{created['replies']} at BER answering their reminders; "
            f"{created['in_all']} in all) and {created['users']} admin user; "
            f"{created['staff']} staff users in place."
        )
