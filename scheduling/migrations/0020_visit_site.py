"""A visit's site, copied from its participant, and the site calendar's index on it (issue 23:
the calendar read a site's month through the site's participants, 55,000 pages at 10,000
participants a site). The column is added empty, filled from the participants, then required.

The database keeps it right: a unique index on the participants' (id, site_id) lets the
visits' (participant_id, site_id) reference it, ON UPDATE CASCADE, so a visit's site is its
participant's on every path that writes either, COPY included, and follows a site change.
"""

import django.db.models.deletion
import django.db.models.functions.comparison
from django.db import migrations, models

FILL = """
UPDATE scheduling_visit AS visit SET site_id = participant.site_id
FROM participants_participant AS participant
WHERE participant.id = visit.participant_id
"""

SAME_SITE = """
CREATE UNIQUE INDEX participant_id_site ON participants_participant (id, site_id);
ALTER TABLE scheduling_visit ADD CONSTRAINT visit_site_is_participants
    FOREIGN KEY (participant_id, site_id)
    REFERENCES participants_participant (id, site_id)
    ON UPDATE CASCADE;
"""

NO_SAME_SITE = """
ALTER TABLE scheduling_visit DROP CONSTRAINT visit_site_is_participants;
DROP INDEX participant_id_site;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("participants", "0011_network_indexes"),
        ("scheduling", "0019_visit_name_translations"),
    ]

    operations = [
        migrations.AddField(
            model_name="visit",
            name="site",
            field=models.ForeignKey(
                db_index=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="participants.site",
                verbose_name="site",
            ),
        ),
        migrations.RunSQL(FILL, migrations.RunSQL.noop),
        migrations.AlterField(
            model_name="visit",
            name="site",
            field=models.ForeignKey(
                db_index=False,
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="participants.site",
                verbose_name="site",
            ),
        ),
        migrations.RunSQL(SAME_SITE, NO_SAME_SITE),
        migrations.AddIndex(
            model_name="visit",
            index=models.Index(
                models.F("site"),
                django.db.models.functions.comparison.Coalesce("actual_date", "appointment_date"),
                models.F("booked_time"),
                models.F("participant"),
                models.F("definition"),
                models.F("actual_date"),
                models.F("appointment_date"),
                models.F("booked_date"),
                models.F("id"),
                condition=models.Q(("cancelled", False)),
                name="visit_calendar_day",
            ),
        ),
    ]
