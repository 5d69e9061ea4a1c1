"""Appointments: SLE-001's visits name the clinic resource they use, the new role (Site
manager) and permissions are given to the role groups, and every existing visit gets an
appointment on its planned date (or its actual date, if done). Schedules are placed on each
site's clinic calendar at the next rebuild: saving a site's calendar, ``import_sites``,
``close_site``, or any change to a participant."""

from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.db.models import F

from participants.roles import sync_roles

# Visit codes of SLE-001 → the resource they occupy (a protocol's data, editable in the admin).
SLE_001_RESOURCES = {
    "LEUK": ("apheresis", "apheresis slots"),
    **{f"INF{n}": ("infusion chair", "infusion chairs") for n in range(1, 7)},
}


def link_sle001_resources(apps, schema_editor):
    """SLE-001's leukapheresis uses an apheresis slot, its infusions an infusion chair (also
    run by the tests after a flush, like the plan itself)."""
    Resource = apps.get_model("participants", "Resource")
    VisitDefinition = apps.get_model("scheduling", "VisitDefinition")
    for code, (name, plural) in SLE_001_RESOURCES.items():
        definitions = VisitDefinition.objects.filter(
            protocol__code="SLE-001", code=code, resource__isnull=True
        )
        if definitions.exists():
            resource, _ = Resource.objects.get_or_create(name=name, defaults={"plural": plural})
            definitions.update(resource=resource)


def forwards(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    sync_roles(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"))

    link_sle001_resources(apps, schema_editor)

    Visit = apps.get_model("scheduling", "Visit")
    Visit.objects.filter(appointment_date__isnull=True, actual_date__isnull=False).update(
        appointment_date=F("actual_date")
    )
    Visit.objects.filter(appointment_date__isnull=True).update(appointment_date=F("planned_date"))


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("participants", "0005_clinic_calendar"),
        ("scheduling", "0008_appointments"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
