"""SLE-001, the built-in example protocol, as data (docs/protocols/).

Nothing in the code is specific to it: another protocol is entered in the admin the same way.
"""

import datetime

from django.db import migrations

PROTOCOL = {
    "code": "SLE-001",
    "title": "Descartes-08 for Patients With Systemic Lupus Erythematosus",
    "registry_id": "NCT06038474",
    "sponsor": "Cartesian Therapeutics",
}

INCLUSION = [
    "I have been diagnosed with systemic lupus erythematosus (SLE).",
    "My blood test shows I have specific antibodies related to my condition.",
    "I still have symptoms despite taking steroids and two other immune-suppressing drugs "
    "for 3 months.",
]
EXCLUSION = [
    "Patient is pregnant or lactating",
    "I do not have severe kidney or brain lupus, or major neurological symptoms from lupus.",
    "Major chronic illness that is not well managed at the time of study entry and in the "
    "opinion of the investigator may increase the risk to the patient",
]

# (order, code, name, length, unit, starts study Day 1)
PHASES = [
    (1, "screening", "Screening", 8, "weeks", False),
    (2, "treatment", "Treatment", 8, "weeks", True),
    (3, "follow_up", "Follow-up", 12, "months", False),
]

# (phase, code, name, offset, unit, window before, window after)
VISITS = [
    ("screening", "SCR", "Screening: consent and eligibility", 0, "days", 0, 3),
    ("screening", "LEUK", "Leukapheresis", 35, "days", 7, 7),
    ("treatment", "INF1", "Infusion 1", 0, "days", 0, 0),
    ("treatment", "INF2", "Infusion 2", 7, "days", 2, 2),
    ("treatment", "INF3", "Infusion 3", 14, "days", 2, 2),
    ("treatment", "INF4", "Infusion 4", 21, "days", 2, 2),
    ("treatment", "INF5", "Infusion 5", 28, "days", 2, 2),
    ("treatment", "INF6", "Infusion 6", 35, "days", 2, 2),
    ("treatment", "EOT", "End of treatment, Day 50", 49, "days", 3, 3),
    ("follow_up", "FU1", "Follow-up Month 1", 1, "months", 7, 7),
    ("follow_up", "FU3", "Follow-up Month 3", 3, "months", 14, 14),
    ("follow_up", "FU6", "Follow-up Month 6", 6, "months", 14, 14),
    ("follow_up", "FU9", "Follow-up Month 9", 9, "months", 14, 14),
    ("follow_up", "FU12", "Follow-up Month 12", 12, "months", 14, 14),
]

# (audience, lead days, local time)
REMINDER_RULES = [
    ("participant", 7, datetime.time(9, 0)),
    ("participant", 1, datetime.time(9, 0)),
    ("coordinator_digest", 0, datetime.time(7, 0)),
]


def load(apps, schema_editor):
    Protocol = apps.get_model("participants", "Protocol")
    Criterion = apps.get_model("participants", "EligibilityCriterion")
    Phase = apps.get_model("scheduling", "Phase")
    VisitDefinition = apps.get_model("scheduling", "VisitDefinition")
    ReminderRule = apps.get_model("scheduling", "ReminderRule")
    protocol, created = Protocol.objects.get_or_create(code=PROTOCOL["code"], defaults=PROTOCOL)
    if not created:
        return
    for kind, texts in (("inclusion", INCLUSION), ("exclusion", EXCLUSION)):
        for order, text in enumerate(texts, start=1):
            Criterion.objects.create(protocol=protocol, kind=kind, order=order, text=text)
    # Loaded again with today's models (tests/conftest.py), the plan is version 1.0 as
    # migration 0022_version_one makes it.
    versioned = {}
    if any(field.name == "version" for field in Phase._meta.get_fields()):
        version = apps.get_model("scheduling", "ProtocolVersion").objects.create(
            protocol=protocol,
            number="1.0",
            approved_on=datetime.date(2024, 1, 1),
            note="The plan followed before protocol versions were recorded.",
        )
        versioned = {"version": version}
    phases = {}
    for order, code, name, length, unit, day_one in PHASES:
        phases[code] = Phase.objects.create(
            protocol=protocol,
            order=order,
            code=code,
            name=name,
            length=length,
            unit=unit,
            is_day_one=day_one,
            **versioned,
        )
    for order, (phase, code, name, offset, unit, before, after) in enumerate(VISITS, start=1):
        VisitDefinition.objects.create(
            protocol=protocol,
            phase=phases[phase],
            order=order,
            code=code,
            name=name,
            offset=offset,
            unit=unit,
            window_before=before,
            window_after=after,
            **versioned,
        )
    for audience, lead_days, local_time in REMINDER_RULES:
        ReminderRule.objects.create(
            protocol=protocol,
            audience=audience,
            lead_days=lead_days,
            local_time=local_time,
            **(versioned if audience == "participant" else {}),
        )
    if versioned:  # released once its plan is written: never edited afterwards
        from django.utils import timezone

        type(versioned["version"]).objects.filter(pk=versioned["version"].pk).update(
            released_at=timezone.now()
        )


class Migration(migrations.Migration):
    dependencies = [
        ("scheduling", "0001_initial"),
        ("participants", "0001_initial"),
    ]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
