import os

from participants.cli import StaffCommand
from scheduling.demo import load_demo_data


class Command(StaffCommand):
    help = "Load the demo sites, participants and users (idempotent). Passwords: DEMO_PASSWORD."

    def handle(self, *args, **options):
        created = load_demo_data(os.environ.get("DEMO_PASSWORD", "demo"))
        self.stdout.write(
            f"Demo data ready: {created['participants']} participants and "
            f"{created['users']} admin user created; {created['staff']} staff users in place."
        )
