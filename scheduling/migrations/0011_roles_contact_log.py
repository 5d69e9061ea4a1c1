"""The role groups get the contact log's permissions (view for all, add for staff who chase)."""

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
    dependencies = [
        ("participants", "0006_languages_contact_log"),
        ("scheduling", "0010_confirmations"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
