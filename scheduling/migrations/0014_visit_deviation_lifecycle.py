"""Each done visit says why it is a protocol deviation (issue 20, items 4, 9 and 11): outside
its window, before its phase was reached, or after the participant left; and the reason given
for recording it so. Done visits already stored get their deviation computed here (the same
rule as ``engine.deviation``, written out so this migration does not follow later code);
every schedule rebuild keeps it in step afterwards."""

from django.db import migrations, models


def flag_done_visits(apps, schema_editor):
    Visit = apps.get_model("scheduling", "Visit")
    Phase = apps.get_model("scheduling", "Phase")
    Transition = apps.get_model("participants", "Transition")
    phases = {}
    for phase in Phase.objects.order_by("protocol_id", "order"):
        phases.setdefault(phase.protocol_id, {})[phase.code] = phase
    starts = {}  # participant → status → effective date (the latest record: corrections last)
    for record in Transition.objects.order_by("recorded_at", "id"):
        starts.setdefault(record.participant_id, {})[record.to_status] = record.effective_date
    changed = []
    done = Visit.objects.filter(actual_date__isnull=False).select_related("participant")
    for visit in done.iterator(chunk_size=2000):
        participant, actual = visit.participant, visit.actual_date
        phase = phases.get(participant.protocol_id, {}).get(visit.phase)
        if visit.definition_id is not None and phase is not None and phase.started_by:
            reached = starts.get(participant.id, {}).get(phase.started_by)
        else:
            # The first phase (reached on consent, never after a done visit), a phase that
            # starts on its planned date, or an unscheduled visit: left to the next rebuild.
            reached = actual
        if participant.left_on is not None and actual > participant.left_on:
            deviation = "after_left"
        elif reached is None or actual < reached:
            deviation = "before_phase"
        elif (
            visit.window_start
            and visit.window_end
            and not (visit.window_start <= actual <= visit.window_end)
        ):
            deviation = "outside_window"
        else:
            deviation = ""
        if deviation:
            visit.deviation = deviation
            changed.append(visit)
    Visit.objects.bulk_update(changed, ["deviation"], batch_size=2000)


class Migration(migrations.Migration):
    dependencies = [
        ("scheduling", "0013_dispatch_heartbeat"),
    ]

    operations = [
        migrations.AddField(
            model_name="historicalvisit",
            name="deviation",
            field=models.CharField(
                blank=True,
                choices=[
                    ("", "—"),
                    ("after_left", "after the participant left"),
                    ("before_phase", "before its phase"),
                    ("outside_window", "outside its window"),
                ],
                editable=False,
                help_text="Why this done visit is a protocol deviation, as its window and the participant's lifecycle now stand (kept in step by every schedule rebuild).",
                max_length=20,
            ),
        ),
        migrations.AddField(
            model_name="historicalvisit",
            name="deviation_reason",
            field=models.TextField(
                blank=True,
                editable=False,
                help_text="Why it was recorded before its phase or after the participant left.",
                verbose_name="reason for the deviation",
            ),
        ),
        migrations.AddField(
            model_name="visit",
            name="deviation",
            field=models.CharField(
                blank=True,
                choices=[
                    ("", "—"),
                    ("after_left", "after the participant left"),
                    ("before_phase", "before its phase"),
                    ("outside_window", "outside its window"),
                ],
                editable=False,
                help_text="Why this done visit is a protocol deviation, as its window and the participant's lifecycle now stand (kept in step by every schedule rebuild).",
                max_length=20,
            ),
        ),
        migrations.AddField(
            model_name="visit",
            name="deviation_reason",
            field=models.TextField(
                blank=True,
                editable=False,
                help_text="Why it was recorded before its phase or after the participant left.",
                verbose_name="reason for the deviation",
            ),
        ),
        migrations.RunPython(flag_done_visits, migrations.RunPython.noop),
    ]
