"""The role groups get the protocol versions' permissions: every role reads them, staff who
manage participants record a re-consent, site managers activate a version at their site."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from participants.roles import sync_roles


def forwards(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    sync_roles(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"))


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0023_versions_required")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
