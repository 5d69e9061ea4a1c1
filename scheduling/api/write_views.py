"""The API's writes (docs/api.md): each calls the same service as the admin and the command
line, as the token's user, ``via="api"``, so the same rules refuse it with the same sentences
(a 400 naming the field) and the history says who and why. Each runs in one transaction with
its ``Idempotency-Key`` record: nothing is half-saved, and a retry never records twice."""

from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from participants import roles
from participants.contact_log import record_contact_attempt
from participants.lifecycle import create_participant, record_transition
from participants.models import ContactAttempt, Participant, Protocol, Transition
from scheduling.api import serializers, write_serializers
from scheduling.api.errors import ServiceRefusal
from scheduling.api.filters import ParticipantFilter
from scheduling.api.idempotency import idempotent
from scheduling.api.schema import DETAIL_ERRORS, IDEMPOTENCY_KEY, READ_ERRORS, WRITE_ERRORS
from scheduling.api.views import scoped_participants, scoped_visits
from scheduling.timeline.appointments import book_appointment, clear_booking
from scheduling.timeline.visits import record_actual_date

VIA = "api"


def _valid(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _call(service, fields: dict[str, str | None], *args, **kwargs):
    """``service(*args, **kwargs)``; its refusal as the API's, each sentence under the API's
    name of its field."""
    try:
        return service(*args, **kwargs)
    except ValidationError as error:
        raise ServiceRefusal(error, fields) from None


@extend_schema_view(
    get=extend_schema(
        summary="Participants",
        responses={200: serializers.ParticipantSerializer(many=True), **READ_ERRORS},
    ),
    post=extend_schema(
        summary="Create a participant in screening",
        request=write_serializers.ParticipantCreateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: serializers.ParticipantSerializer, **WRITE_ERRORS},
    ),
)
class ParticipantList(generics.ListAPIView):
    queryset = Participant.objects.none()  # the schema's model; get_queryset scopes
    serializer_class = serializers.ParticipantSerializer
    filterset_class = ParticipantFilter
    required_permissions = {
        "GET": ["participants.view_participant"],
        "POST": ["participants.add_participant"],
    }
    cursor_field, cursor_kind = "subject_id", "str"

    def get_queryset(self):
        return scoped_participants(self.request.user)

    def post(self, request):
        return idempotent(request, lambda: self._create(request))

    def _create(self, request):
        data = _valid(write_serializers.ParticipantCreateSerializer, request)
        errors = {}
        protocol = Protocol.objects.filter(code=data["protocol"]).first()
        if protocol is None:
            errors["protocol"] = f"There is no protocol {data['protocol']}."
        site = roles.user_sites(request.user).filter(code=data["site"]).first()
        if site is None:
            errors["site"] = f"{data['site']} is not one of your sites."
        if errors:
            raise ServiceRefusal(ValidationError(errors), {})
        participant = _call(
            create_participant,
            {},
            protocol=protocol,
            site=site,
            subject_id=data["subject_id"],
            email=data["email"],
            consent_date=data["consent_date"],
            language=data["language"],
            by=request.user,
            via=VIA,
        )
        participant = scoped_participants(request.user).get(pk=participant.pk)
        body = serializers.ParticipantSerializer(participant).data
        return Response(body, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(
        summary="A participant's transitions",
        responses={
            200: serializers.TransitionSerializer(many=True),
            **READ_ERRORS,
            **DETAIL_ERRORS,
        },
    ),
    post=extend_schema(
        summary="Record a transition",
        request=write_serializers.TransitionCreateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: serializers.TransitionSerializer, **WRITE_ERRORS},
    ),
)
class TransitionList(generics.ListAPIView):
    """A participant's transitions, and a new one recorded through the lifecycle's rules."""

    queryset = Transition.objects.none()  # the schema's model; get_queryset scopes
    serializer_class = serializers.TransitionSerializer
    required_permissions = {
        "GET": ["participants.view_transition"],
        "POST": ["participants.add_transition"],
    }
    cursor_field = None

    def participant(self):
        return generics.get_object_or_404(
            scoped_participants(self.request.user), pk=self.kwargs["pk"]
        )

    def get_queryset(self):
        return self.participant().transitions.select_related("recorded_by")

    def post(self, request, pk):
        return idempotent(request, lambda: self._create(request))

    def _create(self, request):
        participant = self.participant()
        data = _valid(write_serializers.TransitionCreateSerializer, request)
        transition = _call(
            record_transition,
            {
                "target": "to_status",
                "on": "effective_date",
                "by": "to_status",
                "answer": "to_status",
            },
            participant,
            data["to_status"],
            on=data["effective_date"],
            reason=data["reason"],
            by=request.user,
            via=VIA,
        )
        body = serializers.TransitionSerializer(transition).data
        return Response(body, status=status.HTTP_201_CREATED)


