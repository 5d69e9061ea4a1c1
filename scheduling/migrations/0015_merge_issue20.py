# The two halves of issue 20 (a visit closed with its phase; a done visit's deviation) each
# added a 0014 on 0013_dispatch_heartbeat; they touch different fields of Visit.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("scheduling", "0014_visit_closure_timeline"),
        ("scheduling", "0014_visit_deviation_lifecycle"),
    ]

    operations = []
