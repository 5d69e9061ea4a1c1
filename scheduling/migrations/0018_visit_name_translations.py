"""Visit definitions' names per language (what a reminder in Spanish calls "Infusion 4"),
and the SLE-001 protocol's names in German, Spanish and French. A name staff have changed
since the seed is left alone: its translation is theirs to write."""

from django.db import migrations, models

import participants.translations

# The seeded English name (0002_sle001_protocol) -> its names in de, es, fr.
SLE001_NAMES = {
    "SCR": (
        "Screening: consent and eligibility",
        {
            "de": "Screening: Einwilligung und Eignung",
            "es": "Selección: consentimiento y elegibilidad",
            "fr": "Sélection : consentement et éligibilité",
        },
    ),
    "LEUK": (
        "Leukapheresis",
        {"de": "Leukapherese", "es": "Leucaféresis", "fr": "Leucaphérèse"},
    ),
    **{
        f"INF{n}": (
            f"Infusion {n}",
            {"de": f"Infusion {n}", "es": f"Infusión {n}", "fr": f"Perfusion {n}"},
        )
        for n in range(1, 7)
    },
    "EOT": (
        "End of treatment, Day 50",
        {
            "de": "Behandlungsende, Tag 50",
            "es": "Fin del tratamiento, día 50",
            "fr": "Fin de traitement, jour 50",
        },
    ),
    **{
        f"FU{month}": (
            f"Follow-up Month {month}",
            {
                "de": f"Nachbeobachtung Monat {month}",
                "es": f"Seguimiento, mes {month}",
                "fr": f"Suivi, mois {month}",
            },
        )
        for month in (1, 3, 6, 9, 12)
    },
}


def seed_sle001_translations(apps, schema_editor):
    VisitDefinition = apps.get_model("scheduling", "VisitDefinition")
    for code, (english, translations) in SLE001_NAMES.items():
        VisitDefinition.objects.filter(
            protocol__code="SLE-001", code=code, name=english, name_translations={}
        ).update(name_translations=translations)


class Migration(migrations.Migration):
    dependencies = [
        ("scheduling", "0017_merge_capacity"),
    ]

    operations = [
        migrations.AddField(
            model_name="historicalvisitdefinition",
            name="name_translations",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text="What participants reading another language see in their reminders.",
                validators=[participants.translations.validate_translations],
                verbose_name="name in other languages",
            ),
        ),
        migrations.AddField(
            model_name="visitdefinition",
            name="name_translations",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text="What participants reading another language see in their reminders.",
                validators=[participants.translations.validate_translations],
                verbose_name="name in other languages",
            ),
        ),
        migrations.RunPython(seed_sle001_translations, migrations.RunPython.noop),
    ]
