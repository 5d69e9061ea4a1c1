"""Site managers no longer add resources (security issue 21): a resource (an apheresis slot,
an infusion chair) is what the protocol's visit definitions occupy, shared by every site, so it
is kept with the plan, by administrators. A site manager sets their own site's capacity."""

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
        ("participants", "0010_criterion_qualifying_answer_required"),
        ("scheduling", "0015_merge_issue20"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
