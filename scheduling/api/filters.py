"""The lists' filters (docs/api.md, "Filters"), each a query parameter; a value that is not
one of the filter's is a 400 naming the parameter. Every list is already narrowed to the
reader's sites (``views``), so a filter never reaches another site's records."""

from django import forms
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from participants import roles
from participants.models import Participant, Status
from scheduling.models import Confirmation, OutboxStatus, Reminder, Visit, VisitStatus
from scheduling.workspace.visit_status import with_status

# The largest id a filter takes: PostgreSQL's bigint.
MAX_ID = 2**63 - 1


@extend_schema_field(OpenApiTypes.INT64)
class IdFilter(filters.NumberFilter):
    """A record's id: a whole number (django-filter's NumberFilter takes decimals)."""

    field_class = forms.IntegerField


def id_filter(field_name: str, help_text: str) -> IdFilter:
    return IdFilter(field_name=field_name, min_value=1, max_value=MAX_ID, help_text=help_text)


class ParticipantFilter(filters.FilterSet):
    site = filters.CharFilter(field_name="site__code", help_text="A site's code, e.g. OCN.")
    status = filters.ChoiceFilter(choices=Status.choices, help_text="The participant's status.")
    subject_id = filters.CharFilter(help_text="A subject id, e.g. SLE-001-101-004.")

    class Meta:
        model = Participant
        fields = ["site", "status", "subject_id"]


class VisitFilter(filters.FilterSet):
    status = filters.ChoiceFilter(
        choices=VisitStatus.choices,
        method="filter_status",
        help_text="The visit's status today at its site.",
    )
    confirmation = filters.ChoiceFilter(
        choices=Confirmation.choices,
        help_text="Whether the participant said they will come.",
    )
    version = filters.CharFilter(
        field_name="version__number",
        help_text="The number of the protocol version that planned it, e.g. 1.0.",
    )
    site = filters.CharFilter(field_name="site__code", help_text="A site's code, e.g. OCN.")
    participant = id_filter("participant_id", "A participant's id.")

    class Meta:
        model = Visit
        fields = ["status", "confirmation", "version", "site", "participant"]

    def filter_status(self, queryset, name, value):
        return with_status(queryset, value, roles.user_sites(self.request.user))


# ``from`` is a Python keyword: the date range's parameters are added by name.
VisitFilter.base_filters["from"] = filters.DateFilter(
    field_name="day",
    lookup_expr="gte",
    help_text="Appointment days from this one (YYYY-MM-DD), included.",
)
VisitFilter.base_filters["to"] = filters.DateFilter(
    field_name="day",
    lookup_expr="lte",
    help_text="Appointment days up to this one (YYYY-MM-DD), included.",
)


class ReminderFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=OutboxStatus.choices, help_text="Its send status.")
    site = filters.CharFilter(field_name="visit__site__code", help_text="A site's code.")
    visit = id_filter("visit_id", "A visit's id.")
    participant = id_filter("visit__participant_id", "A participant's id.")

    class Meta:
        model = Reminder
        fields = ["status", "site", "visit", "participant"]