class VisitWrite(APIView):
    required_permissions = {
        "POST": ["scheduling.change_visit"],
        "DELETE": ["scheduling.change_visit"],
    }

    def visit(self):
        return generics.get_object_or_404(scoped_visits(self.request.user), pk=self.kwargs["pk"])

    def answer(self, visit):
        visit = scoped_visits(self.request.user).get(pk=visit.pk)
        return Response(serializers.VisitSerializer(visit).data)


@extend_schema_view(
    post=extend_schema(
        summary="Record the day a visit took place",
        request=write_serializers.ActualDateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: serializers.VisitSerializer, **WRITE_ERRORS},
    ),
)
class VisitActualDate(VisitWrite):
    def post(self, request, pk):
        return idempotent(request, lambda: self._record(request))

    def _record(self, request):
        visit = self.visit()
        data = _valid(write_serializers.ActualDateSerializer, request)
        visit = _call(
            record_actual_date,
            {"on": "actual_date", "visit_code": None},
            visit,
            on=data["actual_date"],
            reason=data["reason"],
            by=request.user,
            via=VIA,
        )
        return self.answer(visit)


@extend_schema_view(
    post=extend_schema(
        summary="Book a visit's appointment",
        request=write_serializers.BookingSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: serializers.VisitSerializer, **WRITE_ERRORS},
    ),
    delete=extend_schema(
        summary="Clear a visit's booking: it goes back to its proposed day",
        responses={
            200: serializers.VisitSerializer,
            **DETAIL_ERRORS,
            **{k: v for k, v in WRITE_ERRORS.items() if k == 400},
        },
    ),
)
class VisitAppointment(VisitWrite):
    def post(self, request, pk):
        return idempotent(request, lambda: self._book(request))

    def _book(self, request):
        visit = self.visit()
        data = _valid(write_serializers.BookingSerializer, request)
        visit = _call(
            book_appointment,
            {"on": "date", "at": "time", "booked_time": "time", "visit_code": None},
            visit,
            on=data["date"],
            at=data["time"],
            override_reason=data["override_reason"],
            by=request.user,
            via=VIA,
        )
        return self.answer(visit)

    def delete(self, request, pk):
        visit = self.visit()
        visit = _call(clear_booking, {"visit_code": None}, visit, by=request.user, via=VIA)
        return self.answer(visit)


@extend_schema_view(
    get=extend_schema(
        summary="A participant's contact log, in the order recorded",
        responses={
            200: serializers.ContactAttemptSerializer(many=True),
            **READ_ERRORS,
            **DETAIL_ERRORS,
        },
    ),
    post=extend_schema(
        summary="Add an attempt to reach a participant to their contact log",
        request=write_serializers.ContactAttemptCreateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: serializers.ContactAttemptSerializer, **WRITE_ERRORS},
    ),
)
class ContactAttemptList(generics.ListAPIView):
    queryset = ContactAttempt.objects.none()  # the schema's model; get_queryset scopes
    serializer_class = serializers.ContactAttemptSerializer
    required_permissions = {
        "GET": ["participants.view_contactattempt"],
        "POST": ["participants.add_contactattempt"],
    }
    cursor_field = None

    def participant(self):
        return generics.get_object_or_404(
            scoped_participants(self.request.user), pk=self.kwargs["pk"]
        )

    def get_queryset(self):
        return self.participant().contact_attempts.select_related("recorded_by")

    def post(self, request, pk):
        return idempotent(request, lambda: self._create(request))

    def _create(self, request):
        participant = self.participant()
        data = _valid(write_serializers.ContactAttemptCreateSerializer, request)
        attempt = _call(
            record_contact_attempt,
            {},
            participant,
            channel=data["channel"],
            outcome=data["outcome"],
            note=data["note"],
            at=data.get("at"),
            by=request.user,
        )
        body = serializers.ContactAttemptSerializer(attempt).data
        return Response(body, status=status.HTTP_201_CREATED)
