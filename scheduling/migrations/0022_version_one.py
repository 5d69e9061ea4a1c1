"""Every protocol's plan becomes its version 1.0 (released, in force at every site), and
every participant and visit is attributed to it (docs/amendments.md)."""

import datetime

from django.db import migrations
from django.db.models import Min
from django.utils import timezone


def version_one(apps, schema_editor):
    Protocol = apps.get_model("participants", "Protocol")
    Participant = apps.get_model("participants", "Participant")
    Site = apps.get_model("participants", "Site")
    ProtocolVersion = apps.get_model("scheduling", "ProtocolVersion")
    VersionActivation = apps.get_model("scheduling", "VersionActivation")
    Phase = apps.get_model("scheduling", "Phase")
    VisitDefinition = apps.get_model("scheduling", "VisitDefinition")
    ReminderRule = apps.get_model("scheduling", "ReminderRule")
    now = timezone.now()
    for protocol in Protocol.objects.all():
        first_consent = Participant.objects.filter(protocol=protocol).aggregate(
            first=Min("consent_date")
        )["first"]
        start = first_consent or now.date() - datetime.timedelta(days=1)
        version = ProtocolVersion.objects.create(
            protocol=protocol,
            number="1.0",
            approved_on=start,
            note="The plan followed before protocol versions were recorded.",
            released_at=now,
        )
        Phase.objects.filter(protocol=protocol).update(version=version)
        VisitDefinition.objects.filter(protocol=protocol).update(version=version)
        ReminderRule.objects.filter(protocol=protocol, audience="participant").update(
            version=version
        )
        by_site = dict(
            Participant.objects.filter(protocol=protocol)
            .values("site_id")
            .annotate(first=Min("consent_date"))
            .values_list("site_id", "first")
        )
        VersionActivation.objects.bulk_create(
            VersionActivation(
                version=version,
                site=site,
                activated_on=min(by_site.get(site.pk) or start, start),
                reason="In force before protocol versions were recorded.",
            )
            for site in Site.objects.all()
        )
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO scheduling_versiontakeup "
                "(participant_id, version_id, since, kind, reason, recorded_at) "
                "SELECT id, %s, consent_date, 'start', "
                "'Followed the plan before protocol versions were recorded', %s "
                "FROM participants_participant WHERE protocol_id = %s",
                [version.pk, now, protocol.pk],
            )
            cursor.execute(
                "UPDATE scheduling_visit SET version_id = %s WHERE definition_id IN "
                "(SELECT id FROM scheduling_visitdefinition WHERE protocol_id = %s)",
                [version.pk, protocol.pk],
            )
            cursor.execute(
                "UPDATE scheduling_historicalvisit SET version_id = %s WHERE definition_id IN "
                "(SELECT id FROM scheduling_visitdefinition WHERE protocol_id = %s)",
                [version.pk, protocol.pk],
            )


class Migration(migrations.Migration):
    dependencies = [
        ("scheduling", "0021_protocol_versions"),
        ("participants", "0012_staff_language"),
    ]

    operations = [migrations.RunPython(version_one, migrations.RunPython.noop)]
