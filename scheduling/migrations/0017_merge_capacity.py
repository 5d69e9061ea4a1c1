# Bookings' order (0015_visit_booked_at, for the capacity rule) and the roles without resources
# (0016) were made side by side; they touch different things.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("scheduling", "0015_visit_booked_at"),
        ("scheduling", "0016_resources_kept_with_the_plan"),
    ]

    operations = []
