"""A protocol records its trial phase (CDISC CT C66737, e.g. PHASE II TRIAL): the SDTM TS's
TPHASE and FHIR's ResearchStudy.phase come from it. SLE-001, where it exists, is a Phase 2
study (its public listing, docs/protocols/SLE-001-listing.txt: "Trial Phase: Phase 2"); the
change gets a history record saying so, as a change made in the admin would.
"""

from django.db import migrations, models
from django.utils import timezone

SLE001 = "SLE-001"
PHASE_II = "PHASE II TRIAL"
REASON = "Trial phase recorded from the public listing of SLE-001 (NCT06038474): Phase 2."


def record_sle001_phase(apps, schema_editor):
    """SLE-001 is a Phase II trial, when it exists and records no phase yet (run again by the
    tests after a flush, with today's models)."""
    Protocol = apps.get_model("participants", "Protocol")
    History = apps.get_model("participants", "HistoricalProtocol")
    for protocol in Protocol.objects.filter(code=SLE001, trial_phase=""):
        protocol.trial_phase = PHASE_II
        protocol.save(update_fields=["trial_phase"])
        History.objects.create(
            **{
                field.attname: getattr(protocol, field.attname)
                for field in Protocol._meta.concrete_fields
            },
            history_date=timezone.now(),
            history_type="~",
            history_change_reason=REASON,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("participants", "0014_idempotency_created_at"),
        # SLE-001 is seeded there.
        ("scheduling", "0002_sle001_protocol"),
    ]

    operations = [
        migrations.AddField(
            model_name="historicalprotocol",
            name="trial_phase",
            field=models.CharField(
                blank=True,
                choices=[
                    ("PHASE 0 TRIAL", "Phase 0"),
                    ("PHASE I TRIAL", "Phase I"),
                    ("PHASE I/II TRIAL", "Phase I/II"),
                    ("PHASE I/II/III TRIAL", "Phase I/II/III"),
                    ("PHASE I/III TRIAL", "Phase I/III"),
                    ("PHASE II TRIAL", "Phase II"),
                    ("PHASE IIA TRIAL", "Phase IIa"),
                    ("PHASE IIB TRIAL", "Phase IIb"),
                    ("PHASE II/III TRIAL", "Phase II/III"),
                    ("PHASE III TRIAL", "Phase III"),
                    ("PHASE IIIA TRIAL", "Phase IIIa"),
                    ("PHASE IIIB TRIAL", "Phase IIIb"),
                    ("PHASE IV TRIAL", "Phase IV"),
                    ("PHASE V TRIAL", "Phase V"),
                    ("NOT APPLICABLE", "Not applicable"),
                ],
                help_text="The trial's stage of clinical development, as its protocol and registry entry state it (e.g. Phase II); not a phase of its plan such as screening or treatment. Blank: unknown.",
                max_length=20,
                verbose_name="trial phase",
            ),
        ),
        migrations.AddField(
            model_name="protocol",
            name="trial_phase",
            field=models.CharField(
                blank=True,
                choices=[
                    ("PHASE 0 TRIAL", "Phase 0"),
                    ("PHASE I TRIAL", "Phase I"),
                    ("PHASE I/II TRIAL", "Phase I/II"),
                    ("PHASE I/II/III TRIAL", "Phase I/II/III"),
                    ("PHASE I/III TRIAL", "Phase I/III"),
                    ("PHASE II TRIAL", "Phase II"),
                    ("PHASE IIA TRIAL", "Phase IIa"),
                    ("PHASE IIB TRIAL", "Phase IIb"),
                    ("PHASE II/III TRIAL", "Phase II/III"),
                    ("PHASE III TRIAL", "Phase III"),
                    ("PHASE IIIA TRIAL", "Phase IIIa"),
                    ("PHASE IIIB TRIAL", "Phase IIIb"),
                    ("PHASE IV TRIAL", "Phase IV"),
                    ("PHASE V TRIAL", "Phase V"),
                    ("NOT APPLICABLE", "Not applicable"),
                ],
                help_text="The trial's stage of clinical development, as its protocol and registry entry state it (e.g. Phase II); not a phase of its plan such as screening or treatment. Blank: unknown.",
                max_length=20,
                verbose_name="trial phase",
            ),
        ),
        migrations.RunPython(record_sle001_phase, migrations.RunPython.noop),
    ]
