"""Each eligibility criterion states the answer that qualifies (issue 20).

Until now an inclusion qualified on "yes" and an exclusion on "no" to "Is this true of the
participant?", which reads SLE-001's exclusion 2, worded as a negative ("I do not have severe
kidney or brain lupus…"), backwards. The answers already given keep their meaning (whether
the statement is true of the participant); what changes is which answer qualifies. Each
criterion gets a history record saying so.
"""

from django.db import migrations, models
from django.utils import timezone

# The exclusions worded as a negative: true of a participant who may take part.
NEGATIVE_EXCLUSIONS = {
    "I do not have severe kidney or brain lupus, or major neurological symptoms from lupus.",
}
REASON = "Qualifying answer stated: “{answer}” to “Is this true of the participant?”"


def state_qualifying_answers(apps, schema_editor):
    Criterion = apps.get_model("participants", "EligibilityCriterion")
    History = apps.get_model("participants", "HistoricalEligibilityCriterion")
    now = timezone.now()
    # None here; "" where the live model seeds the plan again after a test's flush.
    for criterion in Criterion.objects.filter(
        models.Q(qualifying_answer__isnull=True) | models.Q(qualifying_answer="")
    ):
        criterion.qualifying_answer = (
            "yes"
            if criterion.kind == "inclusion" or criterion.text.strip() in NEGATIVE_EXCLUSIONS
            else "no"
        )
        criterion.save(update_fields=["qualifying_answer"])
        History.objects.create(
            id=criterion.id,
            protocol_id=criterion.protocol_id,
            kind=criterion.kind,
            order=criterion.order,
            text=criterion.text,
            qualifying_answer=criterion.qualifying_answer,
            history_date=now,
            history_type="~",
            history_change_reason=REASON.format(answer=criterion.qualifying_answer),
        )


class Migration(migrations.Migration):
    dependencies = [
        ("participants", "0008_participant_in_trial_index"),
        # SLE-001's criteria are seeded there.
        ("scheduling", "0002_sle001_protocol"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="eligibilitycriterion",
            options={
                "ordering": ["protocol", "-kind", "order"],
                "verbose_name_plural": "eligibility criteria",
            },
        ),
        migrations.AddField(
            model_name="eligibilitycriterion",
            name="qualifying_answer",
            field=models.CharField(max_length=3, null=True),
        ),
        migrations.AddField(
            model_name="historicaleligibilitycriterion",
            name="qualifying_answer",
            field=models.CharField(max_length=3, null=True),
        ),
        migrations.RunPython(state_qualifying_answers, migrations.RunPython.noop),
    ]
