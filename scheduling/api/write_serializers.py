"""What the API's writes take (docs/api.md). They check the shape of the input only (types,
lengths, choices); every rule is the service's, which the view calls."""

import datetime

from rest_framework import serializers

from participants.models import ContactAttempt, Status
from participants.translations import PARTICIPANT_LANGUAGES

MAX_TEXT = 2000


class ParticipantCreateSerializer(serializers.Serializer):
    protocol = serializers.CharField(max_length=40, help_text="The protocol's code, e.g. SLE-001.")
    site = serializers.CharField(max_length=20, help_text="One of the reader's sites, e.g. OCN.")
    subject_id = serializers.CharField(max_length=40, help_text="e.g. SLE-001-101-004.")
    email = serializers.EmailField(
        max_length=254, help_text="For visit reminders only; never given back."
    )
    consent_date = serializers.DateField(help_text="Informed consent: screening starts here.")
    language = serializers.ChoiceField(
        choices=PARTICIPANT_LANGUAGES,
        required=False,
        allow_blank=True,
        default="",
        help_text="Of reminders; blank: the site's.",
    )


class TransitionCreateSerializer(serializers.Serializer):
    to_status = serializers.ChoiceField(choices=Status.choices)
    effective_date = serializers.DateField()
    reason = serializers.CharField(
        max_length=MAX_TEXT,
        required=False,
        allow_blank=True,
        default="",
        help_text="Required for an exit other than completion, and when visits not done close.",
    )


class ActualDateSerializer(serializers.Serializer):
    actual_date = serializers.DateField(help_text="The day the visit took place, at its site.")
    reason = serializers.CharField(
        max_length=MAX_TEXT,
        required=False,
        allow_blank=True,
        default="",
        help_text="Required to correct a recorded date, and for a deviation of the lifecycle.",
    )


class BookingSerializer(serializers.Serializer):
    date = serializers.DateField(help_text="The day booked, at the visit's site.")
    time = serializers.TimeField(
        required=False, allow_null=True, default=None, help_text="Local time (optional)."
    )
    override_reason = serializers.CharField(
        max_length=MAX_TEXT,
        required=False,
        allow_blank=True,
        default="",
        help_text="Books a closed or full day, or one outside the window, and says why.",
    )


class SafeDateTimeField(serializers.DateTimeField):
    """An instant with its offset; one beyond the calendar once in UTC is bad input, not a
    crash."""

    def to_internal_value(self, value):
        try:
            parsed = super().to_internal_value(value)
            parsed.astimezone(datetime.UTC)
        except OverflowError:
            self.fail("invalid", format="YYYY-MM-DDThh:mm[:ss]±hh:mm")
        return parsed


class ContactAttemptCreateSerializer(serializers.Serializer):
    at = SafeDateTimeField(required=False, help_text="When (default: now). ISO 8601 with offset.")
    channel = serializers.ChoiceField(choices=ContactAttempt.Channel.choices)
    outcome = serializers.ChoiceField(choices=ContactAttempt.Outcome.choices)
    note = serializers.CharField(max_length=MAX_TEXT, required=False, allow_blank=True, default="")
