"""The staff roles (Coordinator, Investigator, Monitor) as groups with their permissions."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from participants.roles import sync_roles


def create_roles(apps, schema_editor):
    # Permissions are normally created after the last migration; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    sync_roles(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"))


def remove_roles(apps, schema_editor):
    from participants.roles import ROLES

    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("participants", "0002_staff_sites_and_eligibility"),
        ("scheduling", "0002_sle001_protocol"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
