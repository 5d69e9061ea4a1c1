"""The qualifying answer stated by 0009 becomes required. A migration of its own: PostgreSQL
does not alter a table that has trigger events pending from the same transaction (the history
records 0009 writes)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("participants", "0009_criterion_qualifying_answer"),
    ]

    operations = [
        migrations.AlterField(
            model_name="eligibilitycriterion",
            name="qualifying_answer",
            field=models.CharField(
                choices=[("yes", "Yes"), ("no", "No")],
                help_text="The answer to “Is this true of the participant?” that lets them take "
                "part: usually yes for an inclusion and no for an exclusion, but yes for an "
                "exclusion worded as a negative (“I do not have …”).",
                max_length=3,
                verbose_name="qualifies when true of the participant?",
            ),
        ),
        migrations.AlterField(
            model_name="historicaleligibilitycriterion",
            name="qualifying_answer",
            field=models.CharField(
                choices=[("yes", "Yes"), ("no", "No")],
                help_text="The answer to “Is this true of the participant?” that lets them take "
                "part: usually yes for an inclusion and no for an exclusion, but yes for an "
                "exclusion worded as a negative (“I do not have …”).",
                max_length=3,
                verbose_name="qualifies when true of the participant?",
            ),
        ),
    ]
