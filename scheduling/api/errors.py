"""JSON errors everywhere under ``/api/v1/`` (docs/api.md, "Errors"): one shape for every
refusal, ``{"errors": [{"field": "consent_date", "message": "…"}]}``, where ``field`` names the
request's field (dotted for a nested one, the header's name for a header, the query
parameter's for a filter) or is null when the refusal is about the request as a whole.

A service's ``ValidationError`` keeps its own sentences; its field names are the service's
keywords, which a view maps to the API's (``service_errors``).
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def error_body(errors: list[tuple[str | None, str]]) -> dict:
    return {"errors": [{"field": field, "message": str(message)} for field, message in errors]}


def flatten(detail, field: str | None = None) -> list[tuple[str | None, str]]:
    """DRF's error detail (nested dicts and lists) as (field, message) pairs."""
    if isinstance(detail, dict):
        pairs = []
        for name, value in detail.items():
            if name in ("non_field_errors", "__all__"):
                pairs += flatten(value, field)
            else:
                pairs += flatten(value, f"{field}.{name}" if field else str(name))
        return pairs
    if isinstance(detail, list):
        return [pair for item in detail for pair in flatten(item, field)]
    return [(field, str(detail))]


def service_errors(error: DjangoValidationError, fields: dict[str, str]) -> dict:
    """A service's refusal as the API's: each of its sentences under the API's name of its
    field (``fields`` maps the service's keyword to it, or to None for the request as a
    whole; a keyword not in it is the API's name too)."""
    if hasattr(error, "error_dict"):
        return error_body(
            [
                (None if name == "__all__" else fields.get(name, name), message)
                for name, messages in error.message_dict.items()
                for message in messages
            ]
        )
    return error_body([(None, message) for message in error.messages])


class ServiceRefusal(exceptions.APIException):
    """A service's ``ValidationError`` raised out of a view: a 400 with its sentences."""

    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(self, error: DjangoValidationError, fields: dict[str, str]):
        self.body = service_errors(error, fields)
        super().__init__(detail="refused")


def exception_handler(exc, context):
    """DRF's handler, every answer in the one shape; a service's refusal with its sentences."""
    if isinstance(exc, ServiceRefusal):
        return Response(exc.body, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        return Response(service_errors(exc, {}), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("Not found.")
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    if isinstance(exc, exceptions.ValidationError):
        pairs = flatten(detail)
    else:
        pairs = [(None, str(detail))]
    response.data = error_body(pairs)
    return response


@csrf_exempt
def not_found(request, *args, **kwargs):
    """Any path under /api/v1/ that names no endpoint: a JSON 404, to a POST or DELETE too (a
    token's request carries no CSRF cookie; found by tests/test_api_fuzz.py: Django's HTML
    403 "CSRF cookie not set" came first). It reads and writes nothing."""
    return JsonResponse(error_body([(None, "No such endpoint.")]), status=404)
