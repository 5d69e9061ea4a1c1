"""Visit definitions' names per language (what a reminder in Spanish calls "Infusion 4"),
and the SLE-001 protocol's names in German, Spanish and French. A name staff have changed
since the seed is left alone: its translation is theirs to write."""

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models

import participants.translations
import participants.validators

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
        ("participants", "0012_staff_language"),
        ("scheduling", "0018_network_indexes"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="dispatchheartbeat",
            options={
                "verbose_name": "dispatch heartbeat",
                "verbose_name_plural": "dispatch heartbeats",
            },
        ),
        migrations.AlterModelOptions(
            name="mailrelay",
            options={"verbose_name": "mail relay", "verbose_name_plural": "mail relays"},
        ),
        migrations.AlterModelOptions(
            name="phase",
            options={
                "ordering": ["protocol", "order"],
                "verbose_name": "phase",
                "verbose_name_plural": "phases",
            },
        ),
        migrations.AlterModelOptions(
            name="reminder",
            options={
                "ordering": ["due_at", "id"],
                "verbose_name": "reminder",
                "verbose_name_plural": "reminders",
            },
        ),
        migrations.AlterModelOptions(
            name="reminderlinkuse",
            options={
                "ordering": ["-used_at", "id"],
                "verbose_name": "reminder link use",
                "verbose_name_plural": "reminder link uses",
            },
        ),
        migrations.AlterModelOptions(
            name="reminderrule",
            options={
                "ordering": ["protocol", "audience", "-lead_days"],
                "verbose_name": "reminder rule",
                "verbose_name_plural": "reminder rules",
            },
        ),
        migrations.AlterModelOptions(
            name="sitedigest",
            options={
                "ordering": ["due_at", "id"],
                "verbose_name": "site digest",
                "verbose_name_plural": "site digests",
            },
        ),
        migrations.AlterModelOptions(
            name="visit",
            options={
                "ordering": ["participant", "planned_date", "id"],
                "verbose_name": "visit",
                "verbose_name_plural": "visits",
            },
        ),
        migrations.AlterModelOptions(
            name="visitdefinition",
            options={
                "ordering": ["protocol", "order", "id"],
                "verbose_name": "visit definition",
                "verbose_name_plural": "visit definitions",
            },
        ),
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
        migrations.AlterField(
            model_name="dispatchheartbeat",
            name="failing_since",
            field=models.DateTimeField(
                blank=True,
                help_text="The first run that raised since the last completed.",
                null=True,
                verbose_name="failing since",
            ),
        ),
        migrations.AlterField(
            model_name="dispatchheartbeat",
            name="last_completed_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="last completed at"),
        ),
        migrations.AlterField(
            model_name="dispatchheartbeat",
            name="last_error",
            field=models.CharField(
                blank=True,
                help_text="One line, addresses removed.",
                max_length=300,
                verbose_name="last error",
            ),
        ),
        migrations.AlterField(
            model_name="dispatchheartbeat",
            name="last_error_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="last error at"),
        ),
        migrations.AlterField(
            model_name="historicalphase",
            name="code",
            field=models.SlugField(max_length=40, verbose_name="code"),
        ),
        migrations.AlterField(
            model_name="historicalphase",
            name="length",
            field=models.PositiveIntegerField(
                validators=[django.core.validators.MinValueValidator(1)], verbose_name="length"
            ),
        ),
        migrations.AlterField(
            model_name="historicalphase",
            name="name",
            field=models.CharField(
                max_length=100,
                validators=[participants.validators.validate_single_line],
                verbose_name="name",
            ),
        ),
        migrations.AlterField(
            model_name="historicalphase",
            name="order",
            field=models.PositiveSmallIntegerField(verbose_name="order"),
        ),
        migrations.AlterField(
            model_name="historicalphase",
            name="protocol",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="participants.protocol",
                verbose_name="protocol",
            ),
        ),
        migrations.AlterField(
            model_name="historicalphase",
            name="unit",
            field=models.CharField(
                choices=[("days", "days"), ("weeks", "weeks"), ("months", "months")],
                max_length=6,
                verbose_name="unit",
            ),
        ),
        migrations.AlterField(
            model_name="historicalreminderrule",
            name="active",
            field=models.BooleanField(default=True, verbose_name="active"),
        ),
        migrations.AlterField(
            model_name="historicalreminderrule",
            name="audience",
            field=models.CharField(
                choices=[
                    ("participant", "Participant email before each visit"),
                    ("coordinator_digest", "Daily coordinator digest per site"),
                ],
                max_length=20,
                verbose_name="audience",
            ),
        ),
        migrations.AlterField(
            model_name="historicalreminderrule",
            name="lead_days",
            field=models.PositiveSmallIntegerField(
                default=0,
                help_text="Days before the visit (participant reminders).",
                validators=[django.core.validators.MaxValueValidator(365)],
                verbose_name="lead days",
            ),
        ),
        migrations.AlterField(
            model_name="historicalreminderrule",
            name="local_time",
            field=models.TimeField(
                help_text="Send time in the site's own time zone.", verbose_name="local time"
            ),
        ),
        migrations.AlterField(
            model_name="historicalreminderrule",
            name="protocol",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="participants.protocol",
                verbose_name="protocol",
            ),
        ),
        migrations.AlterField(
            model_name="historicalvisit",
            name="actual_date",
            field=models.DateField(blank=True, null=True, verbose_name="actual date"),
        ),
        migrations.AlterField(
            model_name="historicalvisit",
            name="appointment_date",
            field=models.DateField(
                blank=True,
                editable=False,
                help_text="The day the site expects the participant: the booked day, else the proposed one (the planned date, moved to an open day of the window if closed).",
                null=True,
                verbose_name="appointment date",
            ),
        ),
        migrations.AlterField(
            model_name="historicalvisit",
            name="appointment_flag",
            field=models.CharField(
                blank=True,
                choices=[
                    ("", "—"),
                    ("no_open_day", "No open day in window"),
                    ("rebook", "Rebook"),
                    ("planned_deviation", "Planned deviation"),
                ],
                editable=False,
                max_length=20,
                verbose_name="appointment flag",
            ),
        ),
        migrations.AlterField(
            model_name="historicalvisit",
            name="appointment_note",
            field=models.CharField(
                blank=True,
                editable=False,
                help_text="Why the appointment differs from the planned date, or what is wrong with it.",
                max_length=300,
                verbose_name="appointment note",
            ),
        ),
        migrations.AlterField(
            model_name="historicalvisit",
            name="booked_at",
            field=models.DateTimeField(
                blank=True,
                editable=False,
                help_text="When the booking on its day was made: when capacity is lowered below a day's bookings, the earliest keep their places (clinic_calendar).",
                null=True,
                verbose_name="booked at",
            ),
        ),
        migrations.AlterField(
            model_name="historicalvisit",
            name="booked_date",
            field=models.DateField(
                blank=True,
                editable=False,
                help_text="Booked by staff; empty: proposed.",
                null=True,
                verbose_name="booked date",
            ),
        ),
        migrations.AlterField(
            model_name="historicalvisit",
            name="booked_time",
            field=models.TimeField(
                blank=True,
                help_text="Local time booked at the site (optional).",
                null=True,
                verbose_name="booked time",
            ),
        ),
        migrations.AlterField(
            model_name="historicalvisit",
            name="booking_override",
            field=models.TextField(
                blank=True,
                editable=False,
                help_text="Why the booking was made on a closed or full day, or outside the window.",
                verbose_name="booking override",
            ),
        ),
        migrations.AlterField(
            model_name="historicalvisit",
            name="cancelled",
            field=models.BooleanField(default=False, editable=False, verbose_name="cancelled"),
        ),
        migrations.AlterField(
            model_name="historicalvisit",
            name="closed_on",
            field=models.DateField(
                blank=True,
                editable=False,
                help_text="Closed as missed on this day before its window ended: a later phase started, or the participant left the trial (engine.visit_end).",
                null=True,
                verbose_name="closed on",
            ),
        ),
        migrations.AlterField(
            model_name="historicalvisit",
            name="closed_reason",
            field=models.CharField(
                blank=True,
                editable=False,
                help_text="Why it was closed.",
                max_length=40,
                verbose_name="closed reason",
            ),
        ),
        migrations.AlterField(
            model_name="historicalvisit",
            name="code",
            field=models.CharField(max_length=20, verbose_name="code"),
        ),
        migrations.AlterField(
            model_name="historicalvisit",
            name="confirmation",
            field=models.CharField(
                choices=[
                    ("unconfirmed", "Unconfirmed"),
                    ("confirmed", "Confirmed"),
                    ("reschedule_requested", "Reschedule requested"),
                ],
                default="unconfirmed",
                editable=False,
                help_text="Whether the participant said they will come to this appointment.",
                max_length=20,
                verbose_name="confirmation",
            ),
        ),
        migrations.AlterField(
            model_name="historicalvisit",
            name="confirmation_at",
            field=models.DateTimeField(
                blank=True, editable=False, null=True, verbose_name="confirmation at"
            ),
        ),
        migrations.AlterField(
            model_name="historicalvisit",
            name="confirmation_via",
            field=models.CharField(
                blank=True,
                editable=False,
                help_text="reminder link, or staff.",
                max_length=40,
                verbose_name="confirmation via",
            ),
        ),
        migrations.AlterField(
            model_name="historicalvisit",
            name="definition",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="scheduling.visitdefinition",
                verbose_name="definition",
            ),
        ),
        migrations.AlterField(
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
                verbose_name="deviation",
            ),
        ),
        migrations.AlterField(
            model_name="historicalvisit",
            name="name",
            field=models.CharField(
                max_length=200,
                validators=[participants.validators.validate_single_line],
                verbose_name="name",
            ),
        ),
        migrations.AlterField(
            model_name="historicalvisit",
            name="participant",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="participants.participant",
                verbose_name="participant",
            ),
        ),
        migrations.AlterField(
            model_name="historicalvisit",
            name="phase",
            field=models.CharField(help_text="Phase code.", max_length=40, verbose_name="phase"),
        ),
        migrations.AlterField(
            model_name="historicalvisit",
            name="planned_date",
            field=models.DateField(verbose_name="planned date"),
        ),
        migrations.AlterField(
            model_name="historicalvisit",
            name="reason",
            field=models.TextField(
                blank=True, help_text="Why an unscheduled visit took place.", verbose_name="reason"
            ),
        ),
        migrations.AlterField(
            model_name="historicalvisit",
            name="reschedule_message",
            field=models.TextField(
                blank=True,
                editable=False,
                help_text="The participant's message with a request.",
                verbose_name="reschedule message",
            ),
        ),
        migrations.AlterField(
            model_name="historicalvisit",
            name="sequence",
            field=models.PositiveIntegerField(
                default=0,
                editable=False,
                help_text="Raised on every reschedule (iCalendar SEQUENCE).",
                verbose_name="sequence",
            ),
        ),
        migrations.AlterField(
            model_name="historicalvisit",
            name="study_day",
            field=models.IntegerField(
                blank=True,
                editable=False,
                help_text="Study day of the planned date.",
                null=True,
                verbose_name="study day",
            ),
        ),
        migrations.AlterField(
            model_name="historicalvisit",
            name="window_end",
            field=models.DateField(blank=True, null=True, verbose_name="window end"),
        ),
        migrations.AlterField(
            model_name="historicalvisit",
            name="window_start",
            field=models.DateField(blank=True, null=True, verbose_name="window start"),
        ),
        migrations.AlterField(
            model_name="historicalvisitdefinition",
            name="code",
            field=models.SlugField(max_length=20, verbose_name="code"),
        ),
        migrations.AlterField(
            model_name="historicalvisitdefinition",
            name="name",
            field=models.CharField(
                max_length=200,
                validators=[participants.validators.validate_single_line],
                verbose_name="name",
            ),
        ),
        migrations.AlterField(
            model_name="historicalvisitdefinition",
            name="offset",
            field=models.PositiveIntegerField(
                help_text="From the phase start.", verbose_name="offset"
            ),
        ),
        migrations.AlterField(
            model_name="historicalvisitdefinition",
            name="order",
            field=models.PositiveSmallIntegerField(default=0, verbose_name="order"),
        ),
        migrations.AlterField(
            model_name="historicalvisitdefinition",
            name="phase",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="scheduling.phase",
                verbose_name="phase",
            ),
        ),
        migrations.AlterField(
            model_name="historicalvisitdefinition",
            name="protocol",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="participants.protocol",
                verbose_name="protocol",
            ),
        ),
        migrations.AlterField(
            model_name="historicalvisitdefinition",
            name="resource",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                help_text="What the visit occupies at the clinic (an infusion chair), counted against each site's capacity per day.",
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="participants.resource",
                verbose_name="resource",
            ),
        ),
        migrations.AlterField(
            model_name="historicalvisitdefinition",
            name="unit",
            field=models.CharField(
                choices=[("days", "days"), ("weeks", "weeks"), ("months", "months")],
                default="days",
                max_length=6,
                verbose_name="unit",
            ),
        ),
        migrations.AlterField(
            model_name="mailrelay",
            name="fault",
            field=models.TextField(
                blank=True,
                help_text="The server's answer, addresses removed; empty when none.",
                verbose_name="fault",
            ),
        ),
        migrations.AlterField(
            model_name="mailrelay",
            name="fault_since",
            field=models.DateTimeField(blank=True, null=True, verbose_name="fault since"),
        ),
        migrations.AlterField(
            model_name="mailrelay",
            name="last_accepted_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="last accepted at"),
        ),
        migrations.AlterField(
            model_name="phase",
            name="code",
            field=models.SlugField(max_length=40, verbose_name="code"),
        ),
        migrations.AlterField(
            model_name="phase",
            name="length",
            field=models.PositiveIntegerField(
                validators=[django.core.validators.MinValueValidator(1)], verbose_name="length"
            ),
        ),
        migrations.AlterField(
            model_name="phase",
            name="name",
            field=models.CharField(
                max_length=100,
                validators=[participants.validators.validate_single_line],
                verbose_name="name",
            ),
        ),
        migrations.AlterField(
            model_name="phase",
            name="order",
            field=models.PositiveSmallIntegerField(verbose_name="order"),
        ),
        migrations.AlterField(
            model_name="phase",
            name="protocol",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="phases",
                to="participants.protocol",
                verbose_name="protocol",
            ),
        ),
        migrations.AlterField(
            model_name="phase",
            name="unit",
            field=models.CharField(
                choices=[("days", "days"), ("weeks", "weeks"), ("months", "months")],
                max_length=6,
                verbose_name="unit",
            ),
        ),
        migrations.AlterField(
            model_name="reminder",
            name="attempts",
            field=models.PositiveIntegerField(default=0, verbose_name="attempts"),
        ),
        migrations.AlterField(
            model_name="reminder",
            name="claim_token",
            field=models.CharField(
                blank=True,
                editable=False,
                help_text="Which dispatcher run holds the claim; a run only sends rows it still holds.",
                max_length=32,
                verbose_name="claim token",
            ),
        ),
        migrations.AlterField(
            model_name="reminder",
            name="claimed_until",
            field=models.DateTimeField(
                blank=True,
                help_text="A claim by a dispatcher, valid until this instant.",
                null=True,
                verbose_name="claimed until",
            ),
        ),
        migrations.AlterField(
            model_name="reminder",
            name="created_at",
            field=models.DateTimeField(auto_now_add=True, verbose_name="created at"),
        ),
        migrations.AlterField(
            model_name="reminder",
            name="due_at",
            field=models.DateTimeField(help_text="Aware UTC instant.", verbose_name="due at"),
        ),
        migrations.AlterField(
            model_name="reminder",
            name="last_attempt_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="last attempt at"),
        ),
        migrations.AlterField(
            model_name="reminder",
            name="last_error",
            field=models.TextField(blank=True, verbose_name="last error"),
        ),
        migrations.AlterField(
            model_name="reminder",
            name="message_id",
            field=models.CharField(blank=True, max_length=200, verbose_name="message id"),
        ),
        migrations.AlterField(
            model_name="reminder",
            name="next_attempt_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="next attempt at"),
        ),
        migrations.AlterField(
            model_name="reminder",
            name="outcome_unknown_at",
            field=models.DateTimeField(
                blank=True,
                help_text="When the mail server last took the whole message and never answered: it may have gone out. Retried once with the same Message-ID, then closed as unknown.",
                null=True,
                verbose_name="outcome unknown at",
            ),
        ),
        migrations.AlterField(
            model_name="reminder",
            name="rule",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="reminders",
                to="scheduling.reminderrule",
                verbose_name="rule",
            ),
        ),
        migrations.AlterField(
            model_name="reminder",
            name="sent_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="sent at"),
        ),
        migrations.AlterField(
            model_name="reminder",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending", "Pending"),
                    ("sent", "Sent"),
                    ("failed", "Failed"),
                    ("cancelled", "Cancelled"),
                    ("expired", "Expired"),
                    ("superseded", "Superseded"),
                    ("unknown", "Outcome unknown"),
                ],
                default="pending",
                max_length=12,
                verbose_name="status",
            ),
        ),
        migrations.AlterField(
            model_name="reminder",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, verbose_name="updated at"),
        ),
        migrations.AlterField(
            model_name="reminder",
            name="visit",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="reminders",
                to="scheduling.visit",
                verbose_name="visit",
            ),
        ),
        migrations.AlterField(
            model_name="reminderlinkuse",
            name="action",
            field=models.CharField(
                choices=[
                    ("confirm", "I'll be there"),
                    ("reschedule", "I need another date"),
                    ("stop", "Stop reminders"),
                ],
                max_length=12,
                verbose_name="action",
            ),
        ),
        migrations.AlterField(
            model_name="reminderlinkuse",
            name="one_click",
            field=models.BooleanField(
                default=False,
                help_text="Sent by a mail client's one-click unsubscribe (RFC 8058).",
                verbose_name="one click",
            ),
        ),
        migrations.AlterField(
            model_name="reminderlinkuse",
            name="reminder",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="link_uses",
                to="scheduling.reminder",
                verbose_name="reminder",
            ),
        ),
        migrations.AlterField(
            model_name="reminderlinkuse",
            name="used_at",
            field=models.DateTimeField(verbose_name="used at"),
        ),
        migrations.AlterField(
            model_name="reminderrule",
            name="active",
            field=models.BooleanField(default=True, verbose_name="active"),
        ),
        migrations.AlterField(
            model_name="reminderrule",
            name="audience",
            field=models.CharField(
                choices=[
                    ("participant", "Participant email before each visit"),
                    ("coordinator_digest", "Daily coordinator digest per site"),
                ],
                max_length=20,
                verbose_name="audience",
            ),
        ),
        migrations.AlterField(
            model_name="reminderrule",
            name="lead_days",
            field=models.PositiveSmallIntegerField(
                default=0,
                help_text="Days before the visit (participant reminders).",
                validators=[django.core.validators.MaxValueValidator(365)],
                verbose_name="lead days",
            ),
        ),
        migrations.AlterField(
            model_name="reminderrule",
            name="local_time",
            field=models.TimeField(
                help_text="Send time in the site's own time zone.", verbose_name="local time"
            ),
        ),
        migrations.AlterField(
            model_name="reminderrule",
            name="protocol",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="reminder_rules",
                to="participants.protocol",
                verbose_name="protocol",
            ),
        ),
        migrations.AlterField(
            model_name="sitedigest",
            name="attempts",
            field=models.PositiveIntegerField(default=0, verbose_name="attempts"),
        ),
        migrations.AlterField(
            model_name="sitedigest",
            name="claim_token",
            field=models.CharField(
                blank=True,
                editable=False,
                help_text="Which dispatcher run holds the claim; a run only sends rows it still holds.",
                max_length=32,
                verbose_name="claim token",
            ),
        ),
        migrations.AlterField(
            model_name="sitedigest",
            name="claimed_until",
            field=models.DateTimeField(
                blank=True,
                help_text="A claim by a dispatcher, valid until this instant.",
                null=True,
                verbose_name="claimed until",
            ),
        ),
        migrations.AlterField(
            model_name="sitedigest",
            name="created_at",
            field=models.DateTimeField(auto_now_add=True, verbose_name="created at"),
        ),
        migrations.AlterField(
            model_name="sitedigest",
            name="due_at",
            field=models.DateTimeField(help_text="Aware UTC instant.", verbose_name="due at"),
        ),
        migrations.AlterField(
            model_name="sitedigest",
            name="last_attempt_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="last attempt at"),
        ),
        migrations.AlterField(
            model_name="sitedigest",
            name="last_error",
            field=models.TextField(blank=True, verbose_name="last error"),
        ),
        migrations.AlterField(
            model_name="sitedigest",
            name="local_date",
            field=models.DateField(verbose_name="local date"),
        ),
        migrations.AlterField(
            model_name="sitedigest",
            name="message_id",
            field=models.CharField(blank=True, max_length=200, verbose_name="message id"),
        ),
        migrations.AlterField(
            model_name="sitedigest",
            name="next_attempt_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="next attempt at"),
        ),
        migrations.AlterField(
            model_name="sitedigest",
            name="outcome_unknown_at",
            field=models.DateTimeField(
                blank=True,
                help_text="When the mail server last took the whole message and never answered: it may have gone out. Retried once with the same Message-ID, then closed as unknown.",
                null=True,
                verbose_name="outcome unknown at",
            ),
        ),
        migrations.AlterField(
            model_name="sitedigest",
            name="rule",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="digests",
                to="scheduling.reminderrule",
                verbose_name="rule",
            ),
        ),
        migrations.AlterField(
            model_name="sitedigest",
            name="sent_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="sent at"),
        ),
        migrations.AlterField(
            model_name="sitedigest",
            name="site",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="digests",
                to="participants.site",
                verbose_name="site",
            ),
        ),
        migrations.AlterField(
            model_name="sitedigest",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending", "Pending"),
                    ("sent", "Sent"),
                    ("failed", "Failed"),
                    ("cancelled", "Cancelled"),
                    ("expired", "Expired"),
                    ("superseded", "Superseded"),
                    ("unknown", "Outcome unknown"),
                ],
                default="pending",
                max_length=12,
                verbose_name="status",
            ),
        ),
        migrations.AlterField(
            model_name="sitedigest",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, verbose_name="updated at"),
        ),
        migrations.AlterField(
            model_name="visit",
            name="actual_date",
            field=models.DateField(blank=True, null=True, verbose_name="actual date"),
        ),
        migrations.AlterField(
            model_name="visit",
            name="appointment_date",
            field=models.DateField(
                blank=True,
                editable=False,
                help_text="The day the site expects the participant: the booked day, else the proposed one (the planned date, moved to an open day of the window if closed).",
                null=True,
                verbose_name="appointment date",
            ),
        ),
        migrations.AlterField(
            model_name="visit",
            name="appointment_flag",
            field=models.CharField(
                blank=True,
                choices=[
                    ("", "—"),
                    ("no_open_day", "No open day in window"),
                    ("rebook", "Rebook"),
                    ("planned_deviation", "Planned deviation"),
                ],
                editable=False,
                max_length=20,
                verbose_name="appointment flag",
            ),
        ),
        migrations.AlterField(
            model_name="visit",
            name="appointment_note",
            field=models.CharField(
                blank=True,
                editable=False,
                help_text="Why the appointment differs from the planned date, or what is wrong with it.",
                max_length=300,
                verbose_name="appointment note",
            ),
        ),
        migrations.AlterField(
            model_name="visit",
            name="booked_at",
            field=models.DateTimeField(
                blank=True,
                editable=False,
                help_text="When the booking on its day was made: when capacity is lowered below a day's bookings, the earliest keep their places (clinic_calendar).",
                null=True,
                verbose_name="booked at",
            ),
        ),
        migrations.AlterField(
            model_name="visit",
            name="booked_date",
            field=models.DateField(
                blank=True,
                editable=False,
                help_text="Booked by staff; empty: proposed.",
                null=True,
                verbose_name="booked date",
            ),
        ),
        migrations.AlterField(
            model_name="visit",
            name="booked_time",
            field=models.TimeField(
                blank=True,
                help_text="Local time booked at the site (optional).",
                null=True,
                verbose_name="booked time",
            ),
        ),
        migrations.AlterField(
            model_name="visit",
            name="booking_override",
            field=models.TextField(
                blank=True,
                editable=False,
                help_text="Why the booking was made on a closed or full day, or outside the window.",
                verbose_name="booking override",
            ),
        ),
        migrations.AlterField(
            model_name="visit",
            name="cancelled",
            field=models.BooleanField(default=False, editable=False, verbose_name="cancelled"),
        ),
        migrations.AlterField(
            model_name="visit",
            name="closed_on",
            field=models.DateField(
                blank=True,
                editable=False,
                help_text="Closed as missed on this day before its window ended: a later phase started, or the participant left the trial (engine.visit_end).",
                null=True,
                verbose_name="closed on",
            ),
        ),
        migrations.AlterField(
            model_name="visit",
            name="closed_reason",
            field=models.CharField(
                blank=True,
                editable=False,
                help_text="Why it was closed.",
                max_length=40,
                verbose_name="closed reason",
            ),
        ),
        migrations.AlterField(
            model_name="visit",
            name="code",
            field=models.CharField(max_length=20, verbose_name="code"),
        ),
        migrations.AlterField(
            model_name="visit",
            name="confirmation",
            field=models.CharField(
                choices=[
                    ("unconfirmed", "Unconfirmed"),
                    ("confirmed", "Confirmed"),
                    ("reschedule_requested", "Reschedule requested"),
                ],
                default="unconfirmed",
                editable=False,
                help_text="Whether the participant said they will come to this appointment.",
                max_length=20,
                verbose_name="confirmation",
            ),
        ),
        migrations.AlterField(
            model_name="visit",
            name="confirmation_at",
            field=models.DateTimeField(
                blank=True, editable=False, null=True, verbose_name="confirmation at"
            ),
        ),
        migrations.AlterField(
            model_name="visit",
            name="confirmation_via",
            field=models.CharField(
                blank=True,
                editable=False,
                help_text="reminder link, or staff.",
                max_length=40,
                verbose_name="confirmation via",
            ),
        ),
        migrations.AlterField(
            model_name="visit",
            name="definition",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="visits",
                to="scheduling.visitdefinition",
                verbose_name="definition",
            ),
        ),
        migrations.AlterField(
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
                verbose_name="deviation",
            ),
        ),
        migrations.AlterField(
            model_name="visit",
            name="name",
            field=models.CharField(
                max_length=200,
                validators=[participants.validators.validate_single_line],
                verbose_name="name",
            ),
        ),
        migrations.AlterField(
            model_name="visit",
            name="participant",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="visits",
                to="participants.participant",
                verbose_name="participant",
            ),
        ),
        migrations.AlterField(
            model_name="visit",
            name="phase",
            field=models.CharField(help_text="Phase code.", max_length=40, verbose_name="phase"),
        ),
        migrations.AlterField(
            model_name="visit",
            name="planned_date",
            field=models.DateField(verbose_name="planned date"),
        ),
        migrations.AlterField(
            model_name="visit",
            name="reason",
            field=models.TextField(
                blank=True, help_text="Why an unscheduled visit took place.", verbose_name="reason"
            ),
        ),
        migrations.AlterField(
            model_name="visit",
            name="reschedule_message",
            field=models.TextField(
                blank=True,
                editable=False,
                help_text="The participant's message with a request.",
                verbose_name="reschedule message",
            ),
        ),
        migrations.AlterField(
            model_name="visit",
            name="sequence",
            field=models.PositiveIntegerField(
                default=0,
                editable=False,
                help_text="Raised on every reschedule (iCalendar SEQUENCE).",
                verbose_name="sequence",
            ),
        ),
        migrations.AlterField(
            model_name="visit",
            name="study_day",
            field=models.IntegerField(
                blank=True,
                editable=False,
                help_text="Study day of the planned date.",
                null=True,
                verbose_name="study day",
            ),
        ),
        migrations.AlterField(
            model_name="visit",
            name="window_end",
            field=models.DateField(blank=True, null=True, verbose_name="window end"),
        ),
        migrations.AlterField(
            model_name="visit",
            name="window_start",
            field=models.DateField(blank=True, null=True, verbose_name="window start"),
        ),
        migrations.AlterField(
            model_name="visitdefinition",
            name="code",
            field=models.SlugField(max_length=20, verbose_name="code"),
        ),
        migrations.AlterField(
            model_name="visitdefinition",
            name="name",
            field=models.CharField(
                max_length=200,
                validators=[participants.validators.validate_single_line],
                verbose_name="name",
            ),
        ),
        migrations.AlterField(
            model_name="visitdefinition",
            name="offset",
            field=models.PositiveIntegerField(
                help_text="From the phase start.", verbose_name="offset"
            ),
        ),
        migrations.AlterField(
            model_name="visitdefinition",
            name="order",
            field=models.PositiveSmallIntegerField(default=0, verbose_name="order"),
        ),
        migrations.AlterField(
            model_name="visitdefinition",
            name="phase",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="visit_definitions",
                to="scheduling.phase",
                verbose_name="phase",
            ),
        ),
        migrations.AlterField(
            model_name="visitdefinition",
            name="protocol",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="visit_definitions",
                to="participants.protocol",
                verbose_name="protocol",
            ),
        ),
        migrations.AlterField(
            model_name="visitdefinition",
            name="resource",
            field=models.ForeignKey(
                blank=True,
                help_text="What the visit occupies at the clinic (an infusion chair), counted against each site's capacity per day.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="visit_definitions",
                to="participants.resource",
                verbose_name="resource",
            ),
        ),
        migrations.AlterField(
            model_name="visitdefinition",
            name="unit",
            field=models.CharField(
                choices=[("days", "days"), ("weeks", "weeks"), ("months", "months")],
                default="days",
                max_length=6,
                verbose_name="unit",
            ),
        ),
        migrations.RunPython(seed_sle001_translations, migrations.RunPython.noop),
    ]
