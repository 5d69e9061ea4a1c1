"""What the API's reads return (docs/api.md). No participant contact details in any output:
a participant's email is taken when they are created, never given back; a reminder says when
and whether it went out, not where. Instants are ISO 8601 with their offset (UTC, ``Z``);
days are ``YYYY-MM-DD``, local to the site."""

from rest_framework import serializers

from participants.models import (
    ContactAttempt,
    Participant,
    Protocol,
    Site,
    SiteCapacity,
    SiteClosure,
    Transition,
)
from scheduling.models import ProtocolVersion, Reminder, VersionActivation, Visit, VisitStatus


class ClosureSerializer(serializers.ModelSerializer):
    class Meta:
        model = SiteClosure
        fields = ["start", "end", "reason"]


class CapacitySerializer(serializers.ModelSerializer):
    resource = serializers.CharField(source="resource.name", read_only=True)

    class Meta:
        model = SiteCapacity
        fields = ["resource", "per_day"]


class SiteSerializer(serializers.ModelSerializer):
    """A site with its clinic calendar: the weekdays it is open (ISO numbers, 1 = Monday),
    whose public holidays close it, its closures and its capacity per resource and day."""

    open_weekdays = serializers.SerializerMethodField()
    closures = ClosureSerializer(many=True, read_only=True)
    capacities = CapacitySerializer(many=True, read_only=True)

    class Meta:
        model = Site
        fields = [
            "id",
            "code",
            "name",
            "timezone",
            "language",
            "open_weekdays",
            "holiday_country",
            "holiday_subdivision",
            "closures",
            "capacities",
        ]

    def get_open_weekdays(self, site) -> list[int]:
        return sorted(int(day) for day in site.open_days)


class ActivationSerializer(serializers.ModelSerializer):
    site = serializers.CharField(source="site.code", read_only=True)

    class Meta:
        model = VersionActivation
        fields = ["site", "activated_on"]


class VersionSerializer(serializers.ModelSerializer):
    """A version of the protocol's plan; ``activations``: where and since when it is in force,
    at the reader's sites. A draft has no ``released_at``."""

    activations = ActivationSerializer(source="reader_activations", many=True, read_only=True)

    class Meta:
        model = ProtocolVersion
        fields = ["number", "approved_on", "released_at", "needs_reconsent", "activations"]


class ProtocolSerializer(serializers.ModelSerializer):
    versions = VersionSerializer(many=True, read_only=True)
    # Read-only, and blank when unknown (a read-only model field would lose allow_blank).
    trial_phase = serializers.ChoiceField(
        choices=Protocol._meta.get_field("trial_phase").choices,
        allow_blank=True,
        read_only=True,
        help_text=Protocol._meta.get_field("trial_phase").help_text,
    )

    class Meta:
        model = Protocol
        fields = [
            "id",
            "code",
            "title",
            "registry_id",
            "sponsor",
            "trial_phase",
            "earliest_date",
            "versions",
        ]


class ParticipantSerializer(serializers.ModelSerializer):
    """A participant, without contact details."""

    protocol = serializers.CharField(source="protocol.code", read_only=True)
    site = serializers.CharField(source="site.code", read_only=True)

    class Meta:
        model = Participant
        fields = [
            "id",
            "subject_id",
            "protocol",
            "site",
            "status",
            "consent_date",
            "left_on",
            "reminders_enabled",
            "language",
            "created_at",
        ]


class TransitionSerializer(serializers.ModelSerializer):
    participant = serializers.IntegerField(source="participant_id", read_only=True)
    recorded_by = serializers.CharField(
        source="recorded_by.get_username", read_only=True, allow_null=True
    )

    class Meta:
        model = Transition
        fields = [
            "id",
            "participant",
            "from_status",
            "to_status",
            "effective_date",
            "reason",
            "recorded_by",
            "recorded_via",
            "recorded_at",
        ]


class VisitSerializer(serializers.ModelSerializer):
    """A visit: its window, the day the site expects the participant (``appointment_day``:
    booked, else proposed; the planned date for a visit that has none), its status today at
    its site."""

    participant = serializers.IntegerField(source="participant_id", read_only=True)
    subject_id = serializers.CharField(source="participant.subject_id", read_only=True)
    site = serializers.CharField(source="site.code", read_only=True)
    visit_code = serializers.CharField(source="code", read_only=True)
    appointment_day = serializers.DateField(source="day", read_only=True)
    appointment_source = serializers.ChoiceField(
        choices=["booked", "proposed"], read_only=True, help_text="Booked by staff, or proposed."
    )
    status = serializers.SerializerMethodField()
    version = serializers.CharField(source="version.number", read_only=True, allow_null=True)

    class Meta:
        model = Visit
        fields = [
            "id",
            "participant",
            "subject_id",
            "site",
            "visit_code",
            "name",
            "phase",
            "planned_date",
            "window_start",
            "window_end",
            "study_day",
            "appointment_day",
            "appointment_source",
            "booked_time",
            "booking_override",
            "appointment_flag",
            "status",
            "confirmation",
            "version",
            "actual_date",
            "deviation",
        ]

    def get_status(self, visit) -> VisitStatus:
        return visit.status_on(visit.site.today())


class ContactAttemptSerializer(serializers.ModelSerializer):
    participant = serializers.IntegerField(source="participant_id", read_only=True)
    recorded_by = serializers.CharField(
        source="recorded_by.get_username", read_only=True, allow_null=True
    )

    class Meta:
        model = ContactAttempt
        fields = ["id", "participant", "at", "channel", "outcome", "note", "recorded_by"]


class ReminderSerializer(serializers.ModelSerializer):
    """A participant reminder: when it is due and whether it went out; never the address."""

    visit = serializers.IntegerField(source="visit_id", read_only=True)
    participant = serializers.IntegerField(source="visit.participant_id", read_only=True)
    subject_id = serializers.CharField(source="visit.participant.subject_id", read_only=True)
    visit_code = serializers.CharField(source="visit.code", read_only=True)
    appointment_day = serializers.DateField(source="planned_date", read_only=True)
    lead_days = serializers.IntegerField(source="rule.lead_days", read_only=True)

    class Meta:
        model = Reminder
        fields = [
            "id",
            "visit",
            "participant",
            "subject_id",
            "visit_code",
            "appointment_day",
            "lead_days",
            "due_at",
            "status",
            "attempts",
            "sent_at",
        ]
