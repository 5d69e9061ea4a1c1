"""The API's reads (docs/api.md): sites with their clinic calendar, protocols with their
versions, participants, visits and reminders. Each list is the reader's sites' records only
(``roles.scope_to_sites``, as the admin scopes), read in a fixed number of queries whatever
the page's size, a page at a time (``pagination``)."""

from django.db.models import Prefetch
from django.db.models.functions import Coalesce
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics

from participants import roles
from participants.models import Participant, Protocol, Site, SiteCapacity
from scheduling.api import serializers
from scheduling.api.filters import ReminderFilter, VisitFilter
from scheduling.api.schema import DETAIL_ERRORS, READ_ERRORS
from scheduling.models import ProtocolVersion, Reminder, VersionActivation, Visit


def _read(model: str) -> dict:
    return {"GET": [model]}


def scoped_sites(user):
    return roles.user_sites(user).prefetch_related(
        "closures", Prefetch("capacities", SiteCapacity.objects.select_related("resource"))
    )


@extend_schema_view(
    get=extend_schema(
        summary="The reader's sites, with their clinic calendars",
        responses={200: serializers.SiteSerializer(many=True), **READ_ERRORS},
    ),
)
class SiteList(generics.ListAPIView):
    queryset = Site.objects.none()  # the schema's model; get_queryset scopes
    serializer_class = serializers.SiteSerializer
    required_permissions = _read("participants.view_site")
    cursor_field, cursor_kind = "code", "str"

    def get_queryset(self):
        return scoped_sites(self.request.user)


@extend_schema_view(
    get=extend_schema(
        summary="A site, with its clinic calendar",
        responses={200: serializers.SiteSerializer, **DETAIL_ERRORS},
    ),
)
class SiteDetail(generics.RetrieveAPIView):
    queryset = Site.objects.none()  # the schema's model; get_queryset scopes
    serializer_class = serializers.SiteSerializer
    required_permissions = _read("participants.view_site")

    def get_queryset(self):
        return scoped_sites(self.request.user)


def protocols(user):
    activations = roles.scope_to_sites(VersionActivation.objects.select_related("site"), user)
    versions = ProtocolVersion.objects.order_by("id").prefetch_related(
        Prefetch("activations", activations.order_by("site__code"), to_attr="reader_activations")
    )
    return Protocol.objects.prefetch_related(Prefetch("versions", versions))


@extend_schema_view(
    get=extend_schema(
        summary="The protocols, with their versions",
        responses={200: serializers.ProtocolSerializer(many=True), **READ_ERRORS},
    ),
)
class ProtocolList(generics.ListAPIView):
    queryset = Protocol.objects.none()  # the schema's model; get_queryset scopes
    serializer_class = serializers.ProtocolSerializer
    required_permissions = _read("participants.view_protocol")
    cursor_field, cursor_kind = "code", "str"

    def get_queryset(self):
        return protocols(self.request.user)


@extend_schema_view(
    get=extend_schema(
        summary="A protocol, with its versions",
        responses={200: serializers.ProtocolSerializer, **DETAIL_ERRORS},
    ),
)
class ProtocolDetail(generics.RetrieveAPIView):
    queryset = Protocol.objects.none()  # the schema's model; get_queryset scopes
    serializer_class = serializers.ProtocolSerializer
    required_permissions = _read("participants.view_protocol")

    def get_queryset(self):
        return protocols(self.request.user)


def scoped_participants(user):
    return roles.scope_to_sites(Participant.objects.select_related("protocol", "site"), user)


@extend_schema_view(
    get=extend_schema(
        summary="A participant", responses={200: serializers.ParticipantSerializer, **DETAIL_ERRORS}
    ),
)
class ParticipantDetail(generics.RetrieveAPIView):
    queryset = Participant.objects.none()  # the schema's model; get_queryset scopes
    serializer_class = serializers.ParticipantSerializer
    required_permissions = _read("participants.view_participant")

    def get_queryset(self):
        return scoped_participants(self.request.user)


def scoped_visits(user):
    return roles.scope_to_sites(
        Visit.objects.select_related("participant", "site", "version").annotate(
            day=Coalesce("appointment_date", "planned_date")
        ),
        user,
    )


@extend_schema_view(
    get=extend_schema(
        summary="Visits, by appointment day",
        responses={200: serializers.VisitSerializer(many=True), **READ_ERRORS},
    ),
)
class VisitList(generics.ListAPIView):
    """Visits in the order of their appointment day (then id), a page at a time."""

    queryset = Visit.objects.none()  # the schema's model; get_queryset scopes
    serializer_class = serializers.VisitSerializer
    filterset_class = VisitFilter
    required_permissions = _read("scheduling.view_visit")
    cursor_field, cursor_kind = "day", "date"

    def get_queryset(self):
        return scoped_visits(self.request.user)


@extend_schema_view(
    get=extend_schema(
        summary="A visit", responses={200: serializers.VisitSerializer, **DETAIL_ERRORS}
    ),
)
class VisitDetail(generics.RetrieveAPIView):
    queryset = Visit.objects.none()  # the schema's model; get_queryset scopes
    serializer_class = serializers.VisitSerializer
    required_permissions = _read("scheduling.view_visit")

    def get_queryset(self):
        return scoped_visits(self.request.user)


def scoped_reminders(user):
    return roles.scope_to_sites(
        Reminder.objects.select_related("visit__participant", "rule"), user, "visit__site"
    )


@extend_schema_view(
    get=extend_schema(
        summary="Participant reminders, by due time",
        responses={200: serializers.ReminderSerializer(many=True), **READ_ERRORS},
    ),
)
class ReminderList(generics.ListAPIView):
    queryset = Reminder.objects.none()  # the schema's model; get_queryset scopes
    serializer_class = serializers.ReminderSerializer
    filterset_class = ReminderFilter
    required_permissions = _read("scheduling.view_reminder")
    cursor_field, cursor_kind = "due_at", "datetime"

    def get_queryset(self):
        return scoped_reminders(self.request.user)


@extend_schema_view(
    get=extend_schema(
        summary="A participant reminder",
        responses={200: serializers.ReminderSerializer, **DETAIL_ERRORS},
    ),
)
class ReminderDetail(generics.RetrieveAPIView):
    queryset = Reminder.objects.none()  # the schema's model; get_queryset scopes
    serializer_class = serializers.ReminderSerializer
    required_permissions = _read("scheduling.view_reminder")

    def get_queryset(self):
        return scoped_reminders(self.request.user)
